"""The filter in front of each sorted run of a :class:`~dedupe.core.lsh.BandIndex` (:class:`KeyFilter`).

Band keys are fmix64 outputs, uniform in every bit, so the filter indexes them by their bits directly.
"""

from __future__ import annotations

import numpy as np

# Runs of this many keys or more have their filter built from booleans (faster for large runs), a block of this
# many bits at a time (16 MB of booleans); smaller ones with a bincount.
_PACKED_FROM = 1 << 20
_BLOCK_BITS = 1 << 24


class KeyFilter:
    """Which keys a sorted run may hold: a Bloom filter with one hash, the key's top bits (band keys are fmix64
    outputs, uniform in every bit), 8 to 16 bits per key, so about 1 query in 10 to 20 that the run does not hold
    passes. Built in linear time from the sorted keys (their top bits are sorted too).

    Example:
        >>> import numpy as np
        >>> keys = np.sort(np.random.default_rng(1).integers(0, 2**63, 1000, dtype=np.uint64))
        >>> bool(KeyFilter(keys).may_hold(keys).all())
        True
    """

    def __init__(self, keys: np.ndarray) -> None:
        bits = max(6, (8 * len(keys) - 1).bit_length())  # 2^bits >= 8 bits per key
        self._shift = np.uint64(64 - bits)
        size = 1 << (bits - 3)
        if not len(keys):
            self._bytes = np.zeros(size, dtype=np.uint8)
            return
        top = (keys >> self._shift).astype(np.int64)  # ascending, as the keys
        if len(keys) < _PACKED_FROM:
            top = top[np.concatenate(([True], top[1:] != top[:-1]))]  # each bit once
            # A byte's bits are distinct powers of two, so their sum is their OR (and exact in float64): one
            # bincount pass, about 1.5x faster than OR-reducing the runs of each byte.
            weights = np.left_shift(1, top & 7)
            self._bytes = np.bincount(top >> 3, weights=weights, minlength=size).astype(np.uint8)
            return
        # Many keys: the bits set as booleans, then packed eight to a byte (lowest bit first), a block of the bit
        # space at a time so that the booleans stay small (2-2.5x faster than the bincount from 2M keys on).
        self._bytes = np.empty(size, dtype=np.uint8)
        block = min(1 << bits, _BLOCK_BITS)
        bounds = np.searchsorted(top, np.arange(0, (1 << bits) + 1, block)).tolist()
        flags = np.zeros(block, dtype=bool)
        for b in range(len(bounds) - 1):
            if b:
                flags[:] = False
            flags[top[bounds[b] : bounds[b + 1]] - b * block] = True
            self._bytes[b * block // 8 : (b + 1) * block // 8] = np.packbits(flags, bitorder="little")

    @property
    def nbytes(self) -> int:
        return self._bytes.nbytes

    def may_hold(self, keys: np.ndarray) -> np.ndarray:
        """False for each key the run certainly does not hold."""
        top = (keys >> self._shift).astype(np.int64)
        out: np.ndarray = (np.right_shift(self._bytes[top >> 3], (top & 7).astype(np.uint8)) & 1).astype(bool)
        return out
