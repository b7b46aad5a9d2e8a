"""The batch word kernel (dedupe.passages.tokens) and passage features against the plain per-word reference."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.config import PassageConfig
from dedupe.features.scripts import is_spaceless
from dedupe.features.shingles import window_batch, window_hashes, word_hashes
from dedupe.passages.names import decode, reference_name_words, reference_names
from dedupe.passages.packed import DocPassages, PassageBatch
from dedupe.passages.segment import normalized_words, passage_features, passage_numbers, segment
from dedupe.passages.tokens import WORD, batch_words

# Text with what makes words hard: case folding that changes lengths (ß, İ, ŉ, ﬁ), digits of other scripts,
# combining marks, underscores, a lone surrogate (JSON allows "\ud800"), sentence ends, line breaks; scripts
# written without spaces (Han, kana, Thai and a Thai vowel sign, a Khmer mark that is no word), full-width digits and
# sentence ends of other scripts.
ALPHABET = st.sampled_from(
    list("aB z9_ .,!?:;-\n\t'\"")
    + ["ß", "İ", "ŉ", "ﬁ", "٣", "²", "é", "\u0301", "Σ", "\ud800", "中", "Ⅻ", "ǅ", "\u00a0"]
    + ["文", "ア", "の", "ไ", "\u0e31", "\u17d4", "。", "」", "\uff0e", "\uff11", "।", "؟", "\u0589"]
)
# What ends a sentence or clause before a word (for names): ASCII, CJK full-width, danda, Arabic, Urdu, Armenian,
# Ethiopic, Myanmar, Khmer.
STOPS = ".!?:;\u3002\uff01\uff1f\uff0e\uff61\uff1a\uff1b\u0964\u0965\u061f\u06d4\u0589\u1362\u104b\u17d4"
TEXTS = st.lists(st.text(alphabet=ALPHABET, max_size=120), max_size=8)
WORDS = st.lists(
    st.sampled_from(
        "Shares rose 5 pct in early trading Mr Smith said the U.S. economy grew New York-based Acme Corp; "
        "Lincoln Savings Bank: J. Smith 3rd".split()
    ),
    max_size=60,
)


def single(c: str) -> bool:
    """Whether ``c`` is a word of its own: a \\w character or a combining mark of a script without spaces."""
    return is_spaceless(c) and (bool(re.fullmatch(r"\w", c)) or unicodedata.category(c) in ("Mn", "Mc"))


def reference_words(text: str) -> tuple[list[tuple[int, int]], list[str]]:
    """The words of ``text`` character by character: \\w runs, every character of a script without spaces a word
    of its own."""
    spans: list[tuple[int, int]] = []
    start = None
    for i, c in enumerate(text):
        one, word = single(c), bool(re.fullmatch(r"\w", c))
        if start is not None and (one or not word):
            spans.append((start, i))
            start = None
        if one:
            spans.append((i, i + 1))
        elif word and start is None:
            start = i
    if start is not None:
        spans.append((start, len(text)))
    assert [m.span() for m in WORD.finditer(text)] == spans
    return spans, [text[s:e].casefold() for s, e in spans]


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_batch_words_equal_the_regex_words(texts: list[str]) -> None:
    got = batch_words(texts)
    first = 0
    for text, count in zip(texts, got.counts.tolist()):
        spans, words = reference_words(text)
        assert got.spans[first : first + count].tolist() == [list(s) for s in spans]
        for k, word in enumerate(words):
            i = first + k
            assert got.joined[got.offsets[i] : got.offsets[i + 1] - 1] == word
            assert bool(got.numeric[i]) == word.isdigit()
            assert got.hashes[i] == word_hashes([word.encode("utf-8", "surrogatepass")])[0][0]
            assert bool(got.has_digit[i]) == any(c.isdigit() for c in word)
            s, e = spans[k]
            assert bool(got.upper[i]) == (text[s].isupper() or text[s].istitle())
            assert bool(got.lower[i]) == text[s].islower()
            follows = spans[k + 1][0] if k + 1 < len(spans) else None
            assert bool(got.joins[i]) == (follows is not None and all(c in " \t\n\r\v\f-\u00a0" for c in text[e:follows]))
            before = text[spans[k - 1][1] : s] if k else None
            assert bool(got.stop[i]) == (before is None or any(c in STOPS for c in before))
            assert bool(got.spaceless[i]) == single(text[s])
        first += count
    assert first == len(got.spans) == len(got.hashes) == len(got.numeric) == len(got.offsets) - 1


def reference_features(text: str, config: PassageConfig) -> dict:
    """The fields of DocPassages computed word by word, as segment() gives the words."""
    passages, spans, tokens = segment(text, config)
    starts = [s for s, _ in spans]
    from bisect import bisect_left

    ranges = [(bisect_left(starts, s), bisect_left(starts, e)) for s, e, _ in passages]
    name = reference_name_words(text)
    normalized = [normalized_words(tokens[a:b]) for a, b in ranges]
    units = np.array([word_hashes([t.encode("utf-8", "surrogatepass")])[0][0] for t in tokens], dtype=np.uint64)
    return {
        "spans": [(s, e) for s, e, _ in passages],
        "units": [u for _, _, u in passages],
        "exact": [xxhash.xxh3_64_intdigest(t.encode("utf-8", "surrogatepass")) for t in normalized],
        "token_spans": [list(s) for s in spans],
        "token_ranges": ranges,
        "windows": window_hashes(units, config.window).tolist() if config.window else [],
        "numbers": [passage_numbers(text[s:e]).tolist() for s, e, _ in passages],
        "wordy": [
            sum(
                1
                for (s, e), n in zip(spans[a:b], name[a:b])
                if (e - s >= 2 or single(text[s])) and not n and not plain_digit(text[s:e])
            )
            >= config.min_words
            for a, b in ranges
        ],
        "names": [
            sorted((sorted(hash_of(w) for w in words), weak) for words, weak in reference_names(text, s, e))
            for s, e, _ in passages
        ],
    }


def plain_digit(word: str) -> bool:
    """Whether a word holds a digit once case-folded (as the batch kernel sees it)."""
    return any(c.isdigit() for c in word.casefold())


def hash_of(word: str) -> int:
    return int(word_hashes([word.encode("utf-8", "surrogatepass")])[0][0])


def names_of(encoded: np.ndarray) -> list:
    strong, weak = decode(encoded)
    return sorted([(sorted(n), False) for n in strong] + [(sorted(n), True) for n in weak])


def fields(f: DocPassages) -> dict:
    return {
        "spans": f.spans,
        "units": f.units,
        "exact": f.exact,
        "token_spans": f.token_spans.tolist(),
        "token_ranges": f.token_ranges,
        "windows": f.windows.tolist(),
        "numbers": [n.tolist() for n in f.numbers],
        "wordy": f.wordy,
        "names": [names_of(n) for n in f.names],
    }


sentences = st.lists(WORDS.map(lambda w: " ".join(w).capitalize() + "."), max_size=6).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet=ALPHABET, max_size=200), sentences), max_size=6),
       st.sampled_from([PassageConfig(), PassageConfig(min_words=2, window=3), PassageConfig(unit="paragraph", window=0)]))
def test_passage_features_equal_the_word_by_word_reference(texts: list[str], config: PassageConfig) -> None:
    got = passage_features(texts, config)
    assert [fields(f) for f in got] == [reference_features(t, config) for t in texts]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 12), max_size=8), st.integers(1, 5))
def test_window_batch_equals_window_hashes(lengths: list[int], n: int) -> None:
    units = np.arange(1, sum(lengths) + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    got = window_batch(units, np.array(lengths, dtype=np.int64), n)
    at = 0
    for length, windows in zip(lengths, got):
        assert windows.tolist() == window_hashes(units[at : at + length], n).tolist()
        at += length


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet=ALPHABET, max_size=200), sentences), max_size=6))
def test_a_packed_batch_travels_and_unpacks_to_the_same_passages(texts: list[str]) -> None:
    import pickle

    config = PassageConfig(min_words=2)
    batch = passage_features(texts, config)
    assert isinstance(batch, PassageBatch) and len(batch) == len(texts)
    sent = pickle.loads(pickle.dumps(batch))
    repacked = PassageBatch.of(list(batch), config.bands_rows[0])
    for k in range(len(texts)):
        for other in (sent[k], repacked[k], batch[k - len(texts)]):
            assert fields(other) == fields(batch[k])
            assert [s.tolist() for s in other.shingles] == [s.tolist() for s in batch[k].shingles]
            assert other.keys.tolist() == batch[k].keys.tolist()
    assert [fields(f) for f in batch[1:3]] == [fields(batch[k]) for k in range(1, min(3, len(texts)))]
    # A selection of texts (what the matcher gets: the records kept) packs the same passages.
    keep = list(range(0, len(texts), 2))
    chosen = batch.select(keep)
    assert len(chosen) == len(keep)
    for n, k in enumerate(keep):
        assert fields(chosen[n]) == fields(batch[k])
        assert [s.tolist() for s in chosen[n].shingles] == [s.tolist() for s in batch[k].shingles]
        assert chosen[n].keys.tolist() == batch[k].keys.tolist()
