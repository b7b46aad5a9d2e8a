"""Rendering a decided record for an output mode (scan or filter): the one place both engines write from.

Output lines keep the input record's bytes unchanged and add one key, ``"dedupe"`` (:func:`annotated`), or
change only the text's value (:func:`with_text`).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from typing import Any

import orjson

from ..core.matcher import Result
from ..passages.matcher import remove_spans
from .jsonline import EXACT_DECODER, parse_exact, room_for_nesting
from .records import ANNOTATION_KEY, Record


def write_result(mode: str, text_field: str, out: Any, dropped: Any, item: Result) -> None:
    """Write one decided record as ``mode`` renders it: scan annotates every record; filter writes kept records
    (with ``passages``: repeated passages cut from the text) and sends duplicates, annotated, to ``dropped``."""
    if mode == "scan":
        note = item.match.as_dict()
        if item.passages is not None:
            note["passages"] = [m.as_dict() for m in item.passages]
        out.write(annotated(item.record, note))
    elif not item.is_duplicate:
        if item.passages:
            cleaned = remove_spans(item.record.text, item.passages)
            if cleaned != item.record.text:
                out.write(with_text(item.record, text_field, cleaned))
                return
        out.write(original(item.record))
    elif dropped is not None:
        dropped.write(annotated(item.record, item.match.as_dict()))


def annotated(record: Record, annotation: dict[str, Any]) -> bytes:
    """The record's JSON line with the key ``"dedupe"`` added (bytes, newline-terminated).

    The input bytes are kept as they were: the annotation is spliced in before
    the closing brace. A record that already has the key (however it is
    spelled with escapes) gets it replaced, and the line is re-serialized.
    """
    value = orjson.dumps(annotation)
    raw = record.raw
    if raw and not record.has_annotation:
        inner = raw[:-1].rstrip()
        sep = b"" if inner.endswith(b"{") else b","
        return inner + sep + b'"' + ANNOTATION_KEY.encode() + b'":' + value + b"}\n"
    obj = parse_exact(raw) if raw else {"id": record.id, "text": record.text}
    obj[ANNOTATION_KEY] = annotation
    try:
        return orjson.dumps(obj) + b"\n"
    except TypeError:  # integers beyond 64 bits, nesting beyond 255 levels, lone surrogates
        pass
    with room_for_nesting():
        line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
        try:
            return line.encode("utf-8") + b"\n"
        except UnicodeEncodeError:  # a lone surrogate (from a \ud800 escape): keep it escaped
            return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=str).encode() + b"\n"


def with_text(record: Record, text_field: str, text: str) -> bytes:
    """The record's JSON line with the value of ``text_field`` replaced (bytes, newline-terminated).

    Only the bytes of that value change: every other field keeps its input
    bytes (numbers of any size or precision included). With the key repeated,
    the last one (the one parsers keep) is replaced.

    Example:
        >>> r = Record("1", "old", raw=b'{"id": 1, "text": "old", "n": 1e400}')
        >>> with_text(r, "text", "new")
        b'{"id": 1, "text": "new", "n": 1e400}\\n'
    """
    if not record.raw:
        return orjson.dumps({"id": record.id, text_field: text}) + b"\n"
    line = record.raw.decode("utf-8")
    with room_for_nesting():
        span = _value_span(line, text_field)
    if span is None:  # not reached for a record that was read: its text came from this field
        raise ValueError(f"no {text_field!r} field in the record")
    start, end = span
    return (line[:start] + orjson.dumps(text).decode("utf-8") + line[end:]).encode("utf-8") + b"\n"


_SPACE = re.compile(r"[ \t\n\r]*")


def _past_space(line: str, at: int) -> int:
    """Index of the first character at or after ``at`` that is not JSON whitespace."""
    space = _SPACE.match(line, at)  # matches the empty string too: never None
    return space.end() if space else at


def _value_span(line: str, key: str) -> tuple[int, int] | None:
    """Character span of the value of the last top-level ``key`` of a JSON object line."""
    at = _past_space(line, 0)
    found = None
    if line[at : at + 1] != "{":
        return None
    at = _past_space(line, at + 1)
    if line[at : at + 1] == "}":
        return None
    while True:
        name, at = EXACT_DECODER.raw_decode(line, at)  # the key: a JSON string
        at = _past_space(line, at) + 1  # past ':'
        at = _past_space(line, at)
        _, end = EXACT_DECODER.raw_decode(line, at)
        if name == key:
            found = (at, end)
        at = _past_space(line, end)
        if line[at : at + 1] != ",":
            return found
        at = _past_space(line, at + 1)


def original(record: Record) -> bytes:
    """The record's input line unchanged (bytes, newline-terminated)."""
    if record.raw:
        return record.raw + b"\n"
    return orjson.dumps({"id": record.id, "text": record.text}) + b"\n"


def open_output(path: str) -> io.BufferedIOBase:
    """Open ``path`` for binary writing; a name ending in .gz is gzip-compressed.

    Raises:
        OSError: if the file cannot be created.
    """
    if path.endswith(".gz"):
        return gzip.open(path, "wb")
    return open(path, "wb")
