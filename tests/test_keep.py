"""What filter keeps: a record is dropped only as the duplicate of a kept record, at or above the threshold, and
``--keep first|longest|field:NAME[:max|min]`` chooses which copy is kept (dedupe.core.keep, dedupe.core.twopass).
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupe import ConfigError, DedupeConfig, Deduplicator, LSHConfig, Record, ShingleConfig, text_shingles
from dedupe.core.decide import decide_pairs, take
from dedupe.core.keep import KeepPolicy, iso_timestamp, policy_order, select
from dedupe.core.similarity import jaccard
from dedupe.core.twopass import gather, settle
from dedupe.engines.launch import run
from dedupe.engines.spec import RunSpec
from dedupe.index.snapshot import export_arrays, restore_arrays

ROOT = Path(__file__).resolve().parent.parent


def _write(path: Path, rows: list[dict | str]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _run(mode: str, path: Path, config: DedupeConfig, **kw) -> tuple[list[dict], dict]:
    out = io.BytesIO()
    notes: list[str] = []
    outcome = run(RunSpec(mode, [str(path)], config, **kw), stdout=lambda: out, stdin=io.BytesIO, notify=notes.append)
    return [json.loads(line) for line in out.getvalue().splitlines()], outcome.report


# --------------------------------------------------------------------------- the rule


def test_take_names_the_most_similar_kept_candidate_and_joins_every_match():
    joined: list[int] = []
    kept = {1: True, 2: False, 3: True}
    best = take(9, [1, 2, 3], [0.85, 0.99, 0.9], 0.8, lambda a, b: joined.append(b), kept.__getitem__)
    assert best == (3, 0.9) and joined == [1, 2, 3]
    # Only a duplicate matches: the record is kept (and still joined to the cluster).
    assert take(9, [2], [0.99], 0.8, lambda a, b: None, kept.__getitem__) == (-1, -1.0)


def test_the_chain_case_keeps_the_far_end(triple, tmp_path):
    """A ~ B and B ~ C at 0.8, but J(A, C) < 0.8: B is A's duplicate, and C, far from A, is kept."""
    a, b, c = (text_shingles(t) for t in (triple.a, triple.b, triple.c))
    assert jaccard(a, b) >= 0.8 and jaccard(b, c) >= 0.8 and jaccard(a, c) < 0.8
    path = _write(tmp_path / "abc.jsonl", [{"id": k, "text": t} for k, t in zip("ABC", (triple.a, triple.b, triple.c))])
    annotated, report = _run("scan", path, DedupeConfig())
    assert [r["dedupe"]["duplicate_of"] for r in annotated] == [None, "A", None]
    assert [r["dedupe"]["cluster"] for r in annotated] == ["A", "A", "A"]  # one family
    assert report["clusters"] == [{"cluster": "A", "size": 3, "members": ["A", "B", "C"]}]
    assert report["keep"]["kept_matching_only_dropped"] == 1
    kept, _ = _run("filter", path, DedupeConfig())
    assert [r["id"] for r in kept] == ["A", "C"]
    # --keep longest: B is longest? All three have 100 words; the ties go to the first seen, as under first.
    longest, _ = _run("filter", path, DedupeConfig(), keep="longest")
    assert [r["id"] for r in longest] == ["A", "C"]


def test_a_longer_middle_copy_is_kept_alone_under_longest(triple, tmp_path):
    rows = [{"id": "A", "text": triple.a}, {"id": "B", "text": triple.b + " " + "x" * 30}, {"id": "C", "text": triple.c}]
    path = _write(tmp_path / "abc.jsonl", rows)
    annotated, report = _run("scan", path, DedupeConfig(lsh=LSHConfig(threshold=0.8)), keep="longest")
    decided = {r["id"]: r["dedupe"] for r in annotated}
    assert decided["B"]["duplicate_of"] is None
    assert decided["A"]["duplicate_of"] == "B" and decided["C"]["duplicate_of"] == "B"
    assert {d["cluster"] for d in decided.values()} == {"A"}
    assert report["keep"] | {"dropped_similarity_at_least": None} == {
        "policy": "longest",
        "passes": 2,
        "kept": 1,
        "dropped": 2,
        "dropped_similarity_at_least": None,
        "kept_matching_only_dropped": 0,
        "kept_not_first": 1,
        "dropped_not_first": 2,
    }
    assert 0.8 <= report["keep"]["dropped_similarity_at_least"] <= min(d["similarity"] for d in decided.values() if d["similarity"])


