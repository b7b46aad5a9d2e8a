"""CLI faults: full devices, file size limits, a reader that goes away, unreadable and corrupt inputs.

Each fault must give its documented exit code (0 ok, 1 internal, 2 bad option,
3 bad input, 4 cannot write output, 130 interrupted) and one clear line on
stderr, never a traceback. Faults that need a real process (file descriptors,
resource limits, pipes) run ``python -m dedupe`` in a subprocess; the others
use the in-process ``cli`` fixture.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from conftest import generate_corpus

DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full (Linux)")

# --------------------------------------------------------------------------- helpers


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    return env


def dedupe(args: list, *, input: bytes | None = None, stdin=None, stdout=subprocess.PIPE, preexec_fn=None):
    """``python -m dedupe ARGS`` in a subprocess; stderr is captured, stdout goes where asked."""
    return subprocess.run([sys.executable, "-m", "dedupe", *map(str, args)], input=input, stdin=stdin,
                          stdout=stdout, stderr=subprocess.PIPE, preexec_fn=preexec_fn, env=_env(), timeout=120)


def error_line(stderr: str | bytes, code: int, returncode: int, *needles: str) -> str:
    """Check the exit code and that stderr holds exactly one error line (``dedupe: ...``) and no traceback."""
    err = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    assert returncode == code, (returncode, err)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("dedupe: ")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


def in_process(result, code: int, *needles: str) -> str:
    """The same check for a CliRunner result: a crash there is an exception, not a traceback on stderr."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return error_line(result.stderr, code, result.exit_code, *needles)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A clean generated corpus: 60 bases, 20 exact and 25 edited copies, empty texts."""
    return generate_corpus(tmp_path / "small.jsonl", seed=5, bases=60, exact=20, edited=25, with_rejects=False).path


@pytest.fixture
def with_rejects(tmp_path: Path) -> Path:
    """A generated corpus with bad and blank lines."""
    return generate_corpus(tmp_path / "bad.jsonl", seed=11, bases=30, exact=10, edited=10).path


def _file_size_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process

    return apply


# --------------------------------------------------------------------------- outputs that cannot be written


@needs_dev_full
def test_stdout_on_a_full_device_exits_4_saying_no_space_left(small):
    with DEV_FULL.open("wb") as full:
        proc = dedupe(["filter", small], stdout=full)
    error_line(proc.stderr, 4, proc.returncode, "cannot write output", "No space left on device")


@needs_dev_full
@pytest.mark.parametrize("option, mode, corpus", [
    ("--report", "scan", "small"),
    ("--rejects", "scan", "with_rejects"),
    ("--dropped", "filter", "small"),
])
def test_side_output_on_a_full_device_exits_4_saying_no_space_left(request, option, mode, corpus):
    path = request.getfixturevalue(corpus)
    extra = ["--rejects", os.devnull] if option != "--rejects" and corpus == "with_rejects" else []
    proc = dedupe([mode, path, option, DEV_FULL, *extra], stdout=subprocess.DEVNULL)
    error_line(proc.stderr, 4, proc.returncode, "cannot write output", "No space left on device")


@needs_dev_full
@pytest.mark.parametrize("option, mode", [("--rejects", "scan"), ("--dropped", "filter")])
def test_a_side_output_that_fails_leaves_no_success_summary_and_no_completed_report(with_rejects, tmp_path, option,
                                                                                     mode):
    report = tmp_path / "report.json"
    extra = ["--rejects", os.devnull] if option == "--dropped" else []
    proc = dedupe([mode, with_rejects, option, DEV_FULL, "--report", report, *extra], stdout=subprocess.DEVNULL)
    assert proc.returncode == 4
    err = proc.stderr.decode()
    assert err.strip().splitlines() == [error_line(err, 4, proc.returncode)]  # no "... kept, ..." summary before it
    assert json.loads(report.read_text())["completed"] is False


def test_stdout_over_the_file_size_limit_exits_4_saying_file_too_large(small, tmp_path):
    out = tmp_path / "out.jsonl"
    with out.open("wb") as fh:
        proc = dedupe(["scan", small], stdout=fh, preexec_fn=_file_size_limit(8192))
    error_line(proc.stderr, 4, proc.returncode, "cannot write output", "File too large")
    assert out.stat().st_size <= 8192


def test_gzip_report_over_the_file_size_limit_exits_4_saying_file_too_large(small, tmp_path):
    proc = dedupe(["scan", small, "--report", tmp_path / "report.json.gz"], stdout=subprocess.DEVNULL,
                  preexec_fn=_file_size_limit(64))
    error_line(proc.stderr, 4, proc.returncode, "cannot write output", "File too large")


