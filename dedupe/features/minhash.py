"""MinHash signatures, vectorised over shingles and over batches of documents.

The scheme is datasketch 2.x's default, "affine32": the 32-bit input hash is
pre-mixed with the MurmurHash3 32-bit finalizer, then each permutation k maps
it to a_k * h + b_k mod 2^32 (a_k odd, so a bijection), and the signature is
the per-permutation minimum. The permutation parameters are drawn exactly as
datasketch draws them for the same seed (:func:`permutations`), so a signature computed here equals
``datasketch.MinHash(num_perm, seed, hashfunc=..., scheme="affine32")`` fed
with the same 32-bit shingle hashes, and can be wrapped as a ``LeanMinHash``.
The input to the scheme is the low 32 bits of each 64-bit shingle hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..config import MinHashConfig

if TYPE_CHECKING:
    from datasketch import LeanMinHash

_U32 = np.uint32
_MAX32 = np.uint32(0xFFFFFFFF)
# Shingles per block of the (permutations x shingles) matrix: 128 x 8k x 4 B = 4 MB,
# which stays in cache; measured fastest among 2k..64k on a 2-core x86_64 machine.
BLOCK = 8192


def fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, element-wise on uint32 (as datasketch's affine32)."""
    v = values ^ (values >> _U32(16))
    v = v * _U32(0x85EBCA6B)
    v = v ^ (v >> _U32(13))
    v = v * _U32(0xC2B2AE35)
    out: np.ndarray = v ^ (v >> _U32(16))
    return out


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine32 permutations (a, b) as datasketch 2.x draws them for ``seed`` (uint32 arrays).

    ``MinHash(num_perm, seed, scheme="affine32").permutations`` without importing datasketch (and scipy
    with it, a third of a second at start-up); a test pins the two equal.
    """
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


class MinHasher:
    """Computes MinHash signatures (uint32[num_perm]) from 64-bit shingle hashes.

    Args:
        config: num_perm and seed.

    Example:
        >>> import numpy as np
        >>> mh = MinHasher(MinHashConfig(num_perm=4, seed=1))
        >>> mh.signature(np.array([1, 2, 3], dtype=np.uint64)).shape
        (4,)
    """

    def __init__(self, config: MinHashConfig = MinHashConfig()) -> None:
        self.config = config
        a, b = permutations(config.num_perm, config.seed)
        # Column vectors: the permuted block is (num_perm, shingles), so the
        # per-document minimum runs along contiguous memory (10x faster than
        # reducing the transposed layout along axis 0).
        self._a: np.ndarray = a[:, None]
        self._b: np.ndarray = b[:, None]

    @property
    def num_perm(self) -> int:
        return self.config.num_perm

    def empty(self) -> np.ndarray:
        """The signature of the empty set (all values at the maximum, as datasketch)."""
        return np.full(self.num_perm, _MAX32, dtype=np.uint32)

    def _permuted(self, hashes: np.ndarray) -> np.ndarray:
        h = fmix32((hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32))[None, :]
        with np.errstate(over="ignore"):
            permuted: np.ndarray = h * self._a
            permuted += self._b
        return permuted

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        """Signature of one document's shingle hashes (uint64 array, any order)."""
        sig = self.empty()
        for start in range(0, len(hashes), BLOCK):
            np.minimum(sig, self._permuted(hashes[start : start + BLOCK]).min(axis=1), out=sig)
        return sig

    def signatures(self, docs: Sequence[np.ndarray]) -> np.ndarray:
        """Signatures of many documents at once, shape (len(docs), num_perm).

        Small documents are packed into shared blocks and reduced per document
        with ``np.minimum.reduceat``, so there is no Python loop per shingle
        and little per document.
        """
        out = np.empty((len(docs), self.num_perm), dtype=np.uint32)
        group: list[int] = []
        size = 0
        for i, hashes in enumerate(docs):
            n = len(hashes)
            if n == 0:
                out[i] = _MAX32
            elif n >= BLOCK:
                out[i] = self.signature(hashes)
            else:
                if size + n > BLOCK:
                    self._fill_group(docs, group, out)
                    group, size = [], 0
                group.append(i)
                size += n
        if group:
            self._fill_group(docs, group, out)
        return out

    def _fill_group(self, docs: Sequence[np.ndarray], group: list[int], out: np.ndarray) -> None:
        lengths = np.fromiter((len(docs[i]) for i in group), dtype=np.int64, count=len(group))
        offsets = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        permuted = self._permuted(np.concatenate([docs[i] for i in group]))
        out[group] = np.minimum.reduceat(permuted, offsets, axis=1).T

    def lean(self, signature: np.ndarray) -> LeanMinHash:
        """Wrap a signature as a datasketch ``LeanMinHash`` (for its LSH index and tools)."""
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.config.seed, hashvalues=signature, scheme="affine32")


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """MinHash estimate of the Jaccard similarity: the fraction of equal signature values."""
    return float(np.count_nonzero(a == b)) / len(a)