def test_decide_pairs_keeps_a_record_whose_matches_are_all_duplicates():
    labels, best, groups = decide_pairs(np.array([1, 2]), np.array([0, 1]), np.array([0.9, 0.9]), 0.8)
    assert best == {1: (0, 0.9), 2: (-1, -1.0)} and labels == {1: 0, 2: 0} and groups == [(0, [0, 1, 2])]


# --------------------------------------------------------------------------- policies


def test_policies_parse_and_name_themselves():
    assert str(KeepPolicy.parse("first")) == "first" and KeepPolicy.parse("first").streaming
    assert str(KeepPolicy.parse("longest")) == "longest" and not KeepPolicy.parse("longest").streaming
    assert str(KeepPolicy.parse("field:score")) == "field:score:max"
    assert KeepPolicy.parse("field:date:min") == KeepPolicy("field", "date", "min")
    for bad in ("", "last", "field:", "field:x:median", "longest:max"):
        with pytest.raises(ConfigError, match="--keep must be"):
            KeepPolicy.parse(bad)


def test_iso_dates_compare_in_time_whatever_their_zone():
    assert iso_timestamp("2024-05-01") < iso_timestamp("2024-05-01T00:00:01Z")
    assert iso_timestamp("2024-05-01T02:00:00+02:00") == iso_timestamp("2024-05-01")
    assert iso_timestamp("2024-05-01T00:00:00") == iso_timestamp("2024-05-01")  # no zone: UTC
    assert iso_timestamp("yesterday") is None and iso_timestamp("2024-13-01") is None


def _record(fields: dict, line: int = 1) -> Record:
    raw = json.dumps({"text": "x", **fields}).encode()
    return Record(str(line), "x", line, "in.jsonl", raw, number=line)


def test_field_ranks_numbers_or_dates_and_a_missing_field_last():
    rank = KeepPolicy.parse("field:score").ranker("text")
    assert [rank(_record({"score": v})) for v in (3, 2.5)] == [3.0, 2.5]
    assert math.isnan(rank(_record({}))) and math.isnan(rank(_record({"score": None})))
    low = KeepPolicy.parse("field:score:min").ranker("text")
    assert low(_record({"score": 3})) < low(_record({"score": 2}))
    dates = KeepPolicy.parse("field:when").ranker("text")
    assert dates(_record({"when": "2024-01-02"})) > dates(_record({"when": "2024-01-01T23:00:00Z"}))
    assert list(policy_order(np.array([1.0, math.nan, 3.0, 1.0]))) == [2, 0, 3, 1]


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([True], "neither a number nor an ISO 8601 date"),
        ([[1]], "neither a number nor an ISO 8601 date"),
        (["soon"], "is not an ISO 8601 date"),
        ([1, "2024-01-01"], "earlier records hold numbers"),
        (["2024-01-01", 2], "earlier records hold dates"),
    ],
)
def test_a_field_value_of_the_wrong_kind_is_a_reject_naming_the_line(values, reason):
    rank = KeepPolicy.parse("field:score").ranker("text")
    *good, bad = [rank(_record({"score": v}, line)) for line, v in enumerate(values, 1)]
    assert all(isinstance(g, float) for g in good)
    assert bad.code == "bad_keep_field" and reason in bad.reason and bad.message().startswith(f"in.jsonl:{len(values)}:")


