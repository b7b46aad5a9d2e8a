"""Ragged arrays: many variable-length uint64 arrays kept back to back in one array, with offsets (array k is
``values[offsets[k]:offsets[k + 1]]``), which is how a batch's passages travel and are stored.

Example:
    >>> import numpy as np
    >>> values, offsets = flat([np.array([1, 2], dtype=np.uint64), np.array([], dtype=np.uint64),
    ...                         np.array([3], dtype=np.uint64)])
    >>> values.tolist(), offsets.tolist()
    ([1, 2, 3], [0, 2, 2, 3])
    >>> picked, at = take(values, offsets, np.array([2, 0, 2]))
    >>> picked.tolist(), at.tolist()
    ([3, 1, 2, 3], [0, 1, 3, 4])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def offsets_of(lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    """Offsets of arrays of these lengths, back to back (one more entry than lengths)."""
    return np.concatenate(([0], np.cumsum(np.asarray(lengths, dtype=np.int64)))).astype(np.int64)


def aranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``arange(starts[k], starts[k] + lengths[k])`` for every k, one after the other.

    Example:
        >>> import numpy as np
        >>> aranges(np.array([5, 0, 9]), np.array([2, 0, 3])).tolist()
        [5, 6, 9, 10, 11]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    rank = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out: np.ndarray = np.repeat(np.asarray(starts, dtype=np.int64), lengths) + rank
    return out


def rows_of(offsets: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The value indices of arrays ``groups`` (any order, repeats allowed), one array after the other."""
    return aranges(offsets[groups], offsets[groups + 1] - offsets[groups])


def take(values: np.ndarray, offsets: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``groups`` of (values, offsets), back to back, with their offsets."""
    groups = np.asarray(groups, dtype=np.int64)
    return values[rows_of(offsets, groups)], offsets_of(offsets[groups + 1] - offsets[groups])


def flat(arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """uint64 arrays back to back, with their offsets."""
    values = np.concatenate(arrays).astype(np.uint64, copy=False) if len(arrays) else np.empty(0, dtype=np.uint64)
    return values, offsets_of([len(a) for a in arrays])
