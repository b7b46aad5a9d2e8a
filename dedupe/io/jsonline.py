"""The JSON of one input line: orjson first, the standard library where orjson refuses or rounds (lone surrogate
escapes, numbers beyond a double, integers beyond 64 bits), both held to the same nesting; and what the reject
of a malformed line says (:func:`malformed`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def parse_json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # The standard library also accepts lone surrogate escapes and numbers
        # beyond a double, which orjson rejects; a text holding a lone
        # surrogate is rejected with a precise reason. Nesting is held to
        # orjson's limit either way.
        return parse_exact(data)


class _TooDeep(ValueError):
    """JSON nested deeper than orjson follows."""


_MAX_DEPTH = 1024  # orjson's nesting limit; the standard library is held to the same


def parse_exact(data: bytes) -> Any:
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
    with room_for_nesting():
        return _parse_text(text)


@contextlib.contextmanager
def room_for_nesting() -> Iterator[None]:
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


# parse_exact's rules as a decoder: what reads a value out of a line in place (see dedupe.io.render.with_text).
EXACT_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_int=_exact_int)


def malformed(exc: json.JSONDecodeError) -> str:
    """The reason of a malformed_json reject: the parser's message, or what the character it stopped at is
    when that says more (a NUL byte, a byte-order mark or another control character)."""
    at = exc.doc[exc.pos] if exc.pos < len(exc.doc) else ""
    if at == "\x00":
        return f"a raw NUL byte at column {exc.colno} (not allowed in JSON; escape it as \\u0000)"
    if at == "\ufeff":
        return f"a byte-order mark (U+FEFF) at column {exc.colno} (not allowed in JSON outside a string)"
    if at and ord(at) < 0x20:
        if exc.msg.startswith("Invalid control character"):
            return (
                f"a raw control character (U+{ord(at):04X}) at column {exc.colno} inside a string (not allowed "
                f"in JSON; escape it as \\u{ord(at):04x})"
            )
        return f"a raw control character (U+{ord(at):04X}) at column {exc.colno} (not allowed in JSON outside a string)"
    if exc.msg.endswith(" at"):  # "Unterminated string starting at": the column ends the sentence
        return f"malformed JSON: {exc.msg} column {exc.colno}"
    return f"malformed JSON at column {exc.colno}: {exc.msg}"
