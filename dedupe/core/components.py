"""Connected components of a graph held as an edge list that no one machine needs to hold whole.

The large-star / small-star algorithm (R. Kiveris, S. Lattanzi, V. Mirrokni, V. Rastogi, S. Vassilvitskii,
"Connected Components in MapReduce and Beyond", SoCC 2014): each step groups the edges by one endpoint and
rewrites the edges of every node independently, so a step is one shuffle and a map over its groups. Nodes are
labelled by themselves (document numbers), and every component ends as a star around its smallest node:

- **large-star**: node ``u`` with the smallest node ``m`` of its neighbourhood (``u`` included) links each
  neighbour larger than ``u`` to ``m``;
- **small-star**: node ``u`` with the smallest ``m`` among itself and its smaller neighbours links each of those
  smaller neighbours, and itself, to ``m``.

Alternating them converges in O(log n) rounds. The graph is a forest of stars, each centred on its smallest
node, exactly when no node has two distinct smaller neighbours and no node has both a smaller and a larger
neighbour: :func:`large_star` reports that of the graph it reads, and the rounds stop there (its output is
then its input).

The functions here are the per-group kernels on numpy arrays: the Ray engine runs them in ``map_groups`` over
hash partitions of the grouping node (every row of a node in one partition), and :func:`components` runs the
same rounds in one process (the reference the tests compare with a union-find).
"""

from __future__ import annotations

import numpy as np

Edges = tuple[np.ndarray, np.ndarray]


def normalized(a: np.ndarray, b: np.ndarray) -> Edges:
    """Each undirected edge once, as (larger, smaller), sorted; self-loops dropped.

    Example:
        >>> [x.tolist() for x in normalized(np.array([1, 5, 2, 5]), np.array([5, 1, 2, 3]))]
        [[5, 5], [1, 3]]
    """
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    keep = hi != lo
    hi, lo = hi[keep], lo[keep]
    if not len(hi):
        return hi.astype(np.int64), lo.astype(np.int64)
    order = np.lexsort((lo, hi))
    hi, lo = hi[order], lo[order]
    distinct = np.ones(len(hi), dtype=bool)
    distinct[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    return hi[distinct].astype(np.int64), lo[distinct].astype(np.int64)


def both_ways(hi: np.ndarray, lo: np.ndarray) -> Edges:
    """The rows :func:`large_star` groups: every edge from each of its ends, as (node, neighbour)."""
    return np.concatenate([hi, lo]), np.concatenate([lo, hi])


def _by_node(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by node: (u, v, the first row of each node, the node of each row as a group index)."""
    order = np.lexsort((v, u))
    u, v = u[order], v[order]
    starts = np.flatnonzero(np.concatenate(([True], u[1:] != u[:-1]))) if len(u) else np.empty(0, dtype=np.int64)
    group = np.cumsum(np.concatenate(([0], (u[1:] != u[:-1]).astype(np.int64)))) if len(u) else starts
    return u, v, starts, group


def large_star(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """One large-star step over rows (node, neighbour) holding every neighbour of each node present.

    Returns the new edges as (larger, smaller) (duplicates possible across groups) and whether the rows
    already formed a forest of stars centred on their smallest nodes (then the edges returned are the same).

    Example:
        >>> hi, lo, stars = large_star(*both_ways(np.array([2, 3]), np.array([1, 2])))  # the path 1-2-3
        >>> sorted(zip(hi.tolist(), lo.tolist())), stars
        ([(2, 1), (3, 1)], False)
    """
    u, v = u.astype(np.int64), v.astype(np.int64)
    if not len(u):
        return u, v, True
    u, v, starts, group = _by_node(u, v)
    smallest = np.minimum(np.minimum.reduceat(v, starts), u[starts])  # v sorted within a node: the first
    m = smallest[group]
    larger = v > u
    smaller_count = np.add.reduceat((v < u).astype(np.int64), starts)
    larger_count = np.add.reduceat(larger.astype(np.int64), starts)
    # distinct smaller neighbours: v is sorted within a node, and the rows hold each edge once per end
    first_smaller = np.minimum.reduceat(np.where(v < u, v, np.iinfo(np.int64).max), starts)
    last_smaller = np.maximum.reduceat(np.where(v < u, v, np.iinfo(np.int64).min), starts)
    two_smaller = (smaller_count > 0) & (first_smaller != last_smaller)
    stars = not bool(np.any(two_smaller | ((smaller_count > 0) & (larger_count > 0))))
    return v[larger], m[larger], stars


def small_star(u: np.ndarray, v: np.ndarray) -> Edges:
    """One small-star step over rows (larger, smaller) holding every smaller neighbour of each node present.

    Returns the new edges as (larger, smaller) (duplicates possible across groups).

    Example:
        >>> hi, lo = small_star(np.array([3, 3]), np.array([1, 2]))  # 3's smaller neighbours 1 and 2
        >>> sorted(zip(hi.tolist(), lo.tolist()))
        [(2, 1), (3, 1)]
    """
    u, v = u.astype(np.int64), v.astype(np.int64)
    if not len(u):
        return u, v
    u, v, starts, group = _by_node(u, v)
    m = np.minimum.reduceat(v, starts)[group]  # every v < u here
    moved = v != m
    nodes = u[starts]
    return np.concatenate([v[moved], nodes]), np.concatenate([m[moved], m[starts]])


def components(a: np.ndarray, b: np.ndarray) -> Edges:
    """The rounds in one process: (node, its component's smallest node) for every node of an edge but the
    smallest of each component, ascending by node.

    Example:
        >>> [x.tolist() for x in components(np.array([4, 9, 7]), np.array([9, 2, 8]))]
        [[4, 8, 9], [2, 7, 2]]
    """
    hi, lo = normalized(a, b)
    while True:
        nhi, nlo, stars = large_star(*both_ways(hi, lo))
        hi, lo = normalized(nhi, nlo)
        if stars:
            break
        hi, lo = normalized(*small_star(hi, lo))
    return hi, lo


def roots_of(nodes: np.ndarray, leaf: np.ndarray, root: np.ndarray) -> np.ndarray:
    """The component root of each of ``nodes`` given the final stars (``leaf`` sorted ascending, its
    ``root``): a node that is no leaf is a root itself.

    Example:
        >>> roots_of(np.array([2, 4, 8]), np.array([4, 8]), np.array([2, 7])).tolist()
        [2, 2, 7]
    """
    at = np.searchsorted(leaf, nodes)
    at = np.minimum(at, max(len(leaf) - 1, 0))
    found = (leaf[at] == nodes) if len(leaf) else np.zeros(len(nodes), dtype=bool)
    return np.where(found, root[at] if len(leaf) else nodes, nodes)


__all__ = ["both_ways", "components", "large_star", "normalized", "roots_of", "small_star"]
