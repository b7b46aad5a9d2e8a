"""dedupe.cli.app end to end: in-process through typer's CliRunner and in real subprocesses."""

from __future__ import annotations

import gzip
import json
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from dedupe import jaccard, text_shingles

SUMMARY = re.compile(r"^dedupe (scan|filter): [\d,]+ (?:\w+ )?records\b.*\b[\d,]+ kept\b", re.M)


# --------------------------------------------------------------------------- data


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(n)]


def small_corpus() -> tuple[list[bytes], dict[str, str | None]]:
    """Seven hand-planned lines and, per id, the id it must be a duplicate of.

    a-copy is an exact copy of a; b-edit is b with its last word changed
    (J = 55/57); the empty texts are never duplicates; the last record has
    no id, so its id is its line number, 7.
    """
    rng = random.Random(42)
    a, b, c = (" ".join(_words(rng, 60)) for _ in range(3))
    b_edit = b.rsplit(" ", 1)[0] + " changed"
    assert jaccard(text_shingles(b), text_shingles(b_edit)) == pytest.approx(55 / 57)
    lines = [
        json.dumps({"id": "a", "text": a}).encode(),  # ", " and ": " separators
        json.dumps({"id": "b", "text": b, "meta": {"k": [1, 2]}}, separators=(",", ":")).encode(),
        b'{"id":   "a-copy",  "text": ' + json.dumps(a).encode() + b"}",
        b'{"id": "e1", "text": ""}',
        json.dumps({"id": "b-edit", "text": b_edit, "n": 123456789012345678901234567890}).encode(),
        b'{"id": "e2", "text": ""}',
        json.dumps({"text": c}).encode(),
    ]
    expected = {"a": None, "b": None, "a-copy": "a", "e1": None, "b-edit": "b", "e2": None, "7": None}
    return lines, expected


@pytest.fixture
def small(tmp_path: Path):
    lines, expected = small_corpus()
    path = tmp_path / "small.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path, lines, expected


def _check_scan_output(out: bytes, lines: list[bytes], expected: dict[str, str | None]) -> None:
    got = out.splitlines()
    assert len(got) == len(lines)
    for raw, line in zip(lines, got):
        obj = json.loads(line)
        ann = obj.pop("dedupe")
        assert obj == json.loads(raw)  # the record itself is unchanged
        assert line.startswith(raw[:-1])  # and so are its bytes
        rid = str(obj.get("id", "7"))
        assert ann["duplicate_of"] == expected[rid], rid
        if expected[rid] is None:
            assert ann["similarity"] is None
        else:
            assert ann["similarity"] >= 0.8
    ids = [str(json.loads(line).get("id", "7")) for line in got]
    assert ids == list(expected)  # input order


def _kept_lines(lines, expected) -> list[bytes]:
    return [raw for raw, rid in zip(lines, expected) if expected[rid] is None]


# --------------------------------------------------------------------------- scan and filter (CliRunner)


def test_scan_writes_every_record_plus_a_dedupe_key_in_input_order(cli, small):
    path, lines, expected = small
    result = cli(["scan", path])
    assert result.exit_code == 0, result.stderr
    _check_scan_output(result.stdout_bytes, lines, expected)


def test_scan_annotation_names_cluster_and_exact_similarity(cli, small):
    path, _, _ = small
    out = [json.loads(line) for line in cli(["scan", path]).stdout_bytes.splitlines()]
    by_id = {str(o.get("id", "7")): o["dedupe"] for o in out}
    assert by_id["a-copy"] == {"cluster": "a", "duplicate_of": "a", "similarity": 1.0}
    assert by_id["b-edit"] == {"cluster": "b", "duplicate_of": "b", "similarity": round(55 / 57, 6)}
    assert by_id["e1"] == {"cluster": "e1", "duplicate_of": None, "similarity": None}


def test_filter_writes_only_first_seen_records_byte_identical(cli, small):
    path, lines, expected = small
    result = cli(["filter", path])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b"".join(raw + b"\n" for raw in _kept_lines(lines, expected))


