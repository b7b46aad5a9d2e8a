"""Cluster bookkeeping: union-find whose representative is the first-seen member."""

from __future__ import annotations

from array import array


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

    def groups(self) -> dict[int, list[int]]:
        """Every set with more than one member: root -> members in ascending order."""
        out: dict[int, list[int]] = {}
        for x in range(len(self._parent)):
            root = self.find(x)
            if root != x:  # roots are smallest, so each list starts with its root
                out.setdefault(root, [root]).append(x)
        return out
