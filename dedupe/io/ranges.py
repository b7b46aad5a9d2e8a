"""One run's inputs as ranges that tasks read independently of each other, with the reader's own records.

A big input becomes many map tasks by cutting it where a reader can start on its own:

- an uncompressed JSONL file at line starts (offset 0, or the byte after a ``b"\\n"``): a ``"lines"`` range is
  the bytes ``start`` to ``stop`` of the file, whole lines only. Cuts fall at the first line start at or
  after each multiple of the split size, found by reading from the multiple to the next newline, so planning
  reads a few bytes per cut, never the file;
- a Parquet file between row groups: a ``"parquet"`` range is the row groups ``start`` to ``stop``;
- a gzip or zstd input cannot be entered in the middle: it is one ``"whole"`` range, read from its start (and
  so is an input that is not a regular file, which cannot be seeked).

A range does not know the lines before it. :func:`count_range` counts its lines as the reader would (cheaply:
newlines in a byte range, or row counts from the Parquet metadata); summed over the ranges before, they give
:func:`read_range` the line number within the input and the number across all inputs its first line has, so
that the ranges of a plan, read one after another, yield exactly what
:func:`~dedupe.io.records.read_records` yields for all the inputs: the same records and rejects, numbered,
named and counted alike. The per-line rules are the reader's own (:func:`~dedupe.io.records.line_items`,
:func:`~dedupe.io.parquet.parquet_items`).

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "in.jsonl")
    >>> _ = open(path, "wb").write(b'{"text": "a"}\\n\\n{"text": "b"}\\n{"text": "c"}\\n')
    >>> ranges = plan_ranges([path], split_bytes=14)
    >>> [(r.start, r.stop, count_range(r)) for r in ranges]  # lines 1, 2 (blank) and 3, 4
    [(0, 14, 1), (14, 29, 2), (29, 43, 1)]
    >>> [(x.id, x.line) for x in read_range(ranges[1], "in.jsonl", 1, 1, "text", "id", ReadStats())]
    [('3', 3)]
"""

from __future__ import annotations

import io
import itertools
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from .compression import _GZIP_MAGIC, _ZSTD_MAGIC  # the magic bytes the reader decompresses
from .records import (
    PARQUET_BATCH_ROWS,
    READ_ERRORS,
    InputError,
    ReadStats,
    Record,
    Rejected,
    display_name,
    is_parquet,
    line_items,
    open_file,
    open_input,
    unreadable,
)

LINES, WHOLE, PARQUET = "lines", "whole", "parquet"
_SEEK_STEP = 1 << 13  # bytes read at a time looking for the newline after a cut (a line or two)
_COUNT_STEP = 1 << 20  # bytes read at a time counting newlines
_READ_BUFFER = 1 << 16  # buffer of a range's line reader


@dataclass(frozen=True)
class InputRange:
    """A part of one input that one task reads on its own.

    Args:
        input: Index of the input among the run's inputs.
        path: The input's path.
        kind: ``"lines"``: a byte range of an uncompressed JSONL file; ``"whole"``: a compressed JSONL input
            (or one that is not a regular file), read whole; ``"parquet"``: a run of row groups.
        start: Byte offset of the first line (lines), first row group (parquet), 0 (whole).
        stop: Byte offset after the last line (lines; the file size for the last range), row group after the
            last (parquet), -1 (whole).
    """

    input: int
    path: str
    kind: str
    start: int
    stop: int

    def __post_init__(self) -> None:
        if self.kind not in (LINES, WHOLE, PARQUET):
            raise ValueError(f"InputRange kind {self.kind!r}: a range is of kind 'lines', 'whole' or 'parquet'")


