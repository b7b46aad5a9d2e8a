"""Similarity of candidate pairs: exact Jaccard of shingle sets, and containment."""

from __future__ import annotations

import numpy as np


def _intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    if len(a) > len(b):
        a, b = b, a
    if len(a) == 0:
        return 0
    # a and b are sorted and unique: one binary search per element of the smaller set.
    pos = np.searchsorted(b, a)
    pos[pos == len(b)] = 0
    return int(np.count_nonzero(b[pos] == a))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity |A & B| / |A | B| of two sorted unique hash arrays.

    Two empty sets have similarity 0 (an empty document is never a duplicate).

    Example:
        >>> import numpy as np
        >>> jaccard(np.array([1, 2, 3], dtype=np.uint64), np.array([2, 3, 4], dtype=np.uint64))
        0.5
    """
    inter = _intersection_size(a, b)
    union = len(a) + len(b) - inter
    return inter / union if union else 0.0


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """|A & B| / |A|: how much of ``a`` is contained in ``b`` (0 for an empty ``a``)."""
    return _intersection_size(a, b) / len(a) if len(a) else 0.0
