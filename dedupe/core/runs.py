"""Sorted runs of (key, position) entries, what a :class:`~dedupe.core.lsh.BandIndex` keeps: made, merged, checked;
and the bucket cap applied to sorted entries at once (:func:`bucket_pairs`, the Ray engine's form).

A run is sorted by key and, within a key, by position (entries inserted in ascending positions stay so under a
stable sort), which a capped query relies on.
"""

from __future__ import annotations

import numpy as np


def is_run(keys: np.ndarray, positions: np.ndarray, by_position: bool) -> bool:
    """Sorted by key and, with ``by_position``, by position within a key (what a capped query relies on)."""
    if not np.all(keys[1:] >= keys[:-1]):
        return False
    same = keys[1:] == keys[:-1]
    return not by_position or bool(np.all(positions[1:][same] >= positions[:-1][same]))


# Runs up to this many entries together are merged by a stable sort of both (fast while they fit in cache); larger
# ones by placing the newer run's entries into the older one's (4-5x faster for runs of millions of entries).
_SORT_MERGE_ENTRIES = 1 << 20


def merged_runs(k1: np.ndarray, p1: np.ndarray, k2: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted runs as one, sorted by key; among equal keys the first run's entries come first, each run's in
    its own order (what a stable sort of the two concatenated gives)."""
    if len(k1) + len(k2) <= _SORT_MERGE_ENTRIES:
        return sorted_run(np.concatenate([k1, k2]), np.concatenate([p1, p2]))
    at = np.searchsorted(k1, k2, "right") + np.arange(len(k2))  # where the second run's entries go
    first = np.ones(len(k1) + len(k2), dtype=bool)
    first[at] = False
    keys = np.empty(len(first), dtype=k1.dtype)
    positions = np.empty(len(first), dtype=np.result_type(p1, p2))
    keys[at], positions[at] = k2, p2
    keys[first], positions[first] = k1, p1
    return keys, positions


def sorted_run(keys: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries as a run: sorted by key, stably (positions keep their order within a key)."""
    order = np.argsort(keys, kind="stable")
    return keys[order], positions[order]


def bucket_pairs(batch: dict[str, np.ndarray], cap: int) -> dict[str, np.ndarray]:
    """The bucket cap (see the module docstring) in sorted form: the candidate pairs (i later, j earlier) of
    the buckets in ``batch`` (columns key, number; rows in any order, a (key, number) row at most once).

    Each record is paired with the ``cap`` earliest members of its bucket that come before it (every earlier
    member with ``cap`` 0): at most ``cap`` pairs per record and bucket, however large the bucket. A pair
    comes once per bucket that holds it.

    Example:
        >>> import numpy as np
        >>> out = bucket_pairs({"key": np.array([7, 7, 7, 9], dtype=np.uint64),
        ...                     "number": np.array([5, 2, 8, 1])}, cap=1)
        >>> out["i"].tolist(), out["j"].tolist()
        ([5, 8], [2, 2])
    """
    key = np.asarray(batch["key"], dtype=np.uint64)
    number = np.asarray(batch["number"], dtype=np.int64)
    order = np.lexsort((number, key))
    key, number = key[order], number[order]
    n = len(key)
    starts = np.ones(n, dtype=bool)
    starts[1:] = key[1:] != key[:-1]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0)) if n else np.empty(0, dtype=np.int64)
    rank = np.arange(n) - group_start
    deepest = int(rank.max()) if n else 0
    limit = deepest if cap == 0 else min(cap, deepest)
    found_i, found_j = [], []
    for t in range(limit):
        later = np.flatnonzero(rank > t)
        found_i.append(number[later])
        found_j.append(number[group_start[later] + t])
    if not found_i:
        return {"i": np.empty(0, dtype=np.int64), "j": np.empty(0, dtype=np.int64)}
    return {"i": np.concatenate(found_i), "j": np.concatenate(found_j)}
