"""One Parquet shard being written: output lines read back as JSON objects, written a row group at a time.

Column types are fixed by the first row group (or given by the input's schema, see
:func:`dedupe.io.shards.output_schema`); a later row that does not fit stops the shard with a
:class:`~dedupe.io.shards.ShardError` naming its input line. pyarrow is imported only when a shard is opened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from .jsonline import parse_exact
from .shards import ShardError, annotation_type

_LONG_DIGITS = re.compile(rb"[0-9]{20}")  # maybe an integer beyond 64 bits, which orjson reads as a float


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


class ParquetShard:
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