def test_filter_dropped_file_receives_the_duplicates_annotated(cli, small, tmp_path):
    path, lines, expected = small
    dropped = tmp_path / "dropped.jsonl"
    result = cli(["filter", path, "--dropped", dropped])
    assert result.exit_code == 0, result.stderr
    got = dropped.read_bytes().splitlines()
    dup_lines = [raw for raw, rid in zip(lines, expected) if expected[rid] is not None]
    assert len(got) == len(dup_lines) == 2
    for raw, line in zip(dup_lines, got):
        obj = json.loads(line)
        ann = obj.pop("dedupe")
        assert obj == json.loads(raw)
        assert line.startswith(raw[:-1])
        assert ann["duplicate_of"] == expected[obj["id"]]
    # The big integer of b-edit survives byte for byte.
    assert b"123456789012345678901234567890" in got[1]


def test_filter_and_scan_agree(cli, small):
    path, lines, _ = small
    scan = [json.loads(line)["dedupe"]["duplicate_of"] for line in cli(["scan", path]).stdout_bytes.splitlines()]
    kept = cli(["filter", path]).stdout_bytes.splitlines()
    assert kept == [raw for raw, dup in zip(lines, scan) if dup is None]


def test_stdin_is_read_via_dash_and_via_no_argument(cli, small):
    path, lines, expected = small
    data = path.read_bytes()
    by_file = cli(["scan", path]).stdout_bytes
    for args in (["scan", "-"], ["scan"]):
        result = cli(args, input=data)
        assert result.exit_code == 0, result.stderr
        assert result.stdout_bytes == by_file
    result = cli(["filter"], input=data)
    assert result.stdout_bytes == b"".join(raw + b"\n" for raw in _kept_lines(lines, expected))


def test_gzip_input_gives_the_same_output_as_plain(cli, small, tmp_path):
    path, _, _ = small
    gz = tmp_path / "small.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert cli(["scan", gz]).stdout_bytes == cli(["scan", path]).stdout_bytes


def test_several_inputs_are_one_stream(cli, small, tmp_path):
    path, lines, _ = small
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    first.write_bytes(lines[0] + b"\n")
    second.write_bytes(lines[2] + b"\n")  # the exact copy of the record in the first file
    out = [json.loads(line) for line in cli(["scan", first, second]).stdout_bytes.splitlines()]
    assert [o["id"] for o in out] == ["a", "a-copy"]
    assert out[1]["dedupe"]["duplicate_of"] == "a"


def test_text_and_id_fields_can_be_chosen(cli, tmp_path):
    text = "one two three four five six seven eight"
    path = tmp_path / "fields.jsonl"
    path.write_text(json.dumps({"key": "x", "body": text}) + "\n" + json.dumps({"key": "y", "body": text}) + "\n")
    result = cli(["scan", path, "--text-field", "body", "--id-field", "key"])
    assert result.exit_code == 0, result.stderr
    anns = [json.loads(line)["dedupe"] for line in result.stdout_bytes.splitlines()]
    assert anns[1]["duplicate_of"] == "x"


# --------------------------------------------------------------------------- report


def test_report_file_has_counts_clusters_parameters_and_timings(cli, small, tmp_path):
    path, _, _ = small
    report_path = tmp_path / "report.json"
    result = cli(["scan", path, "--report", report_path])
    assert result.exit_code == 0, result.stderr
    report = json.loads(report_path.read_text())
    c = report["counts"]
    assert (c["input"], c["kept"], c["duplicates"], c["rejected"]) == (7, 5, 2, 0)
    assert c["input"] == c["kept"] + c["duplicates"] + c["rejected"]
    assert report["clusters"] == [
        {"cluster": "a", "size": 2, "members": ["a", "a-copy"]},
        {"cluster": "b", "size": 2, "members": ["b", "b-edit"]},
    ]
    p = report["parameters"]
    assert {k: p[k] for k in ("unit", "ngram", "num_perm", "threshold", "seed")} == {
        "unit": "word", "ngram": 5, "num_perm": 128, "threshold": 0.8, "seed": 1,
    }
    assert p["bands"] * p["rows"] <= 128
    t = report["timings"]
    assert t["seconds"] >= 0 and t["feature_seconds"] >= 0 and t["match_seconds"] >= 0
    assert report["inputs"] == [str(path)]
    assert report["mode"] == "scan"


