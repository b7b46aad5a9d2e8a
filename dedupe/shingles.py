"""Shingling: normalized text -> sorted unique 64-bit shingle hashes (numpy uint64).

Words are hashed once each with xxh3-64; characters are their code points
passed through a 64-bit mixer. An n-gram's hash is then combined from the
hashes of its n units without building a Python object per shingle:

    h(u_1..u_n) = fmix64(sum_k C_k * h(u_k)  mod 2^64)

with fixed odd 64-bit constants C_k (distinct per position, so order matters)
and the MurmurHash3 64-bit finalizer fmix64 (a bijection that spreads the
bits). The combination is vectorised over all positions of a document.
"""

from __future__ import annotations

import numpy as np
import xxhash

from .config import NormalizeConfig, ShingleConfig
from .normalize import normalize

_U64 = np.uint64
_EMPTY = np.empty(0, dtype=np.uint64)


def _position_constants(n: int = 64) -> np.ndarray:
    # Deterministic odd 64-bit multipliers, one per position in the n-gram.
    return np.array([xxhash.xxh3_64_intdigest(f"dedupe-ngram-position-{k}".encode()) | 1 for k in range(n)], dtype=np.uint64)


_POSITION = _position_constants()


def fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, element-wise (a bijection on uint64)."""
    v = values ^ (values >> _U64(33))
    v = v * _U64(0xFF51AFD7ED558CCD)
    v = v ^ (v >> _U64(33))
    v = v * _U64(0xC4CEB9FE1A85EC53)
    return v ^ (v >> _U64(33))


def unit_hashes(normalized: str, unit: str) -> np.ndarray:
    """Hash each unit (word or character) of already normalized text.

    Returns:
        uint64 array, one hash per unit, in text order.
    """
    if not normalized:
        return _EMPTY
    if unit == "word":
        words = normalized.encode("utf-8").split(b" ")
        return np.fromiter(map(xxhash.xxh3_64_intdigest, words), dtype=np.uint64, count=len(words))
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
    m = len(units)
    if m == 0:
        return _EMPTY
    n = min(n, m)
    count = m - n + 1
    with np.errstate(over="ignore"):
        acc = units[:count] * _POSITION[0]
        for k in range(1, n):
            acc += units[k : k + count] * _POSITION[k]
        # Mixing in n distinguishes a short text's single shingle from an n-gram.
        return np.unique(fmix64(acc + _U64(n)))


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