def test_a_bad_field_value_stops_the_run_naming_the_line_or_is_rejected(cli, tmp_path):
    text = " ".join(f"w{i}" for i in range(30))
    path = _write(tmp_path / "in.jsonl", [{"id": 1, "text": text, "s": 1}, {"id": 2, "text": text, "s": "x"}])
    result = cli(["filter", path, "--keep", "field:s"])
    assert result.exit_code == 3 and "in.jsonl:2: field 's'" in result.stderr
    assert result.stdout_bytes.count(b"\n") == 1  # what came before the bad line is written
    rejects = tmp_path / "rejects.jsonl"
    result = cli(["filter", path, "--keep", "field:s", "--rejects", rejects])
    assert result.exit_code == 0 and json.loads(rejects.read_text())["code"] == "bad_keep_field"
    result = cli(["filter", path, "--keep", "field:"])
    assert result.exit_code == 2 and "--keep must be" in result.stderr


def test_two_pass_options_it_cannot_take_are_refused_before_reading(cli, tmp_path):
    path = _write(tmp_path / "in.jsonl", [{"text": "a b c d e f"}])
    result = cli(["scan", path, "--keep", "longest", "--index", tmp_path / "idx", "--resume"])
    assert result.exit_code == 2 and "--resume" in result.stderr
    result = cli(["scan", path, "--keep", "longest", "--index", "redis://localhost:1/0"])
    assert result.exit_code == 2 and "index directory" in result.stderr


# --------------------------------------------------------------------------- property: every policy, any corpus


POLICIES = ["first", "longest", "field:score", "field:score:min", "field:when"]


@st.composite
def corpora(draw):
    """Records over a small vocabulary with edits: near copies, chains and bridges at any threshold."""
    rng = random.Random(draw(st.integers(0, 10**6)))
    vocab = [f"v{i}" for i in range(14)]
    bases = [[rng.choice(vocab) for _ in range(rng.randrange(8, 22))] for _ in range(rng.randrange(1, 4))]
    rows: list[dict | str] = []
    for k in range(draw(st.integers(2, 28))):
        words = list(rng.choice(bases))
        for _ in range(rng.randrange(0, 5)):
            op = rng.randrange(3)
            at = rng.randrange(len(words))
            if op == 0:
                words[at] = rng.choice(vocab)
            elif op == 1:
                words.insert(at, rng.choice(vocab))
            elif len(words) > 3:
                del words[at]
        row: dict = {"id": f"r{k}", "text": " ".join(words)}
        if rng.random() < 0.8:
            row["score"] = rng.choice([rng.randrange(5), round(rng.random() * 3, 2)])
        if rng.random() < 0.8:
            row["when"] = f"2024-0{rng.randrange(1, 4)}-{rng.randrange(10, 29)}"
        rows.append(row)
        if rng.random() < 0.05:
            rows.append("{not json")
    return rows


def _check(rows: list[dict | str], annotated: list[dict], report: dict, policy: str, config: DedupeConfig) -> None:
    threshold = config.lsh.threshold
    by_id = {r["id"]: r for r in annotated}
    ranker = KeepPolicy.parse(policy).ranker("text")
    order = {r["id"]: k for k, r in enumerate(annotated)}
    rank = {r["id"]: ranker(Record(r["id"], r["text"], raw=json.dumps({k: v for k, v in r.items() if k != "dedupe"}).encode())) for r in annotated}
    dropped = [r for r in annotated if r["dedupe"]["duplicate_of"] is not None]
    for r in dropped:
        kept = by_id[r["dedupe"]["duplicate_of"]]
        assert kept["dedupe"]["duplicate_of"] is None  # a duplicate only of a kept record
        sim = jaccard(text_shingles(r["text"], config.shingle), text_shingles(kept["text"], config.shingle))
        assert r["dedupe"]["similarity"] == round(sim, 6) and sim >= threshold
        a, b = rank[kept["id"]], rank[r["id"]]
        ahead = (a > b) or (math.isnan(b) and not math.isnan(a))
        tie = a == b or (math.isnan(a) and math.isnan(b))
        assert ahead or (tie and order[kept["id"]] < order[r["id"]]), (policy, kept["id"], r["id"], a, b)
    counts = report["counts"]
    assert counts["kept"] + counts["duplicates"] + counts["rejected"] == len(rows)
    assert counts["duplicates"] == len(dropped) and report["keep"]["policy"] == str(KeepPolicy.parse(policy))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corpora(), st.sampled_from([0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]), st.sampled_from(POLICIES))
