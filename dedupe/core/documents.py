"""What the matcher keeps of every document it has decided, by number (its stream position).

Document numbers count from 0 over every document the matcher holds: earlier runs' documents loaded from an
index first, then this run's in input order.
"""

from __future__ import annotations

from array import array

import numpy as np
import xxhash

from .clusters import UnionFind
from .spill import SpillStore


class Documents:
    """The id, the output cluster label and the verification data of every document, and their clusters.

    Args:
        exact: Verification reads shingle hashes (uint64; exact Jaccard), else MinHash signatures (uint32).

    Attributes:
        ids: Each document's id (ids may repeat).
        labels: The number of the cluster root each document was written with.
        kept: 1 for each document that was kept (written by ``filter``), 0 for a duplicate: only a kept
            document can be a later record's ``duplicate_of``.
        stored: What verification reads, by document number: in a temporary file (:mod:`dedupe.core.spill`),
            so RAM holds 8 bytes per document for it, whatever the text length.
        clusters: Union-find over document numbers; a cluster's root is its earliest member.
        links: Cluster links (i, j) made since the last snapshot, flat; None when no index is kept.
    """

    def __init__(self, exact: bool) -> None:
        self.ids: list[str] = []
        self.labels = array("q")
        self.kept = bytearray()
        self.stored = SpillStore(np.uint64 if exact else np.uint32)
        self.clusters = UnionFind()
        self.links: array | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def is_kept(self, i: int) -> bool:
        """Whether document ``i`` was kept (it can be a later record's ``duplicate_of``)."""
        return self.kept[i] == 1

    def join(self, i: int, j: int) -> None:
        """Put documents ``i`` and ``j`` in one cluster (and remember the link when links are kept)."""
        self.clusters.union(i, j)
        if self.links is not None:
            self.links.extend((i, j))

    def repeated_ids(self, base: int) -> int:
        """Documents from number ``base`` on whose id an earlier document already had."""
        if len(self.ids) == base:
            return 0
        hashes = np.fromiter(
            (xxhash.xxh3_64_intdigest(i.encode("utf-8", "surrogatepass")) for i in self.ids),
            dtype=np.uint64,
            count=len(self.ids),
        )
        _, first = np.unique(hashes, return_index=True)
        return int(len(self.ids) - base - np.count_nonzero(first >= base))

    def groups(self, base: int) -> list[tuple[int, list[int]]]:
        """Clusters of two or more with a member numbered ``base`` or more: (root, members in input order),
        largest first (ties: first seen first)."""
        return sorted(
            ((root, members) for root, members in self.clusters.groups().items() if members[-1] >= base),
            key=lambda kv: (-len(kv[1]), kv[0]),
        )
