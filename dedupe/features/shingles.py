"""Shingling: normalized text -> sorted unique 64-bit shingle hashes (numpy uint64).

Words are hashed a batch at a time in numpy, with no Python call per word (:func:`word_hashes`): each word's
UTF-8 bytes are read 8 at a time as little-endian 64-bit integers (the first chunk exactly: a word of up to 8
bytes is its own integer), chunks after the first are chained through fmix64, and the word's length is mixed
in at the end. Characters are their code points passed through the same mixer. An n-gram's hash is then
combined from the hashes of its n units without building a Python object per shingle:

    h(u_1..u_n) = fmix64(sum_k C_k * h(u_k)  mod 2^64)

with fixed odd 64-bit constants C_k (distinct per position, so order matters)
and the MurmurHash3 64-bit finalizer fmix64 (a bijection that spreads the
bits). The combination is vectorised over all positions of a document.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import xxhash

from ..config import NormalizeConfig, ShingleConfig
from .normalize import normalize
from .scripts import FIRST_SPACELESS_LEAD_BYTE, utf8_char_starts

_U64 = np.uint64
_EMPTY = np.empty(0, dtype=np.uint64)


def _position_constants(n: int = 64) -> np.ndarray:
    # Deterministic odd 64-bit multipliers, one per position in the n-gram.
    return np.array(
        [xxhash.xxh3_64_intdigest(f"dedupe-ngram-position-{k}".encode()) | 1 for k in range(n)], dtype=np.uint64
    )


_POSITION = _position_constants()


def fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, element-wise (a bijection on uint64)."""
    v = values ^ (values >> _U64(33))
    v = v * _U64(0xFF51AFD7ED558CCD)
    v = v ^ (v >> _U64(33))
    v = v * _U64(0xC4CEB9FE1A85EC53)
    out: np.ndarray = v ^ (v >> _U64(33))
    return out


# The low n bytes of a 64-bit integer, for n = 0..8.
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)
# An odd constant that mixes a word's length into its hash.
_LENGTH = np.uint64(0x9E3779B97F4A7C15)
# Words longer than this many bytes (rare: a URL, a base64 blob, a run of CJK text) are hashed by xxh3 one call each,
# so that chaining 8-byte chunks never takes more than 8 vectorised rounds.
_CHAINED_BYTES = 64


def _separators(data: np.ndarray) -> np.ndarray:
    """Where ``data`` (uint8) holds ASCII whitespace, as ``bytes.split()`` sees it (space, \\t \\n \\v \\f \\r)."""
    out: np.ndarray = (data == 32) | ((data - np.uint8(9)) <= 4)
    return out


