"""dedupe.features.shingles: word and character n-grams as sorted unique uint64 hashes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import NormalizeConfig, ShingleConfig, jaccard, shingle_hashes, text_shingles
from dedupe.features.shingles import fmix64

WORD1 = ShingleConfig(unit="word", ngram=1)
WORD2 = ShingleConfig(unit="word", ngram=2)
CHAR1 = ShingleConfig(unit="char", ngram=1)


def _is_sorted_unique_u64(arr: np.ndarray) -> bool:
    return arr.dtype == np.uint64 and arr.ndim == 1 and bool(np.all(arr[1:] > arr[:-1]))


def test_empty_text_gives_empty_uint64_array():
    for cfg in (ShingleConfig(), CHAR1, ShingleConfig(unit="char", ngram=5)):
        out = text_shingles("", cfg)
        assert out.dtype == np.uint64
        assert out.size == 0


def test_punctuation_only_text_gives_no_shingles():
    assert text_shingles("?! -- ...").size == 0


def test_word_unit_counts_word_ngrams():
    # 6 distinct words: 6 unigrams, 5 bigrams, 2 five-grams.
    text = "one two three four five six"
    assert text_shingles(text, WORD1).size == 6
    assert text_shingles(text, WORD2).size == 5
    assert text_shingles(text, ShingleConfig(ngram=5)).size == 2


def test_char_unit_counts_character_ngrams():
    # "abc def" has the distinct characters a b c d e f and the space.
    assert text_shingles("abc def", CHAR1).size == 7
    # 7 characters, all positions distinct: 7 - 3 + 1 = 5 trigrams.
    assert text_shingles("abc def", ShingleConfig(unit="char", ngram=3)).size == 5
    # "aaaa" has a single distinct bigram "aa".
    assert text_shingles("aaaa", ShingleConfig(unit="char", ngram=2)).size == 1


def test_word_and_char_units_differ():
    text = "abc def"
    assert text_shingles(text, WORD1).size == 2
    assert text_shingles(text, CHAR1).size == 7


def test_repeated_words_count_once():
    assert text_shingles("spam spam spam eggs", WORD1).size == 2
    assert text_shingles("a b a b a b", WORD2).size == 2  # "a b" and "b a"


def test_text_shorter_than_n_gives_one_shingle():
    assert text_shingles("just three words", ShingleConfig(ngram=5)).size == 1
    assert text_shingles("word", ShingleConfig(ngram=64)).size == 1
    assert text_shingles("ab", ShingleConfig(unit="char", ngram=5)).size == 1


def test_short_texts_with_different_words_differ():
    a = text_shingles("just three words")
    b = text_shingles("just three birds")
    assert a.size == b.size == 1
    assert a[0] != b[0]


def test_word_order_matters_for_ngrams():
    a = text_shingles("a b c", WORD2)
    b = text_shingles("c b a", WORD2)
    assert a.size == b.size == 2
    assert not np.array_equal(a, b)
    assert jaccard(a, b) == 0.0  # {"a b", "b c"} and {"c b", "b a"} share nothing


def test_word_order_does_not_matter_for_unigrams():
    assert np.array_equal(text_shingles("a b c", WORD1), text_shingles("c b a", WORD1))


def test_char_order_matters_for_char_ngrams():
    assert not np.array_equal(
        text_shingles("abc", ShingleConfig(unit="char", ngram=2)),
        text_shingles("cba", ShingleConfig(unit="char", ngram=2)),
    )


def test_shingles_are_computed_on_normalized_text():
    assert np.array_equal(text_shingles("Hello, WORLD!  again"), text_shingles("hello world again"))


def test_normalization_config_is_honoured():
    cased = NormalizeConfig(casefold=False)
    assert not np.array_equal(text_shingles("Hello world", WORD1, cased), text_shingles("hello world", WORD1, cased))


def test_shingle_hashes_takes_already_normalized_text():
    # shingle_hashes does not normalize: case differences remain differences.
    assert not np.array_equal(shingle_hashes("Hello", WORD1), shingle_hashes("hello", WORD1))
    assert np.array_equal(shingle_hashes("hello world", WORD1), text_shingles("HELLO  world", WORD1))


def test_shared_ngrams_are_shared_hashes():
    # "a b c d" and "b c d e" share exactly the bigrams "b c" and "c d".
    a = text_shingles("a b c d", WORD2)
    b = text_shingles("b c d e", WORD2)
    assert np.intersect1d(a, b).size == 2
    assert jaccard(a, b) == 2 / 4


def test_fmix64_is_a_bijection_on_a_sample():
    values = np.arange(0, 100_000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    mixed = fmix64(values)
    assert np.unique(mixed).size == values.size


@settings(max_examples=200, deadline=None)
@given(
    st.text(),
    st.sampled_from(["word", "char"]),
    st.integers(min_value=1, max_value=8),
)
def test_shingles_are_sorted_unique_uint64(text, unit, n):
    out = text_shingles(text, ShingleConfig(unit=unit, ngram=n))
    assert _is_sorted_unique_u64(out)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=40), st.integers(1, 6))
def test_word_shingle_count_equals_distinct_ngram_count(words, n):
    # Count distinct n-grams of the word list independently, with tuples.
    k = min(n, len(words))
    expected = {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}
    out = text_shingles(" ".join(words), ShingleConfig(unit="word", ngram=n))
    assert out.size == len(expected)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FF), min_size=0, max_size=40), st.integers(1, 5))
def test_char_shingle_count_equals_distinct_char_ngram_count(text, n):
    from dedupe import normalize

    norm = normalize(text)
    out = text_shingles(text, ShingleConfig(unit="char", ngram=n))
    if not norm:
        assert out.size == 0
        return
    k = min(n, len(norm))
    expected = {norm[i : i + k] for i in range(len(norm) - k + 1)}
    assert out.size == len(expected)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from("ab cdé\n.,"), max_size=40), max_size=12),
    st.sampled_from(["word", "char"]),
    st.integers(min_value=1, max_value=6),
)
def test_batch_shingling_equals_shingling_each_text(texts, unit, n):
    from dedupe.features.normalize import normalize, prepare
    from dedupe.features.shingles import shingle_batch

    config = ShingleConfig(unit=unit, ngram=n)
    expected = [shingle_hashes(normalize(t), config) for t in texts]
    for got in (shingle_batch([normalize(t) for t in texts], config),
                shingle_batch([prepare(t) for t in texts], config) if unit == "word" else None):
        if got is None:
            continue
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert a.dtype == np.uint64 and a.tolist() == b.tolist()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from("abcdefghij klm\n.,"), max_size=700), max_size=20),
    st.integers(min_value=1, max_value=6),
)
def test_batch_character_shingles_of_texts_of_every_length(texts, n):
    # Texts are sorted in rows padded to a power of two: lengths across several widths in one batch.
    from dedupe.features.normalize import normalize
    from dedupe.features.shingles import shingle_batch

    config = ShingleConfig(unit="char", ngram=n)
    normalized = [normalize(t) for t in texts]
    got = shingle_batch(normalized, config)
    assert [g.tolist() for g in got] == [shingle_hashes(t, config).tolist() for t in normalized]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from("ab cdé\n.,"), max_size=40), max_size=12),
    st.sampled_from(["word", "char"]),
    st.integers(min_value=1, max_value=6),
)
def test_batch_multisets_are_each_texts_windows_in_order(texts, unit, n):
    # The document path keeps the shingle multiset (no sorting): the windows in text order, whose set is
    # exactly the shingle set.
    from dedupe.features.normalize import normalize
    from dedupe.features.shingles import shingle_batch, unit_hashes, window_hashes

    config = ShingleConfig(unit=unit, ngram=n)
    normalized = [normalize(t) for t in texts]
    got = shingle_batch(normalized, config, unique=False)
    for text, multiset in zip(normalized, got):
        units = unit_hashes(text, unit)
        windows = window_hashes(units, min(n, len(units))) if len(units) else units
        assert multiset.dtype == np.uint64 and multiset.tolist() == windows.tolist()
        assert np.unique(multiset).tolist() == shingle_hashes(text, config).tolist()


# --------------------------------------------------------------------------- the kernel against a plain reference

_MASK = (1 << 64) - 1


def _reference_normalize(text: str) -> str:
    """The normalization as specified, one character at a time: NFKC, case folding, every character that is not
    a letter, digit, underscore or combining mark (and every whitespace) to a space, runs of spaces collapsed."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text).casefold()
    kept = [c if (c.isalnum() or c == "_" or unicodedata.category(c)[0] == "M") and not c.isspace() else " "
            for c in text]
    return " ".join("".join(kept).split())


