"""Output written as one file per input ("shard"): ``--output DIR`` with ``--format jsonl|parquet``.

The shard of input k is ``DIR/{k:05d}-{stem}.{jsonl|parquet}`` (:func:`shard_name`). It holds exactly the
lines the streaming path writes to stdout for that input's records, in order; a Parquet shard holds the same
JSON objects, one row each. Every input gets its shard, an empty one when nothing of it is written.

A Parquet shard is written in row groups of at most :data:`ROWS_PER_GROUP` rows or about
:data:`BYTES_PER_GROUP` bytes of lines, so memory holds one row group. Parquet gives each column one type,
fixed by the first row group: the JSON types (integers, floats, strings, booleans, lists, objects as
structs), or the types of the input's columns where the shard was given them (a Parquet input's schema:
its timestamps, dates, decimals and binary columns come back from their string forms). A later row that
does not fit (a field the first row group did not have, a string in an integer column, a value in a column
that was null throughout the first row group) stops the run with an error naming the input and line
(:class:`ShardError`, an ``OSError``: exit code 4); such data can be written with ``--format jsonl``.

pyarrow is imported only for Parquet shards.
"""

from __future__ import annotations

import bisect
import contextlib
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO

from ..config import DEFAULT_OUTPUT_FORMAT, ConfigError
from .records import ReadStats, Record, display_name, is_parquet

if TYPE_CHECKING:
    from .parquet_writer import ParquetShard

SHARD_FORMATS = ("jsonl", "parquet")
ROWS_PER_GROUP = 10_000  # rows of a Parquet row group, at most
BYTES_PER_GROUP = 64 << 20  # bytes of JSON lines buffered for one row group, at most (about)
_STEM_SUFFIXES = (".gz", ".zst", ".jsonl", ".json", ".parquet")


class ShardError(OSError):
    """The shards cannot be written: the directory cannot be created, or a row does not fit its Parquet
    shard's columns."""


def shard_name(index: int, source: str, fmt: str) -> str:
    """The file name of input ``index``'s shard: ``{index:05d}-{stem}.{fmt}``.

    ``stem`` is the input's base name without ``.gz``, ``.zst``, ``.jsonl``,
    ``.json`` and ``.parquet`` suffixes; standard input (``-`` or ``<stdin>``)
    is ``stdin``.

    Example:
        >>> shard_name(3, "data/crawl-07.jsonl.gz", "parquet")
        '00003-crawl-07.parquet'
        >>> shard_name(0, "-", "jsonl")
        '00000-stdin.jsonl'
    """
    if fmt not in SHARD_FORMATS:
        raise ValueError(f"shard format must be one of {', '.join(SHARD_FORMATS)}; got {fmt!r}")
    if source in ("-", "<stdin>"):
        stem = "stdin"
    else:
        stem = os.path.basename(source)
        while suffix := next((s for s in _STEM_SUFFIXES if stem.lower().endswith(s)), None):
            stem = stem[: -len(suffix)]
    return f"{index:05d}-{stem}.{fmt}"


def source_name(path: str) -> str:
    """The name a shard is named after: the input's display name (as the reader names it)."""
    return "<stdin>" if path == "-" else display_name(path)


def check_output(output: str | None, fmt: str, resume: bool, inputs: list[str]) -> None:
    """Check ``--output``/``--format`` before anything is read.

    Raises:
        ConfigError: a format that is not jsonl or parquet, parquet without a directory, without pyarrow or
            with ``--resume``, or a shard that would replace one of the inputs.
    """
    if fmt not in SHARD_FORMATS:
        raise ConfigError(f"--format must be jsonl or parquet; got {fmt!r}")
    if fmt == "parquet":
        if output is None:
            raise ConfigError("--format parquet writes files: give --output DIR as well (stdout is always JSONL)")
        if resume:
            raise ConfigError(
                "--resume appends to the output, and a Parquet file cannot be appended to: resume with --format jsonl"
            )
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise ConfigError("--format parquet needs the pyarrow package: pip install 'dedupe[parquet]'") from None
    if output is None:
        return
    files = {}
    for path in inputs:
        if path != "-":
            info = os.stat(path)
            files[(info.st_dev, info.st_ino)] = path
    for k, path in enumerate(inputs):
        shard = os.path.join(output, shard_name(k, source_name(path), fmt))
        try:
            info = os.stat(shard)
        except OSError:  # not there (or not reachable: reported when it is created)
            continue
        same = files.get((info.st_dev, info.st_ino))
        if same is not None:
            raise ConfigError(
                f"the output file of input {k + 1} ({shard}) is the input {same}: give another --output directory"
            )


