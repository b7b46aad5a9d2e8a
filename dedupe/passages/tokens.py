"""The words of a batch of texts in numpy: spans, case-folded forms, hashes, whether each is a number.

A word is a ``\\w+`` run of the text, except in the scripts written without spaces (Chinese, Japanese, Thai, Lao,
Khmer, Myanmar, Tibetan: :func:`dedupe.features.scripts.spaceless`), where every word character is a word of its
own, even inside a ``\\w`` run: "Python的新特性" is "python", "的", "新", "特", "性" (:data:`WORD` finds them one at a
time, as :func:`~dedupe.passages.segment.segment` does). Here they are found for a whole batch with no Python step
per word: the batch's code points in one array, word characters from a table (``\\w`` itself decides, once per
distinct code point), word starts and ends where that changes and around every character of those scripts.
A word's case-folded form is the case-folded text at the word's span whenever case folding keeps the text's
length (it then maps each character to one); a text where it does not ("ß" -> "ss") has its words case-folded
one by one. Words are hashed with the document path's kernel
(:func:`~dedupe.features.shingles.word_hashes`, which splits those scripts into characters the same way) over the
case-folded words joined by spaces, which is also the normalized text of every run of consecutive words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from ..features.scripts import FIRST_SPACELESS, SPACELESS_BLOCKS, spaceless
from ..features.shingles import word_hashes

_W = re.compile(r"\w")
_SPACELESS_CLASS = "".join(f"\\U{first:08x}-\\U{last:08x}" for first, last in SPACELESS_BLOCKS)
# The combining marks (Mn, Mc) of those scripts, which \w leaves out (Thai and Khmer vowel signs, tone marks).
_MARKS = frozenset(("Mn", "Mc"))
_MARK_CLASS = "".join(
    f"\\U{c:08x}"
    for first, last in SPACELESS_BLOCKS
    for c in range(first, min(last, 0xFFFF) + 1)
    if unicodedata.category(chr(c)) in _MARKS
)
# A word of its own: a \w character or a combining mark of a script written without spaces.
_SINGLE = re.compile(rf"(?=\w)[{_SPACELESS_CLASS}]|[{_MARK_CLASS}]")
# A word, one at a time: such a character, or a \w run of the other scripts.
WORD = re.compile(rf"{_SINGLE.pattern}|(?:(?![{_SPACELESS_CLASS}])\w)+")
_SPACE = 0x20
# Common abbreviations: a period after them ends no sentence ("Mr. Smith", "Acme Corp. said"); as titles and
# company suffixes they are no part of a name ("Mr Brown" and "Gordon Brown" name the same man).
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr co corp inc ltd plc vs gen sen rep gov lt col capt sgt maj adm rev hon "
    "jan feb mar apr jun jul aug sep sept oct nov dec mt ft fig approx dept est univ bros".split()
)
# Names of months and days: dates, which name no one in particular ("April" in two dividend notices).
CALENDAR = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
# Characters between two words that keep them in one name ("New York", "Chang-Ming"), and characters that end
# a sentence or clause before a word.
_JOINERS = " \t\n\r\v\f-\u00a0"
# Besides ASCII, every sentence end of :mod:`~dedupe.passages.segment` and the full-width colon and semicolon: the
# ideographic full stop, the full-width exclamation mark, question mark, full stop, colon and semicolon, the
# half-width ideographic full stop (U+3002, U+FF01, U+FF1F, U+FF0E, U+FF1A, U+FF1B, U+FF61), the Devanagari danda
# and double danda, the Arabic question mark, the Urdu, Armenian, Ethiopic, Myanmar and Khmer full stops (U+0964,
# U+0965, U+061F, U+06D4, U+0589, U+1362, U+104B, U+17D4).
_STOPS = ".!?:;\0\u3002\uff01\uff1f\uff0e\uff1a\uff1b\uff61\u0964\u0965\u061f\u06d4\u0589\u1362\u104b\u17d4"


def _is_upper(c: str) -> bool:
    return c.isupper() or c.istitle()


# Per kind, whether each code point met so far is of that kind: a word character (\w), a combining mark, a digit
# (str.isdigit), an upper or title case letter, a lower case letter, a joiner, a stop.
_TESTS: dict[str, Callable[[str], bool]] = {
    "word": lambda c: bool(_W.fullmatch(c)),
    "mark": lambda c: unicodedata.category(c) in _MARKS,
    "digit": str.isdigit,
    "upper": _is_upper,
    "lower": str.islower,
    "joiner": _JOINERS.__contains__,
    "stop": _STOPS.__contains__,
}
_KNOWN: dict[str, dict[int, bool]] = {kind: {c: test(chr(c)) for c in range(128)} for kind, test in _TESTS.items()}


class _Classes:
    """Which code points of an array are of each kind (see ``_TESTS``): the distinct code points are found once
    (a count per code point, no sort), each tested once per kind, and every point looked up in a table."""

    def __init__(self, points: np.ndarray) -> None:
        self.size = int(points.max()) + 1 if len(points) else 1
        self.present = np.flatnonzero(np.bincount(points, minlength=1)) if len(points) else np.zeros(0, np.int64)
        self.distinct = self.present.tolist()

    def table(self, kind: str) -> np.ndarray:
        """Flags indexed by code point (the points of the array only)."""
        known, test = _KNOWN[kind], _TESTS[kind]
        flags = []
        for c in self.distinct:
            flag = known.get(c)
            if flag is None:
                flag = known[c] = test(chr(c))
            flags.append(flag)
        out = np.zeros(self.size, dtype=bool)
        out[self.present] = flags
        return out

    def single(self) -> np.ndarray:
        """Flags indexed by code point: the words of one character (\\w characters and combining marks of the
        scripts written without spaces, :func:`~dedupe.features.scripts.spaceless`)."""
        out = np.zeros(self.size, dtype=bool)
        out[self.present] = spaceless(self.present)
        out &= self.table("word") | self.table("mark")
        return out


def _classify(points: np.ndarray, kind: str) -> np.ndarray:
    """Whether each code point of ``points`` is of ``kind`` (see ``_TESTS``), each distinct one tested once."""
    out: np.ndarray = _Classes(points).table(kind)[points]
    return out


class BatchWords(NamedTuple):
    """The words of a batch of texts.

    ``spans``: (start, end) of every word, code point offsets into its own text, texts one after the other;
    ``counts``: words per text; ``hashes``: each case-folded word's hash; ``numeric``: whether each word is a
    number (its case-folded form ``isdigit()``); ``joined``: every text's case-folded words, each followed by
    one space, texts one after the other; ``offsets``: where each word starts in ``joined`` (one more entry at
    the end), so that words a..b-1 of a text, joined by spaces, are ``joined[offsets[a]:offsets[b] - 1]``
    (indices over the whole batch's words); ``upper``, ``lower``: whether each word's first character is upper
    (or title) case, lower case; ``joins``: whether only spaces and hyphens separate each word from the next word
    of its text; ``stop``: whether a sentence or clause mark (``.!?:;``, ``。`` and the other sentence ends of
    :mod:`~dedupe.passages.segment`) stands between the previous word and this one (True for a text's first
    word); ``has_digit``: whether each word holds a digit; ``spaceless``: whether each word is a character of a
    script written without spaces (a word of one character).
    """

    spans: np.ndarray
    counts: np.ndarray
    hashes: np.ndarray
    numeric: np.ndarray
    joined: str
    offsets: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    joins: np.ndarray
    stop: np.ndarray
    has_digit: np.ndarray
    spaceless: np.ndarray


def batch_words(texts: Sequence[str]) -> BatchWords:
    """The words of ``texts`` (see :class:`BatchWords`).

    Example:
        >>> w = batch_words(["Mr. Smith paid 5 dlrs", "", "STRASSE"])
        >>> w.counts.tolist(), w.spans[:2].tolist(), w.numeric.tolist()
        ([5, 0, 1], [[0, 2], [4, 9]], [False, False, False, True, False, False])
        >>> w.joined
        'mr smith paid 5 dlrs strasse '
        >>> w = batch_words(["Python的新特性。"])
        >>> w.joined, w.spans[:2].tolist(), w.spaceless.tolist()
        ('python 的 新 特 性 ', [[0, 6], [6, 7]], [False, True, True, True, True])
    """
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    # One separator (not a word character) after each text.
    points = np.frombuffer("\0".join(texts).encode("utf-32-le", "surrogatepass") + bytes(4), dtype=np.uint32)
    classes = _Classes(points)
    word = classes.table("word")[points]
    if classes.size > FIRST_SPACELESS:  # a character of a script without spaces may be there
        single = classes.single()[points]
        word |= single
        starts, ends = _words_by_script(word, single)
    else:
        single = np.zeros(len(points), dtype=bool)
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
    numeric, has_digit = _numeric(joined_points, offsets)
    hashes, _ = word_hashes([joined.encode("utf-8", "surrogatepass")])
    initials = points[starts]
    # Between word k and word k + 1 lie points ends[k] .. starts[k + 1] - 1 (a text's last word: up to the next
    # text's first word, across the separator, which is a stop and no joiner).
    gaps_end = np.append(starts[1:], len(points)).astype(np.int64)
    joins = _none_between(~classes.table("joiner")[points], ends, gaps_end) if len(starts) else np.zeros(0, bool)
    stop = np.ones(len(starts), dtype=bool)
    if len(starts) > 1:
        stop[1:] = ~_none_between(classes.table("stop")[points], ends[:-1], starts[1:])
    return BatchWords(
        spans,
        counts,
        hashes,
        numeric,
        joined,
        offsets,
        classes.table("upper")[initials],
        classes.table("lower")[initials],
        joins,
        stop,
        has_digit,
        single[starts],
    )


def _words_by_script(word: np.ndarray, single: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Word starts and ends: runs of word characters, every ``single`` one (a character of a script written
    without spaces) a word of its own. The last point is no word character."""
    cut = np.zeros(len(word) + 1, dtype=bool)  # a word boundary before each point (and the end) within a run
    cut[:-1] |= single
    cut[1:] |= single
    before = np.concatenate(([False], word))
    after = np.append(word, False)
    return np.flatnonzero(after & (~before | cut)), np.flatnonzero(before & (~after | cut))


def _none_between(flags: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether no point in ``lo[k] .. hi[k] - 1`` is flagged, for each k."""
    before = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    out: np.ndarray = before[hi] == before[lo]
    return out


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


def _numeric(points: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each word (from ``offsets[k]`` in ``points`` up to the space that ends it) is all digits, and
    whether it holds a digit."""
    if len(offsets) < 2:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    not_digit = (~_classify(points, "digit")).astype(np.int64)
    # Non-digits of each word and the space after it: only that space when the word is all digits.
    others = np.add.reduceat(not_digit, offsets[:-1])
    return others == 1, others < np.diff(offsets)
