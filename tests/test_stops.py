"""Every way a run stops leaves the outputs, the index and the report in agreement.

A damaged input, a bad line, a signal, a reader that closes stdout: the index holds
exactly the records written (when it can be saved), a report is whole (completed
false) or absent, never half, and ``--resume`` continues the side outputs.
"""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zstandard

from conftest import generate_corpus
from test_faults import dedupe, error_line, in_process
from test_index import _default_sigint

MANIFEST = "MANIFEST.json"


def _manifest(index: Path) -> dict:
    return json.loads((index / MANIFEST).read_text())


def _truncated_gzip(path: Path, data: bytes, cut: int = 3000) -> Path:
    packed = gzip.compress(data)
    path.write_bytes(packed[:-cut])
    return path


@pytest.fixture
def big(tmp_path: Path) -> Path:
    return generate_corpus(tmp_path / "big.jsonl", seed=21, bases=900, exact=80, edited=80, with_rejects=False).path


# --------------------------------------------------------------------------- a damaged input


@pytest.mark.parametrize("workers", [1, 2])
def test_a_truncated_gzip_checkpoints_exactly_what_was_written(tmp_path, big, workers):
    index = tmp_path / "idx"
    first = generate_corpus(tmp_path / "first.jsonl", seed=2, bases=50, exact=5, edited=5, with_rejects=False).path
    assert dedupe(["scan", first, "--index", index], stdout=subprocess.DEVNULL).returncode == 0
    before = _manifest(index)["documents"]
    damaged = _truncated_gzip(tmp_path / "damaged.jsonl.gz", big.read_bytes())
    proc = dedupe(["scan", damaged, "--index", index, "-w", workers, "--report", tmp_path / "r.json"])
    error_line(proc.stderr, 3, proc.returncode, "damaged.jsonl.gz", "cannot read input")
    written = proc.stdout.splitlines()
    assert written, "the records before the break are written"
    manifest = _manifest(index)
    assert manifest["documents"] == before + len(written)
    assert manifest["last_run"]["complete"] is False and manifest["last_run"]["lines_done"] == len(written)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["completed"] is False and "cannot read input" in report["error"]
    assert report["counts"]["input"] == len(written)


def test_resume_after_a_truncated_gzip_continues_from_the_break(tmp_path, big):
    index = tmp_path / "idx"
    data = big.read_bytes()
    damaged = _truncated_gzip(tmp_path / "in.jsonl.gz", data)
    first = dedupe(["scan", damaged, "--index", index])
    assert first.returncode == 3
    damaged.write_bytes(gzip.compress(data))  # the file repaired (downloaded again)
    rest = dedupe(["scan", damaged, "--index", index, "--resume"])
    assert rest.returncode == 0, rest.stderr
    whole = dedupe(["scan", big])
    assert first.stdout + rest.stdout == whole.stdout


# --------------------------------------------------------------------------- the report is whole or absent


