"""Records in: JSONL reading (plain, gzip, zstd: :mod:`.compression`), line parsing, rejects (Parquet:
:mod:`.parquet`; output lines: :mod:`.render`).

A bad line never disappears: it becomes a :class:`Rejected` naming its source,
line number and reason. A Parquet row is read as the JSON object of its
columns (see :func:`dedupe.io.parquet.row_json`) and goes on from there like a JSONL line.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Literal, NamedTuple, overload

import orjson

from ..config import DEFAULT_ID_FIELD, DEFAULT_TEXT_FIELD
from .jsonline import _TooDeep, json_kind, malformed, parse_exact, parse_json
from .pipes import lines_marking_waits, waitable_fd

_BOM = b"\xef\xbb\xbf"
PARQUET_MAGIC = b"PAR1"
PARQUET_BATCH_ROWS = 1024  # Parquet rows decoded at a time (bounds the memory a Parquet input takes)
ANNOTATION_KEY = "dedupe"
READ_ERRORS = (OSError, EOFError, zlib.error)  # what a stream raises when it is damaged or cannot be read


class InputError(Exception):
    """Input that cannot be read at all (missing file, corrupt compressed stream)."""


class Record(NamedTuple):
    """One input document (immutable: a named tuple, the cheapest to build, as every input line builds one).

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


class Waiting:
    """What :func:`read_records` yields, when asked to, before it would wait for a pipe or terminal to send more:
    a reader that batches records hands on what it holds instead of waiting with it (a slow input sees its
    output as it comes, whatever the batch size)."""

    __slots__ = ()


WAITING = Waiting()


class Line(NamedTuple):
    """A JSONL input line not parsed yet (what :func:`read_lines` yields): the streaming engine parses lines where
    it computes features, in its worker processes, with :func:`parse_line`.

    Args:
        raw: The line's bytes without the line ending or surrounding whitespace.
        line: 1-based line number in ``source``.
        source: Input name.
        number: 1-based line number across all inputs.
    """

    raw: bytes
    line: int
    source: str
    number: int


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
        return (
            orjson.dumps(
                {
                    "source": self.source,
                    "line": self.line,
                    "code": self.code,
                    "reason": self.reason,
                    "raw": self.raw.decode("utf-8", "backslashreplace"),
                }
            )
            + b"\n"
        )


@dataclass
class ReadStats:
    """What the reader saw besides records: blank lines are skipped, not records."""

    lines: int = 0
    blank_lines: int = 0
    skipped_lines: int = 0  # passed over unread by ``skip`` (a resumed run)
    sources: list[str] = field(default_factory=list)
    # Lines counted before each input opened, in order: input k holds the lines numbered
    # starts[k] + 1 to starts[k + 1] (for the last one, to ``lines``).
    starts: list[int] = field(default_factory=list)
    # Set when an id field other than the default is absent from every one of the first records (see
    # :func:`read_records`): the field names those records have, in the order first seen.
    id_field_missing: list[str] | None = None
    id_field_checked: int = 0  # records the id field was looked for in, when id_field_missing is set


def open_input(path: str, stdin: IO[bytes] | None = None, name: str | None = None) -> tuple[io.BufferedIOBase, str]:
    """Open ``path`` ('-' is standard input) for binary reading, decompressing gzip and zstd.

    Compression is recognised by its magic bytes, not the file name; bz2, xz, lz4 and zip input is
    refused with a message saying so (rather than read as lines that are not JSON).

    Args:
        path: The file, or '-'.
        stdin: Standard input's bytes, when not ``sys.stdin.buffer``.
        name: The input's name in messages (default: :func:`display_name` of ``path``; "<stdin>" for '-').

    Returns:
        (stream, display name).

    Raises:
        InputError: if the file cannot be opened, or is compressed in a way that is not read.
    """
    from .compression import decompressing  # decompression raises this module's InputError

    if path == "-":
        import sys

        name = name or "<stdin>"
        try:
            return decompressing(stdin if stdin is not None else sys.stdin.buffer, name, closefd=False), name
        except OSError as exc:  # e.g. EISDIR, EIO on the first read
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
    name = name or display_name(path)
    handle = open_file(path, name)
    try:
        return decompressing(handle, name), name
    except OSError as exc:  # the first read fails (EIO, a special file): bad input, not an output error
        handle.close()
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
    except InputError:
        handle.close()
        raise


