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
import json
import os
import re
from collections.abc import Callable
from types import TracebackType
from typing import Any, BinaryIO

import orjson

from ..config import ConfigError
from .records import ReadStats, Record, display_name, is_parquet, parse_exact

SHARD_FORMATS = ("jsonl", "parquet")
ROWS_PER_GROUP = 10_000  # rows of a Parquet row group, at most
BYTES_PER_GROUP = 64 << 20  # bytes of JSON lines buffered for one row group, at most (about)
_STEM_SUFFIXES = (".gz", ".zst", ".jsonl", ".json", ".parquet")
_LONG_DIGITS = re.compile(rb"[0-9]{20}")  # maybe an integer beyond 64 bits, which orjson reads as a float


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
        fmt: str = "jsonl",
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
        self._parquet: _ParquetShard | None = None

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
            self._parquet = _ParquetShard(path, source, schema, self.rows_per_group, self.bytes_per_group)
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


class _BadRow(Exception):
    def __init__(self, row: int, problem: str) -> None:
        super().__init__(problem)
        self.row = row
        self.problem = problem


class _Mismatch(Exception):
    """Values that do not fit the type asked for."""


def _load(line: bytes) -> Any:
    if not _LONG_DIGITS.search(line):
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    return parse_exact(line)  # integers beyond 64 bits exact, numbers beyond a double, lone surrogates


class _ParquetShard:
    """One Parquet shard being written: rows buffered, then written a row group at a time."""

    def __init__(self, path: str, source: str, schema: Any, rows_per_group: int, bytes_per_group: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa, self._pq = pa, pq
        self._errors = (pa.ArrowException, _Mismatch, OverflowError, TypeError, ValueError)
        self.path = path
        self.source = "<stdin>" if source == "-" else source
        self._hint = schema.remove_metadata() if schema is not None else None
        self._rows_per_group = max(1, rows_per_group)
        self._bytes_per_group = bytes_per_group
        self._sink = pa.OSFile(path, "wb")  # created now: a directory that cannot be written fails at once
        self._writer: Any = None
        self._schema: Any = None  # fixed by the first row group
        self._rows: list[dict[str, Any]] = []
        self._at: list[int] = []
        self._bytes = 0
        self.written = 0  # rows in row groups already written

    def add(self, line: bytes, at: int) -> None:
        try:
            row = _load(line)
        except ValueError as exc:
            raise ShardError(f"{self._where(at, len(self._rows))}: cannot read the output line as JSON: {exc}") from exc
        if not isinstance(row, dict):
            raise ShardError(f"{self._where(at, len(self._rows))}: a Parquet row must be a JSON object")
        self._rows.append(row)
        self._at.append(at)
        self._bytes += len(line)
        if len(self._rows) >= self._rows_per_group or self._bytes >= self._bytes_per_group:
            self.flush()

    def flush(self) -> None:
        rows = self._rows
        if not rows:
            return
        first_bad: _BadRow | None = None
        part: list[dict[str, Any]] = rows
        table = None
        while part:  # the rows before the first that does not fit are written, as stdout would have them
            try:
                table = self._table(part)
                break
            except _BadRow as bad:
                first_bad = bad
                part = rows[: bad.row]
        if first_bad is None:
            self._write(table)
            return
        where = self._where(self._at[first_bad.row], first_bad.row)
        if table is not None:
            self._write(table)
        self._rows.clear()  # the shard ends here
        self._at.clear()
        raise ShardError(
            f"cannot write {self.path}: {where}: {first_bad.problem}; write this output with --format jsonl"
        )

    def close(self) -> None:
        try:
            self.flush()
        finally:
            try:
                if self._writer is None:  # no row: a file with the columns known, and zero rows
                    self._writer = self._pq.ParquetWriter(self._sink, self._hint or self._pa.schema([]))
                self._writer.close()
            finally:
                self._sink.close()

    # ----------------------------------------------------------------- rows to columns

    def _write(self, table: Any) -> None:
        if self._writer is None:
            self._schema = table.schema
            self._writer = self._pq.ParquetWriter(self._sink, table.schema)
        self._writer.write_table(table)
        self.written += table.num_rows
        del self._rows[: table.num_rows]
        del self._at[: table.num_rows]
        self._bytes = 0

    def _where(self, at: int, row: int) -> str:
        return f"{self.source}:{at}" if at else f"{self.source}: row {self.written + row + 1} of the shard"

    def _table(self, rows: list[dict[str, Any]]) -> Any:
        pa = self._pa
        names: dict[str, None] = {}
        for row in rows:
            for name in row:
                names[name] = None
        for name in names:
            surrogate = _lone_surrogate(name)
            if surrogate is not None:  # JSON can spell one (an escape); Arrow names and strings are UTF-8
                first = next(k for k, row in enumerate(rows) if name in row)
                raise _BadRow(
                    first,
                    f"field name {name!r} holds a lone surrogate ({surrogate}), which Parquet "
                    "column names cannot store",
                )
        if self._schema is not None:
            for name in names:
                if self._schema.get_field_index(name) < 0:
                    first = next(k for k, row in enumerate(rows) if name in row)
                    raise _BadRow(
                        first,
                        f"field {name!r} first appears after the first row group, which fixed "
                        "the shard's columns (a Parquet file has one set of columns)",
                    )
            columns = [(f.name, f.type, True) for f in self._schema]
        else:
            hint = self._first_hint(rows)
            columns = [(name, hint.get(name), False) for name in names]
        arrays = [self._column(name, [row.get(name) for row in rows], target, fixed) for name, target, fixed in columns]
        schema = self._schema
        if schema is None:
            schema = pa.schema([pa.field(name, array.type) for (name, _, _), array in zip(columns, arrays)])
        return pa.Table.from_arrays(arrays, schema=schema)

    def _first_hint(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        if self._hint is not None:
            return {f.name: f.type for f in self._hint}
        notes = [row.get("dedupe") for row in rows]
        passages = any(isinstance(note, dict) and "passages" in note for note in notes)
        return {"dedupe": annotation_type(passages)}

    def _column(self, name: str, values: list[Any], target: Any, fixed: bool) -> Any:
        try:
            return _convert(values, target)
        except self._errors:
            pass
        if not fixed and target is not None:  # the type asked for does not fit: the values' own type
            try:
                return _convert(values, None)
            except self._errors:
                target = None
        bad = _first_failure(values, lambda part: _convert(part, target), self._errors)
        value = values[bad]
        surrogate = _lone_surrogate(value)
        if surrogate is not None:  # no column type would take it: say so rather than blame the rows before
            raise _BadRow(
                bad, f"field {name!r} holds a lone surrogate ({surrogate}), which Parquet strings cannot store"
            )
        if target is not None and self._pa.types.is_null(target):
            problem = (
                f"field {name!r} holds {_describe(value)}, but it was null in every row of the first row "
                "group, which made its column a column of nulls"
            )
        elif target is not None:
            problem = f"field {name!r} holds {_describe(value)}, which does not fit its column's type ({target})"
        else:
            reason = "mixed types"
            try:
                _convert(values[: bad + 1], None)
            except self._errors as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problem = (
                f"field {name!r} holds {_describe(value)}, which cannot share a column with the rows before it "
                f"({reason})"
            )
        raise _BadRow(bad, problem)


def _first_failure(
    values: list[Any], convert: Callable[[list[Any]], Any], errors: tuple[type[BaseException], ...]
) -> int:
    """Index of the first value with which ``convert`` of the values up to it fails (it fails for all of them)."""
    good, bad = 0, len(values)  # converting values[:good] works, values[:bad] does not
    while bad - good > 1:
        middle = (good + bad) // 2
        try:
            convert(values[:middle])
            good = middle
        except errors:
            bad = middle
    return bad - 1


def _lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate (as ``\\udXXX``) in a JSON value's strings and object keys, or None.

    A JSON escape such as ``\\ud800`` reads as one; Arrow strings are UTF-8, which cannot hold it.
    Walked without recursion: the reader lets values nest deeper than Python's recursion limit.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.isascii():
                continue
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"\\u{ord(item[exc.start]):04x}"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                stack.extend((child, key))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return None


def _describe(value: Any) -> str:
    kind = {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)
    shown = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, (list, dict)) else ""
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} ({shown})" if shown else kind


