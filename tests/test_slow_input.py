"""A slow input (a pipe that pauses) sees its output as it comes, whatever the batch size: the reader ends a
batch when the input has nothing more to read yet, and the records read so far are decided and written."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

WAIT = 30


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def _wait_for_lines(path: Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT
    while _lines(path) < count:
        assert proc.poll() is None, "the run ended while its input was still open"
        assert time.monotonic() < deadline, f"{_lines(path)} lines written, {count} expected while the input pauses"
        time.sleep(0.02)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_records_are_written_while_the_input_pauses(tmp_path, workers):
    texts = [f"story {k} about the harbour strike and the price of grain in the north" for k in range(12)]
    texts[7] = texts[3]  # a duplicate across the pause
    lines = [json.dumps({"id": k, "text": t}).encode() + b"\n" for k, t in enumerate(texts)]
    out_path = tmp_path / "out.jsonl"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dedupe", "scan", "-", "-w", workers],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stdin is not None
            sent = 0
            for upto in (5, 9, 12):  # far fewer records than a batch holds, each part followed by a pause
                proc.stdin.write(b"".join(lines[sent:upto]))
                proc.stdin.flush()
                sent = upto
                _wait_for_lines(out_path, upto, proc)
            proc.stdin.close()
            proc.wait(timeout=WAIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0
    whole = subprocess.run(
        [sys.executable, "-m", "dedupe", "scan", "-"], input=b"".join(lines), capture_output=True, check=True
    )
    assert out_path.read_bytes() == whole.stdout  # the same output as the input read at once
    assert json.loads(out_path.read_bytes().splitlines()[7])["dedupe"]["duplicate_of"] == "3"
