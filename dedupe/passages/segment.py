"""Passages of a text, with their spans, and the features passage matching needs.

Segmentation (a pure function of the text, so it may run in a worker):

* paragraphs: each line, or in hard-wrapped text (newswire) a block of lines
  ended by a blank line or an indented line;
* sentences: split inside a paragraph after ``.``, ``!``, ``?``, the
  Devanagari danda and double danda (U+0964, U+0965), the Arabic question
  mark (U+061F), the Urdu full stop (U+06D4), the Armenian full stop
  (U+0589) or the Ethiopic full stop (U+1362) (and closing quotes or
  brackets) followed by whitespace, when the next word starts with a
  capital, a digit or a letter of a script without case that writes spaces
  (Devanagari, Arabic, Hangul; not Chinese or Japanese), except after
  common abbreviations and single initials ("U.S.", "J. Smith"); and after
  the ideographic full stop ``。``, the full-width exclamation mark, question
  mark and full stop (U+FF01, U+FF1F, U+FF0E), the half-width ideographic
  full stop (U+FF61), the Myanmar and Khmer full stops (U+104B, U+17D4)
  (and closing quotes or brackets: ``」``, ``』``, full-width parentheses...)
  with or without whitespace, as Chinese and Japanese write them (not at a
  full-width full stop between two digits, a decimal point);
* passages: the units (sentences, or paragraphs with ``unit="paragraph"``);
  a run of consecutive units shorter than ``min_words`` words is merged into
  one passage (comment forms, menus, sign-offs); a passage still shorter than
  ``min_words`` is not matched on its own;
* words: ``\\w+`` runs, case-folded, except that every character of a script
  written without spaces (Chinese, Japanese, Thai, ...) is a word of its own
  (:data:`~dedupe.passages.tokens.WORD`), so for those scripts ``min_words``
  counts characters; every span is a code point offset into the original
  text, so ``text[start:end]`` is always the passage itself.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence

import numpy as np
import xxhash

from ..config import MinHashConfig, PassageConfig, ShingleConfig
from ..core.lsh import band_keys
from ..features.minhash import MinHasher
from ..features.scripts import is_spaceless
from ..features.shingles import shingle_batch, window_batch
from .names import batch_names, name_words
from .packed import PassageBatch
from .ragged import aranges, flat, offsets_of
from .tokens import ABBREVIATIONS, WORD, batch_words

# Numbers as written: 1,306,000 / 9.8 / 1-7/8 pieces, in any decimal digits (full-width, Arabic-Indic, Devanagari...),
# with ASCII or full-width separators; thousands separators dropped.
_NUMBER = re.compile(r"\d+(?:[.,/\uff0e\uff0f]\d+)*")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
# Sentence ends written with a space after them: . ! ? and the Devanagari danda and double danda, the Arabic
# question mark, the Urdu full stop, the Armenian full stop, the Ethiopic full stop.
_SPACED_ENDS = ".!?\u0964\u0965\u061f\u06d4\u0589\u1362"
# Sentence ends written with or without a space after them: the ideographic full stop, the full-width
# exclamation mark, question mark and full stop, the half-width ideographic full stop, the Myanmar and Khmer
# full stops.
_WIDE_ENDS = "\u3002\uff01\uff1f\uff0e\uff61\u104b\u17d4"
# Closing quotes and brackets after a sentence end: ASCII and typographic ones, CJK corner brackets, full-width
# parentheses, lenticular, angle and tortoise shell brackets.
_CLOSERS = "\"'\u201d\u2019\u00bb\u203a)\\]\u300d\u300f\uff09\u3011\u3009\u300b\u3015\u3017\uff3d\uff5d\uff02\uff07"
# A candidate sentence end: terminal punctuation, closing quotes/brackets, space (none needed after a wide end).
_END = re.compile(
    rf"(?P<spaced>[{_SPACED_ENDS}]+[{_CLOSERS}]*\s+)"
    rf"|(?P<wide>[{_SPACED_ENDS}]*[{_WIDE_ENDS}][{_SPACED_ENDS}{_WIDE_ENDS}]*[{_CLOSERS}]*\s*)"
)
_OPENERS = "\"'\u201c\u2018([\u00ab\u2039\u300c\u300e\uff08\u3010\u3008\u300a\u3014\u3016\uff3b\uff5b\uff02\uff07"
# A hard-wrapped text (newswire): every line at most this long, a few lines at least.
_WRAP_MAX = 100
_WRAP_MIN_LINES = 3


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Paragraph spans (start, end), stripped of surrounding whitespace.

    Example:
        >>> t = "First line.\\n\\nSecond paragraph.\\n"
        >>> [t[s:e] for s, e in paragraphs(t)]
        ['First line.', 'Second paragraph.']
    """
    lines: list[tuple[int, int, bool]] = []  # (start, end, indented) of the non-blank lines
    blank_before: list[bool] = []
    blank = True
    for m in _LINE.finditer(text):
        s, e = m.start(), m.end()
        if s == e:
            break
        line = text[s:e].rstrip("\r\n")
        stripped = line.strip()
        if not stripped:
            blank = True
            continue
        lead = len(line) - len(line.lstrip())
        trail = len(line) - len(line.rstrip())
        lines.append((s + lead, s + len(line) - trail, lead > 0))
        blank_before.append(blank)
        blank = False
    wrapped = len(lines) >= _WRAP_MIN_LINES and max(e - s for s, e, _ in lines) <= _WRAP_MAX
    out: list[tuple[int, int]] = []
    for (s, e, indented), after_blank in zip(lines, blank_before):
        if wrapped and out and not after_blank and not indented:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]`` (one paragraph).

    Example:
        >>> t = 'He said: "We agree." Mr. Smith left the U.S. Army. Then?'
        >>> [t[s:e] for s, e in sentences(t)]
        ['He said: "We agree."', 'Mr. Smith left the U.S. Army.', 'Then?']
    """
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    begin = start
    for m in _END.finditer(text, start, end):
        nxt = m.end()
        if nxt >= end:
            break
        if m.group("wide") is not None:
            if m.group() == "\uff0e" and text[m.start() - 1 : m.start()].isdigit() and text[nxt].isdigit():
                continue  # a full-width decimal point (U+FF0E between two digits)
        else:
            k = nxt
            while k < end and text[k] in _OPENERS:
                k += 1
            if k >= end or not _starts_sentence(text[k]):
                continue
            if m.group().startswith(".") and _abbreviation_before(text, begin, m.start(), text[k].isdigit()):
                continue
        stop = m.start() + len(m.group().rstrip())
        out.append((begin, stop))
        begin = nxt
    if begin < end:
        out.append((begin, end))
    return [(s, e) for s, e in out if text[s:e].strip()]


def _starts_sentence(c: str) -> bool:
    """Whether a word starting with ``c`` may start a sentence after ``.`` and the like: a capital, a digit, or a
    letter of a script without case written with spaces (Devanagari, Arabic, Hebrew, Hangul, ...). Not a character
    of a script written without spaces: those end sentences with their own marks (``。``), and ``.`` before one is
    more often an ellipsis or a file name ("[NAME...] 参数", "'.' を").

    Example:
        >>> [_starts_sentence(c) for c in "Aa7ह한中"]
        [True, False, True, True, True, False]
    """
    return c.isupper() or c.isdigit() or (c.isalpha() and not c.islower() and not is_spaceless(c))


def _abbreviation_before(text: str, begin: int, dot: int, digit_next: bool) -> bool:
    k = dot
    while k > begin and (text[k - 1].isalpha() or text[k - 1] == "."):
        k -= 1
    word = text[k:dot]
    if not word:
        return False
    last = word.rsplit(".", 1)[-1]
    if digit_next and word.casefold() in ("no", "nos", "art", "vol", "p", "pp"):
        return True  # "No. 5", "Art. 3"
    return (len(last) == 1 and last.isalpha()) or word.casefold() in ABBREVIATIONS or "." in word


def segment(
    text: str, config: PassageConfig = PassageConfig()
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]], list[str]]:
    """Split ``text`` into passages.

    Returns:
        (passages, token spans, tokens): passages as (start, end, unit
        ordinal) with short ones (fewer than ``min_words`` words) left out,
        every word's span, and every word case-folded.

    Example:
        >>> t = "One two three four five six.\\nLEAVE A REPLY\\nPlease enter your comment!"
        >>> [t[s:e] for s, e, _ in segment(t)[0]]
        ['One two three four five six.', 'LEAVE A REPLY\\nPlease enter your comment!']
    """
    token_spans = [m.span() for m in WORD.finditer(text)]
    tokens = [text[s:e].casefold() for s, e in token_spans]
    return passages_of(text, [s for s, _ in token_spans], config), token_spans, tokens


def passages_of(text: str, starts: list[int], config: PassageConfig) -> list[tuple[int, int, int]]:
    """The passages of ``text`` (as :func:`segment` returns them), its words starting at ``starts``."""
    units: list[tuple[int, int]] = []
    for ps, pe in paragraphs(text):
        units.extend(sentences(text, ps, pe) if config.unit == "sentence" else [(ps, pe)])
    out: list[tuple[int, int, int]] = []
    run: list[tuple[int, int, int]] = []  # consecutive short units: (start, end, words)

    def close_run() -> None:
        if run and sum(w for _, _, w in run) >= config.min_words:
            out.append((run[0][0], run[-1][1], len(out)))
        run.clear()

    for s, e in units:
        words = bisect_left(starts, e) - bisect_left(starts, s)
        if words >= config.min_words:
            close_run()
            out.append((s, e, len(out)))
        elif words:
            run.append((s, e, words))
    close_run()
    return out


def normalized_words(words: Sequence[str]) -> str:
    return _nfkc(" ".join(words))


def passage_numbers(passage: str) -> np.ndarray:
    """The hashes of the distinct numbers a passage states (:func:`number_key`), sorted.

    Example:
        >>> bool((passage_numbers("增长\\uff11\\uff12\\uff0e\\uff15%") == passage_numbers("up 12.5 pct")).all())
        True
    """
    found = {xxhash.xxh3_64_intdigest(number_key(m.group()).encode()) for m in _NUMBER.finditer(passage)}
    return np.array(sorted(found), dtype=np.uint64)


def number_key(number: str) -> str:
    """A number as :func:`passage_numbers` compares it: in ASCII digits (NFKC, then the decimal value of any
    other digit) and without thousands separators.

    Example:
        >>> number_key("1,306,000"), number_key("\\uff11\\uff12\\uff0e\\uff15"), number_key("١٢"), number_key("१,२००")
        ('1306000', '12.5', '12', '1200')
    """
    if not number.isascii():
        number = unicodedata.normalize("NFKC", number)
        number = "".join(c if c.isascii() else str(unicodedata.decimal(c)) for c in number)
    return number.replace(",", "")


def numbers_agree(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two passages state the same figures: each shares more than half of its numbers with the other.

    A passage without numbers agrees with any. "Revs 62.9 mln vs 41.5 mln" and "Revs 31.5 mln vs 22.9 mln" share
    their words but not their facts; nor do "The rate fell to 6.6 pct from 6.7 pct" and "The rate was unchanged at
    6.7 pct" (a later month's report and an earlier one's).

    Example:
        >>> numbers_agree(passage_numbers("up 4.0 pct after 9.8 pct"), passage_numbers("9.8 pct, after 4.0 pct in May"))
        True
        >>> numbers_agree(passage_numbers("Sales 18.4 mln vs 17.8 mln"), passage_numbers("Sales 18.4 mln vs 17.0 mln"))
        False
        >>> numbers_agree(passage_numbers("fell to 6.6 pct from 6.7 pct"), passage_numbers("unchanged at 6.7 pct"))
        False
    """
    if len(a) == 0 or len(b) == 0:
        return True
    shared = len(set(a.tolist()).intersection(b.tolist()))  # a few numbers each: sets beat numpy here
    return 2 * shared > max(len(a), len(b))


