"""The shingle hashes of indexed passages, for exact verification, out of RAM once there are many.

Verification reads the shingle hashes of a passage's candidates that the sketch bound leaves (a small share), so
they live in a :class:`~dedupe.core.spill.SpillStore`: the first few megabytes in RAM, the rest in an unlinked
temporary file served by the page cache. A batch's passages are appended at its end, all of them (an unindexed
passage holds nothing); until then the ones indexed during the batch are held in RAM, where the per-passage path
reads them.
"""

from __future__ import annotations

import numpy as np

from ..core.spill import SpillStore
from .ragged import flat, take


class ShingleStore:
    """Shingle hashes by passage position: :meth:`put` during a batch, :meth:`settle` (or :meth:`settle_many`) at
    its end.

    Example:
        >>> import numpy as np
        >>> store = ShingleStore()
        >>> store.put(1, np.array([4, 5], dtype=np.uint64))
        >>> store.get(1).tolist(), len(store)
        ([4, 5], 0)
        >>> store.settle(3)
        >>> len(store), store.lengths(np.array([0, 1, 2])).tolist(), store.get(1).tolist()
        (3, [0, 2, 0], [4, 5])
        >>> store.close()
    """

    def __init__(self, directory: str | None = None, ram_bytes: int | None = None) -> None:
        self._spill = SpillStore(np.uint64, directory, ram_bytes)
        self._pending: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        """Positions settled."""
        return len(self._spill)

    def nbytes(self) -> int:
        """Bytes in RAM."""
        return self._spill.nbytes() + sum(a.nbytes for a in self._pending.values())

    def disk_bytes(self) -> int:
        return self._spill.disk_bytes()

    def put(self, position: int, values: np.ndarray) -> None:
        """Hold a passage's hashes until its batch is settled."""
        self._pending[position] = values

    def get(self, position: int) -> np.ndarray:
        pending = self._pending.get(position)
        return pending if pending is not None else self._spill.get(position)

    def settle(self, stop: int) -> None:
        """Append positions up to ``stop``: the ones put since the last settle, empty for the others."""
        first = len(self._spill)
        positions = sorted(self._pending)
        arrays = [self._pending[p] for p in positions]
        lengths = np.zeros(stop - first, dtype=np.int64)
        lengths[np.array(positions, dtype=np.int64) - first] = [len(a) for a in arrays]
        values = np.concatenate(arrays) if arrays else np.empty(0, dtype=np.uint64)
        self._spill.extend(values, np.concatenate(([0], np.cumsum(lengths))))
        self._pending.clear()

    def settle_many(self, stop: int, positions: np.ndarray, values: np.ndarray, offsets: np.ndarray) -> None:
        """Append positions up to ``stop``: ``positions`` (ascending) hold ``values`` (``offsets`` as returned by
        :func:`~dedupe.passages.ragged.take`), the others nothing."""
        first = len(self._spill)
        lengths = np.zeros(stop - first, dtype=np.int64)
        lengths[np.asarray(positions, dtype=np.int64) - first] = np.diff(offsets)
        self._spill.extend(values, np.concatenate(([0], np.cumsum(lengths))))

    def extend(self, values: np.ndarray, offsets: np.ndarray) -> None:
        """Append settled positions (a block loaded from an index)."""
        self._spill.extend(values, offsets)

    def export(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``first .. stop-1`` as (values, offsets)."""
        return self._spill.export(first, stop)

    def lengths(self, positions: np.ndarray) -> np.ndarray:
        """How many hashes each settled position holds."""
        return self._spill.lengths(positions)

    def get_many(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The hashes of settled ``positions`` (any order, repeats allowed) back to back, with their offsets; one
        read for positions stored close together."""
        positions = np.asarray(positions, dtype=np.int64)
        if not len(positions):
            return np.empty(0, dtype=np.uint64), np.zeros(1, dtype=np.int64)
        distinct, inverse = np.unique(positions, return_inverse=True)
        values, offsets = flat(self._spill.get_many(distinct.tolist()))
        return take(values, offsets, inverse)

    def close(self) -> None:
        self._spill.close()