def annotation_type(passages: bool) -> Any:
    """The Arrow type of the ``dedupe`` annotation: a struct (cluster, duplicate_of, similarity and, with
    ``--passages``, the list of passages)."""
    import pyarrow as pa

    fields = [
        pa.field("cluster", pa.string()),
        pa.field("duplicate_of", pa.string()),
        pa.field("similarity", pa.float64()),
    ]
    if passages:
        match = pa.struct([pa.field("id", pa.string()), pa.field("start", pa.int64()), pa.field("end", pa.int64())])
        passage = pa.struct(
            [
                pa.field("start", pa.int64()),
                pa.field("end", pa.int64()),
                pa.field("kind", pa.string()),
                pa.field("similarity", pa.float64()),
                pa.field("match", match),
                pa.field("unit", pa.string()),
            ]
        )
        fields.append(pa.field("passages", pa.list_(passage)))
    return pa.struct(fields)


def output_schema(path: str, mode: str, passages: bool = False) -> Any:
    """The column types a Parquet shard of input ``path`` should keep: a Parquet input's own columns, and in
    ``scan`` mode the annotation (:func:`annotation_type`); None when there is nothing to keep."""
    import pyarrow as pa

    fields: list[Any] = []
    if is_parquet(path):
        import pyarrow.parquet as pq

        try:
            fields = list(pq.read_schema(path))
        except (pa.ArrowException, OSError, ValueError):  # the reader reports a damaged file
            fields = []
    if mode == "scan":
        fields = [f for f in fields if f.name != "dedupe"] + [pa.field("dedupe", annotation_type(passages))]
    return pa.schema(fields) if fields else None


# --------------------------------------------------------------------------- one shard at a time