@pytest.mark.parametrize("option, mode", [("--report", "scan"), ("--rejects", "scan"), ("--dropped", "filter")])
def test_side_output_in_a_missing_directory_exits_4_before_reading(cli, small, tmp_path, option, mode):
    target = tmp_path / "no" / "such" / "out.json"
    result = cli([mode, small, option, target])
    in_process(result, 4, "cannot write output", option, "no such directory")
    assert result.stdout_bytes == b""  # every output is opened before the first record is read


@pytest.mark.parametrize("option, mode", [("--report", "scan"), ("--rejects", "scan"), ("--dropped", "filter")])
def test_side_output_that_is_a_directory_is_a_bad_option(cli, small, tmp_path, option, mode):
    result = cli([mode, small, option, tmp_path])
    in_process(result, 2, option, "is a directory")
    assert result.stdout_bytes == b""


def test_reader_closing_stdout_early_ends_quietly_with_141(tmp_path):
    big = tmp_path / "big.jsonl"
    with big.open("w") as fh:
        for i in range(20_000):
            fh.write(json.dumps({"id": i, "text": f"record number {i} with a few words {i % 97}"}) + "\n")
    err = tmp_path / "err.txt"
    with err.open("wb") as err_fh:
        proc = subprocess.Popen([sys.executable, "-m", "dedupe", "scan", big], stdout=subprocess.PIPE, stderr=err_fh,
                                env=_env())
        head = [proc.stdout.readline() for _ in range(3)]  # `| head -n 3`
        proc.stdout.close()
        returncode = proc.wait(timeout=120)
    assert [json.loads(line)["id"] for line in head] == [0, 1, 2]
    stderr = err.read_text()
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and "BrokenPipe" not in stderr, stderr
    assert returncode == 141, (returncode, stderr)  # 128 + SIGPIPE, as a shell reports a process SIGPIPE killed
    assert stderr == ""  # no index kept: nothing to say


def test_closed_stdout_file_descriptor_exits_4_with_a_message(small):
    proc = dedupe(["scan", small], stdout=None, preexec_fn=lambda: os.close(1))
    error_line(proc.stderr, 4, proc.returncode, "cannot write output")


# --------------------------------------------------------------------------- inputs that cannot be read


def test_input_that_is_a_directory_exits_3(cli, tmp_path):
    in_process(cli(["scan", tmp_path]), 3, str(tmp_path), "is a directory")


def test_unreadable_input_exits_3_naming_the_file_and_the_reason(cli, tmp_path):
    if os.geteuid() != 0:
        path = tmp_path / "locked.jsonl"
        path.write_text('{"id": "a", "text": "x"}\n')
        path.chmod(0)
        in_process(cli(["scan", path]), 3, str(path), "Permission denied")
        return
    # root reads a chmod 000 file anyway: use a file whose first read fails (EIO) instead
    if not Path("/proc/self/mem").exists():
        pytest.skip("needs /proc/self/mem")
    in_process(cli(["scan", "/proc/self/mem"]), 3, "cannot read /proc/self/mem", "Input/output error")


def test_input_that_is_a_socket_exits_3(cli, tmp_path):
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        in_process(cli(["scan", path]), 3, f"cannot open {path}", "No such device or address")


def _gzip_output(cli, small: Path, tmp_path: Path) -> tuple[bytes, bytes]:
    packed = gzip.compress(small.read_bytes())
    ok = tmp_path / "ok.jsonl.gz"
    ok.write_bytes(packed)
    result = cli(["scan", ok])
    assert result.exit_code == 0, result.stderr
    return packed, result.stdout_bytes


def test_truncated_gzip_exits_3_after_writing_only_whole_records(cli, small, tmp_path):
    packed, full = _gzip_output(cli, small, tmp_path)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    result = cli(["scan", cut])
    in_process(result, 3, f"{cut}: after line", "cannot read input", "Compressed file ended")
    assert full.startswith(result.stdout_bytes)  # a prefix of the complete run, never a wrong record
    assert result.stdout_bytes == b"" or result.stdout_bytes.endswith(b"\n")


def test_gzip_with_garbage_appended_exits_3_naming_the_file(cli, small, tmp_path):
    packed, full = _gzip_output(cli, small, tmp_path)
    bad = tmp_path / "garbage.jsonl.gz"
    bad.write_bytes(packed + b"this is not gzip")
    result = cli(["scan", bad])
    lines = small.read_bytes().count(b"\n")
    in_process(result, 3, f"{bad}: after line {lines}: cannot read input", "Not a gzipped file")
    assert full.startswith(result.stdout_bytes)


