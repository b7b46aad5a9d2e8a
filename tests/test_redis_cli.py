"""``dedupe scan/filter --index redis://...`` end to end, against the real redis-server of the fixtures.

The runs under test are real ``python -m dedupe`` subprocesses (two of them at
once in the first test); some secondary runs (baselines, extra spellings of an
error) go through the same code in process with the ``cli`` fixture, which saves
an interpreter start-up (~1.5 s: datasketch imports scipy). Redis is never
mocked: the ``redis_server`` / ``redis_url`` / ``start_redis`` fixtures
(conftest.py) start throwaway servers and fail (never skip) when redis-server is
missing. About 25-30 s in all.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import generate_corpus, random_text, vocabulary
from dedupe import jaccard, text_shingles
from dedupe.core.matcher import deduplicate
from dedupe.io.records import Record
from dedupe.index.redis import PASSWORD_ENV, RedisIndex, parse_redis_url

# --------------------------------------------------------------------------- helpers


def _env(password: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    env.pop(PASSWORD_ENV, None)  # whatever the outer shell holds must not leak into the runs
    if password is not None:
        env[PASSWORD_ENV] = password
    return env


def dedupe(args: list[Any], password: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m dedupe ARGS`` (stdin empty); returns the CompletedProcess (bytes)."""
    return subprocess.run([sys.executable, "-m", "dedupe", *map(str, args)], input=b"", capture_output=True,
                          env=_env(password), timeout=timeout)


def annotations(stdout: bytes) -> list[tuple[str, dict]]:
    """(id, "dedupe" annotation) of every line of a scan output, in order."""
    out = []
    for line in stdout.splitlines():
        obj = json.loads(line)
        out.append((str(obj["id"]), obj["dedupe"]))
    return out


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_bytes(b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records))
    return path


def documents_in(url: str, password: str | None = None) -> int:
    old = os.environ.get(PASSWORD_ENV)
    try:
        if password is not None:
            os.environ[PASSWORD_ENV] = password
        index = RedisIndex(url)
    finally:
        if password is not None:
            if old is None:
                del os.environ[PASSWORD_ENV]
            else:
                os.environ[PASSWORD_ENV] = old
    try:
        return len(index)
    finally:
        index.close()


def keys_under(url: str) -> list[bytes]:
    import redis

    t = parse_redis_url(url)
    client = redis.Redis(host=t.host, port=t.port, db=t.db)
    try:
        return sorted(client.scan_iter(match=f"{t.prefix}:*"))
    finally:
        client.close()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


# --------------------------------------------------------------------------- 1. two processes at once


def _near_copy(rng: random.Random, text: str, tag: str) -> str:
    """``text`` with its first and last words (and its second one when it is long) replaced by new words.

    Few shingles change (J >= 0.9 for 60 words or more, checked), so MinHash LSH at the default 0.8 threshold
    (16 bands of 8 rows) misses such a pair with a probability of about 1e-6: the planted pairs are found.
    """
    tokens = text.split(" ")
    positions = [0, len(tokens) - 1] + ([1] if len(tokens) >= 100 else [])
    for k, pos in enumerate(positions):
        tokens[pos] = f"{tag}x{k}{rng.randint(0, 9)}"
    copy = " ".join(tokens)
    assert 0.9 <= jaccard(text_shingles(text), text_shingles(copy)) < 1.0
    return copy


