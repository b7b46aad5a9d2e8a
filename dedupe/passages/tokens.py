"""The words of a batch of texts in numpy: spans, case-folded forms, hashes, whether each is a number.

What :func:`~dedupe.passages.segment.segment` finds one word at a time (``\\w+`` runs of the text, case-folded),
found here for a whole batch with no Python step per word: the batch's code points in one array, word characters
from a table (``\\w`` itself decides, once per distinct code point), word starts and ends where that changes.
A word's case-folded form is the case-folded text at the word's span whenever case folding keeps the text's
length (it then maps each character to one); a text where it does not ("ß" -> "ss") has its words case-folded
one by one. Words are hashed with the document path's kernel
(:func:`~dedupe.features.shingles.word_hashes`) over the case-folded words joined by spaces, which is also the
normalized text of every run of consecutive words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..features.shingles import word_hashes

_WORD = re.compile(r"\w+")
_SPACE = 0x20
# Whether a code point is a word character (\w), and whether it is a digit (str.isdigit), for the code points
# met so far: ASCII up front, others as they come.
_IS_WORD: dict[int, bool] = {c: bool(_WORD.fullmatch(chr(c))) for c in range(128)}
_IS_DIGIT: dict[int, bool] = {c: chr(c).isdigit() for c in range(128)}


def _classify(points: np.ndarray, known: dict[int, bool], test: re.Pattern[str] | None) -> np.ndarray:
    """``known[c]`` for every code point of ``points`` (filled in for new ones: ``test`` matches the character,
    or without ``test``, the character is a digit)."""
    distinct = np.unique(points)
    flags = []
    for c in distinct.tolist():
        flag = known.get(c)
        if flag is None:
            flag = known[c] = bool(test.fullmatch(chr(c))) if test is not None else chr(c).isdigit()
        flags.append(flag)
    return np.array(flags, dtype=bool)[np.searchsorted(distinct, points)]


class BatchWords(NamedTuple):
    """The words of a batch of texts.

    ``spans``: (start, end) of every word, code point offsets into its own text, texts one after the other;
    ``counts``: words per text; ``hashes``: each case-folded word's hash; ``numeric``: whether each word is a
    number (its case-folded form ``isdigit()``); ``joined``: every text's case-folded words, each followed by
    one space, texts one after the other; ``offsets``: where each word starts in ``joined`` (one more entry at
    the end), so that words a..b-1 of a text, joined by spaces, are ``joined[offsets[a]:offsets[b] - 1]``
    (indices over the whole batch's words).
    """

    spans: np.ndarray
    counts: np.ndarray
    hashes: np.ndarray
    numeric: np.ndarray
    joined: str
    offsets: np.ndarray


def batch_words(texts: Sequence[str]) -> BatchWords:
    """The words of ``texts`` (see :class:`BatchWords`).

    Example:
        >>> w = batch_words(["Mr. Smith paid 5 dlrs", "", "STRASSE"])
        >>> w.counts.tolist(), w.spans[:2].tolist(), w.numeric.tolist()
        ([5, 0, 1], [[0, 2], [4, 9]], [False, False, False, True, False, False])
        >>> w.joined
        'mr smith paid 5 dlrs strasse '
    """
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    # One separator (not a word character) after each text.
    points = np.frombuffer("\0".join(texts).encode("utf-32-le", "surrogatepass") + bytes(4), dtype=np.uint32)
    word = _classify(points, _IS_WORD, _WORD) if len(points) else np.zeros(0, dtype=bool)
    edges = np.flatnonzero(np.diff(word.view(np.int8), prepend=np.int8(0)))  # word starts and ends, alternating
    starts, ends = edges[0::2], edges[1::2]
    text_starts = np.concatenate(([0], np.cumsum(sizes + 1)[:-1]))
    counts = np.diff(np.searchsorted(starts, np.append(text_starts, len(points))))
    own = np.repeat(text_starts, counts)
    spans = np.stack((starts - own, ends - own), axis=1).astype(np.int64) if len(starts) else np.zeros((0, 2), np.int64)
    whole = "\0".join(texts)
    folded = whole.casefold()
    if len(folded) == len(whole):  # case folding never shortens a character: each one became one
        folded_points = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        joined = _joined_in_place(folded_points, starts, ends)
    else:  # case folding changed a length somewhere: every word is folded on its own
        joined = _joined_by_text(texts, spans, counts)
    joined_points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # Word boundaries in `joined`: each word is followed by exactly one space, and words hold no space.
    offsets = np.concatenate(([0], np.flatnonzero(joined_points == _SPACE) + 1)).astype(np.int64)
    numeric = _numeric(joined_points, offsets)
    hashes, _ = word_hashes([joined.encode("utf-8", "surrogatepass")])
    return BatchWords(spans, counts, hashes, numeric, joined, offsets)


def _joined_in_place(folded: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> str:
    """The words (``folded[start:end]``) each followed by a space, as one string."""
    if len(starts) == 0:
        return ""
    lengths = ends - starts
    total = int(lengths.sum()) + len(starts)
    out = np.full(total, _SPACE, dtype=np.uint32)
    at = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    rank = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[np.repeat(at, lengths) + rank] = folded[np.repeat(starts, lengths) + rank]
    return out.tobytes().decode("utf-32-le", "surrogatepass")


def _joined_by_text(texts: Sequence[str], spans: np.ndarray, counts: np.ndarray) -> str:
    parts: list[str] = []
    at = 0
    for text, n in zip(texts, counts.tolist()):
        parts.extend(text[s:e].casefold() + " " for s, e in spans[at : at + n].tolist())
        at += n
    return "".join(parts)


def _numeric(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Whether each word (from ``offsets[k]`` in ``points`` up to the space that ends it) is all digits."""
    if len(offsets) < 2:
        return np.zeros(0, dtype=bool)
    not_digit = (~_classify(points, _IS_DIGIT, None)).astype(np.int64)
    # Non-digits of each word and the space after it: only that space when the word is all digits.
    out: np.ndarray = np.add.reduceat(not_digit, offsets[:-1]) == 1
    return out