def test_gzip_with_garbage_appended_writes_every_record_read_before_exiting_3(cli, small, tmp_path):
    packed, full = _gzip_output(cli, small, tmp_path)
    bad = tmp_path / "garbage.jsonl.gz"
    bad.write_bytes(packed + b"this is not gzip")  # every record is intact; only the end is bad
    result = cli(["scan", bad])
    assert result.exit_code == 3
    assert result.stdout_bytes == full


def test_gzip_padded_with_zero_bytes_reads_as_complete(cli, small, tmp_path):
    packed, full = _gzip_output(cli, small, tmp_path)
    padded = tmp_path / "padded.jsonl.gz"
    padded.write_bytes(packed + b"\0" * 512)  # tape-style padding: Python's gzip reader accepts it
    result = cli(["scan", padded])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == full


@pytest.mark.parametrize("damage", ["truncated", "garbage", "corrupt"])
def test_damaged_zstd_exits_3_instead_of_a_traceback_or_silent_data_loss(cli, small, tmp_path, damage):
    packed = zstandard.ZstdCompressor().compress(small.read_bytes())
    if damage == "truncated":
        packed = packed[: len(packed) * 2 // 3]
    elif damage == "garbage":
        packed += b"this is not zstd"
    else:
        packed = packed[:20] + bytes(b ^ 0x5A for b in packed[20:60]) + packed[60:]
    path = tmp_path / "in.jsonl.zst"
    path.write_bytes(packed)
    in_process(cli(["scan", path]), 3, f"{path}: after line", "cannot read input")


def test_zstd_of_several_frames_reads_every_frame(cli, small, tmp_path):
    data = small.read_bytes()
    half = data.index(b"\n", len(data) // 2) + 1
    path = tmp_path / "two.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(data[:half]) + zstandard.ZstdCompressor().compress(data[half:]))
    result = cli(["scan", path])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == cli(["scan", small]).stdout_bytes


@pytest.mark.parametrize("content, blank", [(b"", 0), (b"\n\n  \n\t\r\n\r\n", 5)])
def test_empty_or_blank_only_input_succeeds_with_zero_records(cli, tmp_path, content, blank):
    path, report = tmp_path / "in.jsonl", tmp_path / "report.json"
    path.write_bytes(content)
    result = cli(["scan", path, "--report", report])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b""
    assert "dedupe scan: 0 input records" in result.stderr and "Traceback" not in result.stderr
    c = json.loads(report.read_text())["counts"]
    assert (c["input"], c["kept"], c["duplicates"], c["rejected"], c["blank_lines_skipped"]) == (0, 0, 0, 0, blank)


def test_stdin_at_end_of_file_at_once_succeeds_with_zero_records():
    proc = dedupe(["scan"], stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    assert b"dedupe scan: 0 input records" in proc.stderr and b"Traceback" not in proc.stderr


def test_stdin_whose_first_read_fails_raises_input_error_naming_stdin():
    # (A directory on fd 0 cannot be tried end to end: Python itself refuses to start then.)
    import errno
    import io

    from dedupe import InputError, read_records

    class Failing(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(InputError, match=r"^cannot read <stdin>: Input/output error$"):
        list(read_records(["-"], stdin=Failing()))


def test_closed_stdin_file_descriptor_exits_3_with_a_message():
    proc = dedupe(["scan"], stdin=None, preexec_fn=lambda: os.close(0))
    error_line(proc.stderr, 3, proc.returncode, "<stdin>")


def test_file_name_that_is_not_utf8_is_written_readably_to_rejects_and_report(cli, tmp_path):
    name = os.fsdecode(b"bad-\xff-name.jsonl")  # a legal Linux file name that is not UTF-8
    path = tmp_path / name
    path.write_bytes(b'{"id": "a", "text": "fine words"}\n{oops\n')
    rejects, report = tmp_path / "rejects.jsonl", tmp_path / "report.json"
    result = cli(["scan", path, "--rejects", rejects, "--report", report])
    assert result.exit_code == 0, (result.stderr, result.exception)
    row = json.loads(rejects.read_bytes())
    assert row["source"].endswith("bad-\\xff-name.jsonl") and row["line"] == 2
    assert json.loads(report.read_text())["inputs"] == [row["source"]]


# --------------------------------------------------------------------------- records the output step cannot re-write


def _loads_deep(data: bytes):
    """json.loads with room for the 1,000 levels these records nest (the default recursion limit is 1,000)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 3000)
    try:
        return json.loads(data)
    finally:
        sys.setrecursionlimit(limit)


def test_record_with_a_dedupe_key_and_deep_nesting_is_annotated(cli, tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b'{"id": "a", "text": "x", "dedupe": 1, "n": ' + b"[" * 1000 + b"]" * 1000 + b"}\n")
    result = cli(["scan", path])
    assert result.exit_code == 0, repr(result.exception)
    assert _loads_deep(result.stdout_bytes)["dedupe"]["cluster"] == "a"


def test_record_with_a_dedupe_key_and_a_lone_surrogate_elsewhere_is_annotated(cli, tmp_path):
    path = tmp_path / "surrogate.jsonl"
    path.write_bytes(b'{"id": "a", "text": "fine words", "note": "\\ud800", "dedupe": 1}\n')
    result = cli(["scan", path])
    assert result.exit_code == 0, repr(result.exception)
    obj = json.loads(result.stdout_bytes)
    assert obj["note"] == "\ud800" and obj["dedupe"]["cluster"] == "a"


def test_filter_passages_rewrites_a_record_with_deep_nesting(cli, tmp_path):
    sentence = "The quick brown fox jumps over the lazy dog near the river bank today."
    text = f"{sentence} Something else entirely different is said here by the author. {sentence}"
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b'{"id": "a", "text": ' + json.dumps(text).encode() + b', "n": ' + b"[" * 1000 + b"]" * 1000
                     + b"}\n")
    result = cli(["filter", "--passages", path])
    assert result.exit_code == 0, repr(result.exception)
    assert _loads_deep(result.stdout_bytes)["text"].count(sentence) == 1  # the repeat is removed


# --------------------------------------------------------------------------- repeated ids


def _scan(cli, tmp_path: Path, rows: list[dict]) -> tuple[list[dict], dict, str]:
    path, report = tmp_path / "ids.jsonl", tmp_path / "report.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = cli(["scan", path, "--report", report])
    assert result.exit_code == 0, result.stderr
    return ([json.loads(line)["dedupe"] for line in result.stdout_bytes.splitlines()],
            json.loads(report.read_text()), result.stderr)


TEXT_1 = "one two three four five six seven eight nine ten"
TEXT_2 = "alpha beta gamma delta epsilon zeta eta theta iota kappa"


def test_same_id_and_same_text_is_a_duplicate_of_that_same_id(cli, tmp_path):
    anns, report, stderr = _scan(cli, tmp_path, [{"id": "x", "text": TEXT_1}, {"id": "x", "text": TEXT_1}])
    assert anns == [{"cluster": "x", "duplicate_of": None, "similarity": None},
                    {"cluster": "x", "duplicate_of": "x", "similarity": 1.0}]
    assert report["clusters"] == [{"cluster": "x", "size": 2, "members": ["x", "x"]}]
    assert report["counts"]["repeated_ids"] == 1
    assert "reused an earlier record's id" in stderr


def test_same_id_and_different_text_keeps_both_each_in_its_own_cluster(cli, tmp_path):
    anns, report, _ = _scan(cli, tmp_path, [{"id": "x", "text": TEXT_1}, {"id": "x", "text": TEXT_2}])
    assert anns == [{"cluster": "x", "duplicate_of": None, "similarity": None}] * 2
    assert report["clusters"] == []  # two one-member clusters, both labelled "x"
    assert (report["counts"]["kept"], report["counts"]["duplicates"], report["counts"]["repeated_ids"]) == (2, 0, 1)


def test_a_copy_of_the_second_of_two_records_sharing_an_id_names_only_that_id(cli, tmp_path):
    # What docs/output.md warns: with repeated ids, duplicate_of cannot tell the records apart.
    anns, report, _ = _scan(cli, tmp_path, [{"id": "x", "text": TEXT_1}, {"id": "x", "text": TEXT_2},
                                            {"id": "y", "text": TEXT_2}])
    assert anns[2] == {"cluster": "x", "duplicate_of": "x", "similarity": 1.0}  # it copies the second "x"
    assert report["clusters"] == [{"cluster": "x", "size": 2, "members": ["x", "y"]}]


def test_the_batch_writer_writes_again_what_an_unbuffered_stream_did_not_take():
    import io

    from dedupe.io.outfiles import BatchWriter

    class Short(io.RawIOBase):  # takes at most 5 bytes per write, as a raw file at its size limit may
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.data += bytes(b[:5])
            return min(5, len(b))

    raw = Short()
    writer = BatchWriter(raw)
    for k in range(7):
        writer.write(f'{{"n":{k}}}\n'.encode())
    assert raw.data == b""  # nothing until the batch ends
    writer.flush()
    assert raw.data == b"".join(f'{{"n":{k}}}\n'.encode() for k in range(7))