def _convert(values: list[Any], target: Any) -> Any:
    """An Arrow array of the JSON values, of type ``target`` when given (raises when they do not fit)."""
    import pyarrow as pa

    if target is not None and pa.types.is_map(target):  # a map is written as [key, value] pairs
        return pa.array([None if v is None else [tuple(p) for p in v] for v in values], type=target)
    array = pa.array(values)
    return array if target is None else _conform(array, target)


def _conform(array: Any, target: Any) -> Any:
    """``array`` as type ``target``, where no value changes but for its type: integers to wider or other
    integers and floats (checked), strings to the types whose string form they are (timestamps, dates,
    decimals, binary), structs and lists field by field; anything else raises _Mismatch."""
    import pyarrow as pa

    t = pa.types
    source = array.type
    if source == target:
        return array
    if t.is_null(source):
        return pa.nulls(len(array), target)
    mask = array.is_null() if array.null_count else None
    numeric = lambda k: t.is_integer(k) or t.is_floating(k)  # noqa: E731
    if numeric(source) and numeric(target):
        return array.cast(target)  # safe: an overflow or a fraction raises
    if t.is_dictionary(target):
        return _conform(array, target.value_type).cast(target)
    if t.is_string(source) and (
        t.is_string(target)
        or t.is_large_string(target)
        or t.is_temporal(target)
        or t.is_decimal(target)
        or t.is_binary(target)
        or t.is_large_binary(target)
        or t.is_fixed_size_binary(target)
    ):
        return array.cast(target)
    if t.is_struct(source) and t.is_struct(target):
        names = {target.field(k).name for k in range(target.num_fields)}
        extra = [source.field(k).name for k in range(source.num_fields) if source.field(k).name not in names]
        if extra:
            raise _Mismatch(f"field {extra[0]!r} is not in {target}")
        children = [
            _conform(array.field(f.name), f.type)
            if source.get_field_index(f.name) >= 0
            else pa.nulls(len(array), f.type)
            for f in target
        ]
        return pa.StructArray.from_arrays(children, fields=list(target), mask=mask)
    if (t.is_list(source) or t.is_large_list(source)) and (
        t.is_list(target) or t.is_large_list(target) or t.is_fixed_size_list(target)
    ):
        if t.is_fixed_size_list(target):
            return _conform(array, pa.list_(target.value_field)).cast(target)
        values = _conform(array.values, target.value_type)
        large = t.is_large_list(target)
        offsets = array.offsets.cast(pa.int64() if large else pa.int32())
        kind = pa.LargeListArray if large else pa.ListArray
        return kind.from_arrays(offsets, values, type=target, mask=mask)
    raise _Mismatch(f"{source} does not fit {target}")


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
