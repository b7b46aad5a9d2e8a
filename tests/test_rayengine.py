"""--engine ray: the same decisions as the streaming path, on a real two-node Ray cluster of this machine."""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import ray
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupe.config import DedupeConfig, LSHConfig, MinHashConfig, PassageConfig, ShingleConfig, VerifyConfig
from dedupe.core.matcher import Deduplicator
from dedupe.core.decide import decide_pairs as decide
from dedupe.engines.ray import run as run_ray
from dedupe.engines.ray_cluster import RayJob
from dedupe.io.records import Record

from conftest import edit_text, generate_corpus, random_text, vocabulary
from raycluster import ENV, cluster, wait_for_nodes

pytestmark = pytest.mark.ray  # imports ray; most tests start a Ray cluster (or a local Ray)

# --------------------------------------------------------------------------- pure stages (no cluster)


def test_decide_labels_follow_stream_order():
    # 3 ~ 1 (0.9), 5 ~ 3 (0.85) and 5 ~ 2 (0.85), 2 alone before 5: when 3 was decided its cluster was 1's;
    # 5 joins 1's and 2's clusters; 7 ~ 5 below threshold.
    pi = np.array([3, 5, 5, 7])
    pj = np.array([1, 2, 3, 5])
    sims = np.array([0.9, 0.85, 0.85, 0.5])
    labels, best, groups = decide(pi, pj, sims, 0.8)
    assert labels == {3: 1, 5: 1}
    assert best == {3: (1, 0.9), 5: (2, 0.85)}  # a tie goes to the earliest
    assert groups == [(1, [1, 2, 3, 5])]