_HASHERS: dict[MinHashConfig, MinHasher] = {}


def passage_features(texts: Sequence[str], config: PassageConfig = PassageConfig()) -> PassageBatch:
    """Segment, hash, shingle and MinHash the passages of a batch of texts.

    The words of the whole batch are found, case-folded and hashed at once (:func:`~dedupe.passages.tokens.
    batch_words`); segmentation into paragraphs and sentences runs per text; shingles, signatures, band keys
    and word windows run once per batch.
    """
    mh = MinHashConfig(num_perm=config.num_perm)
    hasher = _HASHERS.get(mh)
    if hasher is None:
        hasher = _HASHERS[mh] = MinHasher(mh)
    bands, rows = config.bands_rows
    words = batch_words(texts)
    offsets = words.offsets.tolist()
    name = name_words(words)
    # Plain words (two characters or more, or one of a script written without spaces; no digit, not a name),
    # counted up to each word of the batch.
    plain = ((words.spans[:, 1] - words.spans[:, 0] >= 2) | words.spaceless) & ~words.has_digit & ~name
    wordy_before = np.concatenate(([0], np.cumsum(plain))).tolist()
    segmented = []
    normalized: list[str] = []
    first = 0  # the text's first word, in the batch
    for text, count in zip(texts, words.counts.tolist()):
        spans = words.spans[first : first + count]
        starts = spans[:, 0].tolist()
        passages = passages_of(text, starts, config)
        ranges = [(bisect_left(starts, s), bisect_left(starts, e)) for s, e, _ in passages]
        texts_of = [_nfkc(words.joined[offsets[first + a] : offsets[first + b] - 1]) for a, b in ranges]
        normalized.extend(texts_of)
        wordy = [wordy_before[first + b] - wordy_before[first + a] >= config.min_words for a, b in ranges]
        segmented.append((passages, spans, ranges, texts_of, wordy))
        first += count
    shingles = shingle_batch(normalized, ShingleConfig(unit=config.shingle, ngram=config.ngram))
    signatures = hasher.signatures(shingles) if normalized else np.empty((0, config.num_perm), dtype=np.uint32)
    keys = band_keys(signatures, bands, rows)
    if config.window:
        windows = window_batch(words.hashes, words.counts, config.window)
        window_values = np.concatenate(windows) if windows else _NO_WINDOWS
        window_at = np.concatenate(([0], np.cumsum([len(w) for w in windows]))).astype(np.int64)
    else:
        window_values, window_at = _NO_WINDOWS, np.zeros(len(texts) + 1, dtype=np.int64)
    passage_spans = [(s, e) for passages, *_ in segmented for s, e, _ in passages]
    word_ranges = np.array([r for _, _, ranges, _, _ in segmented for r in ranges], dtype=np.int64).reshape(-1, 2)
    per_text = [len(passages) for passages, *_ in segmented]
    word_at = np.concatenate(([0], np.cumsum(words.counts))).astype(np.int64)
    text_of = np.repeat(np.arange(len(texts)), per_text)
    names = batch_names(words, name, word_at[:-1], word_ranges, text_of)
    return PassageBatch(
        np.concatenate(([0], np.cumsum([len(p) for p, *_ in segmented]))).astype(np.int64),
        np.array(passage_spans, dtype=np.int64).reshape(-1, 2),
        np.array([u for passages, *_ in segmented for _, _, u in passages], dtype=np.int64),
        np.array([xxhash.xxh3_64_intdigest(t.encode("utf-8", "surrogatepass")) for t in normalized], dtype=np.uint64),
        np.array([w for *_, wordy in segmented for w in wordy], dtype=bool),
        word_ranges,
        flat(shingles),
        flat([passage_numbers(text[s:e]) for text, (passages, *_) in zip(texts, segmented) for s, e, _ in passages]),
        keys.reshape(-1, bands),
        (words.spans, word_at),
        (window_values, window_at),
        names=names,
        plain=_plain_words(
            words.hashes, plain, word_at[:-1][text_of] + word_ranges[:, 0], word_ranges[:, 1] - word_ranges[:, 0]
        ),
    )