def split_corpus(seed: int = 20240611, size: int = 3000, overlap: tuple[int, int] = (1000, 2000),
                 cross_pairs: int = 150, overlap_pairs: int = 40):
    """``size`` records of 60-120 words: positions [0, lo) only in half A, [lo, hi) in both, [hi, size) only
    in half B. Planted near copies (two or three words replaced, see :func:`_near_copy`): ``cross_pairs`` with
    the original only in A and the copy only in B, as many the other way round, and ``overlap_pairs`` inside
    the overlap.

    Returns (records, half_a, half_b, cross pairs [(id only in A, id only in B)], overlap ids,
    {later id: earlier id} of every planted pair in the order of the whole corpus).
    """
    lo, hi = overlap
    rng = random.Random(seed)
    vocab = vocabulary()
    texts: list[str | None] = [None] * size
    only_a = rng.sample(range(0, lo), 2 * cross_pairs)
    only_b = rng.sample(range(hi, size), 2 * cross_pairs)
    both = rng.sample(range(lo, hi), 2 * overlap_pairs)
    pairs: list[tuple[int, int]] = []  # (original position, copy position)
    pairs += list(zip(only_a[:cross_pairs], only_b[:cross_pairs]))  # original in A, copy in B
    pairs += list(zip(only_b[cross_pairs:], only_a[cross_pairs:]))  # original in B, copy in A
    pairs += [tuple(sorted(p)) for p in zip(both[:overlap_pairs], both[overlap_pairs:])]  # type: ignore[misc]
    for k, (orig, copy) in enumerate(pairs):
        texts[orig] = random_text(rng, vocab, rng.randint(60, 120))
        texts[copy] = _near_copy(rng, texts[orig], f"p{k}")
    for pos in range(size):
        if texts[pos] is None:
            texts[pos] = random_text(rng, vocab, rng.randint(60, 120))
    records = [{"id": f"d{pos:04d}", "text": texts[pos], "pos": pos} for pos in range(size)]
    ids = [r["id"] for r in records]
    # Each half ends with the overlap, so both processes work through the same records at about the same
    # time (the race on them is real), after their own part.
    half_a = records[:lo] + records[lo:hi]
    half_b = records[hi:] + records[lo:hi]
    cross = [(ids[o], ids[c]) if o < lo else (ids[c], ids[o]) for o, c in pairs[: 2 * cross_pairs]]
    # In file order of the whole corpus, the later member of each pair duplicates the earlier one.
    later = {ids[max(o, c)]: ids[min(o, c)] for o, c in pairs}
    return records, half_a, half_b, cross, set(ids[lo:hi]), later


