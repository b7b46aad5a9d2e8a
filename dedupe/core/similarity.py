"""Similarity of candidate pairs: exact Jaccard of shingle sets, and containment."""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Sequence

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


def shingle_set(hashes: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a shingle multiset (``np.unique``, several times faster on short arrays).

    Example:
        >>> import numpy as np
        >>> shingle_set(np.array([5, 1, 5, 3], dtype=np.uint64)).tolist()
        [1, 3, 5]
    """
    out = np.sort(hashes)
    if len(out) > 1:
        keep = np.empty(len(out), dtype=bool)
        keep[0] = True
        np.not_equal(out[1:], out[:-1], out=keep[1:])
        out = out[keep]
    return out


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


def jaccard_many(a: np.ndarray, others: list[np.ndarray]) -> list[float]:
    """:func:`jaccard` of ``a`` with each of ``others`` (all sorted unique hash arrays, ``others`` not empty):
    :func:`jaccard_flat` of them, as Python floats, the same floats :func:`jaccard` gives.

    Example:
        >>> import numpy as np
        >>> a = np.array([1, 2, 3], dtype=np.uint64)
        >>> jaccard_many(a, [np.array([2, 3, 4], dtype=np.uint64), np.array([9], dtype=np.uint64)])
        [0.5, 0.0]
    """
    sizes = np.fromiter(map(len, others), dtype=np.int64, count=len(others))
    out: list[float] = jaccard_flat(a, np.concatenate(others), sizes).tolist()
    return out


def jaccard_flat(a: np.ndarray, values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """:func:`jaccard` of the sorted unique set ``a`` with each of many sorted unique sets held back to back in
    ``values`` (``sizes`` long): ``a`` is searched for every value at once; exact integer counts, one division
    each (0.0 when both sets are empty).

    Example:
        >>> import numpy as np
        >>> a = np.array([1, 2, 3], dtype=np.uint64)
        >>> jaccard_flat(a, np.array([2, 3, 4, 9], dtype=np.uint64), np.array([3, 1, 0])).tolist()
        [0.5, 0.0, 0.0]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if len(a) == 0:
        return np.zeros(len(sizes), dtype=np.float64)
    at = np.searchsorted(a, values)
    at[at == len(a)] = 0
    found = np.zeros(len(values) + 1, dtype=np.int64)  # one more: an empty set last still has a start
    found[:-1] = a[at] == values
    inter = np.add.reduceat(found, np.cumsum(sizes) - sizes)
    inter[sizes == 0] = 0  # reduceat gives an empty run the value at its start
    union = len(a) + sizes - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        sims: np.ndarray = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return sims


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """|A & B| / |A|: how much of ``a`` is contained in ``b`` (0 for an empty ``a``)."""
    return _intersection_size(a, b) / len(a) if len(a) else 0.0


def check_offsets(offsets: np.ndarray, size: int, what: str) -> None:
    """Raise ValueError unless ``offsets`` start at 0, never decrease and end at ``size`` (saved data is checked
    before use: it may come from a damaged or untrusted file).

    Example:
        >>> import numpy as np
        >>> check_offsets(np.array([0, 2, 2, 5]), 5, "ids")
        >>> check_offsets(np.array([0, 3, 2]), 2, "ids")
        Traceback (most recent call last):
        ...
        ValueError: inconsistent ids offsets
    """
    if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != size or bool(np.any(np.diff(offsets) < 0)):
        raise ValueError(f"inconsistent {what} offsets")


_CHUNK_BITS = 22  # 4M values (32 MB of uint64) per chunk
# A position's start packs (chunk index << _OFFSET_BITS) + offset in the chunk:
# loaded blocks (see ArrayStore.extend) are one chunk each, however large.
_OFFSET_BITS = 40


class ArrayStore:
    """Append-only store of variable-length numpy arrays addressed by position.

    Values are packed into fixed-size chunks, so memory is the values
    themselves plus 12 bytes of offsets per position, instead of a numpy array
    object (~100 bytes of overhead) per document. An array longer than a chunk
    gets a chunk of its own.

    Example:
        >>> import numpy as np
        >>> store = ArrayStore(np.uint64)
        >>> store.put(3, np.array([5, 7], dtype=np.uint64))
        >>> store.get(3).tolist()
        [5, 7]
    """

    def __init__(self, dtype: type = np.uint64) -> None:
        self.dtype = np.dtype(dtype)
        self._chunks: list[np.ndarray] = []
        self._fill = 0
        self._start = array("q")  # position -> global row offset (-1: absent)
        self._length = array("l")  # position -> rows

    def nbytes(self) -> int:
        """Bytes held by values and offsets."""
        return sum(c.nbytes for c in self._chunks) + self._start.itemsize * len(self._start) * 2

    def put(self, position: int, values: np.ndarray) -> None:
        """Store ``values`` under ``position`` (positions grow; skipped ones stay absent)."""
        while len(self._start) <= position:
            self._start.append(-1)
            self._length.append(0)
        rows = len(values)
        size = 1 << _CHUNK_BITS
        if rows > size:
            chunk = len(self._chunks)
            self._chunks.append(np.ascontiguousarray(values, dtype=self.dtype))
            self._fill = size  # the next array starts a new chunk
        else:
            if not self._chunks or self._fill + rows > size:
                self._chunks.append(np.empty(size, dtype=self.dtype))
                self._fill = 0
            chunk = len(self._chunks) - 1
            self._chunks[chunk][self._fill : self._fill + rows] = values
            self._fill += rows
        self._start[position] = (chunk << _OFFSET_BITS) + (self._fill - rows if rows <= size else 0)
        self._length[position] = rows

    def put_many(self, positions: Sequence[int], values: np.ndarray, offsets: np.ndarray) -> None:
        """:meth:`put` of many arrays at once: ``values[offsets[k]:offsets[k + 1]]`` under ``positions[k]``
        (ascending, each at or past :meth:`__len__`); ``values`` becomes one chunk.

        Example:
            >>> import numpy as np
            >>> store = ArrayStore(np.uint64)
            >>> store.put_many([1, 3], np.array([5, 6, 7], dtype=np.uint64), np.array([0, 1, 3]))
            >>> len(store), store.get(3).tolist(), store.lengths(np.array([0, 1, 2])).tolist()
            (4, [6, 7], [0, 1, 0])
        """
        if not len(positions):
            return
        offsets = np.asarray(offsets, dtype=np.int64)
        chunk = len(self._chunks)
        self._chunks.append(np.ascontiguousarray(values, dtype=self.dtype))
        self._fill = 1 << _CHUNK_BITS  # the next put starts a new chunk
        first, stop = len(self._start), int(positions[-1]) + 1
        starts = np.full(stop - first, -1, dtype=np.int64)
        sizes = np.zeros(stop - first, dtype=np.int64)
        at = np.asarray(positions, dtype=np.int64) - first
        starts[at] = (chunk << _OFFSET_BITS) + offsets[:-1]
        sizes[at] = np.diff(offsets)
        self._start.frombytes(starts.tobytes())
        self._length.frombytes(sizes.astype(self._length.typecode).tobytes())

    def __len__(self) -> int:
        """Number of positions (present or absent)."""
        return len(self._start)

    def extend(self, values: np.ndarray, offsets: np.ndarray) -> None:
        """Append positions ``len(self) ...``: position k holds ``values[offsets[k]:offsets[k+1]]``.

        Raises:
            ValueError: inconsistent offsets (see :func:`check_offsets`).

        ``values`` is kept as one chunk (no copy), so loading a saved block is
        one numpy call rather than one :meth:`put` per position. Later
        :meth:`put` calls go to new chunks.

        Example:
            >>> import numpy as np
            >>> store = ArrayStore(np.uint64)
            >>> store.extend(np.array([1, 2, 3], dtype=np.uint64), np.array([0, 2, 2, 3]))
            >>> [store.get(k).tolist() for k in range(3)]
            [[1, 2], [], [3]]
        """
        check_offsets(offsets, len(values), "stored array")
        chunk = len(self._chunks)
        self._chunks.append(np.ascontiguousarray(values, dtype=self.dtype))
        self._fill = 1 << _CHUNK_BITS  # the next put starts a new chunk
        offsets = np.asarray(offsets, dtype=np.int64)
        self._start.frombytes(((chunk << _OFFSET_BITS) + offsets[:-1]).astype(np.int64).tobytes())
        self._length.frombytes(np.diff(offsets).astype(self._length.typecode).tobytes())

    def export(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``first .. stop-1`` as (values, offsets); absent positions are empty.

        The inverse of :meth:`extend`.
        """
        end = min(stop, len(self._start))
        starts = np.frombuffer(self._start, dtype=np.int64)[first:end]
        lengths = np.zeros(stop - first, dtype=np.int64)
        present = starts >= 0
        lengths[: end - first][present] = np.frombuffer(self._length, dtype=np.int64)[first:end][present]
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        # Consecutive positions usually sit back to back in one chunk: copy
        # each such stretch with one slice instead of one per position.
        starts, lens = starts[present], lengths[: end - first][present]
        parts = []
        if len(starts):
            breaks = np.flatnonzero(starts[1:] != starts[:-1] + lens[:-1]) + 1
            bounds = np.concatenate(([0], breaks, [len(starts)])).tolist()
            for a, b in itertools.pairwise(bounds):
                chunk = self._chunks[int(starts[a]) >> _OFFSET_BITS]
                offset = int(starts[a]) & ((1 << _OFFSET_BITS) - 1)
                parts.append(chunk[offset : offset + int(lens[a:b].sum())])
        values = np.concatenate(parts) if parts else np.empty(0, dtype=self.dtype)
        return values.astype(self.dtype, copy=False), offsets

    def lengths(self, positions: np.ndarray) -> np.ndarray:
        """How many values each of ``positions`` holds (0 when absent)."""
        positions = np.asarray(positions, dtype=np.int64)
        starts = np.frombuffer(self._start, dtype=np.int64)[positions]
        return np.where(starts >= 0, np.frombuffer(self._length, dtype=np.int64)[positions], 0)

    def get_many(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The arrays stored under ``positions``, back to back, with their offsets: (values, offsets), the k-th
        array being ``values[offsets[k]:offsets[k + 1]]``; an absent position is empty.

        Example:
            >>> import numpy as np
            >>> store = ArrayStore(np.uint64)
            >>> store.put(0, np.array([5, 7], dtype=np.uint64)); store.put(1, np.array([9], dtype=np.uint64))
            >>> values, offsets = store.get_many(np.array([1, 0, 1]))
            >>> values.tolist(), offsets.tolist()
            ([9, 5, 7, 9], [0, 1, 3, 4])
        """
        positions = np.asarray(positions, dtype=np.int64)
        starts = np.frombuffer(self._start, dtype=np.int64)[positions]
        lengths = np.frombuffer(self._length, dtype=np.int64)[positions]
        lengths = np.where(starts >= 0, lengths, 0)
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        values = np.empty(int(offsets[-1]), dtype=self.dtype)
        if len(values) == 0:
            return values, offsets
        chunk = starts >> _OFFSET_BITS
        within = starts & ((1 << _OFFSET_BITS) - 1)
        # Each value's place in its chunk: the array's offset plus its rank in the array.
        rank = np.arange(len(values)) - np.repeat(offsets[:-1], lengths)
        at = np.repeat(within, lengths) + rank
        used = np.unique(chunk[lengths > 0]).tolist()
        if len(used) == 1:
            values[:] = self._chunks[used[0]][at]
            return values, offsets
        value_chunk = np.repeat(chunk, lengths)
        for c in used:
            mine = value_chunk == c
            values[mine] = self._chunks[c][at[mine]]
        return values, offsets

    def get(self, position: int) -> np.ndarray:
        """The array stored under ``position`` (a read-only view)."""
        start = self._start[position]
        if start < 0:
            raise KeyError(position)
        chunk = self._chunks[start >> _OFFSET_BITS]
        offset = start & ((1 << _OFFSET_BITS) - 1)
        return chunk[offset : offset + self._length[position]]