def _reference_fmix64(v: int) -> int:
    v ^= v >> 33
    v = (v * 0xFF51AFD7ED558CCD) & _MASK
    v ^= v >> 33
    v = (v * 0xC4CEB9FE1A85EC53) & _MASK
    return v ^ (v >> 33)


def _reference_word_hash(word: bytes) -> int:
    """A word's hash as specified: its bytes as little-endian 64-bit integers, 8 bytes each (the last one
    shorter), chained h = fmix64(h) ^ c (past 64 bytes, h is the word's xxh3-64 instead), then
    fmix64(h + length * K)."""
    import xxhash

    chunks = [int.from_bytes(word[at : at + 8], "little") for at in range(0, len(word), 8)]
    h = chunks[0]
    for c in chunks[1:]:
        h = _reference_fmix64(h) ^ c
    if len(word) > 64:
        h = xxhash.xxh3_64_intdigest(word)
    return _reference_fmix64((h + len(word) * 0x9E3779B97F4A7C15) & _MASK)


def _reference_split(text: bytes) -> list[bytes]:
    """Words of UTF-8 bytes as specified: runs between ASCII whitespace (bytes.split()), every well-formed character
    of a script written without spaces (dedupe.features.scripts.SPACELESS_BLOCKS) cut out as a word of its own."""
    from dedupe.features.scripts import SPACELESS_BLOCKS

    out: list[bytes] = []
    for word in text.split():
        run = ""
        for char in word.decode("utf-8", "surrogateescape"):  # a stray byte stays one (a lone surrogate)
            if any(first <= ord(char) <= last for first, last in SPACELESS_BLOCKS):
                out += [run.encode("utf-8", "surrogateescape")] if run else []
                out.append(char.encode("utf-8"))
                run = ""
            else:
                run += char
        out += [run.encode("utf-8", "surrogateescape")] if run else []
    return out


