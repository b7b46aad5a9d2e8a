"""dedupe.io.pipes: a pipe read line by line, with a mark before each read that would wait."""

from __future__ import annotations

import io
import os

from dedupe.io.pipes import lines_marking_waits, waitable_fd


def test_a_pipe_gives_its_lines_and_marks_where_it_would_wait():
    read_end, write_end = os.pipe()
    with io.open(read_end, "rb") as stream:
        assert waitable_fd(stream) == read_end
        os.write(write_end, b'{"a": 1}\n{"b": 2}\n{"c"')
        lines = lines_marking_waits(stream, read_end)
        got = [next(lines), next(lines), next(lines)]
        assert got == [b'{"a": 1}', b'{"b": 2}', None]  # the partial line waits for its end
        os.write(write_end, b": 3}\nlast without newline")
        os.close(write_end)
        rest = [line for line in lines if line is not None]
        assert rest == [b'{"c": 3}', b"last without newline"]


def test_a_regular_file_or_a_stream_in_memory_never_waits(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"x\n")
    with open(path, "rb") as stream:
        assert waitable_fd(stream) is None
    assert waitable_fd(io.BufferedReader(io.BytesIO(b"x\n"))) is None
