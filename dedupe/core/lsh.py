"""LSH indexes over MinHash signatures.

:class:`BandIndex` is the index the pipeline uses: each band of a signature
is hashed to one 64-bit key (vectorised over a batch), and the keys live in
sorted numpy runs (key, position) searched with ``np.searchsorted``, merged
geometrically as they grow (a small log-structured merge tree). The streaming
engine's index (``batched=True``) makes each batch's keys a run at once; the
incremental form (record by record: :meth:`BandIndex.insert`) keeps recent keys
in a dict until a flush. That keeps about 16 bytes per (document, band) instead of the
~100 bytes of Python objects per entry a dict of lists costs, and answers a
whole batch's queries against the runs in a few numpy calls.

:class:`~dedupe.core.reference_index.DatasketchIndex` wraps datasketch's ``MinHashLSH`` behind the same
query/insert interface; it is the reference the tests compare against (same
candidates for the same signatures and bands/rows).

Keys stored are 0-based stream positions (ints), never user ids, which may
repeat.

**The bucket cap** (``LSHConfig.bucket_cap``, ``--bucket-cap``). A bucket is
the records sharing one band key. A record's candidates under one of its band
keys are the ``cap`` earliest (smallest positions, or numbers) of the records
before it under that key; all of them with ``cap`` 0. Its candidates are the
union over its band keys. The rule is defined here, in two forms that give
the same pairs (``tests/test_bucket_cap.py`` checks it):
:class:`BandIndex` applies it incrementally (records inserted in order, each
queried before it is inserted; the streaming engine), and
:func:`~dedupe.core.runs.bucket_pairs` on a batch of (key, number) rows in any order, sorted
(the Ray engine's shuffle). The shared Redis index applies it on the server
(:mod:`dedupe.index.redis`: ``SORT ... LIMIT 0 cap``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat

import numpy as np
import xxhash

from ..features.shingles import fmix64
from .keyfilter import KeyFilter
from .runs import is_run, merged_runs, sorted_run

_U64 = np.uint64
# Recent entries are moved from the dict (~100 bytes per entry) into a sorted
# run (16 bytes per entry) past this many keys.
FLUSH_ENTRIES = 1 << 18
# Runs stop merging at this many entries: a merge needs about 2.5x its size in
# temporaries, which would otherwise set the peak memory of a large run.
MAX_RUN_ENTRIES = 1 << 23


def _constants(count: int, label: str) -> np.ndarray:
    return np.array(
        [xxhash.xxh3_64_intdigest(f"dedupe-{label}-{k}".encode()) | 1 for k in range(count)], dtype=np.uint64
    )


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band of each signature, shape (n, bands).

    key(band j) = fmix64(sum_k C_k * value_{j,k} + S_j): the rows of a band are
    combined with distinct odd multipliers (order matters) and a per-band salt
    S_j, so equal rows in different bands give different keys and one dict can
    hold every band. Two different bands collide with probability ~2^-64;
    a collision only adds a candidate, which verification then rejects.
    """
    n = signatures.shape[0]
    blocks = signatures[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        acc = blocks[:, :, 0] * _ROW_MULT[0]
        for k in range(1, rows):
            acc += blocks[:, :, k] * _ROW_MULT[k]
        acc += _BAND_SALT[:bands]
        return fmix64(acc)


_ROW_MULT = _constants(1024, "row")
_BAND_SALT = _constants(1024, "band")


class BandIndex:
    """In-memory LSH index of band keys with batched queries.

    Args:
        bands: Number of bands (keys per document).
        cap: The bucket cap (see the module docstring): at most this many
            positions per (query, key), the smallest ones (0 = all).
            Positions must be inserted in ascending order, as the pipeline
            does: runs then hold older positions than the runs after them and
            than the dict, and positions ascend within a key, so the smallest
            ones are the first met, and a huge bucket costs a query O(cap),
            not O(bucket).

    Example:
        >>> import numpy as np
        >>> index = BandIndex(bands=2)
        >>> keys = np.array([[11, 22]], dtype=np.uint64)
        >>> index.insert(0, keys[0].tolist())
        >>> index.query(keys[0].tolist())
        [0]
        >>> capped = BandIndex(bands=2, cap=2)
        >>> for position in range(5):
        ...     capped.insert(position, [11, 20 + position])
        >>> capped.query([11, 24])
        [0, 1, 4]
    """

    def __init__(
        self, bands: int, cap: int = 0, batched: bool = False, filtered: bool = True, narrow: bool = False
    ) -> None:
        if cap < 0:
            raise ValueError(f"cap must be 0 (no cap) or more; got {cap}")
        self.bands = bands
        self.cap = cap
        # batched: each batch's entries become a sorted run at once (match_batch), with no Python call per key;
        # else the recent entries live in a dict (query_recent, insert) until a flush.
        self.batched = batched
        self._recent: dict[int, int | list[int]] = {}
        # The recent entries as arrays, so that a flush needs no walk over the dict.
        self._pending_rows: list[np.ndarray] = []
        self._pending_positions: list[int] = []
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        # One per run: which keys it may hold (None when not ``filtered``: for the passage indexes, building the
        # filters of their large runs cost more than the searches they spared: passage matching on Reuters in one
        # process 5.3-5.9 s without them, 5.8-6.1 s with, three runs each, alternating).
        self.filtered = filtered
        # narrow: positions held in 32 bits (an index of fewer than 2^31 documents; more is refused).
        self._position_dtype = np.int32 if narrow else np.int64
        self._filters: list[KeyFilter | None] = []
        self._size = 0

    def __len__(self) -> int:
        """Number of documents inserted."""
        return self._size

    @property
    def entries(self) -> int:
        """Number of (document, band) entries stored."""
        return self._size * self.bands

    def nbytes(self) -> int:
        """Bytes held by the sorted runs and their filters (the recent keys are not counted)."""
        return sum(k.nbytes + p.nbytes for k, p in self._runs) + sum(f.nbytes for f in self._filters if f is not None)

    def query_runs(self, keys: np.ndarray) -> list[list[int]]:
        """Positions in the sorted runs sharing a band key with each row of ``keys`` (n, bands)."""
        out: list[list[int]] = [[] for _ in range(keys.shape[0])]
        for row, found in self.query_runs_sparse(keys).items():
            out[row] = found
        return out

    def query_runs_sparse(
        self, keys: np.ndarray, taken: dict[int, list[int]] | None = None, order: np.ndarray | None = None
    ) -> dict[int, list[int]]:
        """:meth:`query_runs` as {row: positions} for the rows with any (most rows have none).

        With a cap, each (row, key) gives at most ``cap`` positions, the smallest: runs are
        visited oldest first and each takes only what the earlier ones left. ``taken``, when
        given, receives for each row with hits the number of positions taken per band (a list
        of ``bands`` ints), which :meth:`query_recent` needs to stop at the cap. ``order``: an argsort
        of ``keys.ravel()``, when at hand.
        """
        rows, positions, used = self._runs_pairs(keys, order)
        out = _grouped(rows, positions)
        if taken is not None and used is not None:
            for h in out:
                taken[h] = used[h].tolist()
        return out

    def run_pairs(self, keys: np.ndarray, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The hits of ``keys`` (n, bands) in the sorted runs as arrays (row of ``keys``, position), a position once
        per key that gives it; the recent entries are not searched (see :meth:`flush`). ``order``: an argsort of
        ``keys.ravel()``, when at hand."""
        rows, positions, _ = self._runs_pairs(keys, order)
        return rows, positions

    def add_sorted_run(self, keys: np.ndarray, positions: np.ndarray) -> None:
        """Insert documents at once from their entries sorted by key (``bands`` per document; positions ascending
        within a key, all after every position inserted before), as one run.

        Raises:
            ValueError: the keys are not sorted.
        """
        self.flush()
        if len(keys):
            if not is_run(keys, positions, True):
                raise ValueError("add_sorted_run needs entries sorted by key, then position")
            self._push_run(np.ascontiguousarray(keys, dtype=np.uint64), np.asarray(positions, dtype=np.int64))
            self._size += len(keys) // self.bands

    def add_run(self, positions: np.ndarray, keys: np.ndarray) -> None:
        """Insert documents at once, as one sorted run: ``keys[k]`` (``bands`` keys) under ``positions[k]``
        (ascending, after every position inserted before)."""
        self.flush()
        if len(positions):
            flat = np.ascontiguousarray(keys, dtype=np.uint64).ravel()
            self._push_run(*sorted_run(flat, np.repeat(np.asarray(positions, dtype=np.int64), self.bands)))
            self._size += len(positions)

    def _runs_pairs(
        self, keys: np.ndarray, order: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The hits of ``keys`` (n, bands) in the sorted runs as arrays (row of ``keys``, position), a position once
        per key that gives it (runs oldest first), and with a cap, what each (row, band) took (n, bands)."""
        none = np.empty(0, dtype=np.int64)
        if not self._runs or keys.shape[0] == 0:
            return none, none, None
        # Sorted queries walk each run in order (numpy narrows each search from
        # the previous one): ~4x faster than random probes once runs outgrow
        # the cache. Only hits (rare) need the end of their equal range.
        flat = keys.ravel()
        if order is None:
            order = np.argsort(flat)
        queries = flat[order]
        cap = self.cap
        left: np.ndarray | None = None  # with a cap: what each query may still take, in query order
        got_rows: list[np.ndarray] = []
        got_positions: list[np.ndarray] = []
        for (run_keys, run_pos), key_filter in zip(self._runs, self._filters):
            # The filter rules out most queries (a run rarely holds a new key) before the binary search, whose
            # probes into a run larger than the cache cost most of a batch's matching time.
            maybe = np.flatnonzero(key_filter.may_hold(queries)) if key_filter is not None else np.arange(len(queries))
            lo = np.searchsorted(run_keys, queries[maybe])
            found = run_keys[np.minimum(lo, len(run_keys) - 1)] == queries[maybe]
            hit, lo = maybe[found], lo[found]
            if len(hit) == 0:
                continue
            if left is not None:
                room = left[hit] > 0
                hit, lo = hit[room], lo[room]
                if len(hit) == 0:
                    continue
            start = lo
            end = np.searchsorted(run_keys, queries[hit], "right")
            if cap:
                if left is None:
                    left = np.full(len(queries), cap, dtype=np.int64)
                end = np.minimum(end, start + left[hit])
                left[hit] -= end - start
            # Every hit's equal range at once: range k covers run entries start[k] .. end[k] - 1.
            spans = end - start
            at = np.repeat(start - np.cumsum(spans) + spans, spans) + np.arange(int(spans.sum()))
            got_rows.append(np.repeat(order[hit] // self.bands, spans))
            got_positions.append(run_pos[at])
        used: np.ndarray | None = None
        if left is not None:
            per_query = np.empty(len(queries), dtype=np.int64)
            per_query[order] = cap - left
            used = per_query.reshape(keys.shape)
        if not got_rows:
            return none, none, used
        return np.concatenate(got_rows), np.concatenate(got_positions).astype(np.int64, copy=False), used

    def query_recent(self, keys: list[int], taken: list[int] | None = None) -> list[int]:
        """Positions among the recent (dict) entries sharing a key with ``keys``.

        With a cap, at most ``cap`` per key, less what the runs gave (``taken``, per band, from
        :meth:`query_runs_sparse`; None when they gave nothing).
        """
        found: list[int] = []
        get = self._recent.get
        cap = self.cap
        if not cap:
            for key in keys:
                value = get(key)
                if value is None:
                    continue
                if isinstance(value, int):
                    found.append(value)
                else:
                    found.extend(value)
            return found
        for band, key in enumerate(keys):
            value = get(key)
            if value is None:
                continue
            room = cap - taken[band] if taken is not None else cap
            if room <= 0:
                continue
            if isinstance(value, int):
                found.append(value)
            else:
                found.extend(value[:room])
        return found

    def query(self, keys: list[int]) -> list[int]:
        """Every position sharing at least one band key, ascending (one document); with a cap, at most
        ``cap`` per key, the smallest."""
        taken: dict[int, list[int]] = {}
        from_runs = self.query_runs_sparse(np.array([keys], dtype=np.uint64), taken).get(0, [])
        return sorted(set(from_runs) | set(self.query_recent(keys, taken.get(0))))

    def insert(self, position: int, keys: list[int], row: np.ndarray | None = None) -> None:
        """Add a document's band keys under ``position`` (``row``: the same keys as a uint64 array, if at hand).

        Raises:
            ValueError: on a batched index, which takes whole batches (:meth:`match_batch`).
        """
        if self.batched:
            raise ValueError("a batched BandIndex takes whole batches: match_batch")
        self._pending_rows.append(np.array(keys, dtype=np.uint64) if row is None else row)
        self._pending_positions.append(position)
        _remember(self._recent, keys, repeat(position))
        self._size += 1

    @property
    def recent(self) -> dict[int, int | list[int]]:
        """The recent entries: key -> position, or list of positions (read-only use)."""
        return self._recent

    def insert_many(self, positions: Sequence[int], keys: list[int]) -> None:
        """Insert single-key entries (an index with one band): ``keys[i]`` under ``positions[i]``."""
        if self.bands != 1 or self.batched:
            raise ValueError("insert_many needs an index with one band, not batched")
        self._pending_rows.append(np.array(keys, dtype=np.uint64))
        self._pending_positions.extend(positions)
        _remember(self._recent, keys, positions)
        self._size += len(keys)

    def match_batch(self, keys: np.ndarray, first: int, indexed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Query then insert a batch of documents (positions ``first``, ``first + 1``, ...) in one go.

        Each row of ``keys`` (n, bands) where ``indexed`` is set gets the positions sharing a band key with it
        among everything before it, earlier rows of the batch included, with the bucket cap: exactly the
        positions :meth:`query_runs_sparse` then :meth:`query_recent` then :meth:`insert`, row by row, give
        (``tests/test_bucket_cap.py`` checks the two agree). Rows not indexed (empty shingle sets) are neither
        queried nor inserted. Returns the candidate pairs as two arrays (row, position), each pair once,
        sorted by row then position. Needs an index built with ``batched=True``.
        """
        rows, positions = self.match_pairs(keys, first, indexed)
        if len(rows) == 0:
            return rows, positions
        order = np.lexsort((positions, rows))
        rows, positions = rows[order], positions[order]
        new = np.ones(len(rows), dtype=bool)
        new[1:] = (rows[1:] != rows[:-1]) | (positions[1:] != positions[:-1])
        return rows[new], positions[new]

    def match_pairs(self, keys: np.ndarray, first: int, indexed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`match_batch`'s pairs before they are made unique: a pair once per band key that gives it, in no
        particular order (what the incremental form gives, as a multiset)."""
        if not self.batched:
            raise ValueError("match_batch needs a BandIndex(batched=True)")
        cap, bands = self.cap, self.bands
        rows = np.flatnonzero(indexed)
        none = np.empty(0, dtype=np.int64)
        if len(rows) == 0:
            return none, none
        keys = np.ascontiguousarray(keys[rows])
        flat = keys.ravel()
        order = np.argsort(flat, kind="stable")
        # Pairs by row of `keys` (the indexed rows): from the runs with document positions, from this batch with
        # the earlier row of `keys`.
        run_rows, run_positions, used = self._runs_pairs(keys, order)
        if cap and used is None:
            used = np.zeros(keys.shape, dtype=np.int64)
        taken = used.ravel() if used is not None else None  # by query: row * bands + band
        # Within the batch: rows sharing a key, each with the earlier ones (up to the room left). In key order,
        # the entries of one key are in row order: each takes the group's first entries before it, skipping
        # its own row (a row holding the key in two bands is there twice, as the incremental form inserts it).
        ordered = flat[order]
        same = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1  # entries with an earlier one under their key
        mine_rows, mine_earlier = none, none
        if len(same):
            new_group = np.concatenate(([True], ordered[1:] != ordered[:-1]))
            group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(flat)), 0))
            later = same
            row_of = order[later] // bands
            room = cap - taken[order[later]] if taken is not None else None
            count = np.zeros(len(later), dtype=np.int64)
            parts_rows, parts_earlier = [], []
            cursor = group_start[later]
            while len(later):
                # The next entry of each group before `later`: another row's entry is taken while room is left.
                live = cursor < later
                if room is not None:
                    live &= count < room
                later, row_of, cursor, count = later[live], row_of[live], cursor[live], count[live]
                if room is not None:
                    room = room[live]
                if not len(later):
                    break
                other = order[cursor] // bands
                take = other != row_of
                parts_rows.append(row_of[take])
                parts_earlier.append(other[take])
                count += take
                cursor = cursor + 1
            if parts_rows:
                mine_rows, mine_earlier = np.concatenate(parts_rows), np.concatenate(parts_earlier)
        # The batch becomes a sorted run (positions ascend within a key: the sort is stable, rows ascend).
        self._push_run(ordered, np.repeat(rows.astype(np.int64) + first, bands)[order])
        self._size += len(rows)
        out_rows = np.concatenate((rows[run_rows], rows[mine_rows]))
        out_positions = np.concatenate((run_positions, rows[mine_earlier] + first))
        return out_rows.astype(np.int64, copy=False), out_positions

    def maybe_flush(self) -> None:
        """Move recent entries into a sorted run once there are many (call between batches)."""
        if len(self._recent) >= FLUSH_ENTRIES:
            self.flush()

    def flush(self) -> None:
        """Move every recent entry into a sorted run and merge runs of similar size."""
        if not self._pending_positions:
            return
        keys = np.concatenate(self._pending_rows)
        positions = np.repeat(np.array(self._pending_positions, dtype=np.int64), self.bands)
        self._recent, self._pending_rows, self._pending_positions = {}, [], []
        self._push_run(*sorted_run(keys, positions))

    def export(self, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The entries of positions ``>= first`` as (keys, positions), sorted by key.

        What an index checkpoint saves; :meth:`load` adds them back.

        Example:
            >>> import numpy as np
            >>> index = BandIndex(bands=2)
            >>> index.insert(0, [7, 3]); index.insert(1, [5, 9])
            >>> keys, positions = index.export(first=1)
            >>> keys.tolist(), positions.tolist()
            ([5, 9], [1, 1])
            >>> other = BandIndex(bands=2); other.load(keys, positions)
            >>> other.query([9, 0])
            [1]
        """
        parts = [(k[p >= first], p[p >= first]) for k, p in self._runs]
        if self._pending_positions:
            pending = np.repeat(np.array(self._pending_positions, dtype=np.int64), self.bands)
            keys = np.concatenate(self._pending_rows)
            parts.append((keys[pending >= first], pending[pending >= first]))
        if not parts:
            return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
        keys, positions = sorted_run(np.concatenate([k for k, _ in parts]), np.concatenate([p for _, p in parts]))
        return keys, positions.astype(self._position_dtype, copy=False)  # saved as held (32 bits when narrow)

    def load(self, keys: np.ndarray, positions: np.ndarray) -> None:
        """Add saved entries (as from :meth:`export`: ``bands`` per document)."""
        if len(keys):
            self.flush()
            if len(keys) > 1 and not is_run(keys, positions, self.cap > 0):  # saved in order: usually nothing to do
                order = np.lexsort((positions, keys)) if self.cap else np.argsort(keys, kind="stable")
                keys, positions = keys[order], positions[order]
            self._push_run(keys, positions)
        self._size += len(keys) // self.bands

    def _push_run(self, keys: np.ndarray, positions: np.ndarray) -> None:
        if self._position_dtype is np.int32 and len(positions) and int(positions.max()) >= 2**31:
            raise OverflowError("a narrow band index holds positions below 2^31")
        self._runs.append((keys, positions.astype(self._position_dtype, copy=False)))
        self._filters.append(KeyFilter(keys) if self.filtered else None)
        # Geometric merging: about log2(n) runs below the cap, each entry
        # re-sorted about log2(n) times; runs at the cap are left alone.
        while (
            len(self._runs) > 1
            and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0])
            and len(self._runs[-2][0]) + len(self._runs[-1][0]) <= MAX_RUN_ENTRIES
        ):
            (k2, p2), (k1, p1) = self._runs.pop(), self._runs.pop()
            del self._filters[-2:]
            self._runs.append(merged_runs(k1, p1, k2, p2))
            self._filters.append(KeyFilter(self._runs[-1][0]) if self.filtered else None)


def _grouped(rows: np.ndarray, values: np.ndarray) -> dict[int, list[int]]:
    """{row: its values, in the order given} for the rows present."""
    if len(rows) == 0:
        return {}
    order = np.argsort(rows, kind="stable")
    rows, values = rows[order], values[order]
    cuts = np.flatnonzero(rows[1:] != rows[:-1]) + 1
    starts = np.concatenate(([0], cuts)).tolist()
    ends = np.concatenate((cuts, [len(rows)])).tolist()
    flat = values.tolist()
    return {r: flat[a:b] for r, a, b in zip(rows[starts].tolist(), starts, ends)}


def _remember(recent: dict[int, int | list[int]], keys: Iterable[int], positions: Iterable[int]) -> None:
    """Add key -> position entries to the recent dict (an int for one position, a list for more)."""
    for key, position in zip(keys, positions):
        value = recent.get(key)
        if value is None:
            recent[key] = position
        elif isinstance(value, int):
            recent[key] = [value, position]
        else:
            value.append(position)
