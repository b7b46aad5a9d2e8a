"""Parquet input: a row is read as the JSON object of its columns and goes on from there like a JSONL line.

Values JSON has no type for get a string form (see :func:`row_json`); rows are read a batch at a time, page
by page, so memory holds one batch and the pages being decoded, never the file.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import orjson

from .jsonline import json_kind
from .records import (
    ANNOTATION_KEY,
    PARQUET_BATCH_ROWS,
    InputError,
    ReadStats,
    Record,
    Rejected,
    display_name,
)


def _pyarrow_parquet(name: str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{name}: Parquet input needs the pyarrow package: pip install 'dedupe[parquet]'") from None
    return pq


def read_parquet(
    path: str, text_field: str, id_field: str, stats: ReadStats, skip: int, batch_rows: int
) -> Iterator[Record | Rejected]:
    name = display_name(path)
    parquet = open_parquet(path, name)
    stats.sources.append(name)
    stats.starts.append(stats.lines)
    try:
        yield from parquet_items(parquet, name, text_field, id_field, stats, skip, batch_rows)
    finally:
        parquet.close()


def _errors() -> tuple[type[Exception], ...]:
    """What pyarrow raises on a Parquet file it cannot read."""
    import pyarrow as pa

    return (pa.ArrowException, OSError, ValueError, OverflowError)


def open_parquet(path: str, name: str) -> Any:
    """The ``pyarrow.parquet.ParquetFile`` of ``path``, read page by page (not a whole row group ahead).

    Raises:
        InputError: naming the input ``name``, if pyarrow is missing or the file is not a readable Parquet file.
    """
    pq = _pyarrow_parquet(name)
    try:
        return pq.ParquetFile(path, pre_buffer=False)
    except _errors() as exc:
        raise InputError(f"cannot read {name}: not a readable Parquet file: {_one_line(exc)}") from exc


def parquet_items(
    parquet: Any,
    name: str,
    text_field: str,
    id_field: str,
    stats: ReadStats,
    skip: int = 0,
    batch_rows: int = PARQUET_BATCH_ROWS,
    row_groups: Sequence[int] | None = None,
    row: int = 0,
) -> Iterator[Record | Rejected]:
    """The rows of an open Parquet file (of ``row_groups`` only, when given) as :func:`parse_row` makes them.

    Args:
        parquet: The file (:func:`open_parquet`); the caller closes it.
        name: The input's name.
        text_field: Key of the text.
        id_field: Key of the id.
        stats: Counts ``lines`` (a row's number across all inputs is ``stats.lines`` once counted) and
            ``skipped_lines``.
        skip: Rows counted across all inputs to pass over unread.
        batch_rows: Rows decoded at a time.
        row_groups: The row groups to read, in order (default: all).
        row: Rows of the input before the first one read (rows are numbered from ``row + 1``).

    Raises:
        InputError: "after row N", when the file cannot be read on.
    """
    errors = _errors()
    try:
        if row_groups is None:
            rows = parquet.metadata.num_rows
            batches = parquet.iter_batches(batch_size=max(1, batch_rows))
        else:
            rows = sum(parquet.metadata.row_group(k).num_rows for k in row_groups)
            batches = parquet.iter_batches(batch_size=max(1, batch_rows), row_groups=list(row_groups))
        if stats.lines + rows <= skip:  # a resumed run passes over the whole file without decoding it
            stats.lines += rows
            stats.skipped_lines += rows
            return
        for batch in batches:
            n = batch.num_rows
            if stats.lines + n <= skip:
                row += n
                stats.lines += n
                stats.skipped_lines += n
                continue
            names = batch.schema.names
            for values in zip(*(_python_values(column) for column in batch.columns)):
                row += 1
                stats.lines += 1
                if stats.lines <= skip:
                    stats.skipped_lines += 1
                    continue
                yield parse_row(dict(zip(names, values)), row, name, stats.lines, text_field, id_field)
    except errors as exc:
        raise InputError(f"{name}: after row {row}: cannot read input: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


_NS_DIGITS = 9


def _python_values(column: Any) -> list[Any]:
    """A column's values as Python objects; nanosecond times as their string form (Python's own types stop at
    microseconds, and the conversion would need pandas)."""
    import pyarrow as pa

    kind = column.type
    if getattr(kind, "unit", None) != "ns" or not (
        pa.types.is_timestamp(kind) or pa.types.is_time64(kind) or pa.types.is_duration(kind)
    ):
        values: list[Any] = column.to_pylist()
        return values
    ticks = column.cast(pa.int64()).to_pylist()
    if pa.types.is_duration(kind):
        return [None if t is None else _duration_text(t, _NS_DIGITS) for t in ticks]
    micros = [None if t is None else t // 1000 for t in ticks]
    unit = pa.timestamp("us", kind.tz) if pa.types.is_timestamp(kind) else pa.time64("us")
    coarse = pa.array(micros, pa.int64()).cast(unit).to_pylist()
    return [
        None if t is None else _with_nanoseconds(c.isoformat(), c.microsecond, t % 1000) for t, c in zip(ticks, coarse)
    ]


def _with_nanoseconds(iso: str, microsecond: int, nanoseconds: int) -> str:
    """An ISO time or timestamp (from ``isoformat()``) with three more digits of fraction."""
    if not nanoseconds:
        return iso
    cut = iso.index(":") + 6  # the end of HH:MM:SS
    fraction = f".{microsecond:06d}{nanoseconds:03d}"
    return iso[:cut] + fraction + iso[cut + (7 if microsecond else 0) :]


def _duration_text(ticks: int, digits: int) -> str:
    """ISO 8601 duration in seconds: ``PT90S``, ``PT0.5S``, ``-PT1.000000001S``."""
    whole, part = divmod(abs(ticks), 10**digits)
    fraction = f".{part:0{digits}d}".rstrip("0") if part else ""
    return f"{'-' if ticks < 0 else ''}PT{whole}{fraction}S"


def _json_default(value: Any) -> Any:
    """The string form of a value JSON has no type for (see :func:`row_json`)."""

    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, datetime.timedelta):
        return _duration_text((value.days * 86_400 + value.seconds) * 10**6 + value.microseconds, 6)
    return str(value)


def row_json(row: dict[str, Any]) -> bytes:
    """A Parquet row (column name to value, in schema order) as one compact JSON object.

    Values JSON has a type for (strings, integers, floats, booleans, null, lists,
    structs as objects) are written as they are; NaN and infinities become null.
    The others get a string form:

    - timestamps and dates: ISO 8601 (``2024-05-01T12:00:00``, ``2024-05-01T12:00:00.5+00:00``,
      ``2024-05-01``), with 9 digits of fraction when a nanosecond timestamp has them;
      times: ``12:00:00.250000``
    - decimals: their digits (``12.50``)
    - binary: the bytes as UTF-8 text, bytes that are not UTF-8 as ``\\xNN``
    - durations: ISO 8601 seconds (``PT90S``, ``PT0.25S``)

    A map is a list of ``[key, value]`` pairs.

    Example:
        >>> import datetime, decimal
        >>> row_json({"id": 1, "day": datetime.date(2024, 5, 1), "price": decimal.Decimal("12.50"), "b": b"hi"})
        b'{"id":1,"day":"2024-05-01","price":"12.50","b":"hi"}'
    """
    return orjson.dumps(row, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _row_value(value: Any, field: str) -> tuple[Any, str | None]:
    """The value as the row's JSON object holds it, or an invalid_utf8 reason for bytes that are not UTF-8."""
    if value is None or isinstance(value, (str, int, float, list, dict)):
        return value, None
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            return None, f"field {field!r} holds bytes that are not UTF-8 (at byte {exc.start})"
    return _json_default(value), None


