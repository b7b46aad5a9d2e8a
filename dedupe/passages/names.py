"""The names a passage states, and whether two passages name the same things.

Templated newswire sentences share most of their character n-grams and differ in whom they are about: "Lincoln
Savings Bank said its board declared an initial dividend ..." against "Taunton Savings Bank said its board
declared an initial cash dividend ...", "RJR Nabisco Inc said it will purchase up to five mln of its shares"
against "Allegis Corp said it plans to repurchase up to five mln of its common shares". A loose near repeat must
name something its match names, as it must state the figures its match states
(:func:`~dedupe.passages.segment.numbers_agree`).

The rule, word by word (words are ``\\w+`` runs, and every character of a script written without spaces a word
of its own: :data:`~dedupe.passages.tokens.WORD`):

* a **name word** starts with an upper or title case letter, has at least two characters, and its case-folded
  form never starts a lower case word of the same text ("The", "Company" and "Earlier" are names only in a text
  that never writes "the", "company", "earlier"); a text with no lower case word at all has no name words (its
  case tells nothing);
* a **name** is a run of name words of one passage separated by nothing but spaces and hyphens ("New York
  Federal Reserve Bank", "Chang-Ming"), as the set of its case-folded words other than the common abbreviations
  of titles and company suffixes (``Mr``, ``Dr``, ``Inc``, ``Corp``, ``Ltd``, ...:
  :data:`~dedupe.passages.tokens.ABBREVIATIONS`, which also keep sentences whole) and the names of months and
  days (:data:`~dedupe.passages.tokens.CALENDAR`): "Mr Brown" and "Gordon Brown" name the same man, "Acme Corp"
  and "Acme Inc" the same company, and "April" names no one; a run of a single word that starts a
  sentence or clause (the passage's first word, or one after ``.!?:;`` or another stop such as ``。`` that does
  not follow a one-letter word as in "U.S.", a character of a script without spaces excepted) is a *weak*
  name: it may be capitalized only for its position ("Fry said ..." names Fry, "Using an average price ..."
  names nothing);
* two passages **agree** when either has no name but weak ones, or a name of one has all its words in a name of
  the other, not both weak ("Federal Reserve" and "New York Federal Reserve Bank" agree; "Lincoln Savings Bank"
  and "Taunton Savings Bank" do not; "Fry said ..." and "... his projected sales, Fry added" agree; "NOTE: ..."
  and "NOTE: ..." agree only by a name that is not weak).

:func:`batch_names` finds the names of a batch's passages in numpy; :func:`reference_names` is the same rule on
one passage in plain Python (the executable definition the tests compare with). A passage's names travel as one
array of word hashes, each name's words followed by 0 (a weak name: 1) (:func:`encode`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..features.scripts import is_spaceless
from ..features.shingles import word_hashes
from .ragged import aranges
from .tokens import _JOINERS, _STOPS, ABBREVIATIONS, CALENDAR, WORD, BatchWords

_END, _WEAK_END = 0, 1  # end a name, a weak name, in an encoded array; word hashes below 2 are stored plus 2


def names_agree(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two passages' encoded names (:func:`encode`) agree: either has no name but weak ones, or a name
    of one has all its words in a name of the other, not both weak.

    Example:
        >>> h = {w: i + 2 for i, w in enumerate("lincoln taunton savings bank federal reserve new york".split())}
        >>> enc = lambda *names, weak=(): encode([[h[w] for w in n.split()] for n in names + weak], len(names))
        >>> names_agree(enc("lincoln savings bank"), enc("taunton savings bank"))
        False
        >>> names_agree(enc("federal reserve"), enc("new york federal reserve bank", "lincoln"))
        True
        >>> names_agree(enc(weak=("new",)), enc("lincoln"))
        True
        >>> names_agree(enc("york", weak=("lincoln",)), enc("new", weak=("lincoln",)))
        False
        >>> names_agree(enc("york", weak=("lincoln",)), enc("lincoln bank"))
        True
    """
    if len(a) == 0 or len(b) == 0:
        return True
    ours, ours_weak = decode(a)
    theirs, theirs_weak = decode(b)
    if not ours or not theirs:
        return True
    return any(x <= y or y <= x for x in ours for y in theirs + theirs_weak) or any(
        x <= y or y <= x for x in ours_weak for y in theirs
    )


