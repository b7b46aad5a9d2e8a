"""Passage matching a batch at a time: what :class:`~dedupe.passages.matcher.PassageMatcher` needs to decide each
passage of a batch, computed for the whole batch in numpy before the passages are decided in stream order.

Nothing here decides anything. Which passages match which depends on the order (an earlier passage of the batch
is a candidate only if it was indexed, which depends on what it matched), so the batch's work is done for every
passage that *could* take part, and the matcher's stream-order loop keeps what applies:

* exact repeats are known in advance: a passage's hash repeats one known before the batch or one of an earlier
  passage of the batch (every passage registers its hash), see :func:`exact_repeats`;
* candidates from earlier batches (the index's sorted runs, flushed before the batch) are counted per passage and
  ranked as the matcher ranks them (most shared bands, then the earliest), keeping the first ``max_candidates``:
  passages of the batch can only push them down the ranking, never bring a lower one up;
* candidates inside the batch are every earlier passage of the batch that could be indexed and shares a band key;
  the matcher drops those that were not indexed in the end;
* the exact Jaccard of every pair kept, computed as :func:`~dedupe.core.similarity.jaccard_flat` computes it for the
  per-passage path (one search per batch passage, then every pair's counts at once), except for pairs that a
  bound proves to be below the threshold (most of them: candidates that share one band by chance). The bound:
  the shingle hashes of each passage counted in 256 buckets (:class:`Sketches`); two sets share at most the sum
  over buckets of the smaller count, so J <= U / (|A| + |B| - U). A pair below the threshold is never chosen,
  so skipping its exact Jaccard changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..core.lsh import BandIndex
from .ragged import aranges, take
from .store import ShingleStore

# More pairs than this inside one batch (many passages sharing band keys: the same sentence repeated throughout a
# batch with different hashes, or exact repeats indexed with index_below > 1) and the batch takes the
# per-passage path, which bounds its work by max_candidates.
MAX_BATCH_PAIRS = 4_000_000


SKETCH_BUCKETS = 256


class Sketches:
    """Per position, a passage's shingle hashes counted in :data:`SKETCH_BUCKETS` buckets (uint8, clipped at 255,
    with whether any count was clipped), for the Jaccard bound of :func:`below_threshold`.

    Example:
        >>> import numpy as np
        >>> store = Sketches()
        >>> store.append(*sketch(np.array([1, 257, 3], dtype=np.uint64), np.array([0, 3, 3])))
        >>> store.counts[0, :4].tolist(), len(store), bool(store.clipped[1])
        ([0, 2, 0, 1], 2, False)
    """

    def __init__(self) -> None:
        self._counts = np.zeros((0, SKETCH_BUCKETS), dtype=np.uint8)
        self._clipped = np.zeros(0, dtype=bool)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def counts(self) -> np.ndarray:
        return self._counts[: self._size]

    @property
    def clipped(self) -> np.ndarray:
        return self._clipped[: self._size]

    def nbytes(self) -> int:
        return self._counts.nbytes + self._clipped.nbytes

    def append(self, counts: np.ndarray, clipped: np.ndarray) -> None:
        """Add the sketches of the next positions (from :func:`sketch`)."""
        n = self._size + len(counts)
        if n > len(self._counts):
            grow = max(n, 2 * len(self._counts), 1024)
            self._counts = np.concatenate(
                (self._counts[: self._size], np.zeros((grow - self._size, SKETCH_BUCKETS), dtype=np.uint8))
            )
            self._clipped = np.concatenate((self._clipped[: self._size], np.zeros(grow - self._size, dtype=bool)))
        self._counts[self._size : n] = counts
        self._clipped[self._size : n] = clipped
        self._size = n


def sketch(values: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each set's hashes (set k: ``values[offsets[k]:offsets[k + 1]]``) counted by ``hash % SKETCH_BUCKETS``:
    (counts clipped at 255 as uint8, whether clipped)."""
    n = len(offsets) - 1
    rows = np.repeat(np.arange(n, dtype=np.int64) * SKETCH_BUCKETS, np.diff(offsets))
    bucket = (values % np.uint64(SKETCH_BUCKETS)).astype(np.int64)
    counts = np.bincount(rows + bucket, minlength=n * SKETCH_BUCKETS).reshape(-1, SKETCH_BUCKETS)
    clipped = np.asarray((counts > 255).any(axis=1), dtype=bool)
    return np.minimum(counts, 255).astype(np.uint8), clipped


