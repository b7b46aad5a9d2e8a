"""What the real CLI says about input it cannot use: compressions it does not read, NUL bytes and stray
byte-order marks, and values a Parquet output cannot hold. Each gives its exit code and one complete
``dedupe: error:`` line, never a traceback."""

from __future__ import annotations

import bz2
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = b'{"id": 1, "text": "some words here and there"}\n'


def dedupe(args: list, *, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run([sys.executable, "-m", "dedupe", *map(str, args)], input=input, capture_output=True,
                          env=env, timeout=120)


def error_line(res: subprocess.CompletedProcess[bytes], code: int, *needles: str) -> str:
    """The one ``dedupe: ...`` line on stderr, after checking the exit code and that nothing crashed."""
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == code, (res.returncode, err)
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("dedupe: ")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.mark.parametrize("compress, kind, command", [
    (bz2.compress, "bz2", "bunzip2 -c FILE"),
    (lzma.compress, "xz", "xz -dc FILE"),
])
def test_bz2_and_xz_input_is_refused_as_an_unsupported_compression(tmp_path, compress, kind, command):
    path = tmp_path / f"in.jsonl.{kind}"
    path.write_bytes(compress(GOOD * 3))
    expected = (f"dedupe: error: {path}: unsupported compression: {kind} (decompress it first, e.g. {command} "
                "| dedupe scan)")
    assert error_line(dedupe(["scan", path]), 3) == expected
    piped = error_line(dedupe(["filter"], input=compress(GOOD)), 3)
    assert piped.startswith(f"dedupe: error: <stdin>: unsupported compression: {kind} ")
    assert "UTF-8" not in piped


@pytest.mark.parametrize("lines, reason", [
    ([b'{"id": 1, "text": "a\x00b"}'], "a raw NUL byte at column 21 (not allowed in JSON; escape it as \\u0000)"),
    ([GOOD.strip(), b'{"id": 2, \x00"text": "ab"}'],
     "a raw NUL byte at column 11 (not allowed in JSON; escape it as \\u0000)"),
    ([GOOD.strip(), b"\xef\xbb\xbf" + GOOD.strip()],
     "a byte-order mark (U+FEFF) at the start of line 2: only the first line of a file may carry one (files "
     "concatenated with BOMs?)"),
])
def test_a_nul_byte_or_a_bom_inside_the_file_is_one_complete_line(tmp_path, lines, reason):
    data = b"".join(line + b"\n" for line in lines)
    message = error_line(dedupe(["scan"], input=data), 3)
    assert message == (f"dedupe: error: <stdin>:{len(lines)}: {reason} (use --rejects FILE to record bad lines and "
                       "go on)")
    rejects = tmp_path / "bad.jsonl"
    res = dedupe(["scan", "--rejects", rejects], input=data)
    assert res.returncode == 0, res.stderr
    (reject,) = [json.loads(x) for x in rejects.read_bytes().splitlines()]
    assert reject["code"] == "malformed_json" and reject["reason"] == reason
    assert reject["raw"].encode() == lines[-1]


def test_a_bom_on_the_first_line_is_dropped_silently():
    res = dedupe(["scan"], input=b"\xef\xbb\xbf" + GOOD)
    assert res.returncode == 0 and b"error" not in res.stderr, res.stderr
    assert json.loads(res.stdout)["id"] == 1 and not res.stdout.startswith(b"\xef\xbb\xbf")


def test_a_lone_surrogate_in_another_field_is_named_when_writing_parquet(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"id": 1, "text": "some words here ok fine", "title": "a\\ud800b"}\n')
    out = tmp_path / "out"
    message = error_line(dedupe(["scan", path, "-o", out, "--format", "parquet"]), 4)
    assert message == (f"dedupe: error: cannot write output: cannot write {out / '00000-s.parquet'}: {path}:1: field "
                       "'title' holds a lone surrogate (\\ud800), which Parquet strings cannot store; write this "
                       "output with --format jsonl")
    jsonl = dedupe(["scan", path, "-o", out])
    assert jsonl.returncode == 0, jsonl.stderr


def test_a_misspelt_id_field_is_warned_about_on_stderr(tmp_path):
    from test_faults import dedupe

    path = tmp_path / "c.jsonl"
    path.write_text("".join(f'{{"uid": "u{k}", "text": "words number {k} here and there"}}\n' for k in range(5)))
    proc = dedupe(["scan", path, "--id-field", "uuid"])
    assert proc.returncode == 0
    err = proc.stderr.decode()
    assert "dedupe: warning: --id-field 'uuid' is absent" in err and "uid" in err
    assert dedupe(["scan", path, "--id-field", "uid"]).stderr.decode().count("warning") == 0