def encode(names: Sequence[Sequence[int]], strong: int | None = None) -> np.ndarray:
    """Names (each a sequence of word hashes; the first ``strong`` of them not weak, all by default) as one
    uint64 array: each name's words, then 0 (a weak name: 1)."""
    out: list[int] = []
    for k, name in enumerate(names):
        out.extend(h if h >= 2 else h + 2 for h in name)
        out.append(_END if strong is None or k < strong else _WEAK_END)
    return np.array(out, dtype=np.uint64)


def decode(values: np.ndarray) -> tuple[list[frozenset[int]], list[frozenset[int]]]:
    """The names of an :func:`encode`\\ d array, each as a set of word hashes: (names, weak names)."""
    out: tuple[list[frozenset[int]], list[frozenset[int]]] = ([], [])
    name: list[int] = []
    for h in values.tolist():
        if h < 2:
            out[h].append(frozenset(name))
            name = []
        else:
            name.append(h)
    return out


# Words that are part of a name but name no one: titles, company suffixes, months and days.
_GENERIC = ABBREVIATIONS | CALENDAR
_GENERIC_HASHES = np.sort(word_hashes([" ".join(sorted(_GENERIC)).encode()])[0])


def name_words(words: BatchWords) -> np.ndarray:
    """Whether each word of a batch is a name word (see the module docstring)."""
    text_ids = np.repeat(np.arange(len(words.counts)), words.counts)
    lengths = words.spans[:, 1] - words.spans[:, 0]
    keyed = words.hashes ^ (text_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    has_lower = np.bincount(text_ids[words.lower], minlength=len(words.counts)) > 0
    name: np.ndarray = words.upper & (lengths >= 2) & has_lower[text_ids]
    name[name] = ~np.isin(keyed[name], keyed[words.lower])
    return name


def batch_names(
    words: BatchWords, name: np.ndarray, first_word: np.ndarray, ranges: np.ndarray, text_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The encoded names of every passage of a batch, as (values, offsets by passage).

    Args:
        words: The batch's words.
        name: Whether each word is a name word (:func:`name_words`).
        first_word: Each text's first word in the batch.
        ranges: [first, last) word of each passage in its text, shape (passages, 2).
        text_of: Each passage's text in the batch.
    """
    n_words = len(words.hashes)
    text_ids = np.repeat(np.arange(len(words.counts)), words.counts)
    lengths = words.spans[:, 1] - words.spans[:, 0]
    # Sentence (or clause) starts: after a stop that does not follow a one-letter word (an initial: a character
    # of a script without spaces is none).
    after_stop = words.stop.copy()
    if n_words > 1:
        after_stop[1:] &= (lengths[:-1] >= 2) | words.spaceless[:-1]
    after_stop[first_word[text_ids] == np.arange(n_words)] = True
    # Every passage's words, passage after passage.
    starts = first_word[text_of] + ranges[:, 0]
    widths = ranges[:, 1] - ranges[:, 0]
    pw = aranges(starts, widths)
    pid = np.repeat(np.arange(len(ranges)), widths)
    is_first = np.zeros(len(pw), dtype=bool)
    is_first[np.cumsum(widths)[widths > 0] - widths[widths > 0]] = True
    nm = name[pw]
    linked = np.zeros(len(pw), dtype=bool)  # continues the name of the word before it
    if len(pw) > 1:
        linked[1:] = nm[1:] & nm[:-1] & words.joins[pw[:-1]] & ~is_first[1:]
    run_start = nm & ~linked
    run_of = np.cumsum(run_start) - 1  # each name word's run
    named = np.flatnonzero(nm)
    run_len = np.bincount(run_of[named], minlength=int(run_start.sum()))
    starts_sentence = (is_first | after_stop[pw])[run_start]
    weak = (run_len == 1) & starts_sentence
    # The words kept in the names: all but the generic ones (a run of generic words only names nothing).
    named = named[~np.isin(words.hashes[pw[named]], _GENERIC_HASHES)]
    if not len(named):
        return np.zeros(0, dtype=np.uint64), np.zeros(len(ranges) + 1, dtype=np.int64)
    # The name words, each name closed by its end mark: a word's slot is its rank plus the names closed before it.
    named_run = run_of[named]
    last_of_run = np.append(named_run[1:] != named_run[:-1], True)
    slot = np.arange(len(named)) + np.concatenate(([0], np.cumsum(last_of_run)[:-1]))
    values = np.full(len(named) + int(last_of_run.sum()), _END, dtype=np.uint64)
    hashes = words.hashes[pw[named]]
    values[slot] = np.where(hashes < 2, hashes + np.uint64(2), hashes)
    values[slot[last_of_run] + 1] = np.where(weak[named_run[last_of_run]], _WEAK_END, _END).astype(np.uint64)
    per_passage = np.bincount(pid[named], minlength=len(ranges)) + np.bincount(
        pid[named[last_of_run]], minlength=len(ranges)
    )
    return values, np.concatenate(([0], np.cumsum(per_passage))).astype(np.int64)


def reference_name_words(text: str) -> list[bool]:
    """Whether each word (:data:`~dedupe.passages.tokens.WORD`) of ``text`` is a name word, one word at a time
    (the reference for :func:`name_words`)."""
    words = WORD.findall(text)
    lower = {w.casefold() for w in words if w[0].islower()}
    return [bool(lower) and _is_capital(w[0]) and len(w) >= 2 and w.casefold() not in lower for w in words]


def _is_capital(c: str) -> bool:
    return c.isupper() or c.istitle()


def reference_names(text: str, start: int, end: int) -> list[tuple[list[str], bool]]:
    """The names of the passage ``text[start:end]`` (case-folded words) and whether each is weak, by the rule in
    the module docstring, one word at a time.

    Example:
        >>> t = "Lincoln Savings Bank said the U.S. Federal Reserve met. The lender agreed. Mr Lincoln"
        >>> [" ".join(words) + (" (weak)" if weak else "") for words, weak in reference_names(t, 0, len(t))]
        ['lincoln savings bank', 'federal reserve', 'lincoln']
    """
    matches = list(WORD.finditer(text))
    is_name = reference_name_words(text)
    names: list[tuple[list[str], bool]] = []
    run: list[str] = []
    run_at_start = False
    previous: re.Match[str] | None = None
    first = True
    for k, m in enumerate(matches):
        if not (start <= m.start() and m.end() <= end):
            continue
        w = m.group()
        gap = text[previous.end() : m.start()] if previous is not None else ""
        # A sentence starts at the passage's first word, the text's first word, or after a stop that does not
        # follow a one-letter word.
        if first or k == 0:
            sentence_start = True
        else:
            before = matches[k - 1]
            sentence_start = any(ch in _STOPS for ch in text[before.end() : m.start()]) and (
                len(before.group()) >= 2 or is_spaceless(before.group())
            )
        first = False
        if is_name[k] and run and all(ch in _JOINERS for ch in gap):
            run.append(w.casefold())
        else:
            if run:
                _close(names, run, run_at_start)
            run = [w.casefold()] if is_name[k] else []
            run_at_start = sentence_start
        previous = m if is_name[k] else None
    if run:
        _close(names, run, run_at_start)
    return names


def _close(names: list[tuple[list[str], bool]], run: list[str], at_start: bool) -> None:
    """Add the name a run of name words makes, if any (``at_start``: the run starts a sentence)."""
    kept = [w for w in run if w not in _GENERIC]
    if kept:
        names.append((kept, len(run) == 1 and at_start))