def open_file(path: str, name: str, buffering: int = -1) -> IO[bytes]:
    """``open(path, "rb", buffering)``, returned open to the caller.

    Raises:
        InputError: "cannot open NAME: why", when it cannot be opened.
    """
    try:
        return open(path, "rb", buffering)
    except OSError as exc:
        raise InputError(f"cannot open {name}: {exc.strerror or exc}") from exc


def unreadable(name: str, line: int, exc: BaseException) -> InputError:
    """The error of an input whose stream fails while it is read (one of :data:`READ_ERRORS`), after ``line``
    (the last line read whole, 1-based within the input)."""
    return InputError(f"{name}: after line {line}: cannot read input: {exc}")


def display_name(path: str) -> str:
    """``path`` as text that encodes: a file name that is not UTF-8 (its bytes arrive as lone
    surrogates) is shown with those bytes as ``\\xNN``, so rejects and reports can be written."""
    if path.isascii():
        return path
    import os

    try:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    except UnicodeError:
        return path.encode("utf-8", "backslashreplace").decode("utf-8")


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

    if raw.startswith(_BOM):  # the reader strips one from an input's first line only
        if line == 1:
            return reject(
                "malformed_json",
                "a second byte-order mark (U+FEFF) at the start of line 1: a file "
                "may begin with one only (files concatenated with BOMs?)",
            )
        return reject(
            "malformed_json",
            f"a byte-order mark (U+FEFF) at the start of line {line}: only the first "
            "line of a file may carry one (files concatenated with BOMs?)",
        )
    try:
        obj = parse_json(raw)
    except UnicodeDecodeError as exc:
        return reject("invalid_utf8", f"invalid UTF-8 at byte {exc.start} of the line")
    except json.JSONDecodeError as exc:
        return reject("malformed_json", malformed(exc))
    except _TooDeep as exc:
        return reject("malformed_json", str(exc))
    except ValueError as exc:
        return reject("malformed_json", f"malformed JSON: {exc}")
    if not isinstance(obj, dict):
        return reject("not_an_object", f"expected a JSON object, got {json_kind(obj)}")
    if text_field not in obj:
        return reject("missing_text", f"no {text_field!r} field (choose the field with --text-field)")
    text = obj[text_field]
    if not isinstance(text, str):
        return reject("text_not_string", f"field {text_field!r} is {json_kind(text)}, not a string")
    if not text.isascii():  # isascii() is O(1); only non-ASCII text can hold a lone surrogate
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return reject("invalid_utf8", f"field {text_field!r} holds a lone surrogate at character {exc.start}")
    rid = obj.get(id_field)
    if isinstance(rid, float):  # maybe an integer beyond 64 bits, rounded by orjson
        rid = parse_exact(raw).get(id_field)
    if rid is None:
        rid = str(number)
    elif isinstance(rid, Decimal) and rid == rid.to_integral_value() and "." not in str(rid):
        rid = str(rid)
    elif isinstance(rid, bool) or not isinstance(rid, (str, int)):
        return reject("bad_id", f"field {id_field!r} is {json_kind(rid)}; ids must be strings or integers")
    else:
        rid = str(rid)
        if not rid.isascii():  # an id is written out, so it must encode, like the text
            try:
                rid.encode("utf-8")
            except UnicodeEncodeError as exc:
                return reject("invalid_utf8", f"field {id_field!r} holds a lone surrogate at character {exc.start}")
    return Record(rid, text, line, source, raw, ANNOTATION_KEY in obj, number)


def is_parquet(path: str) -> bool:
    """Whether ``path`` is read as Parquet: its name ends in ``.parquet``, or it is a regular file starting
    with the Parquet magic ``PAR1``. Only a regular file is looked into (a pipe's first bytes would be lost)."""
    if path == "-":
        return False
    if path.lower().endswith(".parquet"):
        return True
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:  # reported when the file is opened to be read
        return False