def plan_ranges(paths: Sequence[str], split_bytes: int) -> list[InputRange]:
    """Cut each input into ranges of about ``split_bytes``, in input order, then by position.

    An uncompressed JSONL file is cut at the first line start at or after each multiple of ``split_bytes`` (a
    line longer than that makes a longer range; no range is empty; an empty file is one range 0..0). A Parquet
    file is cut between row groups, joining consecutive groups until they hold ``split_bytes`` of data
    (``total_byte_size``; at least one group a range; a file without row groups is one range 0..0). A gzip or
    zstd input is one whole range, and so is '-' or any other input that is not a regular file (it is not
    opened here: a pipe's bytes would be lost).

    Args:
        paths: The run's inputs.
        split_bytes: Size of a range; 0 or less: one range per input.

    Returns:
        The ranges, every byte (or row group) of every input in exactly one of them.

    Raises:
        InputError: as :func:`~dedupe.io.records.read_records` says it, for an input that cannot be opened or
            is compressed in a way that is not read, or a Parquet file that cannot be read.
    """
    ranges: list[InputRange] = []
    for k, path in enumerate(paths):
        if is_parquet(path):
            cuts = _row_group_cuts(path, split_bytes)
            ranges += (InputRange(k, path, PARQUET, a, b) for a, b in itertools.pairwise(cuts))
        elif _compressed_or_unseekable(path):
            ranges.append(InputRange(k, path, WHOLE, 0, -1))
        else:
            cuts = _line_cuts(path, split_bytes)
            ranges += (InputRange(k, path, LINES, a, b) for a, b in itertools.pairwise(cuts))
    return ranges


def _compressed_or_unseekable(path: str) -> bool:
    """Whether the JSONL input ``path`` is read only from its start: compressed, or not a regular file."""
    if path == "-":
        return True
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return True
    except OSError:
        pass  # open_input says why
    stream, _ = open_input(path)  # refuses what the reader refuses (bz2, xz, ...), as it says it
    stream.close()
    with open_file(path, display_name(path)) as handle:
        head = handle.read(len(_ZSTD_MAGIC))
    return head.startswith((_GZIP_MAGIC, _ZSTD_MAGIC))