def test_report_parameters_follow_the_options(cli, small, tmp_path):
    path, _, _ = small
    report_path = tmp_path / "r.json"
    args = ["scan", path, "--report", report_path, "--unit", "char", "--ngram", "4", "--num-perm", "64",
            "--threshold", "0.7", "--seed", "9", "--bands", "16", "--rows", "4"]
    result = cli(args)
    assert result.exit_code == 0, result.stderr
    p = json.loads(report_path.read_text())["parameters"]
    assert (p["unit"], p["ngram"], p["num_perm"], p["threshold"], p["seed"], p["bands"], p["rows"]) == (
        "char", 4, 64, 0.7, 9, 16, 4,
    )


def test_transitive_matches_are_one_cluster_in_the_report(cli, triple, tmp_path):
    assert jaccard(text_shingles(triple.a), text_shingles(triple.c)) < 0.8  # A !~ C
    path = tmp_path / "abc.jsonl"
    path.write_text("".join(json.dumps({"id": k, "text": t}) + "\n" for k, t in
                            (("A", triple.a), ("B", triple.b), ("C", triple.c))))
    report_path = tmp_path / "r.json"
    result = cli(["scan", path, "--report", report_path])
    assert result.exit_code == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["clusters"] == [{"cluster": "A", "size": 3, "members": ["A", "B", "C"]}]
    anns = [json.loads(line)["dedupe"] for line in result.stdout_bytes.splitlines()]
    assert [a["cluster"] for a in anns] == ["A", "A", "A"]
    # C matches only B, a duplicate: C is kept, in the cluster of A (the report lists the family).
    assert [a["duplicate_of"] for a in anns] == [None, "A", None]


def test_filter_report_counts_match_its_output(cli, small, tmp_path):
    path, lines, expected = small
    report_path = tmp_path / "r.json"
    result = cli(["filter", path, "--report", report_path])
    report = json.loads(report_path.read_text())
    assert report["mode"] == "filter"
    assert report["counts"]["kept"] == len(result.stdout_bytes.splitlines()) == 5
    assert report["counts"]["duplicates"] == 2


# --------------------------------------------------------------------------- stderr summary


@pytest.mark.parametrize("mode", ["scan", "filter"])
def test_summary_line_is_printed_on_stderr(cli, small, mode):
    path, _, _ = small
    result = cli([mode, path])
    assert result.exit_code == 0
    assert SUMMARY.search(result.stderr), result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert re.search(r"\b7 (?:\w+ )?records\b", line), line
    assert re.search(r"\b5 kept\b", line) and re.search(r"\b2 duplicates\b", line)
    assert b"kept" not in result.stdout_bytes  # diagnostics never go to stdout


def test_summary_line_is_printed_for_empty_input(cli):
    result = cli(["scan"], input=b"")
    assert result.exit_code == 0
    assert result.stdout_bytes == b""
    assert re.search(r"\b0 (?:\w+ )?records\b", result.stderr), result.stderr
    assert re.search(r"\b0 kept\b", result.stderr)


# --------------------------------------------------------------------------- bad input


def _bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"id": "ok1", "text": "fine words here"}\n'
        b"\n"
        b"{this is not json\n"
        b'{"id": "ok2", "text": "more fine words"}\n'
        b"[1, 2]\n"
        b'{"id": "nt", "body": "x"}\n'
        b'{"id": "bad", "text": "caf\xe9"}\n'
        b'{"id": 1.5, "text": "x"}\n'
        b"{also broken\n"
    )
    return path


def test_bad_line_without_rejects_exits_3_with_the_summary_then_one_error_line(cli, tmp_path):
    path = _bad_file(tmp_path)
    result = cli(["scan", path])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    # The records decided before the bad line are accounted for, the bad line among them.
    assert "2 input records" in lines[0] and "1 kept" in lines[0] and "1 rejected" in lines[0]
    assert f"{path}:3:" in lines[1]
    assert "Traceback" not in result.stderr
    assert "--rejects" in lines[1]