class ShardWriter:
    """Writes shards into ``directory`` (created if missing), one open at a time.

    ``open(index, source)`` closes the shard before and opens input ``index``'s,
    ``write(line)`` adds one output line (newline-terminated JSON object), and
    ``close()`` finishes the open shard: a Parquet shard gets its last row group
    and footer (a shard without rows is a valid file with zero rows). As a
    context manager it closes on the way out.

    Args:
        directory: Where the shards go.
        fmt: "jsonl" or "parquet".
        append: Append to JSONL shards instead of replacing them (a resumed run).
        rows_per_group, bytes_per_group: When a Parquet row group is written.

    Raises:
        OSError: the directory or a shard cannot be created or written; :class:`ShardError` for a row that
            does not fit its Parquet shard's columns.
    """

    def __init__(
        self,
        directory: str,
        fmt: str = DEFAULT_OUTPUT_FORMAT,
        append: bool = False,
        rows_per_group: int = ROWS_PER_GROUP,
        bytes_per_group: int = BYTES_PER_GROUP,
    ) -> None:
        if fmt not in SHARD_FORMATS:
            raise ValueError(f"shard format must be one of {', '.join(SHARD_FORMATS)}; got {fmt!r}")
        if append and fmt != "jsonl":
            raise ValueError("only JSONL shards can be appended to")
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise ShardError(f"cannot create the output directory {directory}: {exc.strerror or exc}") from exc
        self.directory = directory
        self.fmt = fmt
        self.append = append
        self.rows_per_group = rows_per_group
        self.bytes_per_group = bytes_per_group
        self.path: str | None = None  # the open shard
        self._file: BinaryIO | None = None
        self._parquet: ParquetShard | None = None

    def open(self, index: int, source: str, schema: Any = None) -> str:
        """Close the open shard and open input ``index``'s (``source``: its name, '-' or "<stdin>" for stdin).

        ``schema`` (Parquet only; a ``pyarrow.Schema``): the types to give the fields it names when they
        occur (see :func:`output_schema`), and the columns of the shard if it gets no row. Without it, the
        ``dedupe`` annotation gets :func:`annotation_type` and every other field the type of its JSON values.

        Returns:
            The shard's path.
        """
        self.close()
        path = os.path.join(self.directory, shard_name(index, source, self.fmt))
        if self.fmt == "jsonl":
            self._file = open(path, "ab" if self.append else "wb", buffering=1 << 20)  # noqa: SIM115 -- until close()
        else:
            from .parquet_writer import ParquetShard  # it imports pyarrow, and ShardError from here

            self._parquet = ParquetShard(path, source, schema, self.rows_per_group, self.bytes_per_group)
        self.path = path
        return path

    def write(self, line: bytes, at: int = 0) -> None:
        """Add one output line to the open shard; ``at`` is its record's line (row) in the input, for messages."""
        if self._file is not None:
            self._file.write(line)
        elif self._parquet is not None:
            self._parquet.add(line, at)
        else:
            raise ValueError("no shard is open")

    def flush(self) -> None:
        """Hand what was written on to the file (a Parquet shard writes its buffered rows as a row group)."""
        if self._file is not None:
            self._file.flush()
        elif self._parquet is not None:
            self._parquet.flush()

    def close(self) -> None:
        """Finish the open shard, if any."""
        file, parquet = self._file, self._parquet
        self._file = self._parquet = None
        self.path = None
        if file is not None:
            file.close()
        if parquet is not None:
            parquet.close()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
            return
        with contextlib.suppress(Exception):  # already failing: keep that error, close what can be closed
            self.close()


# --------------------------------------------------------------------------- one shard per input


class InputShards:
    """The streaming run's output with ``--output``: the shard of each input, chosen by the record's number.

    :meth:`select` is called with each record before its line is written; inputs
    that no record came from (empty, all blank or rejected) get their empty shard
    when a later input's record arrives, or in :meth:`complete` at the end. The
    input a record came from is told by its number and ``read.starts``, so an input
    given twice gets two shards.

    Args:
        directory, fmt, append: As :class:`ShardWriter`.
        inputs: The input paths, in reading order ('-' is stdin).
        read: The reader's statistics (its ``starts``).
        mode, passages: What is written ("scan" adds the annotation), for the Parquet column types.
    """

    def __init__(
        self,
        directory: str,
        fmt: str,
        inputs: list[str],
        read: ReadStats,
        mode: str,
        passages: bool = False,
        append: bool = False,
    ) -> None:
        self.inputs = inputs
        self.read = read
        self.mode = mode
        self.passages = passages
        self.writer = ShardWriter(directory, fmt, append=append)
        self.current = -1
        self._at = 0
        self._open_through(0)  # the first shard now: a directory that cannot be written fails before reading

    def _open_through(self, index: int) -> None:
        while self.current < index:
            self.current += 1
            path = self.inputs[self.current]
            schema = output_schema(path, self.mode, self.passages) if self.writer.fmt == "parquet" else None
            self.writer.open(self.current, source_name(path), schema)

    def select(self, record: Record) -> None:
        """Make ``record``'s input's shard the one written to."""
        index = bisect.bisect_left(self.read.starts, record.number) - 1
        if index > self.current:
            self._open_through(index)
        self._at = record.line

    def write(self, line: bytes) -> None:
        self.writer.write(line, self._at)

    def flush(self) -> None:
        self.writer.flush()

    def complete(self) -> None:
        """Write the shards of the inputs still without one, and close the last: the output is complete."""
        self._open_through(len(self.inputs) - 1)
        self.writer.close()

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> InputShards:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.writer.__exit__(kind, exc, tb)
