"""Cluster bookkeeping: union-find whose representative is the first-seen member."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

import numpy as np


class UnionFind:
    """Disjoint sets over 0, 1, 2, ... (stream positions).

    The root of every set is its smallest element, i.e. the member seen first,
    so a cluster's representative never depends on the order of unions.

    Example:
        >>> uf = UnionFind()
        >>> for _ in range(3):
        ...     _ = uf.add()
        >>> uf.union(2, 1); uf.union(1, 0)
        >>> uf.find(2)
        0
    """

    def __init__(self) -> None:
        self._parent = array("q")  # 8 bytes per element, no Python int objects

    def __len__(self) -> int:
        return len(self._parent)

    def add(self) -> int:
        """Add a new singleton set and return its element."""
        self._parent.append(len(self._parent))
        return len(self._parent) - 1

    def extend(self, count: int) -> None:
        """Add ``count`` new singleton sets (the next ``count`` elements)."""
        start = len(self._parent)
        self._parent.extend(range(start, start + count))

    def find(self, x: int) -> int:
        """Root (smallest member) of the set containing ``x``."""
        parent = self._parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x

    def union(self, x: int, y: int) -> None:
        """Merge the sets of ``x`` and ``y``; the smaller root becomes the root."""
        rx, ry = self.find(x), self.find(y)
        if rx < ry:
            self._parent[ry] = rx
        elif ry < rx:
            self._parent[rx] = ry

    @classmethod
    def from_links(cls, size: int, links: np.ndarray) -> UnionFind:
        """Sets over ``0 .. size-1`` joined by ``links`` (pairs, shape (m, 2)), in one pass.

        Connected components with scipy's sparse-graph routine, then every
        element points straight at its component's smallest member: the same
        sets and roots as calling :meth:`union` for each pair.

        Example:
            >>> import numpy as np
            >>> uf = UnionFind.from_links(4, np.array([[3, 1], [1, 2]]))
            >>> [uf.find(x) for x in range(4)]
            [0, 1, 1, 1]
        """
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        uf = cls()
        if size == 0:
            return uf
        links = np.asarray(links, dtype=np.int64).reshape(-1, 2)
        graph = coo_matrix((np.ones(len(links), dtype=np.int8), (links[:, 0], links[:, 1])), shape=(size, size))
        _, labels = connected_components(graph, directed=False)
        roots = np.full(labels.max() + 1, size, dtype=np.int64)
        np.minimum.at(roots, labels, np.arange(size, dtype=np.int64))
        uf._parent.frombytes(roots[labels].astype(np.int64).tobytes())
        return uf

    def links(self) -> np.ndarray:
        """(element, root) for every element that is not a root: enough to rebuild the sets."""
        pairs = [(x, r) for x in range(len(self._parent)) if (r := self.find(x)) != x]
        return np.array(pairs, dtype=np.int64).reshape(-1, 2)

    def groups(self) -> dict[int, list[int]]:
        """Every set with more than one member: root -> members in ascending order."""
        out: dict[int, list[int]] = {}
        for x in range(len(self._parent)):
            root = self.find(x)
            if root != x:  # roots are smallest, so each list starts with its root
                out.setdefault(root, [root]).append(x)
        return out


def cluster_entries(
    groups: list[tuple[int, list[int]]], id_of: Callable[[int], str], label_of: Callable[[int], int], base: int = 0
) -> list[dict[str, Any]]:
    """The report's clusters from (root, members in input order) groups of document numbers.

    Each entry: ``cluster`` (id of the root), ``size``, ``members`` (ids), ``from_index`` (members numbered
    below ``base``, when ``base``) and, when members were written with different cluster labels (a later record
    joined their clusters), ``output_labels``: the ids those labels name.

    Example:
        >>> ids = ["a", "b", "c"]
        >>> cluster_entries([(0, [0, 1, 2])], ids.__getitem__, {0: 0, 1: 1, 2: 0}.__getitem__)
        [{'cluster': 'a', 'size': 3, 'members': ['a', 'b', 'c'], 'output_labels': ['a', 'b']}]
    """
    out = []
    for root, members in groups:
        entry: dict[str, Any] = {"cluster": id_of(root), "size": len(members), "members": [id_of(m) for m in members]}
        if base:
            entry["from_index"] = sum(1 for m in members if m < base)
        labels = sorted({label_of(m) for m in members})
        if len(labels) > 1:
            entry["output_labels"] = [id_of(x) for x in labels]
        out.append(entry)
    return out