def test_two_concurrent_processes_find_the_cross_duplicates(tmp_path: Path, redis_url: str) -> None:
    records, half_a, half_b, cross, overlap_ids, planted = split_corpus()
    file_a = write_jsonl(tmp_path / "a.jsonl", half_a)
    file_b = write_jsonl(tmp_path / "b.jsonl", half_b)
    procs: list[subprocess.Popen] = []
    try:
        for name, path in (("a", file_a), ("b", file_b)):  # started together: both run at the same time
            cmd = [sys.executable, "-m", "dedupe", "scan", str(path), "--index", redis_url,
                   "--report", str(tmp_path / f"report-{name}.json")]
            with open(tmp_path / f"out-{name}", "wb") as out, open(tmp_path / f"err-{name}", "wb") as err:
                procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=_env()))
        # Meanwhile: one detector over the whole corpus (no index, same default parameters) finds every planted
        # pair and nothing else, so a miss below is the shared index's fault, not the corpus's.
        lone = deduplicate(Record(r["id"], r["text"]) for r in records)
        found = {res.record.id: res.match.duplicate_of for res in lone}
        assert found == {r["id"]: planted.get(r["id"]) for r in records}
        codes = [p.wait(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    err = {n: (tmp_path / f"err-{n}").read_bytes().decode() for n in "ab"}
    assert codes == [0, 0], err
    out = {n: annotations((tmp_path / f"out-{n}").read_bytes()) for n in "ab"}
    assert [rid for rid, _ in out["a"]] == [r["id"] for r in half_a]
    assert [rid for rid, _ in out["b"]] == [r["id"] for r in half_b]
    note = {n: dict(out[n]) for n in "ab"}

    # Every overlap record reached both processes: whichever decided it second saw the other's copy.
    for rid in sorted(overlap_ids):
        a, b = note["a"][rid], note["b"][rid]
        assert a["duplicate_of"] is not None or b["duplicate_of"] is not None, f"{rid} kept by both processes"
        if rid not in planted:  # only its own twin in the other process matches it (same id, same text)
            for n in (a, b):
                assert n["duplicate_of"] in (None, rid), (rid, n)
                assert n["duplicate_of"] is None or n["similarity"] == 1.0, (rid, n)
            assert a["cluster"] == b["cluster"], (rid, a, b)  # the later one took the earlier one's cluster

    # Every cross pair: the one decided later is a duplicate of the other one.
    for in_a, in_b in cross:
        a, b = note["a"][in_a], note["b"][in_b]
        assert a["duplicate_of"] is not None or b["duplicate_of"] is not None, f"{in_a} (A) and {in_b} (B) both kept"
        assert a["duplicate_of"] in (None, in_b), (in_a, a)
        assert b["duplicate_of"] in (None, in_a), (in_b, b)
        assert a["cluster"] == b["cluster"], (in_a, a, in_b, b)

    # Accounting of each process.
    for n, half in (("a", half_a), ("b", half_b)):
        report = json.loads((tmp_path / f"report-{n}.json").read_bytes())
        c = report["counts"]
        assert report["completed"] is True
        assert c["input"] == c["kept"] + c["duplicates"] + c["rejected"] == len(half), (n, c)
        assert c["kept"] == sum(1 for _, x in out[n] if x["duplicate_of"] is None)
        assert report["index"]["url"] == parse_redis_url(redis_url).display()
    # Every record with shingles is stored by the process that decided it: an overlap record twice, once by each.
    added = [json.loads((tmp_path / f"report-{n}.json").read_bytes())["index"]["documents_added"] for n in "ab"]
    assert added == [sum(1 for r in half if len(text_shingles(r["text"]))) for half in (half_a, half_b)]
    assert sum(added) == documents_in(redis_url) > len(records)


# --------------------------------------------------------------------------- 2. a lone run is unchanged


@pytest.mark.parametrize("mode", ["scan", "filter"])
def test_lone_run_with_redis_index_writes_the_same_output(tmp_path: Path, redis_url: str, mode: str, cli) -> None:
    """A generated corpus of ~600 records (3 batches, so later batches meet the run's own documents in Redis):
    exact and edited copies, empty texts, punctuation only, bad lines (--rejects). The run without index is
    in process (the same code; it saves an interpreter start-up)."""
    corpus = generate_corpus(tmp_path / "corpus.jsonl", seed=13, bases=300, exact=120, edited=150)
    assert len(corpus.records) > 2 * 256
    common = [mode, corpus.path, "--rejects", tmp_path / "rejects.jsonl", "--batch-size", "256"]
    if mode == "filter":
        common += ["--dropped", tmp_path / "dropped.jsonl"]
    plain = cli([*common, "--report", tmp_path / "plain.json"])
    assert plain.exit_code == 0, plain.stderr
    dropped_plain = (tmp_path / "dropped.jsonl").read_bytes() if mode == "filter" else b""
    shared = dedupe([*common, "--report", tmp_path / "shared.json", "--index", redis_url])
    assert shared.returncode == 0, shared.stderr.decode()
    assert plain.stdout_bytes, "empty output proves nothing"
    assert shared.stdout == plain.stdout_bytes
    if mode == "filter":
        assert (tmp_path / "dropped.jsonl").read_bytes() == dropped_plain
    r_plain = json.loads((tmp_path / "plain.json").read_bytes())
    r_shared = json.loads((tmp_path / "shared.json").read_bytes())
    assert r_shared["counts"]["duplicates"] > 0
    for key in ("counts", "clusters", "parameters"):
        assert r_shared[key] == r_plain[key], key
    assert r_shared["index"]["candidates"] == 0  # its own documents are never candidates
    assert r_shared["index"]["documents_after"] == r_shared["index"]["documents_added"] == documents_in(redis_url)
    assert r_shared["index"]["documents_added"] > 0


# --------------------------------------------------------------------------- 3. a later run


def test_second_run_finds_the_first_runs_documents(tmp_path: Path, redis_url: str, cli) -> None:
    rng = random.Random(7)
    vocab = vocabulary()
    first = [{"id": f"first-{k:03d}", "text": random_text(rng, vocab, rng.randint(80, 120))} for k in range(200)]
    second: list[dict] = []
    expected: dict[str, str | None] = {}
    sources = iter(rng.sample(first, 100))  # each first-run document is copied at most once
    for k in range(150):
        if k % 3 == 0:  # a near copy of a first-run document
            src = next(sources)
            rec = {"id": f"second-{k:03d}", "text": _near_copy(rng, src["text"], f"s{k}")}
            expected[rec["id"]] = src["id"]
        elif k % 3 == 1:  # an exact copy under a new id
            src = next(sources)
            rec = {"id": f"second-{k:03d}", "text": src["text"]}
            expected[rec["id"]] = src["id"]
        else:  # new
            rec = {"id": f"second-{k:03d}", "text": random_text(rng, vocab, rng.randint(80, 120))}
            expected[rec["id"]] = None
        second.append(rec)
    f1 = write_jsonl(tmp_path / "first.jsonl", first)
    f2 = write_jsonl(tmp_path / "second.jsonl", second)
    display = parse_redis_url(redis_url).display()

    run1 = cli(["filter", f1, "--index", redis_url])  # in process: the same code, no interpreter start-up
    assert run1.exit_code == 0, run1.stderr
    assert run1.stdout_bytes == f1.read_bytes()
    assert f"shared index {display}: 200 documents (200 added by this run)" in run1.stderr

    run2 = dedupe(["scan", f2, "--index", redis_url, "--report", tmp_path / "r2.json"])
    assert run2.returncode == 0, run2.stderr.decode()
    got = annotations(run2.stdout)
    assert [rid for rid, _ in got] == [r["id"] for r in second]
    for rid, note in got:
        assert note["duplicate_of"] == expected[rid], (rid, note)
        if expected[rid] is not None:
            assert note["cluster"] == expected[rid], (rid, note)  # the first run's cluster names it
            exact = int(rid.split("-")[1]) % 3 == 1
            assert (note["similarity"] == 1.0) == exact, (rid, note)
        else:
            assert note["cluster"] == rid
    report = json.loads((tmp_path / "r2.json").read_bytes())
    ix = report["index"]
    after = documents_in(redis_url)
    assert ix["url"] == display
    assert ix["documents_after"] == after == 200 + ix["documents_added"]
    kept, dups = report["counts"]["kept"], report["counts"]["duplicates"]
    assert (kept, dups) == (50, 100)
    assert ix["documents_added"] == kept + dups  # every record is stored, the 50 exact copies too
    assert ix["candidates"] >= dups
    stderr = run2.stderr.decode()
    assert "dedupe scan: 150 input records" in stderr
    assert "50 kept, 100 duplicates" in stderr
    assert f"shared index {display}: {after:,} documents ({ix['documents_added']:,} added by this run)" in stderr


def test_tie_goes_to_the_earlier_runs_document_as_with_a_directory_index(tmp_path: Path, redis_url: str,
                                                                         cli) -> None:
    """Run 1: X. Run 2: C1 then C2, near copies of X with the same words replaced, so J(C2, X) == J(C2, C1).
    A single stream X, C1, C2 and the directory index say C2 duplicates X (the earliest of equals); the
    shared index must give the same answer for the same sequence of runs."""
    rng = random.Random(5)
    x = random_text(rng, vocabulary(), 80)
    c1, c2 = _near_copy(rng, x, "one"), _near_copy(rng, x, "two")
    sim = jaccard(text_shingles(c2), text_shingles(x))
    assert sim == jaccard(text_shingles(c2), text_shingles(c1)) >= 0.9  # a tie
    f1 = write_jsonl(tmp_path / "run1.jsonl", [{"id": "X", "text": x}])
    f2 = write_jsonl(tmp_path / "run2.jsonl", [{"id": "C1", "text": c1}, {"id": "C2", "text": c2}])
    outputs = {}
    for name, index in (("directory", tmp_path / "index-dir"), ("redis", redis_url)):
        assert cli(["scan", f1, "--index", index]).exit_code == 0
        result = cli(["scan", f2, "--index", index])
        assert result.exit_code == 0, result.stderr
        outputs[name] = dict(annotations(result.stdout_bytes))
    assert outputs["directory"]["C2"]["duplicate_of"] == "X"
    assert outputs["redis"] == outputs["directory"]


# --------------------------------------------------------------------------- 4. parameters


def _small_file(tmp_path: Path, n: int = 30, seed: int = 3) -> Path:
    rng = random.Random(seed)
    vocab = vocabulary()
    return write_jsonl(tmp_path / f"small-{seed}.jsonl",
                       [{"id": f"s{seed}-{k}", "text": random_text(rng, vocab, 70)} for k in range(n)])


def _check_one_error_line(code: int, stdout: bytes, stderr: str, expected_code: int) -> str:
    assert code == expected_code, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("dedupe: error: "), stderr
    assert "Traceback" not in stderr
    assert stdout == b""
    return lines[0]


def test_parameter_mismatch(tmp_path: Path, redis_url: str, cli) -> None:
    """A prefix built with the defaults refuses another --num-perm or --ngram (exit 5, naming the parameter),
    and accepts another --threshold given the same --bands/--rows."""
    base = cli(["scan", _small_file(tmp_path), "--index", redis_url, "--report", tmp_path / "r0.json"])
    assert base.exit_code == 0, base.stderr
    params = json.loads((tmp_path / "r0.json").read_bytes())["parameters"]
    display = parse_redis_url(redis_url).display()
    other = _small_file(tmp_path, seed=4)

    run = dedupe(["scan", other, "--index", redis_url, "--num-perm", "64", "--report", tmp_path / "r.json"])
    line = _check_one_error_line(run.returncode, run.stdout, run.stderr.decode(), 5)
    assert "num_perm=128" in line and "num_perm=64" in line, line
    assert display in line
    # In process (same code path, no interpreter start-up): only the n-gram differs.
    result = cli(["scan", other, "--index", redis_url, "--ngram", "3"])
    line = _check_one_error_line(result.exit_code, result.stdout_bytes, result.stderr, 5)
    assert "ngram=5" in line and "ngram=3" in line, line
    for unchanged in ("num_perm", "bands", "rows", "unit", "seed"):
        assert f"{unchanged}=" not in line, line
    assert documents_in(redis_url) == 30  # nothing was added under the wrong parameters

    run = cli(["scan", other, "--index", redis_url, "--threshold", "0.6", "--bands", params["bands"],
               "--rows", params["rows"], "--report", tmp_path / "r1.json"])
    assert run.exit_code == 0, run.stderr
    report = json.loads((tmp_path / "r1.json").read_bytes())
    assert report["parameters"]["threshold"] == 0.6
    assert report["index"]["documents_after"] == 60 == documents_in(redis_url)


def test_an_index_of_the_earlier_layout_is_refused(tmp_path: Path, redis_url: str, cli) -> None:
    """An index written by an earlier dedupe (buckets as plain sets, no redis_layout among the parameters; made
    here from a real run's index with raw commands) exits 5 like a parameter mismatch, saying what to do, and is
    left as it was."""
    import redis

    base = cli(["scan", _small_file(tmp_path), "--index", redis_url])
    assert base.exit_code == 0, base.stderr
    t = parse_redis_url(redis_url)
    client = redis.Redis(host=t.host, port=t.port, db=t.db)
    try:
        params = json.loads(client.get(f"{t.prefix}:params"))
        assert params.pop("redis_layout") == "sorted-sets"
        client.set(f"{t.prefix}:params", json.dumps(params, sort_keys=True, separators=(",", ":")))
        buckets = list(client.scan_iter(match=f"{t.prefix}:b:*"))
        assert len(buckets) > 30
        for key in buckets:
            members = client.zrange(key, 0, -1)
            client.delete(key)
            client.sadd(key, *members)
        before = {key: client.dump(key) for key in client.scan_iter(match=f"{t.prefix}:*")}

        run = dedupe(["scan", _small_file(tmp_path, seed=4), "--index", redis_url, "--bucket-cap", "4"])
        line = _check_one_error_line(run.returncode, run.stdout, run.stderr.decode(), 5)
        assert f"the index at {t.display()} was written by an earlier dedupe" in line, line
        assert "another ?prefix=NAME, or clear that one" in line and ".clear()" in line, line
        result = cli(["filter", _small_file(tmp_path, seed=4), "--index", redis_url, "--bucket-cap", "0"])
        assert _check_one_error_line(result.exit_code, result.stdout_bytes, result.stderr, 5) == line
        assert {key: client.dump(key) for key in client.scan_iter(match=f"{t.prefix}:*")} == before
    finally:
        client.close()


# --------------------------------------------------------------------------- 5. bad server / URL


def test_unreachable_server(tmp_path: Path) -> None:
    port = closed_port()
    start = time.monotonic()
    run = dedupe(["scan", _small_file(tmp_path), "--index", f"redis://127.0.0.1:{port}/0?prefix=x"])
    assert time.monotonic() - start < 20  # the connection check does not retry for long
    line = _check_one_error_line(run.returncode, run.stdout, run.stderr.decode(), 5)
    assert f"127.0.0.1:{port}" in line and "cannot connect" in line, line


def test_password_in_url_is_refused(tmp_path: Path, redis_server: str, cli) -> None:
    """Exit 5 (a bad Redis URL is an index error, like every SharedIndexError); the password is never echoed."""
    port = parse_redis_url(redis_server).port
    path = _small_file(tmp_path)
    run = dedupe(["scan", path, "--index", f"redis://:secret@127.0.0.1:{port}/0", "--report", tmp_path / "r.json"])
    line = _check_one_error_line(run.returncode, run.stdout, run.stderr.decode(), 5)
    assert "secret" not in run.stderr.decode()
    assert "password" in line and PASSWORD_ENV in line, line
    assert not (tmp_path / "r.json").exists()
    # Other spellings, in process: a user name, and passwords holding '/', '?' or '#' (they split the URL).
    for userinfo in ("bob:secret", "bob:se/cret", ":sec?ret", "bob:se#cret"):
        result = cli(["filter", path, "--index", f"redis://{userinfo}@127.0.0.1:{port}/0?prefix=never"])
        _check_one_error_line(result.exit_code, result.stdout_bytes, result.stderr, 5)
        for fragment in ("secret", "cret", "se/", "sec?", "se#"):
            assert fragment not in result.stderr, (userinfo, result.stderr)


# --------------------------------------------------------------------------- 6. password from the environment

PASSWORD = "pw-Kq7Zx19vLm-redis"


def test_password_from_the_environment(tmp_path: Path, start_redis, cli, monkeypatch) -> None:
    server = start_redis("--requirepass", PASSWORD)
    url = f"{server.url}?prefix=pw"
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=9, bases=40, exact=10, edited=10, with_rejects=False)
    assert PASSWORD.encode() not in corpus.path.read_bytes()

    ok = dedupe(["scan", corpus.path, "--index", url, "--report", tmp_path / "r.json"], password=PASSWORD)
    assert ok.returncode == 0, ok.stderr.decode()
    report = (tmp_path / "r.json").read_bytes()
    assert json.loads(report)["counts"]["duplicates"] == 20
    assert json.loads(report)["index"]["documents_after"] == documents_in(url, PASSWORD) > 0
    assert f"shared index {parse_redis_url(url).display()}:" in ok.stderr.decode()
    for blob in (ok.stdout, ok.stderr, report):
        assert PASSWORD.encode() not in blob

    missing = dedupe(["scan", corpus.path, "--index", url])
    line = _check_one_error_line(missing.returncode, missing.stdout, missing.stderr.decode(), 5)
    assert f"set the environment variable {PASSWORD_ENV}" in line, line
    assert f"127.0.0.1:{server.port}" in line

    # A wrong password, in process: refused, and neither password is echoed.
    monkeypatch.setenv(PASSWORD_ENV, "wrong-" + PASSWORD)
    result = cli(["scan", corpus.path, "--index", url])
    line = _check_one_error_line(result.exit_code, result.stdout_bytes, result.stderr, 5)
    assert "refused" in line and PASSWORD_ENV in line and PASSWORD not in result.stderr, line


# --------------------------------------------------------------------------- 7. --resume


def test_resume_with_a_redis_index_is_a_usage_error(tmp_path: Path, redis_url: str, cli) -> None:
    path = _small_file(tmp_path)
    run = dedupe(["scan", path, "--index", redis_url, "--resume"])
    line = _check_one_error_line(run.returncode, run.stdout, run.stderr.decode(), 2)
    assert "--resume" in line and "Redis" in line, line
    assert keys_under(redis_url) == []  # refused before anything was written (not even the parameters)
    # Refused as a usage error before connecting: an unreachable server does not change the answer.
    result = cli(["filter", path, "--index", f"redis://127.0.0.1:{closed_port()}/0", "--resume"])
    line = _check_one_error_line(result.exit_code, result.stdout_bytes, result.stderr, 2)
    assert "--resume" in line, line