def below_threshold(
    threshold: float,
    a: np.ndarray,
    a_size: np.ndarray,
    a_clipped: np.ndarray,
    b: np.ndarray,
    b_size: np.ndarray,
    b_clipped: np.ndarray,
) -> np.ndarray:
    """Which pairs (rows of sketches ``a`` and ``b``, with their sets' sizes) are proved to have an exact Jaccard
    below ``threshold``: at most min(count) of each bucket is shared, so J <= U / (|A| + |B| - U) with U that
    sum. A clipped sketch proves nothing."""
    shared = np.minimum(a, b).sum(axis=1, dtype=np.int64)
    union = a_size + b_size - shared
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(union > 0, shared / np.maximum(union, 1), 1.0)
    low: np.ndarray = (bound < threshold) & ~a_clipped & ~b_clipped
    return low


def exact_repeats(hashes: Sequence[int], known: dict[int, int]) -> np.ndarray:
    """Whether each passage of a batch (``hashes`` in stream order) repeats an exact hash: one in ``known`` (the
    passages before the batch) or one of an earlier passage of the batch."""
    out = np.zeros(len(hashes), dtype=bool)
    seen: set[int] = set()
    for k, h in enumerate(hashes):
        out[k] = h in known or h in seen
        seen.add(h)
    return out


class BatchPairs(NamedTuple):
    """The candidates of a batch's passages, as CSR rows by passage of the batch.

    ``early_*``: from before the batch, per passage in the matcher's ranking order (most shared bands, then the
    earliest position), at most ``max_candidates``; ``early_raw``: how many distinct ones there were in all.
    ``late_*``: earlier passages of the batch (by their index in the batch), in ascending order, with their shared
    bands and similarity; the matcher keeps those it indexed.
    """

    early_at: np.ndarray  # (P + 1,) offsets into early_position / early_count / early_sim
    early_position: np.ndarray
    early_count: np.ndarray
    early_sim: np.ndarray
    early_raw: np.ndarray  # (P,)
    early_hit: np.ndarray  # (P,) whether any of the passage's early similarities reaches the threshold
    late_at: np.ndarray  # (P + 1,)
    late_passage: np.ndarray
    late_count: np.ndarray
    late_sim: np.ndarray
    key_order: np.ndarray  # a stable argsort of the batch's band keys (keys.ravel())


def _csr(rows: np.ndarray, n: int) -> np.ndarray:
    """Offsets of rows 0..n-1 in an array sorted by row."""
    return np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n)))).astype(np.int64)


