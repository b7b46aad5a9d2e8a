"""Reading a pipe, socket or terminal line by line, saying when the next read would wait: what lets
:func:`dedupe.io.records.read_records` (``waits=True``) end a batch instead of holding records back."""

from __future__ import annotations

import io
import os
import select
import stat
from collections.abc import Iterator


def waitable_fd(stream: io.BufferedIOBase) -> int | None:
    """The file descriptor under ``stream`` when reading it may wait (a pipe, socket or terminal, read without
    decompression), else None."""
    if not isinstance(stream, io.BufferedReader):  # a decompressing stream, or a stream given in memory
        return None
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError):
        return None
    return fd if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode) else None


def lines_marking_waits(stream: io.BufferedIOBase, fd: int) -> Iterator[bytes | None]:
    """The lines of ``stream`` (as iterating it gives them), with None before each read that would wait."""
    rest = b""
    while True:
        chunk = stream.read1(1 << 16)  # what the buffer holds, else one read of the descriptor
        if not chunk:
            break
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
        if not select.select([fd], [], [], 0)[0]:  # the buffer is empty now: the next read would wait
            yield None
    if rest:
        yield rest
