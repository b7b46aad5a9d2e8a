"""Text normalization: a pure function of the text and a NormalizeConfig."""

from __future__ import annotations

import re
import unicodedata

from .config import NormalizeConfig

_NOT_WORD_OR_SPACE = re.compile(r"[^\w\s]+")
_DEFAULT = NormalizeConfig()


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
        text = _NOT_WORD_OR_SPACE.sub(" ", text)
    return " ".join(text.split())
