"""Records in and out: JSONL reading (plain, gzip, zstd), rejects, annotated output.

A bad line never disappears: it becomes a :class:`Rejected` naming its source,
line number and reason. Output lines keep the input record's bytes unchanged
and add one key, ``"dedupe"``.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class InputError(Exception):
    """Input that cannot be read at all (missing file, corrupt compressed stream)."""


@dataclass(frozen=True)
class Record:
    """One input document.

    Args:
        id: The record's id (from the id field, or its 1-based line number).
        text: The text to deduplicate.
        line: 1-based line number in ``source`` (0 when built in code).
        source: Input name ("<stdin>" for standard input).
        raw: The input line's bytes without the line ending (empty when built in code).
    """

    id: str
    text: str
    line: int = 0
    source: str = ""
    raw: bytes = b""


@dataclass(frozen=True)
class Rejected:
    """An input line that is not a usable record, and why.

    ``code`` is a stable machine-readable category (``malformed_json``,
    ``invalid_utf8``, ``not_an_object``, ``missing_text``, ``text_not_string``,
    ``bad_id``); ``reason`` is the human explanation.
    """

    line: int
    source: str
    code: str
    reason: str
    raw: bytes

    def message(self) -> str:
        """One-line error naming the input and line."""
        return f"{self.source}:{self.line}: {self.reason}"

    def to_json(self) -> bytes:
        """The reject as one JSONL line (for ``--rejects``)."""
        return orjson.dumps(
            {
                "source": self.source,
                "line": self.line,
                "code": self.code,
                "reason": self.reason,
                "raw": self.raw.decode("utf-8", "backslashreplace"),
            }
        ) + b"\n"


@dataclass
class ReadStats:
    """What the reader saw besides records: blank lines are skipped, not records."""

    lines: int = 0
    blank_lines: int = 0
    sources: list[str] = field(default_factory=list)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _decompressing(stream: IO[bytes], name: str) -> IO[bytes]:
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]
    head = buffered.peek(4)[:4]
    if head.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    if head.startswith(_ZSTD_MAGIC):
        try:
            import zstandard
        except ImportError:
            raise InputError(f"{name}: zstd-compressed input needs the zstandard package: pip install 'dedupe[zstd]'")
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(buffered))  # type: ignore[return-value]
    return buffered


def open_input(path: str, stdin: IO[bytes] | None = None) -> tuple[IO[bytes], str]:
    """Open ``path`` ('-' is standard input) for binary reading, decompressing gzip and zstd.

    Compression is recognised by its magic bytes, not the file name.

    Returns:
        (stream, display name).

    Raises:
        InputError: if the file cannot be opened.
    """
    if path == "-":
        import sys

        return _decompressing(stdin if stdin is not None else sys.stdin.buffer, "<stdin>"), "<stdin>"
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot open {path}: {exc.strerror or exc}") from exc
    return _decompressing(handle, path), path


def _parse(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # orjson rejects integers beyond 64 bits, which are valid JSON; the
        # standard library accepts them (and anything else it accepts that
        # orjson does not is re-checked below).
        return json.loads(data.decode("utf-8"))


def parse_line(raw: bytes, line: int, source: str, number: int, text_field: str, id_field: str) -> Record | Rejected:
    """Turn one stripped input line into a Record or a Rejected.

    Args:
        raw: Line bytes without line ending or surrounding whitespace.
        line: 1-based line number within ``source``.
        source: Input name for messages.
        number: 1-based line number across all inputs (the default id).
        text_field: Key of the text.
        id_field: Key of the id.
    """

    def reject(code: str, reason: str) -> Rejected:
        return Rejected(line, source, code, reason, raw)

    try:
        obj = _parse(raw)
    except UnicodeDecodeError as exc:
        return reject("invalid_utf8", f"invalid UTF-8 at byte {exc.start} of the line")
    except json.JSONDecodeError as exc:
        return reject("malformed_json", f"malformed JSON at column {exc.colno}: {exc.msg}")
    if not isinstance(obj, dict):
        return reject("not_an_object", f"expected a JSON object, got {_json_kind(obj)}")
    if text_field not in obj:
        return reject("missing_text", f"no {text_field!r} field (choose the field with --text-field)")
    text = obj[text_field]
    if not isinstance(text, str):
        return reject("text_not_string", f"field {text_field!r} is {_json_kind(text)}, not a string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return reject("invalid_utf8", f"field {text_field!r} holds a lone surrogate at character {exc.start}")
    rid = obj.get(id_field)
    if rid is None:
        rid = str(number)
    elif isinstance(rid, bool) or not isinstance(rid, (str, int)):
        return reject("bad_id", f"field {id_field!r} is {_json_kind(rid)}; ids must be strings or integers")
    else:
        rid = str(rid)
    return Record(rid, text, line, source, raw)


def read_records(
    paths: Iterable[str],
    text_field: str = "text",
    id_field: str = "id",
    stats: ReadStats | None = None,
    stdin: IO[bytes] | None = None,
) -> Iterator[Record | Rejected]:
    """Read JSONL records from files ('-' is standard input), in order.

    Blank lines are skipped (counted in ``stats``); every other line yields a
    Record or a Rejected. A UTF-8 byte order mark at the start of an input is
    ignored; CRLF line endings are accepted.

    Raises:
        InputError: if an input cannot be opened or its compressed stream is corrupt.

    Example:
        >>> import io
        >>> data = io.BytesIO(b'{"id": "a", "text": "hello"}\\n\\nnot json\\n')
        >>> [type(r).__name__ for r in read_records(["-"], stdin=data)]
        ['Record', 'Rejected']
    """
    stats = stats if stats is not None else ReadStats()
    for path in paths:
        stream, name = open_input(path, stdin)
        stats.sources.append(name)
        line = 0
        try:
            for raw in stream:
                line += 1
                stats.lines += 1
                if line == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                raw = raw.strip()
                if not raw:
                    stats.blank_lines += 1
                    continue
                yield parse_line(raw, line, name, stats.lines, text_field, id_field)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{name}: after line {line}: cannot read input: {exc}") from exc
        finally:
            if path != "-":
                stream.close()


def annotated(record: Record, annotation: dict[str, Any], key: str = "dedupe") -> bytes:
    """The record's JSON line with ``key`` added (bytes, newline-terminated).

    The input bytes are kept as they were: the annotation is spliced in before
    the closing brace. A record that already has ``key`` gets it replaced.
    """
    value = orjson.dumps(annotation)
    raw = record.raw
    marker = b'"' + key.encode() + b'"'
    if raw and marker not in raw:
        inner = raw[:-1].rstrip()
        sep = b"" if inner.endswith(b"{") else b","
        return inner + sep + marker + b":" + value + b"}\n"
    obj = _parse(raw) if raw else {"id": record.id, "text": record.text}
    obj[key] = annotation
    try:
        return orjson.dumps(obj) + b"\n"
    except TypeError:  # integers beyond 64 bits
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def original(record: Record) -> bytes:
    """The record's input line unchanged (bytes, newline-terminated)."""
    if record.raw:
        return record.raw + b"\n"
    return orjson.dumps({"id": record.id, "text": record.text}) + b"\n"


def open_output(path: str) -> IO[bytes]:
    """Open ``path`` for binary writing; a name ending in .gz is gzip-compressed.

    Raises:
        OSError: if the file cannot be created.
    """
    if path.endswith(".gz"):
        return gzip.open(path, "wb")  # type: ignore[return-value]
    return open(path, "wb")