def test_every_drop_names_a_kept_record_the_policy_prefers_at_the_threshold(tmp_path, rows, threshold, policy):
    config = DedupeConfig(shingle=ShingleConfig(ngram=2), lsh=LSHConfig(threshold=threshold))
    path = _write(tmp_path / "in.jsonl", rows)
    rejects = tmp_path / "rejects.jsonl"
    annotated, report = _run("scan", path, config, keep=policy, rejects=str(rejects))
    _check(rows, annotated, report, policy, config)
    # filter writes exactly the records scan calls kept.
    kept, _ = _run("filter", path, config, keep=policy, rejects=str(rejects))
    assert [r["id"] for r in kept] == [r["id"] for r in annotated if r["dedupe"]["duplicate_of"] is None]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corpora(), st.sampled_from([0.3, 0.5, 0.7, 0.9]), st.sampled_from(POLICIES))
def test_the_output_is_the_same_for_any_worker_count(tmp_path, rows, threshold, policy):
    config = DedupeConfig(shingle=ShingleConfig(ngram=2), lsh=LSHConfig(threshold=threshold))
    path = _write(tmp_path / "in.jsonl", rows)
    outputs = []
    for workers in (1, 2):
        out = io.BytesIO()
        spec = RunSpec("scan", [str(path)], config, workers=workers, batch_size=7, keep=policy, rejects=str(tmp_path / "rj"))
        run(spec, stdout=lambda: out, stdin=io.BytesIO, notify=lambda line: None)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]


@settings(max_examples=40, deadline=None)
@given(corpora(), st.sampled_from([0.3, 0.5, 0.7, 0.9]))
def test_selection_in_input_order_is_the_streaming_rule(rows, threshold):
    """Two passes with every rank equal visit records in input order: exactly what first decides as it goes."""
    config = DedupeConfig(shingle=ShingleConfig(ngram=2), lsh=LSHConfig(threshold=threshold))
    records = [Record(r["id"], r["text"]) for r in rows if isinstance(r, dict)]
    streaming = [r.match for r in Deduplicator(config).run(records, batch_size=5)]
    dedup = Deduplicator(config)
    ranks = gather(dedup, KeepPolicy().ranker("text"), lambda admit: dedup.run(records, batch_size=5, admit=admit))
    settled = settle(dedup, ranks)
    two = settled(len(records))
    assert [(m.duplicate_of, m.similarity) for m in two] == [(m.duplicate_of, m.similarity) for m in streaming]
    assert dedup.counters.policy_changes == (0, 0)


def test_select_prefers_an_earlier_runs_kept_document_and_never_names_its_duplicates():
    # Documents 0 and 1 are an earlier run's (0 kept, 1 a duplicate); 2 and 3 are this run's, 3 the longest.
    pairs_i, pairs_j, sims = np.array([2, 3, 3]), np.array([1, 0, 2]), np.array([0.95, 0.85, 0.9])
    chosen = select(2, np.array([1.0, 9.0]), pairs_i, pairs_j, sims, 0.8, lambda j: j == 0)
    # 3 (preferred) matches kept document 0: dropped for it; 2 then matches only 1 (a duplicate) and 3 (dropped).
    assert chosen.best.tolist() == [-1, 0] and chosen.linked == 1


# --------------------------------------------------------------------------- index, spool


def test_an_index_saved_before_the_kept_flag_derives_it_from_the_labels(triple):
    dedup = Deduplicator()
    list(dedup.run([Record(k, t) for k, t in zip("ABC", (triple.a, triple.b, triple.c))]))
    arrays = export_arrays(dedup, 0, all_links=True)
    assert arrays["kept"].tolist() == [1, 0, 1]
    old = {k: v for k, v in arrays.items() if k != "kept"}  # the old rule: C, which matched B, was a duplicate
    old["labels"] = np.array([0, 0, 0])
    restored = Deduplicator()
    restore_arrays(restored, [old])
    assert list(restored.docs.kept) == [1, 0, 0]


