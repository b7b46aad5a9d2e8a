"""Text normalization: a pure function of the text and a NormalizeConfig."""

from __future__ import annotations

import unicodedata

from .config import NormalizeConfig

_DEFAULT = NormalizeConfig()


class _PunctuationToSpace(dict):  # type: ignore[type-arg]
    """``str.translate`` table: code point -> itself for word characters
    (letters, digits, underscore and combining marks, so that Devanagari vowel
    signs or Arabic harakat stay inside their words) and whitespace, -> space
    otherwise.

    Filled lazily, so it covers all of Unicode while holding only the code
    points seen; ``translate`` with it is about 9x faster than ``re.sub``.
    """

    def __missing__(self, point: int) -> str:
        char = chr(point)
        word = char.isalnum() or char == "_" or unicodedata.category(char)[0] == "M"
        value = char if (word or char.isspace()) else " "
        self[point] = value
        return value


_PUNCTUATION = _PunctuationToSpace()


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
    if config.unicode_form:
        text = unicodedata.normalize(config.unicode_form, text)
    if config.casefold:
        text = text.casefold()
    if config.strip_punctuation:
        text = text.translate(_PUNCTUATION)
    return " ".join(text.split())