_NO_WINDOWS = np.empty(0, dtype=np.uint64)


def _plain_words(
    hashes: np.ndarray, plain: np.ndarray, starts: np.ndarray, widths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct plain words of each passage (words ``starts[k]`` .. ``starts[k] + widths[k] - 1`` of the
    batch), as sorted hashes: (values, offsets by passage)."""
    pw = aranges(starts, widths)
    keep = plain[pw]
    h, q = hashes[pw[keep]], np.repeat(np.arange(len(widths)), widths)[keep]
    order = np.lexsort((h, q))
    h, q = h[order], q[order]
    distinct = np.ones(len(h), dtype=bool)
    distinct[1:] = (h[1:] != h[:-1]) | (q[1:] != q[:-1])
    return h[distinct], offsets_of(np.bincount(q[distinct], minlength=len(widths)))


def shared_words(a: np.ndarray, b: np.ndarray) -> int:
    """How many distinct plain words two passages share (``a``, ``b``: their sorted distinct word hashes).

    A near repeat must share at least ``min_words`` of them with its match, as a passage must have that many
    to be matched at all: "The company did not name the officials" and "The company did not name the vessels"
    share five.

    Example:
        >>> f = passage_features(["The company did not name the officials.", "The company did not name the vessels."])
        >>> shared_words(f[0].plain[0], f[1].plain[0])
        5
    """
    return len(set(a.tolist()).intersection(b.tolist()))  # a few dozen words each: sets beat numpy here


def _nfkc(joined: str) -> str:
    return joined if joined.isascii() else unicodedata.normalize("NFKC", joined)