def test_with_an_index_the_earlier_runs_records_stay_fixed(tmp_path, triple):
    index = tmp_path / "idx"
    first = _write(tmp_path / "first.jsonl", [{"id": "A", "text": triple.a}, {"id": "B", "text": triple.b}])
    annotated, _ = _run("scan", first, DedupeConfig(), index=str(index))
    assert [r["dedupe"]["duplicate_of"] for r in annotated] == [None, "A"]
    # This run: C (near B only, a duplicate of an earlier run) and a longer copy of A. The copy is dropped for A,
    # which was written; C is kept: B, its only match, was not written.
    second = _write(tmp_path / "second.jsonl", [{"id": "C", "text": triple.c}, {"id": "A2", "text": triple.a + " more"}])
    annotated, report = _run("scan", second, DedupeConfig(), index=str(index), keep="longest")
    assert {r["id"]: r["dedupe"]["duplicate_of"] for r in annotated} == {"C": None, "A2": "A"}
    # The index was saved with this run's decisions: a third run names C (kept), never A2.
    third = _write(tmp_path / "third.jsonl", [{"id": "C2", "text": triple.c}, {"id": "A3", "text": triple.a + " more"}])
    annotated, _ = _run("scan", third, DedupeConfig(), index=str(index), keep="longest")
    assert {r["id"]: r["dedupe"]["duplicate_of"] for r in annotated} == {"C2": "C", "A3": "A"}


def _dedupe(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dedupe", *args], input=stdin, capture_output=True, env=env, cwd=ROOT)


def _corpus_lines(triple) -> bytes:
    rows = [{"id": "A", "text": triple.a}, {"id": "B", "text": triple.b + " " + "x" * 30}, {"id": "C", "text": triple.c}]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_stdin_is_copied_to_a_temporary_file_read_twice_and_removed(tmp_path, triple):
    spool = tmp_path / "tmp"
    spool.mkdir()
    env = os.environ | {"TMPDIR": str(spool)}
    done = _dedupe("filter", "--keep", "longest", stdin=_corpus_lines(triple), env=env)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["B"]
    assert list(spool.iterdir()) == []
    # A bad line without --rejects ends the run with an error: the copy goes too.
    failed = _dedupe("filter", "--keep", "longest", stdin=_corpus_lines(triple) + b"{oops\n", env=env)
    assert failed.returncode == 3 and b"<stdin>:4" in failed.stderr
    assert list(spool.iterdir()) == []


def test_a_pipe_given_as_a_path_is_read_twice_from_its_copy(tmp_path, triple):
    read, write = os.pipe()
    os.write(write, _corpus_lines(triple))
    os.close(write)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dedupe", "scan", "--keep", "longest", f"/dev/fd/{read}"],
            capture_output=True,
            pass_fds=(read,),
            cwd=ROOT,
        )
    finally:
        os.close(read)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["dedupe"]["duplicate_of"] for line in done.stdout.splitlines()] == ["B", None, "B"]


def test_the_html_report_says_which_copy_is_kept(cli, tmp_path, triple):
    path = tmp_path / "in.jsonl"
    path.write_bytes(_corpus_lines(triple))
    page = tmp_path / "r.html"
    result = cli(["scan", path, "--keep", "longest", "--report", page, "--report", tmp_path / "r.json"])
    assert result.exit_code == 0, result.stderr
    html = page.read_text()
    assert "Which copy is kept" in html and "<code>--keep longest</code>" in html
    assert "kept by the policy where first would drop them" in html
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["keep"]["kept_not_first"] == 1 and report["keep"]["dropped_not_first"] == 2


