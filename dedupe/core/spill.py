"""Verification data on disk: the matcher's shingle hashes (or signatures) in an append-only temporary file.

Exact verification reads the shingle hashes of a record's candidates, which are about one record in fifty or
a hundred: keeping every record's hashes in RAM (8 bytes per shingle, 1-2 KB per news article, more for longer
texts) would make memory grow with text length. :class:`SpillStore` keeps the first
:data:`~dedupe.config.SPILL_AFTER_BYTES` in RAM, then appends to an unlinked temporary file (in ``TMPDIR``;
gone when the run ends, however it ends), and keeps one 8-byte offset per document; the operating system's
page cache serves the reads.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from array import array
from bisect import bisect_right

import numpy as np

from ..config import SPILL_AFTER_BYTES
from .similarity import check_offsets

# Stored arrays closer than this are read with one read (the bytes between them are read and dropped).
READ_GAP_BYTES = 1 << 16


class SpillStore:
    """Append-only store of variable-length numpy arrays by position: the first ``ram_bytes`` of values in RAM,
    the rest in a temporary file in ``directory`` (default: TMPDIR).

    The interface of :class:`~dedupe.core.similarity.ArrayStore` that the matcher uses: :meth:`extend` (a
    batch, or a block loaded from an index), :meth:`get`, :meth:`export`.

    Example:
        >>> import numpy as np
        >>> store = SpillStore(np.uint64)
        >>> store.extend(np.array([1, 2, 3], dtype=np.uint64), np.array([0, 2, 2, 3]))
        >>> [store.get(k).tolist() for k in range(3)], len(store)
        ([[1, 2], [], [3]], 3)
        >>> store.close()
    """

    def __init__(self, dtype: type = np.uint64, directory: str | None = None, ram_bytes: int | None = None):
        self.dtype = np.dtype(dtype)
        self.directory = directory
        budget = SPILL_AFTER_BYTES if ram_bytes is None else ram_bytes
        self._ram_values = budget // self.dtype.itemsize  # values [0, this) stay in RAM
        self._chunks: list[np.ndarray] = []  # the values held in RAM, in order
        self._chunk_starts = array("q")  # the value index of each chunk's first value
        self._fd = -1  # the spill file, opened when the RAM budget is used up
        self.path = ""
        self._offsets = array("q", [0])  # position k's values are values [offsets[k], offsets[k + 1])

    def _open(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="dedupe-spill-", dir=self.directory)
        os.unlink(self.path)  # the file lives while the descriptor is open, and no longer
        self._fd = fd
        self._close = weakref.finalize(self, os.close, fd)

    def __len__(self) -> int:
        """Number of positions."""
        return len(self._offsets) - 1

    def nbytes(self) -> int:
        """Bytes held in RAM (values kept there and the offsets)."""
        return sum(c.nbytes for c in self._chunks) + self._offsets.itemsize * len(self._offsets)

    def disk_bytes(self) -> int:
        """Bytes in the spill file."""
        return max(0, self._offsets[-1] - self._ram_values) * self.dtype.itemsize

    def extend(self, values: np.ndarray, offsets: np.ndarray) -> None:
        """Append positions ``len(self) ...``: position k holds ``values[offsets[k]:offsets[k+1]]``.

        Raises:
            ValueError: inconsistent offsets.
            OSError: the spill file cannot be written (a full disk); the message names the directory.
        """
        check_offsets(offsets, len(values), "stored array")
        values = np.ascontiguousarray(values, dtype=self.dtype)
        base = self._offsets[-1]
        room = max(0, self._ram_values - base)
        if room and len(values):
            self._chunk_starts.append(base)
            self._chunks.append(values[:room].copy())
        if len(values) > room:
            self._write(values[room:].tobytes(), (base + room - self._ram_values) * self.dtype.itemsize)
        self._offsets.frombytes((np.asarray(offsets[1:], dtype=np.int64) + base).tobytes())

    def _write(self, data: bytes, at: int) -> None:
        try:
            if self._fd < 0:
                self._open()
            view = memoryview(data)
            while len(view):
                written = os.pwrite(self._fd, view, at)
                view, at = view[written:], at + written
        except OSError as exc:
            where = self.directory or tempfile.gettempdir()
            raise OSError(exc.errno, f"cannot write verification data to {where} (TMPDIR): {exc.strerror}") from None

    def _read(self, start: int, stop: int) -> np.ndarray:
        """Values ``start .. stop-1``, from RAM or the file."""
        parts = []
        if start < min(stop, self._ram_values):
            k = bisect_right(self._chunk_starts, start) - 1
            while k < len(self._chunks) and self._chunk_starts[k] < min(stop, self._ram_values):
                chunk, at = self._chunks[k], self._chunk_starts[k]
                parts.append(chunk[max(start - at, 0) : min(stop - at, len(chunk))])
                k += 1
        if stop > self._ram_values:
            size = self.dtype.itemsize
            first = max(start, self._ram_values)
            data = os.pread(self._fd, (stop - first) * size, (first - self._ram_values) * size)
            if len(data) != (stop - first) * size:
                raise OSError(f"the spill file {self.path} (deleted) is shorter than written")
            parts.append(np.frombuffer(data, dtype=self.dtype))
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty(0, dtype=self.dtype)

    def lengths(self, positions: np.ndarray) -> np.ndarray:
        """How many values each of ``positions`` holds."""
        offsets = np.frombuffer(self._offsets, dtype=np.int64)
        positions = np.asarray(positions, dtype=np.int64)
        out: np.ndarray = offsets[positions + 1] - offsets[positions]
        return out

    def get(self, position: int) -> np.ndarray:
        """The array stored under ``position`` (read-only)."""
        if not 0 <= position < len(self):
            raise KeyError(position)
        return self._read(self._offsets[position], self._offsets[position + 1])

    def get_many(self, positions: list[int]) -> list[np.ndarray]:
        """:meth:`get` of each of ``positions`` (ascending), with one read for positions stored close together
        (less than :data:`READ_GAP_BYTES` apart): copies of one text are often indexed side by side, and one
        system call per candidate cost more than its comparison."""
        out: list[np.ndarray] = []
        if not positions:
            return out
        if positions[0] < 0 or positions[-1] >= len(self):
            raise KeyError(positions[0] if positions[0] < 0 else positions[-1])
        offsets = self._offsets
        gap = READ_GAP_BYTES // self.dtype.itemsize
        k, n = 0, len(positions)
        while k < n:
            start = offsets[positions[k]]
            end = k + 1  # positions[k:end] are read at once
            while end < n and offsets[positions[end]] - offsets[positions[end - 1] + 1] < gap:
                end += 1
            block = self._read(start, offsets[positions[end - 1] + 1])
            for j in positions[k:end]:
                out.append(block[offsets[j] - start : offsets[j + 1] - start])
            k = end
        return out

    def export(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``first .. stop-1`` as (values, offsets); positions past the end are empty."""
        end = min(stop, len(self))
        offsets = np.zeros(stop - first + 1, dtype=np.int64)
        if end > first:
            mine = np.frombuffer(self._offsets, dtype=np.int64)[first : end + 1]
            offsets[: end - first + 1] = mine - mine[0]
            offsets[end - first + 1 :] = offsets[end - first]
            values = self._read(int(mine[0]), int(mine[-1]))
        else:
            values = np.empty(0, dtype=self.dtype)
        return values.copy(), offsets

    def close(self) -> None:
        """Remove the file (also done when the store is garbage-collected or the process exits)."""
        if self._fd >= 0:
            self._close()