def parse_row(
    row: dict[str, Any], line: int, source: str, number: int, text_field: str, id_field: str
) -> Record | Rejected:
    """Turn one Parquet row into a Record or a Rejected, as :func:`parse_line` does a JSONL line.

    The record's ``raw`` is :func:`row_json` of the row, and the text and the id
    are read as that JSON object holds them: a binary column that holds UTF-8 is
    text, a date id is its ISO string.
    """
    raw = row_json(row)

    def reject(code: str, reason: str) -> Rejected:
        return Rejected(line, source, code, reason, raw, number)

    if text_field not in row:
        return reject("missing_text", f"no {text_field!r} field (choose the field with --text-field)")
    text, bad = _row_value(row[text_field], text_field)
    if bad is not None:
        return reject("invalid_utf8", bad)
    if not isinstance(text, str):
        return reject("text_not_string", f"field {text_field!r} is {json_kind(text)}, not a string")
    rid, bad = _row_value(row.get(id_field), id_field)
    if bad is not None:
        return reject("invalid_utf8", bad)
    if rid is None:
        rid = str(number)
    elif isinstance(rid, bool) or not isinstance(rid, (str, int)):
        return reject("bad_id", f"field {id_field!r} is {json_kind(rid)}; ids must be strings or integers")
    else:
        rid = str(rid)
    return Record(rid, text, line, source, raw, ANNOTATION_KEY in row, number)
