"""Text normalization: a pure function of the text and a NormalizeConfig."""

from __future__ import annotations

import unicodedata

from .config import NormalizeConfig

_DEFAULT = NormalizeConfig()


class _ToSpace(dict):  # type: ignore[type-arg]
    """``str.translate`` table: every whitespace character -> " " and, when
    ``punctuation`` is set, every character that is not a word character
    (letters, digits, underscore and combining marks, so that Devanagari vowel
    signs or Arabic harakat stay inside their words) -> " "; others unchanged.

    Filled lazily, so it covers all of Unicode while holding only the code
    points seen; ``translate`` with it is about 9x faster than ``re.sub``.
    """

    def __init__(self, punctuation: bool) -> None:
        super().__init__()
        self.punctuation = punctuation

    def __missing__(self, point: int) -> str:
        char = chr(point)
        if char.isspace():
            value = " "
        elif self.punctuation and not (char.isalnum() or char == "_" or unicodedata.category(char)[0] == "M"):
            value = " "
        else:
            value = char
        self[point] = value
        return value


_TABLES = {True: _ToSpace(True), False: _ToSpace(False)}


def prepare(text: str, config: NormalizeConfig = _DEFAULT) -> str:
    """:func:`normalize` without the final whitespace collapsing.

    Every whitespace character is already a plain space, so
    ``prepare(t).split()`` (as str, or as UTF-8 bytes) gives exactly the words
    of ``normalize(t)``, one pass cheaper.
    """
    if config.unicode_form:
        text = unicodedata.normalize(config.unicode_form, text)
    if config.casefold:
        text = text.casefold()
    return text.translate(_TABLES[config.strip_punctuation])


def normalize(text: str, config: NormalizeConfig = _DEFAULT) -> str:
    """Normalize ``text`` for shingling.

    Applies, in order: Unicode normalization, case folding, punctuation to
    spaces, and whitespace collapsing (runs of whitespace become one space,
    no leading or trailing space).

    Args:
        text: Any string.
        config: Which steps to apply.

    Returns:
        The normalized string.

    Example:
        >>> normalize("  [Pakistan] stands\\n with   AZERBAIJAN’s people ")
        'pakistan stands with azerbaijan s people'
    """
    return " ".join(prepare(text, config).split())