def test_a_policy_that_ranks_every_record_alike_writes_what_first_writes_passages_included(tmp_path):
    """A field no record has ranks all records alike: two passes visit them in input order, which is the streaming
    rule, and the second pass matches the passages of the same kept records in the same order."""
    rows = [json.loads(line) for name in ("seeds.jsonl", "site.jsonl") for line in (ROOT / "seeds" / name).open()]
    copies = [r | {"id": f"{r['id']}-copy", "text": r["text"].replace(" the ", " a ", 2)} for r in rows[:4]]
    path = _write(tmp_path / "in.jsonl", rows + copies)
    outputs = []
    for keep in ("first", "field:absent"):
        out = tmp_path / f"{keep}.jsonl"
        report = tmp_path / f"{keep}.json"
        done = _dedupe("scan", "--passages", str(path), "--keep", keep, "--report", str(report), "-w", "2")
        assert done.returncode == 0, done.stderr
        out.write_bytes(done.stdout)
        outputs.append(done.stdout)
        assert json.loads(report.read_text())["counts"]["clusters_merged_after_output"] == 0  # the premise
    assert outputs[0] == outputs[1]
    annotated = [json.loads(line)["dedupe"] for line in outputs[0].splitlines()]
    assert sum(a["duplicate_of"] is not None for a in annotated) >= 2 and any(a.get("passages") for a in annotated)


def test_a_two_pass_run_that_stops_early_leaves_the_index_as_it_was(cli, tmp_path, triple):
    index = tmp_path / "idx"
    first = _write(tmp_path / "first.jsonl", [{"id": "A", "text": triple.a}])
    assert cli(["scan", first, "--index", index]).exit_code == 0
    bad = _write(tmp_path / "bad.jsonl", [{"id": "B", "text": triple.b}, "{oops", {"id": "C", "text": triple.c}])
    report = tmp_path / "r.json"
    result = cli(["scan", bad, "--index", index, "--keep", "longest", "--report", report])
    assert result.exit_code == 3 and "bad.jsonl:2" in result.stderr
    assert json.loads(result.stdout_bytes.splitlines()[0])["dedupe"]["duplicate_of"] == "A"  # written before the line
    assert json.loads(report.read_text())["completed"] is False
    # The index still holds A alone: the same records again are decided as they were the first time.
    again = _write(tmp_path / "again.jsonl", [{"id": "B", "text": triple.b}])
    result = cli(["scan", again, "--index", index, "--report", report])
    assert json.loads(report.read_text())["index"]["documents_before"] == 1


def test_two_passes_write_the_same_shards_as_stdout_and_read_stdin_among_files(cli, tmp_path, triple):
    lines = _corpus_lines(triple).splitlines(keepends=True)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_bytes(lines[0])
    two.write_bytes(b"".join(lines[1:]))
    whole = cli(["scan", one, two, "--keep", "longest"])
    assert whole.exit_code == 0, whole.stderr
    shards = cli(["scan", one, two, "--keep", "longest", "--output", tmp_path / "out"])
    assert shards.exit_code == 0, shards.stderr
    written = b"".join(p.read_bytes() for p in sorted((tmp_path / "out").iterdir()))
    assert written == whole.stdout_bytes and len(list((tmp_path / "out").iterdir())) == 2
    piped = cli(["scan", "-", two, "--keep", "longest"], input=lines[0])
    assert piped.exit_code == 0 and piped.stdout_bytes == whole.stdout_bytes


def test_an_interrupt_while_stdin_is_copied_removes_the_copy_and_writes_nothing(tmp_path, triple):
    import signal
    import time

    spool = tmp_path / "tmp"
    spool.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dedupe", "filter", "--keep", "longest"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=os.environ | {"TMPDIR": str(spool)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    proc.stdin.write(_corpus_lines(triple))
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not list(spool.iterdir()) and time.monotonic() < deadline:  # the copy has begun
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    proc.stdin.close()  # what a pipe's writer does when Ctrl-C reaches it too
    out, err = proc.stdout.read(), proc.stderr.read()
    assert proc.wait(timeout=60) == 130, err
    assert out == b"" and b"Traceback" not in err and b"reads the input twice" in err
    assert list(spool.iterdir()) == []