@overload
def read_records(
    paths: Iterable[str],
    text_field: str = ...,
    id_field: str = ...,
    stats: ReadStats | None = ...,
    stdin: IO[bytes] | None = ...,
    skip: int = ...,
    parquet_batch_rows: int = ...,
    warn: Callable[[str], None] | None = ...,
    waits: Literal[False] = ...,
) -> Iterator[Record | Rejected]: ...


@overload
def read_records(
    paths: Iterable[str],
    text_field: str = ...,
    id_field: str = ...,
    stats: ReadStats | None = ...,
    stdin: IO[bytes] | None = ...,
    skip: int = ...,
    parquet_batch_rows: int = ...,
    warn: Callable[[str], None] | None = ...,
    waits: Literal[True] = ...,
) -> Iterator[Record | Rejected | Waiting]: ...


def read_records(
    paths: Iterable[str],
    text_field: str = DEFAULT_TEXT_FIELD,
    id_field: str = DEFAULT_ID_FIELD,
    stats: ReadStats | None = None,
    stdin: IO[bytes] | None = None,
    skip: int = 0,
    parquet_batch_rows: int = PARQUET_BATCH_ROWS,
    warn: Callable[[str], None] | None = None,
    waits: bool = False,
) -> Iterator[Record | Rejected | Waiting]:
    """Read JSONL or Parquet records from files ('-' is standard input), in order.

    ``skip`` passes over the first ``skip`` lines counted across all inputs
    without parsing them (a resumed run); they still count for line numbers.

    Blank lines are skipped (counted in ``stats``); every other line yields a
    Record or a Rejected. A UTF-8 byte order mark at the start of an input is
    ignored; CRLF line endings are accepted.

    A file whose name ends in ``.parquet``, or a regular file that starts with
    ``PAR1``, is read as Parquet (needs pyarrow): each row is one record, its
    "line" the 1-based row number, and it is numbered across all inputs like a
    line. Rows are decoded ``parquet_batch_rows`` at a time (see :func:`dedupe.io.parquet.row_json`
    for the record each row becomes).

    An ``id_field`` other than the default ``"id"`` that none of the first
    :data:`~dedupe.io.idfield.ID_CHECK_RECORDS` records has (or none of all records, when there
    are fewer) is most likely misspelt: ``stats.id_field_missing`` is then set
    to the field names those records have, and ``warn`` (when given) is called
    with :func:`~dedupe.io.idfield.id_field_warning`'s message, as soon as that is known.

    With ``waits``, :data:`WAITING` is yielded each time an uncompressed pipe, socket or terminal has nothing
    more to read yet (never for a regular file).

    Raises:
        InputError: if an input cannot be opened, its compressed stream is corrupt,
            or a Parquet file cannot be read (or pyarrow is missing).

    Example:
        >>> import io
        >>> data = io.BytesIO(b'{"id": "a", "text": "hello"}\\n\\nnot json\\n')
        >>> [type(r).__name__ for r in read_records(["-"], stdin=data)]
        ['Record', 'Rejected']
    """
    from .idfield import IdFieldCheck  # the check reads records: imported here, as it imports this module

    stats = stats if stats is not None else ReadStats()
    check = IdFieldCheck(id_field, stats, warn)
    for item in _read_all(paths, text_field, id_field, stats, stdin, skip, parquet_batch_rows, waits):
        if item is WAITING:
            yield item
            continue
        assert not isinstance(item, (Waiting, Line))
        if check.active:
            check.see(item)
        yield item
    check.report()  # fewer records than the check looks at: all of them lacked the field


def read_lines(
    paths: Iterable[str],
    text_field: str,
    id_field: str,
    stats: ReadStats,
    stdin: IO[bytes] | None = None,
    skip: int = 0,
    parquet_batch_rows: int = PARQUET_BATCH_ROWS,
    waits: bool = False,
    copies: Callable[[str], IO[bytes] | None] = lambda path: None,
) -> Iterator[Line | Record | Rejected | Waiting]:
    """:func:`read_records` without parsing JSONL lines: each yields a :class:`Line`, for :func:`parse_line` to
    turn into a Record or a Rejected where the features are computed (Parquet rows come parsed, as Records and
    Rejected). Blank and skipped lines, line numbers, ``stats`` and ``waits`` are as :func:`read_records` has
    them; the id field check is the caller's (:class:`~dedupe.io.idfield.IdFieldCheck`).

    ``copies`` gives, for an input that was copied (:class:`~dedupe.io.spool.Spool`), the copy to read instead.

    Raises:
        InputError: as :func:`read_records`.
    """
    return _read_all(paths, text_field, id_field, stats, stdin, skip, parquet_batch_rows, waits, False, copies)


