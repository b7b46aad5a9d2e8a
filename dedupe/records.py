"""Records in and out: JSONL reading (plain, gzip, zstd), rejects, annotated output.

A bad line never disappears: it becomes a :class:`Rejected` naming its source,
line number and reason. Output lines keep the input record's bytes unchanged
and add one key, ``"dedupe"``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from json.decoder import scanstring
from typing import IO, Any

import orjson

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ANNOTATION_KEY = "dedupe"


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
        has_annotation: The input object already has the key ``"dedupe"``.
        number: 1-based line number counted across all inputs (0 when built in code).
    """

    id: str
    text: str
    line: int = 0
    source: str = ""
    raw: bytes = b""
    has_annotation: bool = False
    number: int = 0


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
    number: int = 0  # 1-based line number across all inputs

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
    skipped_lines: int = 0  # passed over unread by ``skip`` (a resumed run)
    sources: list[str] = field(default_factory=list)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


_ZSTD_STEP = 1 << 14  # compressed bytes decompressed at a time (bounds the output held at once)


class _ZstdFrames(io.RawIOBase):
    """The decompressed bytes of one or more zstd frames, one after another.

    zstandard's ``stream_reader`` ends quietly when its input stops inside a
    frame, so a truncated file would read as complete (and short). Here that
    raises EOFError, and corrupt data or trailing garbage raise OSError, as
    the gzip reader does.
    """

    def __init__(self, source: IO[bytes], zstandard: Any, closefd: bool) -> None:
        super().__init__()
        self._source = source
        self._closefd = closefd
        self._decompressor = zstandard.ZstdDecompressor()
        self._error = zstandard.ZstdError
        self._frame: Any = None  # the decompressor of the frame being read, while inside one
        self._input = b""  # compressed bytes not yet decompressed
        self._output = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._output:
            if not self._step():
                return 0
        n = min(len(buffer), len(self._output))
        buffer[:n] = self._output[:n]
        self._output = self._output[n:]
        return n

    def _step(self) -> bool:
        """Decompress some more input; False at the end of the input, after a whole frame."""
        if not self._input:
            self._input = self._source.read(_ZSTD_STEP)
            if not self._input:
                if self._frame is not None:
                    raise EOFError("Compressed file ended before the end of its last zstd frame")
                return False
        if self._frame is None:
            self._frame = self._decompressor.decompressobj()
        data, self._input = self._input, b""
        try:
            self._output = memoryview(self._frame.decompress(data))
        except self._error as exc:
            raise OSError(f"corrupt zstd data: {exc}") from exc
        if self._frame.eof:  # the next bytes, if any, must start another frame
            self._input = self._frame.unused_data
            self._frame = None
        return True

    def close(self) -> None:
        if not self.closed and self._closefd:
            self._source.close()
        super().close()