def _pair_sims(
    rows: np.ndarray, values: np.ndarray, offsets: np.ndarray, mine: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Jaccard of each pair: ``rows`` (sorted) names the batch passage (its set in ``mine``: values, offsets),
    ``values[offsets[k]:offsets[k + 1]]`` is the other set of pair k."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.float64)
    sizes = np.diff(offsets)
    cuts = np.flatnonzero(rows[1:] != rows[:-1]) + 1
    bounds = np.concatenate(([0], cuts, [len(rows)])).tolist()
    row_of = rows[bounds[:-1]].tolist()
    flat, at = mine[0], mine[1].tolist()
    off = offsets.tolist()
    # Where each value would sit in its row's set (one search per row), as an index into ``flat``.
    where = np.empty(len(values), dtype=np.int64)
    for r, a, b in zip(row_of, bounds[:-1], bounds[1:]):
        lo, hi = at[r], at[r + 1]
        where[off[a] : off[b]] = np.searchsorted(flat[lo:hi], values[off[a] : off[b]]) + lo
    # Then every pair at once, as jaccard_flat does for one row: exact counts, one division each.
    last = mine[1][rows + 1] - 1  # each pair's row set's last index (below its start when the set is empty)
    value_last = np.repeat(last, sizes)
    found = np.zeros(len(values) + 1, dtype=np.int64)
    inside = where <= value_last
    found[:-1][inside] = flat[where[inside]] == values[inside]
    inter = np.add.reduceat(found, np.cumsum(sizes) - sizes)
    inter[sizes == 0] = 0
    union = np.diff(mine[1])[rows] + sizes - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        sims: np.ndarray = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return sims


def batch_pairs(
    index: BandIndex,
    store: ShingleStore,
    sketches: Sketches,
    keys: np.ndarray,
    shingles: tuple[np.ndarray, np.ndarray],
    mine: tuple[np.ndarray, np.ndarray],
    query: np.ndarray,
    indexable: np.ndarray,
    max_candidates: int,
    threshold: float,
) -> BatchPairs | None:
    """The candidates and similarities of a batch's passages (see the module docstring), or None when the batch
    holds more than :data:`MAX_BATCH_PAIRS` pairs.

    Args:
        index: The passage band index, flushed (every passage before the batch in its sorted runs).
        store: Shingle sets of the passages before the batch, by position.
        keys: Band keys of the batch's passages (P, bands).
        shingles: Shingle set (sorted unique) of each passage of the batch, back to back, and their offsets.
        query: Which passages look for near repeats (wordy, no exact repeat).
        indexable: Which passages may be indexed (and so be candidates of later passages of the batch).
        sketches: Of every position before the batch.
        mine: The :func:`sketch` of ``shingles``.
        threshold: Pairs proved to be below it get similarity -1 instead of their exact Jaccard.
    """
    n = len(keys)
    mine_counts, mine_clipped = mine
    mine_size = np.diff(shingles[1])
    asking = np.flatnonzero(query)
    bands = keys.shape[1] if keys.ndim == 2 else 0
    # The batch's band keys sorted once (stably: within a key, passages ascend), for the runs' search, the pairs
    # inside the batch and the batch's own run.
    order_all = np.argsort(keys.ravel(), kind="stable")
    # From before the batch: every (passage, position) once per band key that gives it. The asking passages'
    # entries in key order, as indices into keys[asking].ravel().
    rank = np.cumsum(query) - 1
    mine_entries = order_all[np.repeat(query, bands)[order_all]] if bands else order_all
    asked_order = rank[mine_entries // bands] * bands + mine_entries % bands if bands else mine_entries
    rows, positions = index.run_pairs(np.ascontiguousarray(keys[asking]), asked_order)
    rows = asking[rows] if len(rows) else rows
    if len(rows):
        pair = rows.astype(np.uint64) << np.uint64(40) | positions.astype(np.uint64)
        pair, count = np.unique(pair, return_counts=True)
        rows = (pair >> np.uint64(40)).astype(np.int64)
        positions = (pair & np.uint64((1 << 40) - 1)).astype(np.int64)
        raw = np.bincount(rows, minlength=n)
        # By row, then most shared bands; stable, so the earliest position first among equals (np.unique sorted
        # each row's positions). Shared bands fit 16 bits: numpy sorts such keys by radix.
        order = np.lexsort((-count.astype(np.int16 if count.max() < 2**15 else np.int64), rows))
        rows, positions, count = rows[order], positions[order], count[order]
        at = _csr(rows, n)
        rank = np.arange(len(rows)) - at[rows]
        keep = rank < max_candidates
        rows, positions, count = rows[keep], positions[keep], count[keep]
        sizes = store.lengths(positions)
        low = below_threshold(
            threshold,
            mine_counts[rows],
            mine_size[rows],
            mine_clipped[rows],
            sketches.counts[positions],
            sizes,
            sketches.clipped[positions],
        )
        sims = np.full(len(rows), -1.0)
        check = np.flatnonzero(~low)
        values, offsets = store.get_many(positions[check])
        sims[check] = _pair_sims(rows[check], values, offsets, shingles)
    else:
        raw = np.zeros(n, dtype=np.int64)
        count = positions
        sims = np.zeros(0, dtype=np.float64)
    # Inside the batch: for each passage that asks, every earlier indexable passage sharing a band key.
    taking = query | indexable
    late_rows = late_other = np.empty(0, dtype=np.int64)
    if taking.any() and bands:
        entries = order_all[np.repeat(taking, bands)[order_all]]  # in key order; within a key, passages ascend
        flat, owner = keys.ravel()[entries], entries // bands
        new_group = np.concatenate(([True], flat[1:] != flat[:-1]))
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(flat)), 0))
        depth = np.arange(len(flat)) - group_start
        if int(depth.sum()) > MAX_BATCH_PAIRS:
            return None
        later = np.repeat(np.arange(len(flat)), depth)
        earlier = aranges(group_start, depth)  # each entry with the entries before it under its key
        k, j = owner[later], owner[earlier]
        ok = query[k] & indexable[j] & (j < k)
        late_rows, late_other = k[ok], j[ok]
    if len(late_rows):
        pair, late_count = np.unique(late_rows * n + late_other, return_counts=True)
        late_rows, late_other = pair // n, pair % n
        low = below_threshold(
            threshold,
            mine_counts[late_rows],
            mine_size[late_rows],
            mine_clipped[late_rows],
            mine_counts[late_other],
            mine_size[late_other],
            mine_clipped[late_other],
        )
        late_sims = np.full(len(late_rows), -1.0)
        check = np.flatnonzero(~low)
        if len(check):
            others, offsets = take(shingles[0], shingles[1], late_other[check])
            late_sims[check] = _pair_sims(late_rows[check], others, offsets, shingles)
    else:
        late_count = late_other
        late_sims = np.zeros(0, dtype=np.float64)
    early_hit = np.bincount(rows[sims >= threshold], minlength=n) > 0
    return BatchPairs(
        _csr(rows, n),
        positions,
        count,
        sims,
        raw,
        early_hit,
        _csr(late_rows, n),
        late_other,
        late_count,
        late_sims,
        order_all,
    )