# --------------------------------------------------------------------------- the cluster


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A head and a worker node (separate processes, 1 CPU each); this process connects as the driver."""
    os.environ.update(ENV)
    with cluster(tmp_path_factory.mktemp("ray")) as running:
        ray.init(address=running.address, logging_level=logging.ERROR, log_to_driver=False)
        try:
            wait_for_nodes(ray, 2)
            yield running
        finally:
            ray.shutdown()


def small_config(cap: int, verify: str = "exact") -> DedupeConfig:
    # Word 1-grams over six words: crowded buckets of partly similar records, where the cap changes the answer
    # (caps 0, 1 and 2 differ on most such corpora).
    return DedupeConfig(shingle=ShingleConfig(unit="word", ngram=1), minhash=MinHashConfig(num_perm=16),
                        lsh=LSHConfig(threshold=0.5, bands=8, rows=2, bucket_cap=cap),
                        verify=VerifyConfig(mode=verify))


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def shard_decisions(directory: Path) -> list[dict]:
    out = []
    for shard in sorted(directory.iterdir()):
        out += [json.loads(line)["dedupe"] for line in shard.read_text().splitlines()]
    return out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from("ab cd ef gh ij kl".split()), min_size=0, max_size=8), min_size=12,
                max_size=40),
       st.integers(1, 3), st.sampled_from([0, 1, 2]), st.sampled_from(["exact", "estimate"]),
       st.integers(0, 300), st.sampled_from([1, 7, 1000]))
def test_ray_equals_streaming_on_random_small_corpora(ray_cluster, tmp_path_factory, docs, files, cap, verify,
                                                      split, partition_rows):
    """Any ranges (split bytes) and any partitions of the shuffles (rows per partition) give the stream's answer."""
    config = small_config(cap, verify)
    texts = [" ".join(words) for words in docs]
    records = [{"id": f"d{k}", "text": t} for k, t in enumerate(texts)]
    work = tmp_path_factory.mktemp("prop")
    paths = []
    for f in range(files):
        path = work / f"in{f}.jsonl"
        write_jsonl(path, records[f * len(records) // files : (f + 1) * len(records) // files])
        paths.append(str(path))
    job = RayJob("scan", paths, config, output=str(work / "out"), split_bytes=split, partition_rows=partition_rows,
                 run_id="prop")
    (work / "out").mkdir()
    result, clusters = run_ray(job, lambda r: (r, list(r.clusters)))
    streaming = Deduplicator(config)
    expected = [r.match.as_dict() for r in streaming.run([Record(r["id"], r["text"]) for r in records])]
    assert shard_decisions(work / "out") == expected
    assert result.stats.inputs == len(records) == result.read.lines
    assert clusters == streaming.outcome().clusters
    assert len(clusters) == sum(result.clusters.sizes.values())
    if split:
        assert result.engine["tasks"]["map"] >= files


# --------------------------------------------------------------------------- the command line, on the cluster


def dedupe_cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "dedupe", *map(str, args)]


def run_cli(args: list[object], address: str | None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ) | ENV
    env.pop("RAY_ADDRESS", None)
    if address is not None:
        env["RAY_ADDRESS"] = address
    return subprocess.run(dedupe_cmd(*args), capture_output=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def without_timings(report: dict) -> dict:
    """A report without what differs between two runs: timings, the rejects file's name, the engine."""
    return {k: v for k, v in report.items() if k not in ("timings", "rejects_file", "engine")}


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> list[Path]:
    """About 2,600 records with planted exact and edited copies, rejects and blank lines, in three inputs:
    plain JSONL, gzip JSONL and Parquet (copies cross the inputs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    work = tmp_path_factory.mktemp("planted")
    corpus = generate_corpus(work / "all.jsonl", seed=3, bases=1500, exact=400, edited=600)
    lines = corpus.lines
    third = len(lines) // 3
    a, b = work / "part-a.jsonl", work / "part-b.jsonl.gz"
    a.write_bytes(b"".join(line + b"\n" for line in lines[:third]))
    b.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines[third : 2 * third])))
    rows = [json.loads(line) for line in lines[2 * third :] if line.strip()]
    rows = [r for r in rows if isinstance(r, dict) and isinstance(r.get("text"), str) and isinstance(r.get("id"), str)]
    c = work / "part-c.parquet"
    table = [{"id": r["id"], "text": r["text"]} for r in rows]
    table.insert(len(table) // 2, {"id": "null-text", "text": None})  # a Parquet reject (text_not_string)
    pq.write_table(pa.Table.from_pylist(table), c, row_group_size=200)
    return [a, b, c]


def test_scan_on_a_two_node_cluster_equals_the_streaming_engine(ray_cluster, planted, tmp_path):
    stream = run_cli(["scan", *planted, "--output", tmp_path / "s", "--rejects", tmp_path / "s.rej",
                      "--report", tmp_path / "s.json"], None)
    assert stream.returncode == 0, stream.stderr.decode()
    on_ray = run_cli(["scan", "--engine", "ray", *planted, "--output", tmp_path / "r", "--rejects", tmp_path / "r.rej",
                      "--report", tmp_path / "r.json"], ray_cluster.address)
    assert on_ray.returncode == 0, on_ray.stderr.decode()
    same_files(tmp_path / "s", tmp_path / "r")
    assert (tmp_path / "s.rej").read_bytes() == (tmp_path / "r.rej").read_bytes()
    s, r = json.loads((tmp_path / "s.json").read_text()), json.loads((tmp_path / "r.json").read_text())
    assert without_timings(s) == without_timings(r)
    c = r["counts"]
    rejected = (tmp_path / "r.rej").read_bytes().splitlines()
    assert c["input"] == c["kept"] + c["duplicates"] + c["rejected"] and c["rejected"] == len(rejected) > 3
    assert json.loads(rejected[-1])["source"].endswith("part-c.parquet")
    assert json.loads(rejected[-1])["code"] == "text_not_string"
    assert c["duplicates"] > 900 and c["clusters"] > 500
    page = run_cli(["report", *sorted((tmp_path / "r").iterdir()), "--run-report", tmp_path / "r.json", "-o",
                    tmp_path / "page.html"], None)  # the page is made from the shards, as docs/scaling.md says
    assert page.returncode == 0 and b"<html" in (tmp_path / "page.html").read_bytes()[:500], page.stderr.decode()
    assert r["timings"]["ray"]["nodes"] == 2 and r["timings"]["engine"] == "ray"
    counted = [p.stderr.decode().splitlines()[-1].split("): ")[1].split(" (see")[0] for p in (stream, on_ray)]
    assert counted[0] == counted[1] and "kept" in counted[0]


def test_filter_and_parquet_shards_equal_the_streaming_engine(ray_cluster, planted, tmp_path):
    import pyarrow.parquet as pq

    for engine, address in (("stream", None), ("ray", ray_cluster.address)):
        split = ["--split-bytes", "30000"] if engine == "ray" else []
        done = run_cli(["filter", "--engine", engine, *split, *planted, "--output", tmp_path / engine, "--format",
                        "parquet", "--rejects", tmp_path / f"{engine}.rej", "--dropped", tmp_path / f"{engine}.dropped"],
                       address)
        assert done.returncode == 0, done.stderr.decode()
    names = sorted(p.name for p in (tmp_path / "stream").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "ray").iterdir()) and len(names) == 3
    for name in names:
        assert pq.read_table(tmp_path / "stream" / name).equals(pq.read_table(tmp_path / "ray" / name))
    same_files(tmp_path / "stream", tmp_path / "ray")  # the Parquet files byte for byte
    assert (tmp_path / "stream.dropped").read_bytes() == (tmp_path / "ray.dropped").read_bytes()
    assert (tmp_path / "stream.rej").read_bytes() == (tmp_path / "ray.rej").read_bytes()


def test_split_inputs_give_the_streaming_answer_with_rejects_inside_ranges(ray_cluster, planted, tmp_path):
    """Plain JSONL cut into byte ranges and Parquet into runs of row groups: several map tasks per input, rejects
    and blank lines inside the ranges, the same lines, numbers, ids and rejects as the streaming engine."""
    import pyarrow.parquet as pq

    assert pq.ParquetFile(planted[2]).num_row_groups > 4
    stream = run_cli(["scan", *planted, "--output", tmp_path / "s", "--rejects", tmp_path / "s.rej",
                      "--report", tmp_path / "s.json"], None)
    on_ray = run_cli(["scan", "--engine", "ray", "--split-bytes", "40000", *planted, "--output", tmp_path / "r",
                      "--rejects", tmp_path / "r.rej", "--report", tmp_path / "r.json"], ray_cluster.address)
    assert stream.returncode == on_ray.returncode == 0, on_ray.stderr.decode()
    same_files(tmp_path / "s", tmp_path / "r")
    assert (tmp_path / "s.rej").read_bytes() == (tmp_path / "r.rej").read_bytes()
    s, r = json.loads((tmp_path / "s.json").read_text()), json.loads((tmp_path / "r.json").read_text())
    assert without_timings(s) == without_timings(r)
    tasks = r["engine"]["tasks"]
    # part-a (plain JSONL, ~300 KB) in several ranges, part-b (gzip) whole, part-c (Parquet) by row groups
    assert tasks["map"] >= 8 and tasks["count"] == tasks["map"]
    assert tasks["write"] == tasks["map"]  # JSONL shards: each range writes its part of its input's shard
    assert r["engine"]["name"] == "ray" and r["engine"]["nodes"] == 2 and r["engine"]["cpus"] == 2
    rejected = [json.loads(line) for line in (tmp_path / "r.rej").read_bytes().splitlines()]
    assert {x["source"] for x in rejected} >= {str(planted[0]), str(planted[2])}
    assert max(x["line"] for x in rejected if x["source"] == str(planted[0])) > 100  # beyond the first range


def keep_corpus(path: Path, seed: int) -> list[dict]:
    """Clusters of near copies whose members differ in length, a number and a date, with chains (A ~ B ~ C with
    A !~ C), bad values of the keep fields and records without them."""
    rng = random.Random(seed)
    vocab = vocabulary()
    records: list[dict] = []
    for n in range(300):
        text = random_text(rng, vocab, 120)
        records.append({"id": f"b{n}", "text": text, "score": rng.randint(0, 50),
                        "date": f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"})
        for c in range(rng.randint(0, 3)):
            text = edit_text(rng, text, 1, f"{n}-{c}") + " " + " ".join(rng.sample(vocab, rng.randint(0, 3)))
            extra: dict = {"score": rng.randint(0, 50)} if rng.random() < 0.8 else {}
            if rng.random() < 0.7:
                extra["date"] = f"2024-0{rng.randint(1, 9)}-2{rng.randint(0, 9)}"
            records.append({"id": f"c{n}-{c}", "text": text} | extra)
    rng.shuffle(records)
    records[17]["score"] = "many"  # a bad value: rejected with bad_keep_field under field:score
    records[29]["date"] = "yesterday"
    write_jsonl(path, records)
    return records


@pytest.mark.parametrize("policy", ["longest", "field:score", "field:score:min", "field:date"])
def test_every_keep_policy_gives_the_streaming_answer(ray_cluster, tmp_path, policy):
    source = tmp_path / "keep.jsonl"
    keep_corpus(source, seed=5)
    outputs = {}
    for engine, address in (("stream", None), ("ray", ray_cluster.address)):
        extra = ["--split-bytes", "20000"] if engine == "ray" else []
        done = run_cli(["filter", "--engine", engine, "--keep", policy, *extra, source, "--output", tmp_path / engine,
                        "--rejects", tmp_path / f"{engine}.rej", "--dropped", tmp_path / f"{engine}.dropped",
                        "--report", tmp_path / f"{engine}.json"], address)
        assert done.returncode == 0, done.stderr.decode()
        outputs[engine] = json.loads((tmp_path / f"{engine}.json").read_text())
    same_files(tmp_path / "stream", tmp_path / "ray")
    for side in ("rej", "dropped"):
        assert (tmp_path / f"stream.{side}").read_bytes() == (tmp_path / f"ray.{side}").read_bytes()
    s, r = outputs["stream"], outputs["ray"]
    assert without_timings(s) == without_timings(r)
    assert r["keep"]["policy"].startswith(policy) and r["keep"]["dropped"] > 50
    assert r["keep"]["kept_not_first"] > 0  # the policy changed decisions: the test is not about first alone
    if policy.startswith("field:"):
        assert r["counts"]["rejected_by_reason"].get("bad_keep_field") == 1


def without_passage_seconds(report: dict) -> dict:
    out = without_timings(report)
    if out.get("passages"):
        out["passages"] = {k: v for k, v in out["passages"].items() if k != "seconds"}
    return out


@pytest.fixture(scope="module")
def passage_corpus(tmp_path_factory) -> Path:
    """The seed articles, pages of one site (boilerplate, quotes, a reworded paragraph) and planted copies."""
    seeds = Path(__file__).parent.parent / "seeds"
    work = tmp_path_factory.mktemp("passages")
    corpus = generate_corpus(work / "planted.jsonl", seed=8, bases=150, exact=30, edited=40)
    path = work / "mixed.jsonl"
    path.write_bytes((seeds / "seeds.jsonl").read_bytes() + (seeds / "site.jsonl").read_bytes()
                     + b"".join(line + b"\n" for line in corpus.lines))
    return path


@pytest.mark.parametrize("mode", ["scan", "filter"])
def test_passages_on_ray_give_the_streaming_answer(ray_cluster, passage_corpus, tmp_path, mode):
    outputs = {}
    for engine, address in (("stream", None), ("ray", ray_cluster.address)):
        extra = ["--split-bytes", "30000"] if engine == "ray" else []
        dropped = ["--dropped", tmp_path / f"{engine}.dropped"] if mode == "filter" else []
        done = run_cli([mode, "--engine", engine, "--passages", *extra, passage_corpus, "--output", tmp_path / engine,
                        "--rejects", tmp_path / f"{engine}.rej", *dropped, "--report", tmp_path / f"{engine}.json"],
                       address)
        assert done.returncode == 0, done.stderr.decode()
        outputs[engine] = json.loads((tmp_path / f"{engine}.json").read_text())
    same_files(tmp_path / "stream", tmp_path / "ray")
    for side in ("rej", "dropped") if mode == "filter" else ("rej",):
        assert (tmp_path / f"stream.{side}").read_bytes() == (tmp_path / f"ray.{side}").read_bytes()
    s, r = outputs["stream"], outputs["ray"]
    assert without_passage_seconds(s) == without_passage_seconds(r)
    found = r["passages"]["found"]
    assert found["exact"] and found["near"] and found["boilerplate"]  # the kinds that remove text are exercised
    assert r["engine"]["tasks"]["map"] > 2 and r["engine"]["tasks"]["passages"] >= 1


def test_passages_replayed_in_many_partitions_equal_one_matcher(ray_cluster, passage_corpus, tmp_path):
    """Small shuffle partitions: the link components spread over many replay tasks, the answer unchanged."""
    config = DedupeConfig(passages=PassageConfig())
    expected = tmp_path / "stream"
    done = run_cli(["scan", "--passages", passage_corpus, "--output", expected, "--rejects", tmp_path / "rej"], None)
    assert done.returncode == 0, done.stderr.decode()
    (tmp_path / "ray").mkdir()
    job = RayJob("scan", [str(passage_corpus)], config, output=str(tmp_path / "ray"), sources=[str(passage_corpus)],
                 split_bytes=50_000, partition_rows=300, run_id="many", stop_at_reject=False)
    result = run_ray(job, lambda r: r)
    assert result.engine["tasks"]["passages"] > 3
    same_files(expected, tmp_path / "ray")


def test_a_ray_job_reads_an_index_the_streaming_engine_built(ray_cluster, tmp_path):
    """Two earlier runs in an index (two segments, clusters joined across them, dropped records, repeated ids);
    today's records decided against them on Ray exactly as the streaming engine decides them."""
    import shutil

    rng = random.Random(4)
    vocab = vocabulary()
    bases = [random_text(rng, vocab, 60) for _ in range(400)]
    days = []
    for day in range(3):
        records = []
        for n in range(250):
            source = rng.randrange(len(bases))
            text = bases[source] if rng.random() < 0.5 else edit_text(rng, bases[source], 1, f"{day}-{n}")
            records.append({"id": f"d{day}-{n}" if rng.random() < 0.97 else f"d0-{n}", "text": text})
        path = tmp_path / f"day{day}.jsonl"
        write_jsonl(path, records)
        days.append(path)
    index = tmp_path / "index"
    for day in days[:2]:
        built = run_cli(["scan", day, "--index", index, "--output", tmp_path / f"out-{day.stem}"], None)
        assert built.returncode == 0, built.stderr.decode()
    assert len(json.loads((index / "MANIFEST.json").read_text())["segments"]) == 2
    shutil.copytree(index, tmp_path / "index-copy")  # the streaming run adds today's records to its index
    for mode in ("scan", "filter"):
        stream = run_cli([mode, days[2], "--index", tmp_path / "index-copy", "--output", tmp_path / f"s-{mode}",
                          "--report", tmp_path / f"s-{mode}.json"], None)
        shutil.rmtree(tmp_path / "index-copy")
        shutil.copytree(index, tmp_path / "index-copy")
        on_ray = run_cli([mode, "--engine", "ray", "--split-bytes", "20000", days[2], "--index", index,
                          "--output", tmp_path / f"r-{mode}", "--report", tmp_path / f"r-{mode}.json"],
                         ray_cluster.address)
        assert stream.returncode == on_ray.returncode == 0, on_ray.stderr.decode()
        same_files(tmp_path / f"s-{mode}", tmp_path / f"r-{mode}")
        s = json.loads((tmp_path / f"s-{mode}.json").read_text())
        r = json.loads((tmp_path / f"r-{mode}.json").read_text())
        assert {k: v for k, v in without_timings(s).items() if k != "index"} == \
               {k: v for k, v in without_timings(r).items() if k != "index"}
        assert r["index"]["documents_before"] == r["index"]["documents_after"] == 500 and not r["index"]["written"]
        assert r["counts"]["repeated_ids"] > 0 and r["counts"]["duplicates"] > 100
        assert any(c.get("from_index") for c in r["clusters"])
    assert json.loads((index / "MANIFEST.json").read_text())["documents"] == 500  # read, not written


def test_index_options_the_ray_engine_does_not_take_are_refused(cli, planted, tmp_path):
    for args, message in [(["--index", "redis://localhost:1/0"], "not a Redis index"),
                          (["--index", tmp_path / "idx", "--passages"], "without --passages"),
                          (["--index", tmp_path / "idx", "--keep", "longest"], "--keep first only"),
                          (["--index", tmp_path / "none"], "there is none at")]:
        result = cli(["scan", "--engine", "ray", planted[0], "--output", tmp_path / "o", *args])
        assert result.exit_code == 2 and message in result.output, result.output


def test_filter_through_ray_client_as_in_the_readme(ray_cluster, planted, tmp_path):
    # RAY_ADDRESS=ray://head:10001 dedupe filter --engine ray 'DIR/*.parquet' --output clean/
    pattern = str(planted[2].parent / "*.parquet")
    stream = run_cli(["filter", pattern, "--output", tmp_path / "s"], None)
    client = run_cli(["filter", "--engine", "ray", pattern, "--output", tmp_path / "r"], ray_cluster.client)
    assert stream.returncode == client.returncode == 3  # the null text, named alike (an error comes back too)
    assert stream.stderr.decode().splitlines()[-1].split(" (use")[0] == client.stderr.decode().splitlines()[-1].split(" (use")[0]
    stream = run_cli(["filter", pattern, "--output", tmp_path / "s", "--rejects", tmp_path / "s.rej"], None)
    client = run_cli(["filter", "--engine", "ray", pattern, "--output", tmp_path / "r", "--rejects",
                      tmp_path / "r.rej"], ray_cluster.client)
    assert stream.returncode == client.returncode == 0, client.stderr.decode()
    same_files(tmp_path / "s", tmp_path / "r")
    assert (tmp_path / "s.rej").read_bytes() == (tmp_path / "r.rej").read_bytes()
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["00000-part-c.jsonl"]


def test_a_bad_line_without_rejects_stops_before_anything_is_written(ray_cluster, planted, tmp_path):
    stream = run_cli(["scan", *planted, "--output", tmp_path / "s"], None)
    on_ray = run_cli(["scan", "--engine", "ray", *planted, "--output", tmp_path / "r"], ray_cluster.address)
    assert stream.returncode == on_ray.returncode == 3
    first = stream.stderr.decode().splitlines()[-1]
    assert first.startswith(f"dedupe: error: {planted[0]}:")
    assert on_ray.stderr.decode().splitlines()[-1].startswith(first.split(" (use --rejects")[0])
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_local_ray_without_an_address_gives_the_same_output(planted, tmp_path):
    # No RAY_ADDRESS: the run starts its own Ray (all cores of this machine) and stops it.
    stream = run_cli(["scan", *planted, "--output", tmp_path / "s", "--rejects", tmp_path / "s.rej"], None)
    local = run_cli(["scan", "--engine", "ray", *planted, "--output", tmp_path / "r", "--rejects", tmp_path / "r.rej"],
                    None)
    assert stream.returncode == local.returncode == 0, local.stderr.decode()
    same_files(tmp_path / "s", tmp_path / "r")


@pytest.mark.parametrize("args, message", [
    (["--report", "x.html"], "make the page from the output"),
])
def test_options_the_ray_engine_does_not_take_are_refused(cli, planted, tmp_path, args, message):
    result = cli(["scan", "--engine", "ray", planted[0], "--output", tmp_path / "o", *args])
    assert result.exit_code == 2 and message in result.output


def test_ray_needs_output_and_files(cli, planted, tmp_path):
    assert "give --output DIR" in cli(["scan", "--engine", "ray", planted[0]]).output
    result = cli(["scan", "--engine", "ray", "-", "--output", tmp_path / "o"], input=b"")
    assert result.exit_code == 2 and "not stdin" in result.output


def test_without_ray_installed_the_option_says_how_to_get_it(cli, planted, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    result = cli(["scan", "--engine", "ray", planted[0], "--output", tmp_path / "o"])
    assert result.exit_code == 2 and "pip install 'dedupe[ray]'" in result.output


def test_a_quoted_glob_is_expanded_in_order(cli, planted, tmp_path):
    result = cli(["scan", str(planted[0].parent / "part-*.jsonl*"), "--output", tmp_path / "o", "--rejects",
                  tmp_path / "rej"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["00000-part-a.jsonl", "00001-part-b.jsonl"]
    assert "no file matches" in cli(["scan", str(tmp_path / "none-*.jsonl")]).output


def test_an_unreachable_cluster_is_named_at_once(planted, tmp_path):
    start = time.monotonic()
    result = run_cli(["scan", "--engine", "ray", planted[0], "--output", tmp_path / "o", "--ray-address",
                      "127.0.0.1:1"], None)
    err = result.stderr.decode()
    assert result.returncode == 1 and "cannot reach the Ray cluster at 127.0.0.1:1" in err
    assert "Traceback" not in err and time.monotonic() - start < 60  # not minutes of Ray's own retries


def test_an_output_directory_that_cannot_be_made_fails_before_the_job(cli, planted, tmp_path):
    (tmp_path / "file").write_text("")
    result = cli(["scan", "--engine", "ray", planted[0], "--output", tmp_path / "file" / "out",
                  "--ray-address", "127.0.0.1:1"])
    assert result.exit_code == 4 and "cannot create the output directory" in result.output


def test_a_damaged_input_is_named_as_the_streaming_engine_names_it(ray_cluster, planted, tmp_path):
    bad = tmp_path / "cut.jsonl.gz"
    bad.write_bytes(planted[1].read_bytes()[:2000])  # a gzip stream cut short
    stream = run_cli(["scan", planted[0], bad, "--output", tmp_path / "s", "--rejects", tmp_path / "rej"], None)
    on_ray = run_cli(["scan", "--engine", "ray", planted[0], bad, "--output", tmp_path / "r", "--rejects",
                      tmp_path / "rej2"], ray_cluster.address)
    assert stream.returncode == on_ray.returncode == 3
    message = stream.stderr.decode().splitlines()[-1]
    assert "cannot read input" in message and message == on_ray.stderr.decode().splitlines()[-1]


def test_a_killed_worker_does_not_change_the_result(ray_cluster, tmp_path):
    # Two inputs big enough that their map tasks run for seconds; one task's worker process is killed
    # (SIGKILL) while it runs. Ray retries the task elsewhere; the output is unchanged.
    rng = random.Random(9)
    vocab = vocabulary()
    inputs = []
    for k in range(2):
        texts = [random_text(rng, vocab, 120) for _ in range(12_000)]
        texts += [edit_text(rng, texts[n], 2, f"k{k}n{n}") for n in range(0, 12_000, 10)]
        path = tmp_path / f"in{k}.jsonl"
        write_jsonl(path, [{"id": f"{k}-{n}", "text": t} for n, t in enumerate(texts)])
        inputs.append(path)
    stream = run_cli(["scan", *inputs, "--output", tmp_path / "s"], None)
    assert stream.returncode == 0, stream.stderr.decode()
    env = dict(os.environ) | ENV | {"RAY_ADDRESS": ray_cluster.address}
    job = subprocess.Popen(dedupe_cmd("scan", "--engine", "ray", *inputs, "--output", tmp_path / "r"), env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and job.poll() is None and time.monotonic() < deadline:
        for line in subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout.splitlines():
            pid, _, args = line.strip().partition(" ")
            if args.startswith("ray::featurize"):
                os.kill(int(pid), signal.SIGKILL)
                killed = args
                break
        time.sleep(0.05)
    _, err = job.communicate(timeout=300)
    assert killed is not None, "no map task was seen running"
    assert job.returncode == 0, err.decode()
    same_files(tmp_path / "s", tmp_path / "r")
