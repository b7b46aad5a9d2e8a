"""The decision rule, once for both engines.

A record is joined with every candidate whose similarity is at or above the threshold (so a cluster is the
connected component of those pairs), and is a duplicate only of a *kept* record: its ``duplicate_of`` is the
most similar kept candidate at or above the threshold (the earliest on a tie). A record whose matches are all
duplicates themselves is kept, so that a chain A ~ B ~ C never drops C for B when C is far from A, the copy
that was written. Records are decided in stream order, so a record's label is the root of its cluster (the
earliest member) at the moment it is decided.

Two forms of the same rule: :func:`take` decides one record as the streaming engine meets it, and
:func:`decide_pairs` replays verified pairs sorted by their later record, as the Ray engine has them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np


def take(
    i: int,
    candidates: Iterable[int],
    sims: Iterable[float],
    threshold: float,
    union: Callable[[int, int], None],
    kept: Callable[[int], bool],
) -> tuple[int, float]:
    """Decide record ``i`` against its candidates (ascending) and their similarities.

    Every candidate at or above ``threshold`` is joined with ``i`` through ``union``; the best of those that
    are ``kept`` is returned as (candidate, similarity), the earliest on a tie, or (-1, -1.0) when no kept
    candidate matched (the record is then kept).

    Example:
        >>> joined = []
        >>> take(5, [1, 2, 3], [0.9, 0.95, 0.95], 0.8, lambda a, b: joined.append(b), lambda j: j != 2)
        (3, 0.95)
        >>> joined
        [1, 2, 3]
    """
    best, best_sim = -1, -1.0
    for j, sim in zip(candidates, sims):
        if sim >= threshold:
            union(i, j)
            if sim > best_sim and kept(j):
                best, best_sim = j, sim
    return best, best_sim


class SparseUnionFind:
    """Union-find over any integers (global record numbers); the root of a set is its smallest member.

    Example:
        >>> uf = SparseUnionFind()
        >>> uf.union(9, 4); uf.union(12, 9)
        >>> uf.find(12)
        4
    """

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        """Root (smallest member) of the set containing ``x``."""
        parent = self._parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, x: int, y: int) -> None:
        """Merge the sets of ``x`` and ``y``; the smaller root becomes the root."""
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            self._parent[max(rx, ry)] = min(rx, ry)


def decide_pairs(
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    sims: np.ndarray,
    threshold: float,
    links: tuple[np.ndarray, np.ndarray] | None = None,
    fixed_kept: dict[int, bool] | None = None,
) -> tuple[dict[int, int], dict[int, tuple[int, float]], list[tuple[int, list[int]]]]:
    """The rule over verified pairs (i later, j earlier): (label at decision time, best match, final clusters).

    Pairs are taken by their later record, in input order, exactly as the streaming engine meets them, each
    record decided by :func:`take` (a record is kept unless it has a kept match). Returns the label of every
    record that matched something (others are their own label), the best kept match of each ((-1, -1.0), told
    by the similarity below 0: the record is kept although it matched) and the clusters with more than one
    member as (root, members ascending), largest first.

    Earlier runs' documents (from an index; numbered below every record of this run) are decided already:
    ``links`` joins them as their runs joined them, before any pair, and ``fixed_kept`` says which were kept.

    Example:
        >>> labels, best, groups = decide_pairs(np.array([3, 3, 7]), np.array([1, 2, 3]),
        ...                                     np.array([0.9, 0.9, 0.85]), 0.8)
        >>> labels, best, groups
        ({3: 1, 7: 1}, {3: (1, 0.9), 7: (-1, -1.0)}, [(1, [1, 2, 3, 7])])
        >>> decide_pairs(np.array([5]), np.array([-1]), np.array([0.9]), 0.8, (np.array([-1]), np.array([-2])),
        ...              {-1: False, -2: True})
        ({5: -2}, {5: (-1, -1.0)}, [(-2, [-2, -1, 5])])
    """
    keep = sims >= threshold
    pi, pj, ps = pairs_i[keep], pairs_j[keep], sims[keep]
    order = np.lexsort((pj, pi))
    pi_list, pj_list, ps_list = pi[order].tolist(), pj[order].tolist(), ps[order].tolist()
    uf = SparseUnionFind()
    linked: list[int] = []
    if links is not None:
        for a, b in zip(links[0].tolist(), links[1].tolist()):
            uf.union(a, b)
            linked += (a, b)
    fixed = fixed_kept or {}
    labels: dict[int, int] = {}
    best: dict[int, tuple[int, float]] = {}

    def kept(j: int) -> bool:  # a record never decided matched nothing earlier: it was kept
        if j in fixed:
            return fixed[j]
        return best.get(j, (-1, -1.0))[1] < 0  # no kept match (by the similarity: numbers may be negative)

    k, n = 0, len(pi_list)
    while k < n:
        i, start = pi_list[k], k
        while k < n and pi_list[k] == i:
            k += 1
        best[i] = take(i, pj_list[start:k], ps_list[start:k], threshold, uf.union, kept)
        labels[i] = uf.find(i)
    members: dict[int, list[int]] = {}
    for x in sorted(set(pi_list) | set(pj_list) | set(linked)):
        members.setdefault(uf.find(x), []).append(x)
    this_run = set(labels)
    groups = sorted(
        ((root, m) for root, m in members.items() if len(m) > 1 and (links is None or this_run.intersection(m))),
        key=lambda kv: (-len(kv[1]), kv[0]),
    )
    return labels, best, groups