def test_report_of_a_run_stopped_by_bad_input_says_how_far_it_got(cli, tmp_path):
    path, report_path = _bad_file(tmp_path), tmp_path / "report.json"
    result = cli(["scan", path, "--report", report_path])
    assert result.exit_code == 3
    report = json.loads(report_path.read_text())
    assert report["completed"] is False
    assert f"{path}:3:" in report["error"]
    assert report["counts"]["kept"] == 1  # only ok1 came before the bad line
    ok = tmp_path / "ok.jsonl"
    ok.write_text('{"id": 1, "text": "fine"}\n')
    assert cli(["scan", ok, "--report", report_path]).exit_code == 0
    report = json.loads(report_path.read_text())
    assert report["completed"] is True and report["error"] is None


def test_bad_line_on_stdin_names_stdin(cli, tmp_path):
    result = cli(["filter"], input=_bad_file(tmp_path).read_bytes())
    assert result.exit_code == 3
    assert "<stdin>:3:" in result.stderr.strip().splitlines()[-1]
    assert len(result.stderr.strip().splitlines()) == 2


def test_rejects_file_gets_one_json_line_per_bad_line_and_the_run_goes_on(cli, tmp_path):
    path = _bad_file(tmp_path)
    rejects, report_path = tmp_path / "rejects.jsonl", tmp_path / "report.json"
    result = cli(["scan", path, "--rejects", rejects, "--report", report_path])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout_bytes.splitlines()] == ["ok1", "ok2"]
    rows = [json.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [r["line"] for r in rows] == [3, 5, 6, 7, 8, 9]
    assert [r["code"] for r in rows] == ["malformed_json", "not_an_object", "missing_text", "invalid_utf8",
                                         "bad_id", "malformed_json"]
    for r in rows:
        assert set(r) >= {"source", "line", "code", "reason", "raw"}
        assert r["source"] == str(path)
        assert r["reason"]
    assert rows[0]["raw"] == "{this is not json"
    counts = json.loads(report_path.read_text())["counts"]
    assert counts["rejected"] == 6
    assert counts["rejected_by_reason"] == {"bad_id": 1, "invalid_utf8": 1, "malformed_json": 2,
                                            "missing_text": 1, "not_an_object": 1}
    assert counts["input"] == counts["kept"] + counts["duplicates"] + counts["rejected"] == 8
    assert counts["blank_lines_skipped"] == 1
    assert re.search(r"\b6 rejected\b", result.stderr)


def test_missing_input_file_exits_3_with_a_clear_message(cli, tmp_path):
    missing = tmp_path / "does-not-exist.jsonl"
    result = cli(["scan", missing])
    assert result.exit_code == 3
    assert str(missing) in result.stderr
    assert "cannot open" in result.stderr or "no such file" in result.stderr.lower()
    assert result.stdout_bytes == b""
    assert "Traceback" not in result.stderr


def test_unwritable_report_path_exits_4(cli, small, tmp_path):
    path, _, _ = small
    result = cli(["scan", path, "--report", tmp_path / "no" / "such" / "dir" / "r.json"])
    assert result.exit_code == 4
    assert "cannot write" in result.stderr


# --------------------------------------------------------------------------- bad options


@pytest.mark.parametrize(
    "args, word",
    [
        (["--threshold", "1.5"], "threshold"),
        (["--threshold", "0"], "threshold"),
        (["--unit", "foo"], "unit"),
        (["--workers", "0"], "workers"),
        (["--batch-size", "0"], "batch-size"),
        (["--ngram", "0"], "ngram"),
        (["--num-perm", "1"], "num_perm"),
        (["--verify", "maybe"], "verify"),
        (["--bands", "20", "--rows", "8"], "num-perm"),
        (["--threshold", "abc"], "threshold"),
        (["--no-such-option"], "no-such-option"),
    ],
)
def test_bad_option_exits_2_with_a_message_and_no_traceback(cli, small, args, word):
    path, _, _ = small
    result = cli(["scan", path, *args])
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert word in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout_bytes == b""
    assert isinstance(result.exception, SystemExit)


def test_scan_and_filter_help_show_examples(cli):
    for cmd in ("scan", "filter"):
        result = cli([cmd, "--help"])
        assert result.exit_code == 0
        assert "Examples" in result.stdout
        assert f"dedupe {cmd}" in result.stdout


def test_top_level_help_shows_examples(cli):
    result = cli(["--help"])
    assert result.exit_code == 0
    assert "Examples" in result.stdout


# --------------------------------------------------------------------------- real subprocesses


def test_subprocess_scan_and_filter_from_a_file(run_dedupe, small, tmp_path):
    path, lines, expected = small
    scan = run_dedupe(["scan", path])
    assert scan.returncode == 0, scan.stderr
    _check_scan_output(scan.stdout, lines, expected)
    dropped = tmp_path / "d.jsonl"
    filt = run_dedupe(["filter", path, "--dropped", dropped])
    assert filt.returncode == 0, filt.stderr
    assert filt.stdout == b"".join(raw + b"\n" for raw in _kept_lines(lines, expected))
    assert [json.loads(x)["id"] for x in dropped.read_bytes().splitlines()] == ["a-copy", "b-edit"]
    for proc in (scan, filt):
        assert SUMMARY.search(proc.stderr.decode()), proc.stderr


def test_subprocess_reads_stdin_via_dash_and_via_no_argument(run_dedupe, small):
    path, lines, expected = small
    for args in (["scan", "-"], ["scan"]):
        proc = run_dedupe(args, stdin=path.read_bytes())
        assert proc.returncode == 0, proc.stderr
        _check_scan_output(proc.stdout, lines, expected)
        assert b"records" in proc.stderr and b"kept" in proc.stderr


def test_subprocess_output_is_byte_identical_across_runs_and_worker_counts(run_dedupe, corpus, tmp_path):
    outputs = []
    for k, workers in enumerate(["1", "1", "2"]):
        # Same relative output names in a fresh directory, so the reports can be compared whole.
        run_dir = tmp_path / f"run{k}"
        run_dir.mkdir()
        proc = run_dedupe(["scan", corpus.path, "--workers", workers, "--rejects", "rejects.jsonl",
                           "--report", "report.json"], cwd=run_dir)
        assert proc.returncode == 0, proc.stderr
        assert SUMMARY.search(proc.stderr.decode()), proc.stderr
        rejects = run_dir / "rejects.jsonl"
        rep = json.loads((run_dir / "report.json").read_text())
        rep.pop("timings")
        outputs.append((proc.stdout, rejects.read_bytes(), rep))
    assert outputs[0][0] == outputs[1][0] == outputs[2][0]
    assert outputs[0][1] == outputs[1][1] == outputs[2][1]
    assert outputs[0][2] == outputs[1][2] == outputs[2][2]

    out, rejects, report = outputs[0]
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == [r["id"] for r in corpus.records]
    assert [json.loads(x)["line"] for x in rejects.splitlines()] == corpus.bad_lines
    # duplicate_of always names an earlier record.
    position = {r["id"]: k for k, r in enumerate(records)}
    dups = [r for r in records if r["dedupe"]["duplicate_of"] is not None]
    assert len(dups) >= 50
    for r in dups:
        assert position[r["dedupe"]["duplicate_of"]] < position[r["id"]]
    for r in records:
        if corpus.kinds[r["id"]] in ("empty", "punct"):
            assert r["dedupe"]["duplicate_of"] is None
        if corpus.kinds[r["id"]] == "exact":
            assert r["dedupe"]["similarity"] == 1.0
    # Report: counts add up, clusters largest first, members in input order.
    c = report["counts"]
    assert c["input"] == len(records) + len(corpus.bad_lines)
    assert c["input"] == c["kept"] + c["duplicates"] + c["rejected"]
    assert c["duplicates"] == len(dups)
    assert c["blank_lines_skipped"] == corpus.blank_lines
    sizes = [cl["size"] for cl in report["clusters"]]
    assert sizes == sorted(sizes, reverse=True)
    in_clusters = set()
    for cl in report["clusters"]:
        assert cl["size"] == len(cl["members"]) >= 2
        assert [position[m] for m in cl["members"]] == sorted(position[m] for m in cl["members"])
        in_clusters.update(cl["members"])
    assert {r["id"] for r in dups} <= in_clusters


def test_subprocess_bad_input_exits_3_with_the_summary_and_one_error_line(run_dedupe, tmp_path):
    path = _bad_file(tmp_path)
    proc = run_dedupe(["filter", path])
    assert proc.returncode == 3
    err = proc.stderr.decode()
    assert len(err.strip().splitlines()) == 2, err
    assert f"{path}:3:" in err.strip().splitlines()[-1]
    assert "Traceback" not in err


def test_subprocess_missing_file_and_bad_option(run_dedupe, tmp_path):
    proc = run_dedupe(["scan", tmp_path / "missing.jsonl"])
    assert proc.returncode == 3
    assert b"missing.jsonl" in proc.stderr and b"Traceback" not in proc.stderr
    proc = run_dedupe(["scan", "--threshold", "1.5", "--workers", "1"])
    assert proc.returncode == 2
    assert b"threshold" in proc.stderr and b"Traceback" not in proc.stderr


def test_subprocess_help_shows_examples(run_dedupe):
    proc = run_dedupe(["scan", "--help"])
    assert proc.returncode == 0
    assert b"Examples" in proc.stdout


def test_a_broken_pipe_is_quiet(tmp_path):
    """`cat x | dedupe scan | head -1` without pipefail: one line out, no traceback."""
    inp = tmp_path / "many.jsonl"
    with inp.open("w") as fh:
        for i in range(20_000):
            fh.write(json.dumps({"id": i, "text": f"record number {i} with a few words {i % 97}"}) + "\n")
    assert inp.stat().st_size > 1_000_000  # far more than a pipe buffer holds
    err, rc = tmp_path / "err.txt", tmp_path / "rc.txt"
    py = shlex.quote(sys.executable)
    cmd = (f"cat {shlex.quote(str(inp))} | ( {py} -m dedupe scan 2>{shlex.quote(str(err))};"
           f" echo $? > {shlex.quote(str(rc))} ) | head -1")
    proc = subprocess.run(cmd, shell=True, capture_output=True, timeout=120)
    assert proc.returncode == 0  # head's status
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    first = json.loads(lines[0])
    assert first["id"] == 0 and first["dedupe"]["duplicate_of"] is None
    stderr = err.read_text()
    assert "Traceback" not in stderr
    assert "BrokenPipe" not in stderr
    assert rc.read_text().strip() == "141", stderr  # as for a process killed by SIGPIPE, and quiet


def test_a_huge_integer_never_crashes_the_cli(cli, tmp_path):
    path = tmp_path / "huge.jsonl"
    path.write_text('{"id": "h", "text": "some words", "n": ' + "9" * 5000 + "}\n")
    result = cli(["scan", path, "--rejects", tmp_path / "rejects.jsonl"])
    assert result.exit_code in (0, 3)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_version_option_prints_the_package_version():
    import dedupe

    proc = subprocess.run([sys.executable, "-m", "dedupe", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"dedupe {dedupe.__version__}"


def test_the_batch_size_and_the_workers_never_change_the_output(run_dedupe, tmp_path):
    from conftest import generate_corpus

    corpus = generate_corpus(tmp_path / "c.jsonl", seed=31, bases=300, exact=60, edited=80, with_rejects=False)
    base = run_dedupe(["scan", str(corpus.path)])
    assert base.returncode == 0 and base.stdout.count(b'"duplicate_of":"') > 50  # duplicates were found
    for options in (["--batch-size", "1"], ["--batch-size", "7"], ["-w", "2", "--batch-size", "13"], ["-w", "3"]):
        run = run_dedupe(["scan", str(corpus.path), *options])
        assert run.returncode == 0, run.stderr
        assert run.stdout == base.stdout, options