def _read_all(
    paths: Iterable[str],
    text_field: str,
    id_field: str,
    stats: ReadStats,
    stdin: IO[bytes] | None,
    skip: int,
    parquet_batch_rows: int,
    waits: bool = False,
    parse: bool = True,
    copies: Callable[[str], IO[bytes] | None] = lambda path: None,
) -> Iterator[Line | Record | Rejected | Waiting]:
    # Chained, each item goes from the input's generator straight to the caller (a generator delegating to it
    # with ``yield from`` would cost some 40 ns a line, 4% of reading alone).
    return itertools.chain.from_iterable(
        _inputs(paths, text_field, id_field, stats, stdin, skip, parquet_batch_rows, waits, parse, copies)
    )


def _inputs(
    paths: Iterable[str],
    text_field: str,
    id_field: str,
    stats: ReadStats,
    stdin: IO[bytes] | None,
    skip: int,
    parquet_batch_rows: int,
    waits: bool,
    parse: bool,
    copies: Callable[[str], IO[bytes] | None],
) -> Iterator[Iterator[Line | Record | Rejected | Waiting]]:
    """The items of each input in turn, each opened when the one before it is read to its end."""
    for path in paths:
        if is_parquet(path):
            from .parquet import read_parquet  # Parquet reading imports these records types

            yield read_parquet(path, text_field, id_field, stats, skip, parquet_batch_rows)
            continue
        copy = copies(path)
        if copy is None:
            stream, name = open_input(path, stdin)
        else:
            from .compression import decompressing

            name = "<stdin>" if path == "-" else display_name(path)
            stream = decompressing(copy, name)  # closes the copy when closed
        stats.sources.append(name)
        stats.starts.append(stats.lines)
        fd = waitable_fd(stream) if waits else None
        lines = stream if fd is None else lines_marking_waits(stream, fd)
        close = stream.close if path != "-" or copy is not None else None
        yield line_items(lines, name, 0, stats, text_field, id_field, skip, parse, close)


def line_items(
    lines: Iterable[bytes | None],
    name: str,
    line: int,
    stats: ReadStats,
    text_field: str,
    id_field: str,
    skip: int = 0,
    parse: bool = True,
    close: Callable[[], object] | None = None,
) -> Iterator[Line | Record | Rejected | Waiting]:
    """The rules every JSONL line goes through, for lines as iterating a binary stream splits them (at
    ``b"\\n"`` only, each with its line ending): the UTF-8 byte order mark of line 1 is dropped, surrounding
    whitespace stripped (so a CRLF line ends as an LF one), a line left empty counted as blank; any other
    yields :func:`parse_line`'s Record or Rejected (with ``parse``), else a :class:`Line`. None in ``lines`` (a
    read that would wait) yields :data:`WAITING`.

    Args:
        lines: The input's lines from line ``line + 1`` on.
        name: The input's name.
        line: Lines of the input before ``lines``.
        stats: Counts ``lines`` (each line's number across all inputs is ``stats.lines`` once counted),
            ``blank_lines`` and ``skipped_lines``.
        text_field: Key of the text.
        id_field: Key of the id.
        skip: Lines counted across all inputs to pass over unread.
        parse: Parse each line (else yield :class:`Line`).
        close: Called when the lines end, are abandoned or fail (closes their stream).

    Raises:
        InputError: (:func:`unreadable`) when reading ``lines`` fails with one of :data:`READ_ERRORS`.
    """
    try:
        for raw in lines:
            if raw is None:
                yield WAITING
                continue
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
            if parse:
                yield parse_line(raw, line, name, stats.lines, text_field, id_field)
            else:
                yield Line(raw, line, name, stats.lines)
    except READ_ERRORS as exc:
        raise unreadable(name, line, exc) from exc
    finally:
        if close is not None:
            close()