def _damaged_zstd(path: Path, data: bytes) -> Path:
    packed = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(packed[: len(packed) // 2])
    return path


def _damaged_parquet(path: Path, data: bytes) -> Path:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    rows = [json.loads(line) for line in data.splitlines() if line.strip()]
    table = pa.table({"id": [str(r["id"]) for r in rows], "text": [r["text"] for r in rows]})
    pq.write_table(table, path, row_group_size=100)
    raw = path.read_bytes()
    middle = len(raw) // 2
    path.write_bytes(raw[:middle] + bytes(b ^ 0xFF for b in raw[middle: middle + 2000]) + raw[middle + 2000:])
    return path


@pytest.mark.parametrize("damage", ["gzip", "zstd", "parquet"])
def test_a_damaged_input_still_writes_a_whole_report(tmp_path, big, damage):
    data = big.read_bytes()
    make = {"gzip": lambda: _truncated_gzip(tmp_path / "in.jsonl.gz", data),
            "zstd": lambda: _damaged_zstd(tmp_path / "in.jsonl.zst", data),
            "parquet": lambda: _damaged_parquet(tmp_path / "in.parquet", data)}[damage]
    report_path = tmp_path / "r.json"
    proc = dedupe(["scan", make(), "--report", report_path], stdout=subprocess.DEVNULL)
    error_line(proc.stderr, 3, proc.returncode)
    report = json.loads(report_path.read_text())
    assert report["completed"] is False and report["error"]
    assert not list(tmp_path.glob(".r.json.*")), "no temporary file left behind"


def test_a_reader_that_closes_stdout_still_gets_a_whole_report(tmp_path, big):
    report_path = tmp_path / "p.json"
    proc = subprocess.Popen([sys.executable, "-m", "dedupe", "scan", str(big), "--report", str(report_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141, err
    report = json.loads(report_path.read_text())
    assert report["completed"] is False and "closed" in report["error"]


def test_a_second_signal_leaves_a_whole_report_or_none(tmp_path, big):
    report_path = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "dedupe", "scan", "--passages", "-", "--report",
                             str(report_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=_default_sigint)
    data = big.read_bytes()
    assert len(data) > 1 << 19  # far more than a pipe holds: the write returns once the run is reading
    proc.stdin.write(data)
    proc.stdin.flush()
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)  # two signals sent at once are delivered as one
    proc.send_signal(signal.SIGINT)
    proc.stdin.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    if report_path.exists():  # absent, or whole
        assert json.loads(report_path.read_text())["completed"] is False
    assert not list(tmp_path.glob(".r.json.*"))


def test_a_report_replaces_an_earlier_one_only_when_the_new_one_is_whole(tmp_path, cli):
    report_path = tmp_path / "r.json"
    report_path.write_text('{"earlier": true}\n')
    # The run fails before its report could say anything: an input that does not exist is refused first.
    in_process(cli(["scan", tmp_path / "missing.jsonl", "--report", report_path]), 3)
    assert report_path.read_text() == '{"earlier": true}\n'


# --------------------------------------------------------------------------- --resume


def _feed_then_sigint(tmp_path: Path, data: bytes, cut: int, args: list) -> tuple[int, bytes, str]:
    """``dedupe ARGS -`` fed ``data[:cut lines]`` with stdin kept open, then SIGINT once a batch is written."""
    lines = data.splitlines(keepends=True)
    out_path = tmp_path / "first.jsonl"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dedupe", *map(str, args), "-"], stdin=subprocess.PIPE,
                                stdout=out, stderr=subprocess.PIPE, preexec_fn=_default_sigint)
        proc.stdin.write(b"".join(lines[:cut]))
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while out_path.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    return proc.returncode, out_path.read_bytes(), err.decode()


def test_resume_appends_to_rejects_and_dropped(tmp_path):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=8, bases=500, exact=120, edited=120, with_rejects=True)
    data = corpus.path.read_bytes()
    index = tmp_path / "idx"
    sides = ["--rejects", tmp_path / "rej.jsonl", "--dropped", tmp_path / "drop.jsonl"]
    rc, first, err = _feed_then_sigint(tmp_path, data, 600, ["filter", "--index", index, *sides])
    assert rc == 130, err
    first_rejects = (tmp_path / "rej.jsonl").read_bytes()
    first_dropped = (tmp_path / "drop.jsonl").read_bytes()
    assert first_dropped, "the interrupted run dropped some duplicates"
    rest = dedupe(["filter", "-", "--index", index, "--resume", *sides], input=data)
    assert rest.returncode == 0, rest.stderr
    whole_sides = ["--rejects", tmp_path / "wrej.jsonl", "--dropped", tmp_path / "wdrop.jsonl"]
    whole = dedupe(["filter", "-", *whole_sides], input=data)
    assert first + rest.stdout == whole.stdout
    assert (tmp_path / "rej.jsonl").read_bytes().startswith(first_rejects)
    assert (tmp_path / "rej.jsonl").read_bytes() == (tmp_path / "wrej.jsonl").read_bytes()
    assert (tmp_path / "drop.jsonl").read_bytes() == (tmp_path / "wdrop.jsonl").read_bytes()


@pytest.mark.parametrize("change, option", [(["-t", "0.95", "--bands", "16", "--rows", "8"], "--threshold"),
                                            (["--max-chars", "100"], "--max-chars"),
                                            (["--text-field", "body"], "--text-field"),
                                            (["--verify", "estimate"], "--verify")])
def test_resume_refuses_options_that_change_the_output(tmp_path, change, option):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=9, bases=500, exact=50, edited=50, with_rejects=False)
    data = corpus.path.read_bytes()
    index = tmp_path / "idx"
    rc, _, err = _feed_then_sigint(tmp_path, data, 600, ["scan", "--index", index])
    assert rc == 130, err
    proc = dedupe(["scan", "-", "--index", index, "--resume", *change], input=data)
    if option == "--verify":  # an index parameter: the index itself refuses it
        error_line(proc.stderr, 5, proc.returncode, "verify")
    else:
        error_line(proc.stderr, 2, proc.returncode, "--resume", option)
    assert proc.stdout == b""
    same = dedupe(["scan", "-", "--index", index, "--resume", "-w", "2"], input=data)  # -w does not change output
    assert same.returncode == 0, same.stderr


def test_resume_without_an_index_creates_nothing(cli, tmp_path):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=9, bases=20, exact=2, edited=2, with_rejects=False)
    in_process(cli(["scan", corpus.path, "--index", tmp_path / "idx", "--resume"]), 2, "nothing to resume",
               "no index")
    assert not (tmp_path / "idx").exists()


def test_the_interrupt_message_with_output_dir_does_not_say_append_with_redirect(tmp_path):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=9, bases=500, exact=50, edited=50, with_rejects=False)
    lines = corpus.path.read_bytes().splitlines(keepends=True)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "dedupe", "scan", "-", "--index", str(tmp_path / "idx"),
                             "--output", str(out), "--checkpoint-every", "1"],  # each batch flushed to the shard
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=_default_sigint)
    proc.stdin.write(b"".join(lines[:600]))
    proc.stdin.flush()
    shard = out / "00000-stdin.jsonl"
    deadline = time.monotonic() + 60
    while (not shard.exists() or shard.stat().st_size == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    text = err.decode()
    assert "--resume" in text and "--output" in text and ">>" not in text


# --------------------------------------------------------------------------- messages


def test_a_bad_option_value_is_reported_in_dedupes_form():
    proc = dedupe(["scan", "--threshold", "abc"])
    error_line(proc.stderr, 2, proc.returncode, "--threshold", "dedupe scan --help")
    assert "Usage:" not in proc.stderr.decode()


def test_an_unknown_option_is_reported_in_dedupes_form():
    proc = dedupe(["filter", "--thresold", "0.5"])
    error_line(proc.stderr, 2, proc.returncode, "--thresold")


def test_report_counts_one_record_in_the_singular(cli, tmp_path):
    pytest.importorskip("matplotlib")
    annotated = tmp_path / "a.jsonl"
    annotated.write_bytes(cli(["scan"], input=b'{"id": 1, "text": "one two three four five six"}\n').stdout_bytes)
    result = cli(["report", annotated, "-o", tmp_path / "r.html"])
    assert result.exit_code == 0, result.stderr
    assert "1 record," in result.stderr and "1 records" not in result.stderr