def _words_by_script(data: np.ndarray, sep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Word starts and ends in UTF-8 bytes ``data``: runs between separators, and every character of a script
    written without spaces a word of its own (:mod:`dedupe.features.scripts`)."""
    word = ~sep
    cut = np.zeros(len(data) + 1, dtype=bool)
    char_starts, char_ends = utf8_char_starts(data)
    cut[char_starts] = True
    cut[char_ends] = True
    before = np.concatenate(([False], word))  # whether the byte before each position (and the end) is in a word
    after = np.append(word, False)  # whether each position (and the end) is in a word
    starts = np.flatnonzero(after & (~before | cut))
    ends = np.flatnonzero(before & (~after | cut))
    return starts, ends


def word_hashes(texts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every word of many texts (UTF-8 bytes, words split on ASCII whitespace as ``bytes.split()``
    does, and every character of a script written without spaces a word of its own: see
    :mod:`dedupe.features.scripts`), concatenated in text order, and the number of words of each text.

    A word's hash depends only on its bytes: a word of up to 8 bytes is read as one little-endian integer
    ``c``, and hashed ``fmix64(c + length * K)``; a word of up to 64 bytes has its first integer chained with
    the next 8 bytes as ``fmix64(h) ^ c_k`` before that, and a longer one starts from its xxh3-64 instead.
    Integers of a word of up to 8 bytes differ for different words, so such words never collide; longer words
    collide with probability about 2^-64 per pair.

    Example:
        >>> hashes, counts = word_hashes([b"to be or not to be", b"", b"  be "])
        >>> counts.tolist(), bool(hashes[1] == hashes[5] == hashes[6]), bool(hashes[0] == hashes[1])
        ([6, 0, 1], True, False)
        >>> hashes, counts = word_hashes(["python 3 12 的新特性".encode(), "新 python".encode()])
        >>> counts.tolist(), bool(hashes[4] == hashes[7])
        ([7, 2], True)
    """
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    # One buffer: a separator before each text and after the last, then 8 bytes of padding so that reading
    # 8 bytes at the start of the last word stays inside it.
    buffer = b" " + b" ".join(texts) + b" " + bytes(8)
    data = np.frombuffer(buffer, dtype=np.uint8)[:-8]
    sep = _separators(data)
    if len(data) and int(data.max()) >= FIRST_SPACELESS_LEAD_BYTE:
        starts, ends = _words_by_script(data, sep)
    else:  # no character of a script without spaces (ASCII text among others): words are runs between separators
        edges = np.flatnonzero(sep[1:] != sep[:-1]) + 1  # word starts and ends, alternating (data starts with sep)
        starts, ends = edges[0::2], edges[1::2]
    lengths = ends - starts
    # Every 8-byte window of the buffer as a little-endian uint64 (a strided view: nothing is copied).
    windows = np.ndarray((len(buffer) - 7,), dtype="<u8", buffer=buffer, strides=(1,))
    hashes = windows[starts] & _LOW_BYTES[np.minimum(lengths, 8)]
    longer = np.flatnonzero((lengths > 8) & (lengths <= _CHAINED_BYTES))
    done = 8
    while len(longer):
        rest = lengths[longer] - done
        hashes[longer] = fmix64(hashes[longer]) ^ (windows[starts[longer] + done] & _LOW_BYTES[np.minimum(rest, 8)])
        done += 8
        longer = longer[rest > 8]
    for k in np.flatnonzero(lengths > _CHAINED_BYTES).tolist():
        hashes[k] = xxhash.xxh3_64_intdigest(buffer[starts[k] : ends[k]])
    with np.errstate(over="ignore"):
        hashes = fmix64(hashes + lengths.astype(np.uint64) * _LENGTH)
    # Words of text k start inside its span of the buffer, which ends at the separator after it.
    text_ends = np.cumsum(sizes + 1)
    counts = np.diff(np.searchsorted(starts, text_ends), prepend=0)
    return hashes, counts


def unit_hashes(normalized: str, unit: str) -> np.ndarray:
    """Hash each unit (word or character) of already normalized text.

    Returns:
        uint64 array, one hash per unit, in text order.
    """
    if not normalized:
        return _EMPTY
    if unit == "word":
        return word_hashes([normalized.encode("utf-8")])[0]
    points = np.frombuffer(normalized.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    # +1 keeps code point 0 away from the fixed point fmix64(0) == 0.
    return fmix64(points + _U64(1))


def ngram_hashes(units: np.ndarray, n: int) -> np.ndarray:
    """Combine consecutive unit hashes into n-gram hashes.

    A sequence shorter than ``n`` (but not empty) yields one shingle made of
    all its units, so short texts still have a set to compare.

    Args:
        units: uint64 unit hashes in text order.
        n: n-gram size.

    Returns:
        Sorted unique uint64 shingle hashes.
    """
    if len(units) == 0:
        return _EMPTY
    return np.unique(window_hashes(units, min(n, len(units))))


def window_hashes(units: np.ndarray, n: int) -> np.ndarray:
    """Positional hash of each run of ``n`` consecutive units (``len(units) - n + 1`` values, in text order).

    The same combination as the n-gram shingles, before sorting and de-duplication.
    """
    count = len(units) - n + 1
    if count <= 0:
        return _EMPTY
    with np.errstate(over="ignore"):
        acc = units[:count] * _POSITION[0]
        for k in range(1, n):
            acc += units[k : k + count] * _POSITION[k]
        # Mixing in n distinguishes a short text's single shingle from an n-gram.
        return fmix64(acc + _U64(n))


def window_batch(units: np.ndarray, lengths: np.ndarray, n: int) -> list[np.ndarray]:
    """:func:`window_hashes` of many sequences at once: ``units`` holds them back to back, ``lengths`` long."""
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    windows = np.maximum(lengths - n + 1, 0)
    hashes = _combine(units, _window_positions(starts, windows), n) if windows.any() else _EMPTY
    bounds = np.concatenate(([0], np.cumsum(windows))).tolist()
    return [hashes[a:b] if b > a else _EMPTY for a, b in itertools.pairwise(bounds)]


def shingle_hashes(normalized: str, config: ShingleConfig = ShingleConfig()) -> np.ndarray:
    """Sorted unique 64-bit shingle hashes of already normalized text.

    Example:
        >>> shingle_hashes("a b c d e f", ShingleConfig(ngram=5)).size
        2
    """
    return ngram_hashes(unit_hashes(normalized, config.unit), config.ngram)


def text_shingles(
    text: str,
    shingle: ShingleConfig = ShingleConfig(),
    norm: NormalizeConfig = NormalizeConfig(),
) -> np.ndarray:
    """Normalize ``text`` then shingle it (see :func:`shingle_hashes`)."""
    return shingle_hashes(normalize(text, norm), shingle)


def _units_of_batch(normalized: Sequence[str | bytes], unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Unit hashes of many normalized texts, concatenated, and the unit count of each."""
    if unit == "word":
        # Words split on ASCII whitespace: right for normalized or prepared text, whose only whitespace is " ".
        return word_hashes([t if isinstance(t, bytes) else t.encode("utf-8") for t in normalized])
    texts = [t.decode("utf-8") if isinstance(t, bytes) else t for t in normalized]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return fmix64(points + _U64(1)), lengths


def shingle_batch(
    normalized: Sequence[str | bytes], config: ShingleConfig = ShingleConfig(), unique: bool = True
) -> list[np.ndarray]:
    """:func:`shingle_hashes` of many normalized texts at once: the same arrays, 2-4x faster.

    With ``unique`` False each text's shingle hashes come in text order, repeats kept (the shingle
    multiset): no sorting at all, for the document path, whose MinHash does not care and whose
    verification takes the set (``np.unique``) only for the few records that have candidates.

    For word shingles the texts may also be :func:`dedupe.features.normalize.prepare`'d
    only (whitespace not collapsed), as str or UTF-8 bytes; character shingles
    need normalized text (str, or its UTF-8 bytes).

    The n-gram combination runs once over the concatenated units of the batch
    (windows that cross a text boundary are dropped); each text's hashes are then sorted as one row of a
    padded matrix (see :func:`_fill_windows`).
    """
    n = config.ngram
    units, lengths = _units_of_batch(normalized, config.unit)
    out = [_EMPTY] * len(normalized)
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    for i in np.flatnonzero((lengths > 0) & (lengths < n)).tolist():  # one shingle each
        out[i] = ngram_hashes(units[starts[i] : starts[i] + lengths[i]], n)
    windows = np.where(lengths >= n, lengths - n + 1, 0)
    if not windows.any():
        return out
    if not unique:
        _fill_multisets(units, starts, windows, n, out)
        return out
    _fill_windows(units, starts, windows, n, out, 0)
    return out


def _window_positions(starts: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """The first unit of every window of every text, texts one after the other."""
    total = int(windows.sum())
    return np.repeat(starts - (np.cumsum(windows) - windows), windows) + np.arange(total, dtype=np.int64)


def _combine(units: np.ndarray, position: np.ndarray, n: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        acc = units[position] * _POSITION[0]
        for k in range(1, n):
            acc += units[position + k] * _POSITION[k]
        return fmix64(acc + _U64(n))


def _fill_multisets(units: np.ndarray, starts: np.ndarray, windows: np.ndarray, n: int, out: list[np.ndarray]) -> None:
    hashes = _combine(units, _window_positions(starts, windows), n)
    bounds = np.concatenate(([0], np.cumsum(windows))).tolist()
    for i in np.flatnonzero(windows).tolist():
        out[i] = hashes[bounds[i] : bounds[i + 1]]


def _fill_windows(
    units: np.ndarray, starts: np.ndarray, windows: np.ndarray, n: int, out: list[np.ndarray], first: int
) -> None:
    """Each text's n-gram hashes, sorted and unique, into ``out[first + i]``.

    Texts are sorted one per row: those with about the same number of windows are padded to one width (the next
    power of two, at least 16) with the largest uint64 and sorted along the rows, which numpy does many times
    faster than one sort of the whole batch (short rows stay in cache). The first ``windows[i]`` values of a
    sorted row are the text's own (the padding is the largest value, so even a hash equal to it changes
    nothing), and a value equal to the one before it in its row is dropped.
    """
    hashes = _combine(units, _window_positions(starts, windows), n)
    offsets = np.concatenate(([0], np.cumsum(windows)))
    width = np.maximum(16, 1 << np.ceil(np.log2(np.maximum(windows, 1))).astype(np.int64))
    for w in np.unique(width[windows > 0]).tolist():
        texts = np.flatnonzero((width == w) & (windows > 0))
        counts = windows[texts]
        rows = np.full((len(texts), w), np.iinfo(np.uint64).max, dtype=np.uint64)
        row_of = np.repeat(np.arange(len(texts)), counts)
        rank = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        rows[row_of, rank] = hashes[np.repeat(offsets[texts], counts) + rank]
        rows.sort(axis=1)
        flat = rows[np.arange(w)[None, :] < counts[:, None]]  # row by row, each row's first counts[r] values
        keep = np.ones(len(flat), dtype=bool)
        keep[1:] = flat[1:] != flat[:-1]
        keep[np.cumsum(counts)[:-1]] = True  # a row's first value is kept whatever ended the row before
        flat, row_of = flat[keep], row_of[keep]
        bounds = np.searchsorted(row_of, np.arange(len(texts) + 1)).tolist()
        for r, i in enumerate(texts.tolist()):
            out[first + i] = flat[bounds[r] : bounds[r + 1]]