def _reference_shingles(text: str, unit: str, n: int) -> list[int]:
    """Word or character n-gram hashes with Python ints: each unit hashed (:func:`_reference_word_hash` of a
    word's UTF-8 bytes, or fmix64 of a character's code point + 1), an n-gram = fmix64(sum_k C_k * h_k + n)
    mod 2^64; a text of fewer than n units is one shingle of all of them. Sorted and distinct."""
    from dedupe.features.shingles import _POSITION

    norm = _reference_normalize(text)
    if not norm:
        return []
    if unit == "word":
        units = [_reference_word_hash(w) for w in _reference_split(norm.encode("utf-8"))]
    else:
        units = [_reference_fmix64(ord(c) + 1) for c in norm]
    k = min(n, len(units))
    position = [int(c) for c in _POSITION[:k]]
    out = set()
    for start in range(len(units) - k + 1):
        acc = sum(position[j] * units[start + j] for j in range(k)) & _MASK
        out.add(_reference_fmix64((acc + k) & _MASK))
    return sorted(out)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120), st.sampled_from(["word", "char"]), st.integers(min_value=1, max_value=6))
def test_shingles_equal_a_plain_python_reference_on_random_unicode(text, unit, n):
    from dedupe.features.normalize import normalize, prepare_utf8
    from dedupe.features.shingles import shingle_batch

    assert normalize(text) == _reference_normalize(text)
    expected = _reference_shingles(text, unit, n)
    config = ShingleConfig(unit=unit, ngram=n)
    assert text_shingles(text, config).tolist() == expected
    # The batch kernel as the document path runs it: prepared UTF-8 for words, multisets, then the set.
    source = prepare_utf8(text) if unit == "word" else normalize(text)
    (multiset,) = shingle_batch([source], config, unique=False)
    assert np.unique(multiset).tolist() == expected


_WORD_BYTES = st.binary(max_size=40) | st.lists(
    st.sampled_from([b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c", b"\x1c", b"a", b"ab", b"\xc3\xa9", b"\x00",
                     b"abcdefgh", b"abcdefghi", b"x" * 17, b"y" * 64, b"z" * 65, b"\xe4\xb8\xad" * 30, b"\xe4\xb8",
                     b"\xe0\xb8\x81", b"\xf0\xa0\x80\x81", b"\xed\x95\x9c"]),
    max_size=30,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORD_BYTES, max_size=6))
def test_word_hashes_equal_the_reference_for_every_word_of_every_text(texts):
    from dedupe.features.shingles import word_hashes

    hashes, counts = word_hashes(texts)
    words = [_reference_split(t) for t in texts]  # bytes.split(), and characters of scripts without spaces
    assert counts.tolist() == [len(w) for w in words]
    assert hashes.tolist() == [_reference_word_hash(w) for ws in words for w in ws]


def test_words_of_up_to_8_bytes_never_collide_and_length_counts():
    from dedupe.features.shingles import word_hashes

    words = [b"a", b"a\x00", b"a\x00\x00", b"ab", b"ba", b"abcdefgh", b"abcdefg\x00", b"\x00"]
    hashes, _ = word_hashes([b" ".join(words)])
    assert len(set(hashes.tolist())) == len(words)


def test_a_word_of_a_megabyte_is_hashed_as_specified():
    from dedupe.features.shingles import word_hashes

    word = bytes(range(256)).replace(b" ", b"_").translate(bytes.maketrans(b"\t\n\x0b\x0c\r", b"_____")) * 4096
    hashes, counts = word_hashes([b"before " + word + b" after"])
    assert counts.tolist() == [3]
    assert hashes.tolist() == [_reference_word_hash(w) for w in (b"before", word, b"after")]