def _line_cuts(path: str, split_bytes: int) -> list[int]:
    """0, the line starts the file is cut at, and the file's size."""
    name = display_name(path)
    with open_file(path, name, buffering=0) as handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            cuts = [0]
            if split_bytes > 0:
                multiple = split_bytes
                while multiple < size:
                    cut = _line_start(handle, multiple)
                    if cut >= size:
                        break
                    cuts.append(cut)
                    multiple = (cut // split_bytes + 1) * split_bytes  # the next multiple past this cut
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
    cuts.append(size)
    return cuts


def _line_start(handle: IO[bytes], offset: int) -> int:
    """The first line start at or after ``offset`` > 0 (the end of the file when no line starts there)."""
    at = offset - 1  # a line starts at ``offset`` when the byte before it is a newline
    handle.seek(at)
    while True:
        chunk = handle.read(_SEEK_STEP)
        if not chunk:
            return at
        found = chunk.find(b"\n")
        if found >= 0:
            return at + found + 1
        at += len(chunk)


def _row_group_cuts(path: str, split_bytes: int) -> list[int]:
    """0, the row groups the file is cut before, and its number of row groups."""
    from .parquet import open_parquet

    parquet = open_parquet(path, display_name(path))
    try:
        metadata = parquet.metadata
        groups = metadata.num_row_groups
        cuts, held = [0], 0
        if split_bytes > 0:
            for k in range(groups - 1):
                held += metadata.row_group(k).total_byte_size
                if held >= split_bytes:
                    cuts.append(k + 1)
                    held = 0
    finally:
        parquet.close()
    cuts.append(groups)
    return cuts


def count_range(r: InputRange, source: str | None = None) -> int:
    """Lines in the range exactly as the reader counts them (a last line without a newline counts, a blank
    line counts), or its Parquet rows (from the metadata).

    Args:
        r: The range.
        source: The input's name in messages (default: its path, as the reader shows it).

    Raises:
        InputError: with the reader's message, where the reader raises it: a compressed stream that is damaged
            stops the count after the lines the reader reads before the damage.
    """
    name = source or display_name(r.path)
    if r.kind == PARQUET:
        from .parquet import open_parquet

        parquet = open_parquet(r.path, name)
        try:
            return sum(parquet.metadata.row_group(k).num_rows for k in range(r.start, r.stop))
        finally:
            parquet.close()
    if r.kind == WHOLE:
        stream, _ = open_input(r.path, name=name)
        lines = 0
        try:
            for _ in stream:  # lines as the reader splits them, stopping where it stops
                lines += 1
        except READ_ERRORS as exc:
            raise unreadable(name, lines, exc) from exc
        finally:
            if r.path != "-":
                stream.close()
        return lines
    return _count_lines(r, name)


def _count_lines(r: InputRange, name: str) -> int:
    """Newlines in the bytes of a lines range, and one more for a last line without one."""
    lines, last, left = 0, b"\n", r.stop - r.start
    with open_file(r.path, name, buffering=0) as handle:
        try:
            handle.seek(r.start)
            while left > 0:
                chunk = handle.read(min(left, _COUNT_STEP))
                if not chunk:
                    break
                lines += chunk.count(b"\n")
                last = chunk[-1:]
                left -= len(chunk)
        except OSError as exc:
            raise InputError(f"{name}: cannot read input at byte {r.stop - left}: {exc.strerror or exc}") from exc
    return lines + (last != b"\n")


def read_range(
    r: InputRange,
    source: str,
    line0: int,
    number0: int,
    text_field: str,
    id_field: str,
    stats: ReadStats,
    parquet_batch_rows: int = PARQUET_BATCH_ROWS,
) -> Iterator[Record | Rejected]:
    """The records and rejects of the range's lines, as :func:`~dedupe.io.records.read_records` yields them
    when it reads all the run's inputs.

    Line numbers, numbers across inputs (the default ids), ``source``, ``raw``, ids and rejects are the
    reader's; so is the byte order mark, dropped from line 1 of an input only (which only a range starting
    at byte 0 holds). ``stats.lines`` is set to ``number0`` and counts the range's lines (ending at
    ``number0 +`` :func:`count_range`), ``stats.blank_lines`` its blank lines; ``stats.sources`` and
    ``stats.starts`` are left to the caller.

    Args:
        r: The range.
        source: The input's name, as the user gave it (the reader's name for it).
        line0: Lines of this input before the range.
        number0: Lines of all inputs before the range (the lines of the inputs before, plus ``line0``).
        text_field: Key of the text.
        id_field: Key of the id.
        stats: Counts what is read.
        parquet_batch_rows: Parquet rows decoded at a time.

    Raises:
        InputError: the reader's error, naming ``source``: the input cannot be opened, or its stream fails
            (``"SOURCE: after line N: cannot read input: ..."``, N within the input; ``"after row N"`` for
            Parquet).
    """
    stats.lines = number0
    # Chained, each item goes from the reader's generator straight to the caller (see records._read_all).
    return itertools.chain.from_iterable(
        _range_items(r, source, line0, text_field, id_field, stats, parquet_batch_rows)
    )


def _range_items(
    r: InputRange,
    source: str,
    line0: int,
    text_field: str,
    id_field: str,
    stats: ReadStats,
    parquet_batch_rows: int,
) -> Iterator[Iterator[Record | Rejected]]:
    """The reader of the range, opened when its first item is asked for."""
    if r.kind == PARQUET:
        yield _parquet_range(r, source, line0, text_field, id_field, stats, parquet_batch_rows)
        return
    stream: io.BufferedIOBase
    if r.kind == WHOLE:
        stream, _ = open_input(r.path, name=source)
    else:
        stream = io.BufferedReader(_Span(open_file(r.path, source, buffering=0), r.start, r.stop), _READ_BUFFER)
    close = stream.close if r.path != "-" else None
    # parse=True: line_items yields only Records and Rejected (no Line), and no WAITING without None lines.
    yield cast(
        "Iterator[Record | Rejected]", line_items(stream, source, line0, stats, text_field, id_field, close=close)
    )


def _parquet_range(
    r: InputRange,
    source: str,
    line0: int,
    text_field: str,
    id_field: str,
    stats: ReadStats,
    batch_rows: int,
) -> Iterator[Record | Rejected]:
    from .parquet import open_parquet, parquet_items

    parquet = open_parquet(r.path, source)
    try:
        groups = range(r.start, r.stop)
        yield from parquet_items(parquet, source, text_field, id_field, stats, 0, batch_rows, groups, line0)
    finally:
        parquet.close()


class _Span(io.RawIOBase):
    """The bytes ``start`` to ``stop`` of an open file, as a stream of their own (seeked on the first read, so
    that an error is the reader's, after the lines before it)."""

    def __init__(self, file: IO[bytes], start: int, stop: int) -> None:
        super().__init__()
        self._file = file
        self._start: int | None = start
        self._left = stop - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._start is not None:
            self._file.seek(self._start)
            self._start = None
        if self._left <= 0:
            return 0
        with memoryview(buffer) as view:
            n = self._file.readinto(view[: self._left])  # type: ignore[attr-defined]
        n = n or 0
        self._left -= n
        return n

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


__all__ = ["InputRange", "count_range", "plan_ranges", "read_range"]