def _decompressing(stream: IO[bytes], name: str, closefd: bool = True) -> IO[bytes]:
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]
    head = buffered.peek(4)[:4]
    if head.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    if head.startswith(_ZSTD_MAGIC):
        try:
            import zstandard
        except ImportError:
            raise InputError(f"{name}: zstd-compressed input needs the zstandard package: pip install 'dedupe[zstd]'")
        return io.BufferedReader(_ZstdFrames(buffered, zstandard, closefd))  # type: ignore[return-value]
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

        try:
            return _decompressing(stdin if stdin is not None else sys.stdin.buffer, "<stdin>", closefd=False), "<stdin>"
        except OSError as exc:  # e.g. EISDIR, EIO on the first read
            raise InputError(f"cannot read <stdin>: {exc.strerror or exc}") from exc
    name = _display_name(path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot open {name}: {exc.strerror or exc}") from exc
    try:
        return _decompressing(handle, name), name
    except OSError as exc:  # the first read fails (EIO, a special file): bad input, not an output error
        handle.close()
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc


def _display_name(path: str) -> str:
    """``path`` as text that encodes: a file name that is not UTF-8 (its bytes arrive as lone
    surrogates) is shown with those bytes as ``\\xNN``, so rejects and reports can be written."""
    if path.isascii():
        return path
    import os

    try:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    except UnicodeError:
        return path.encode("utf-8", "backslashreplace").decode("utf-8")


def _parse(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # The standard library also accepts lone surrogate escapes and numbers
        # beyond a double, which orjson rejects; a text holding a lone
        # surrogate is rejected with a precise reason. Nesting is held to
        # orjson's limit either way.
        return _parse_exact(data)


class _TooDeep(ValueError):
    """JSON nested deeper than orjson follows."""


_MAX_DEPTH = 1024  # orjson's nesting limit; the standard library is held to the same


def _parse_exact(data: bytes) -> Any:
    # orjson reads integers beyond 64 bits as floats, losing digits; the
    # standard library keeps them exact. Used where that matters: an id that
    # came out as a float, and a line that must be re-serialized.
    text = data.decode("utf-8")
    if _too_deep(data):
        raise _TooDeep(f"JSON nested more than {_MAX_DEPTH} levels deep (arrays and objects)")
    try:
        return _parse_text(text)
    except RecursionError:
        pass
    with _room_for_nesting():
        return _parse_text(text)


@contextlib.contextmanager
def _room_for_nesting() -> Iterator[None]:
    """Raise the recursion limit by the deepest nesting the reader lets through.

    The standard library's JSON decoder and encoder count each level against
    the interpreter's recursion limit, so how deep they get depends on the
    caller's stack; with this room every line the reader accepted fits.
    """
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 2 * _MAX_DEPTH + 100)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def _too_deep(data: bytes) -> bool:
    """Whether arrays and objects nest more than _MAX_DEPTH levels (brackets in strings do not count)."""
    if data.count(b"[") + data.count(b"{") <= _MAX_DEPTH:
        return False
    import numpy as np

    b = np.frombuffer(data, dtype=np.uint8)
    at = np.arange(len(b))
    backslash = b == 0x5C
    # A character is escaped when an odd run of backslashes ends just before it.
    run = at - np.maximum.accumulate(np.where(backslash, -1, at))
    escaped = np.zeros(len(b), dtype=bool)
    escaped[1:] = run[:-1] % 2 == 1
    outside = np.cumsum((b == 0x22) & ~escaped) % 2 == 0  # an even number of quotes before: not in a string
    step = np.zeros(len(b), dtype=np.int64)
    step[outside & ((b == 0x5B) | (b == 0x7B))] = 1
    step[outside & ((b == 0x5D) | (b == 0x7D))] = -1
    return int(np.cumsum(step).max()) > _MAX_DEPTH


def _parse_text(text: str) -> Any:
    return json.loads(text, parse_constant=_not_json, parse_int=_exact_int)


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON value")


def _exact_int(digits: str) -> int | Decimal:
    # int() refuses more than 4300 digits (a guard against quadratic parsing);
    # Decimal parses any length exactly, in linear time.
    return int(digits) if len(digits) <= 4000 else Decimal(digits)


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
        return Rejected(line, source, code, reason, raw, number)

    try:
        obj = _parse(raw)
    except UnicodeDecodeError as exc:
        return reject("invalid_utf8", f"invalid UTF-8 at byte {exc.start} of the line")
    except json.JSONDecodeError as exc:
        return reject("malformed_json", f"malformed JSON at column {exc.colno}: {exc.msg}")
    except _TooDeep as exc:
        return reject("malformed_json", str(exc))
    except ValueError as exc:
        return reject("malformed_json", f"malformed JSON: {exc}")
    if not isinstance(obj, dict):
        return reject("not_an_object", f"expected a JSON object, got {_json_kind(obj)}")
    if text_field not in obj:
        return reject("missing_text", f"no {text_field!r} field (choose the field with --text-field)")
    text = obj[text_field]
    if not isinstance(text, str):
        return reject("text_not_string", f"field {text_field!r} is {_json_kind(text)}, not a string")
    if not text.isascii():  # isascii() is O(1); only non-ASCII text can hold a lone surrogate
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return reject("invalid_utf8", f"field {text_field!r} holds a lone surrogate at character {exc.start}")
    rid = obj.get(id_field)
    if isinstance(rid, float):  # maybe an integer beyond 64 bits, rounded by orjson
        rid = _parse_exact(raw).get(id_field)
    if rid is None:
        rid = str(number)
    elif isinstance(rid, Decimal) and rid == rid.to_integral_value() and "." not in str(rid):
        rid = str(rid)
    elif isinstance(rid, bool) or not isinstance(rid, (str, int)):
        return reject("bad_id", f"field {id_field!r} is {_json_kind(rid)}; ids must be strings or integers")
    else:
        rid = str(rid)
        if not rid.isascii():  # an id is written out, so it must encode, like the text
            try:
                rid.encode("utf-8")
            except UnicodeEncodeError as exc:
                return reject("invalid_utf8", f"field {id_field!r} holds a lone surrogate at character {exc.start}")
    return Record(rid, text, line, source, raw, ANNOTATION_KEY in obj, number)


def read_records(
    paths: Iterable[str],
    text_field: str = "text",
    id_field: str = "id",
    stats: ReadStats | None = None,
    stdin: IO[bytes] | None = None,
    skip: int = 0,
) -> Iterator[Record | Rejected]:
    """Read JSONL records from files ('-' is standard input), in order.

    ``skip`` passes over the first ``skip`` lines counted across all inputs
    without parsing them (a resumed run); they still count for line numbers.

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
                if stats.lines <= skip:
                    stats.skipped_lines += 1
                    continue
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
    obj = _parse_exact(raw) if raw else {"id": record.id, "text": record.text}
    obj[ANNOTATION_KEY] = annotation
    try:
        return orjson.dumps(obj) + b"\n"
    except TypeError:  # integers beyond 64 bits, nesting beyond 255 levels, lone surrogates
        pass
    with _room_for_nesting():
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
    with _room_for_nesting():
        span = _value_span(line, text_field)
    if span is None:  # not reached for a record that was read: its text came from this field
        raise ValueError(f"no {text_field!r} field in the record")
    start, end = span
    return (line[:start] + orjson.dumps(text).decode("utf-8") + line[end:]).encode("utf-8") + b"\n"


_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_int=_exact_int)
_SPACE = re.compile(r"[ \t\n\r]*")


def _value_span(line: str, key: str) -> tuple[int, int] | None:
    """Character span of the value of the last top-level ``key`` of a JSON object line."""
    at = _SPACE.match(line, 0).end()  # type: ignore[union-attr]
    found = None
    if line[at : at + 1] != "{":
        return None
    at = _SPACE.match(line, at + 1).end()  # type: ignore[union-attr]
    if line[at : at + 1] == "}":
        return None
    while True:
        name, at = scanstring(line, at + 1)
        at = _SPACE.match(line, at).end() + 1  # type: ignore[union-attr]  # past ':'
        at = _SPACE.match(line, at).end()  # type: ignore[union-attr]
        _, end = _DECODER.raw_decode(line, at)
        if name == key:
            found = (at, end)
        at = _SPACE.match(line, end).end()  # type: ignore[union-attr]
        if line[at : at + 1] != ",":
            return found
        at = _SPACE.match(line, at + 1).end()  # type: ignore[union-attr]


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
