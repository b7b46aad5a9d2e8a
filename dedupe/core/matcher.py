"""The only place the stages meet: records -> features -> matches -> results.

Features (normalize, shingle, MinHash) are a pure function of the text and
the configuration, so they may be computed in worker processes; matching
(LSH query, verification, clustering) is sequential in stream order, which
makes the output independent of the number of workers.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import xxhash

from ..config import DedupeConfig
from ..features.minhash import MinHasher, estimate_jaccard
from ..features.normalize import normalize, prepare_utf8
from ..features.shingles import shingle_batch
from ..index.segments import pack_strings, unpack_strings
from ..io.records import Record, Rejected
from ..passages.matcher import PassageMatch, PassageMatcher
from ..passages.segment import DocPassages, passage_features
from .clusters import UnionFind, cluster_entries
from .decide import take
from .lsh import BandIndex, band_keys
from .similarity import ArrayStore, jaccard

if TYPE_CHECKING:
    from ..index.redis import RedisIndex


class PackedHashes:
    """The shingle hashes of a batch in one array plus offsets: one buffer to
    send between processes instead of one pickled array per text (which cost
    more than the matching itself).

    Example:
        >>> import numpy as np
        >>> packed = PackedHashes([np.array([1, 2], dtype=np.uint64), np.array([], dtype=np.uint64)])
        >>> len(packed), packed[0].tolist(), packed[1].tolist()
        (2, [1, 2], [])
    """

    def __init__(self, arrays: list[np.ndarray]) -> None:
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        self.offsets = np.concatenate(([0], np.cumsum(lengths))).tolist()
        self.values = np.concatenate(arrays) if arrays else np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, k: int) -> np.ndarray:
        return self.values[self.offsets[k] : self.offsets[k + 1]]


class HashRows(Protocol):
    """The shingle hashes of a batch, one array per text: a list of arrays or a :class:`PackedHashes`."""

    def __len__(self) -> int: ...

    def __getitem__(self, k: int, /) -> np.ndarray: ...


# Per batch: shingle hashes per text, signatures (n, num_perm), band keys (n, bands), seconds spent.
Features = tuple[PackedHashes, np.ndarray, np.ndarray, float]


@dataclass(frozen=True)
class Match:
    """The decision for one record.

    Attributes:
        cluster: Id of the first-seen member of the record's cluster, as known
            when the record was decided (its own id when it matched nothing).
        duplicate_of: Id of the earlier record it matched best, or None.
        similarity: Jaccard similarity with that record (exact, or the MinHash
            estimate with ``verify.mode == "estimate"``), or None.
    """

    cluster: str
    duplicate_of: str | None = None
    similarity: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "duplicate_of": self.duplicate_of, "similarity": self.similarity}


@dataclass(frozen=True)
class Result:
    """A record and the decision about it."""

    record: Record
    match: Match
    passages: list[PassageMatch] | None = None

    @property
    def is_duplicate(self) -> bool:
        return self.match.duplicate_of is not None


_WORKER_STATE: dict[str, Any] = {}


def compute_features(texts: list[str], config: DedupeConfig) -> Features:
    """Shingle hashes, signatures and LSH band keys of a batch of texts.

    A pure function of the texts and the configuration, so it may run in a
    worker process.
    """
    start = time.perf_counter()
    hasher = _WORKER_STATE.get("hasher")
    if hasher is None or hasher.config != config.minhash:
        hasher = _WORKER_STATE["hasher"] = MinHasher(config.minhash)
    # Word shingles only need the words, which prepare() already separates.
    clean = prepare_utf8 if config.shingle.unit == "word" else normalize
    hashes = shingle_batch([clean(t, config.normalize) for t in texts], config.shingle)
    signatures = hasher.signatures(hashes)
    keys = band_keys(signatures, *config.bands_rows)
    return PackedHashes(hashes), signatures, keys, time.perf_counter() - start


class Deduplicator:
    """Streaming near-duplicate detector: decides each record against all earlier ones.

    Holds the LSH index, the union-find of clusters, the id of every record
    and what verification needs (shingle hashes or signatures).

    Args:
        config: All matching parameters.
        clock: Time source for the timings (a seam for tests).

    Example:
        >>> dd = Deduplicator()
        >>> text = "the quick brown fox jumps over the lazy dog " * 3
        >>> [r.match.duplicate_of for r in dd.run([Record("a", text), Record("b", text)])]
        [None, 'a']
    """

    def __init__(
        self,
        config: DedupeConfig | None = None,
        clock: Callable[[], float] = time.perf_counter,
        max_chars: int | None = None,
    ) -> None:
        self.config = config if config is not None else DedupeConfig()
        self.bands, self.rows = self.config.bands_rows
        self.clock = clock
        self.cap = self.config.lsh.bucket_cap
        self.index = BandIndex(self.bands, self.cap)
        self.threshold = self.config.lsh.threshold
        self._exact = self.config.verify.mode == "exact"
        self._uf = UnionFind()
        self._ids: list[str] = []
        self._label = array("q")  # cluster root as written in the output
        # What verification reads: shingle hashes (exact) or signatures (estimate).
        self._stored = ArrayStore(np.uint64 if self._exact else np.uint32)
        self.candidates = 0
        # Verified candidate pairs by exact similarity, in bins of 0.01 (the last, 100, holds 1.0): the
        # report's histogram. Plain list: one increment per candidate costs less than a numpy call.
        self.similarity_counts = [0] * 101
        self.feature_seconds = 0.0
        self.match_seconds = 0.0
        self.passages = PassageMatcher(self.config.passages) if self.config.passages is not None else None
        self.base = 0  # documents loaded from an index (earlier runs); this run's start at this position
        self.max_chars = max_chars
        self.truncated = 0
        # Cluster links (i, j) made since the last checkpoint; None when no index is kept.
        self._links: array | None = None
        # A shared index (Redis): the numbers of this run's documents in it, and the
        # clusters of other processes' documents that local clusters joined.
        self.shared: RedisIndex | None = None
        self.shared_candidates = 0
        self._own_refs: set[int] = set()
        self._remote_cluster: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, record_id: str, hashes: np.ndarray, signature: np.ndarray) -> Match:
        """Decide one record from its features, then remember it for the ones after it."""
        signatures = signature[None, :]
        return self.add_batch([record_id], [hashes], signatures, band_keys(signatures, self.bands, self.rows))[0]

    def add_batch(self, ids: list[str], hashes: HashRows, signatures: np.ndarray, keys: np.ndarray) -> list[Match]:
        """Decide consecutive records, each against everything before it (earlier ones of the batch included)."""
        if self.shared is not None:
            with self.shared.lock():
                return self._add_batch(ids, hashes, signatures, keys, self._shared_matches(hashes, signatures, keys))
        return self._add_batch(ids, hashes, signatures, keys, None)

    def _add_batch(
        self,
        ids: list[str],
        hashes: HashRows,
        signatures: np.ndarray,
        keys: np.ndarray,
        remote: list[tuple[float, str, str] | None] | None,
    ) -> list[Match]:
        taken: dict[int, list[int]] = {}  # with a cap: per row with hits in the runs, what each band took there
        from_runs = self.index.query_runs_sparse(keys, taken)  # the runs do not change within a batch
        key_lists = keys.tolist()
        out = []
        added = []
        for k, rid in enumerate(ids):
            before = len(self.index)
            out.append(
                self._decide(
                    rid,
                    hashes[k],
                    signatures[k],
                    key_lists[k],
                    keys[k],
                    from_runs.get(k, []),
                    remote[k] if remote is not None else None,
                    taken.get(k),
                )
            )
            if remote is not None and len(self.index) > before:
                stored = hashes[k] if self._exact else signatures[k]
                added.append((rid, out[-1].cluster, keys[k], np.ascontiguousarray(stored).tobytes()))
        if added:
            assert self.shared is not None  # documents are added only where a shared index answered
            self._own_refs.update(self.shared.add(added))
        self.index.maybe_flush()
        return out

    def _shared_matches(
        self, hashes: HashRows, signatures: np.ndarray, keys: np.ndarray
    ) -> list[tuple[float, str, str] | None]:
        """For each record, its best match among other processes' documents in the shared index:
        (similarity, id, cluster), or None."""
        assert self.shared is not None
        found = [[ref for ref in refs if ref not in self._own_refs] for refs in self.shared.query(keys, self.cap)]
        docs = self.shared.fetch(sorted({ref for refs in found for ref in refs}))
        dtype = self._stored.dtype
        out: list[tuple[float, str, str] | None] = []
        for k, refs in enumerate(found):
            self.shared_candidates += len(refs)
            sims = []
            for ref in refs:  # ascending: the earliest document wins a tie
                other = np.frombuffer(docs[ref][2], dtype=dtype)
                sim = jaccard(hashes[k], other) if self._exact else estimate_jaccard(signatures[k], other)
                self.similarity_counts[int(sim * 100 + 1e-9)] += 1
                sims.append(sim)
            # Another process's documents are not in this process's clusters: nothing to join, only the best.
            ref, sim = take(-1, refs, sims, self.threshold, lambda a, b: None)
            out.append((sim, docs[ref][0], docs[ref][1]) if ref >= 0 else None)
        return out

    @property
    def shared_added(self) -> int:
        """Documents this detector added to the shared index."""
        return len(self._own_refs)

    def share(self, shared: RedisIndex) -> None:
        """Decide against a shared index too (a :class:`~dedupe.index.redis.RedisIndex`), adding this run's
        documents to it; each batch is decided under the index's lock, so processes see one another's
        batches in some order."""
        self.shared = shared

    def _decide(
        self,
        record_id: str,
        hashes: np.ndarray,
        signature: np.ndarray,
        keys: list[int],
        key_row: np.ndarray,
        earlier: list[int],
        remote: tuple[float, str, str] | None = None,
        taken: list[int] | None = None,
    ) -> Match:
        """Decide record i: its candidates are, for each of its band keys, the earlier indexed records under
        that key (at most ``bucket_cap`` of them, the earliest), all verified; then index it under every key."""
        i = self._uf.add()
        self._ids.append(record_id)
        if len(hashes) == 0:  # an empty text is kept and never matches
            self._label.append(i)
            return Match(record_id)
        candidates = earlier + self.index.query_recent(keys, taken)
        best, best_sim = -1, -1.0
        if candidates:
            candidates = sorted(set(candidates))
            self.candidates += len(candidates)
            counts = self.similarity_counts
            sims = []
            for j in candidates:
                other = self._stored.get(j)
                sim = jaccard(hashes, other) if self._exact else estimate_jaccard(signature, other)
                counts[int(sim * 100 + 1e-9)] += 1
                sims.append(sim)
            best, best_sim = take(i, candidates, sims, self.threshold, self._join)
        # Every record with shingles is indexed, an exact copy of an earlier one too: with capped buckets, which
        # records fill a bucket decides what later records see, and the rule must not depend on the matches.
        self.index.insert(i, keys, key_row)
        self._stored.put(i, hashes if self._exact else signature)
        return self._decided(i, best, best_sim, remote)

    def _join(self, i: int, j: int) -> None:
        self._uf.union(i, j)
        if self._links is not None:
            self._links.extend((i, j))

    def _decided(self, i: int, best: int, similarity: float, remote: tuple[float, str, str] | None = None) -> Match:
        root = self._uf.find(i)
        self._label.append(root)
        if remote is not None:  # the cluster of another process's document names this local cluster from now on
            self._remote_cluster.setdefault(root, remote[2])
        cluster = self._remote_cluster.get(root, self._ids[root]) if self._remote_cluster else self._ids[root]
        if remote is not None and remote[0] >= similarity:  # a tie goes to the shared index's (earlier) document
            return Match(cluster, remote[1], round(remote[0], 6))
        if best < 0:
            return Match(cluster)
        return Match(cluster, self._ids[best], round(similarity, 6))

    def run(
        self,
        items: Iterable[Record | Rejected],
        workers: int = 1,
        batch_size: int = 256,
        stop: Callable[[], bool] | None = None,
        after_batch: Callable[[], None] | None = None,
        stop_at_reject: bool = False,
    ) -> Iterator[Result | Rejected]:
        """Decide every record of ``items`` in order; Rejected items pass through in place.

        Args:
            items: Records (and rejects) in stream order.
            workers: Processes computing features; 1 computes them in this process.
                The output does not depend on it.
            batch_size: Records per feature batch.
            stop: Asked before each batch is decided; when it answers True the run ends there, so
                everything decided has been yielded (read-ahead batches are dropped undecided).
            after_batch: Called once the consumer has taken every item of a batch: the state then
                matches what was yielded (the moment to checkpoint).
            stop_at_reject: End the run at the first Rejected, deciding nothing after it (for a
                caller that stops there: the state then holds exactly the records yielded).
        """
        hashes: HashRows
        for batch, ((hashes, signatures, keys, seconds), passage_feats) in _featurized(
            items, self.config, workers, batch_size, self.max_chars, stop
        ):
            if stop is not None and stop():
                return
            self.feature_seconds += seconds
            start = self.clock()
            last = False
            if stop_at_reject:
                cut = next((k for k, item in enumerate(batch) if isinstance(item, Rejected)), None)
                if cut is not None:
                    batch, last = batch[: cut + 1], True
                    n = sum(1 for item in batch if isinstance(item, Record))
                    hashes, signatures, keys = [hashes[k] for k in range(n)], signatures[:n], keys[:n]
                    passage_feats = passage_feats[:n] if passage_feats is not None else None
            records = [item for item in batch if isinstance(item, Record)]
            if self.max_chars is not None:
                self.truncated += sum(len(r.text) > self.max_chars for r in records)
            matches = self.add_batch([r.id for r in records], hashes, signatures, keys)
            found: list[list[PassageMatch] | None] = [None] * len(records)
            if self.passages is not None and passage_feats is not None:
                keep = [k for k, m in enumerate(matches) if m.duplicate_of is None]
                lists = self.passages.add_batch(
                    [records[k].id for k in keep],
                    [records[k].text[: self.max_chars] for k in keep],
                    [passage_feats[k] for k in keep],
                )
                for k, lst in zip(keep, lists):
                    found[k] = lst
            it = iter(zip(matches, found))
            out = [item if isinstance(item, Rejected) else Result(item, *next(it)) for item in batch]
            self.match_seconds += self.clock() - start
            yield from out
            if last:
                return
            if after_batch is not None:
                after_batch()

    def export(self, first: int, all_links: bool = False) -> dict[str, np.ndarray]:
        """What a checkpoint saves: the documents from position ``first`` on, and the cluster links made since
        the previous export (every document's link to its cluster's root with ``all_links``, for a rewrite).

        Arrays: ``ids`` (UTF-8 bytes) and ``id_offsets``, ``labels``, ``stored`` and ``stored_offsets`` (what
        verification reads), ``band_keys`` and ``band_positions``, ``links`` (pairs in one cluster).
        :meth:`restore` is the inverse.
        """
        stop = len(self._ids)
        ids, id_offsets = pack_strings(self._ids[first:stop])
        stored, stored_offsets = self._stored.export(first, stop)
        keys, positions = self.index.export(first)
        if all_links:
            links = self._uf.links()
        else:
            links = np.frombuffer(self._links or array("q"), dtype=np.int64).reshape(-1, 2).copy()
        if self._links is not None:
            self._links = array("q")
        passages = self.passages.export() if self.passages is not None else {}
        return passages | {
            "ids": ids,
            "id_offsets": id_offsets,
            "labels": np.frombuffer(self._label, dtype=np.int64)[first:stop].copy(),
            "stored": stored,
            "stored_offsets": stored_offsets,
            "band_keys": keys,
            "band_positions": positions,
            "links": links,
        }

    def restore(self, segments: Sequence[dict[str, np.ndarray]]) -> None:
        """Load documents saved by :meth:`export` (in order) into an empty detector; later records match them.

        Raises:
            ValueError: a segment's arrays are inconsistent (a damaged index).
        """
        if len(self._ids):
            raise ValueError("restore needs an empty Deduplicator")
        all_links = []
        for seg in segments:
            first = len(self._ids)
            ids = unpack_strings(seg["ids"], seg["id_offsets"], "ids")
            count = len(ids)
            labels, stored_offsets = seg["labels"], seg["stored_offsets"]
            keys, positions = seg["band_keys"], seg["band_positions"]
            links = seg["links"].reshape(-1, 2)
            stop = first + count
            if (
                len(labels) != count
                or len(stored_offsets) != count + 1
                or len(keys) != len(positions)
                or len(keys) % self.bands
                or (count and (labels.min() < 0 or labels.max() >= stop))
                or (len(positions) and (positions.min() < first or positions.max() >= stop))
                or (len(links) and (links.min() < 0 or links.max() >= stop))
            ):
                raise ValueError(f"inconsistent index segment (documents {first:,}..{stop:,})")
            self._ids.extend(ids)
            self._label.frombytes(labels.astype(np.int64).tobytes())
            self._stored.extend(seg["stored"].astype(self._stored.dtype, copy=False), stored_offsets)
            self.index.load(keys, positions)
            all_links.append(links)
            if self.passages is not None:
                self.passages.restore(seg)
        self._uf = UnionFind.from_links(len(self._ids), np.concatenate(all_links) if all_links else np.empty((0, 2)))
        self.base = len(self._ids)

    def repeated_ids(self) -> int:
        """Records of this run whose id an earlier record (of this run or of the index) already had.

        Ids need not be unique: every record is decided on its own, so a record
        repeating an earlier one's id and text is its duplicate (``duplicate_of``
        then names that same id).
        """
        if len(self._ids) == self.base:
            return 0
        hashes = np.fromiter(
            (xxhash.xxh3_64_intdigest(i.encode("utf-8", "surrogatepass")) for i in self._ids),
            dtype=np.uint64,
            count=len(self._ids),
        )
        _, first = np.unique(hashes, return_index=True)
        return int(len(self._ids) - self.base - np.count_nonzero(first >= self.base))

    def keep_links(self) -> None:
        """Record cluster links (and changed passage groups) from now on, for :meth:`export`."""
        self._links = array("q")
        if self.passages is not None:
            self.passages.track()

    def id_of(self, number: int) -> str:
        """The id of the document with this number (see :meth:`cluster_groups`)."""
        return self._ids[number]

    def cluster_groups(self) -> list[tuple[int, list[int]]]:
        """The clusters of :meth:`clusters` as document numbers: (root, members in input order), in the same
        order. This run's documents are numbered from :attr:`base` in output order; smaller numbers are earlier
        runs' documents (from an index)."""
        return sorted(
            ((root, members) for root, members in self._uf.groups().items() if members[-1] >= self.base),
            key=lambda kv: (-len(kv[1]), kv[0]),
        )

    def clusters(self) -> list[dict[str, Any]]:
        """Every cluster with more than one member, largest first (ties: first seen first).

        Each entry: ``cluster`` (id of the first-seen member), ``size``,
        ``members`` (ids in input order) and, when a later record joined two
        clusters after some members had been written with another cluster id,
        ``output_labels`` (the cluster ids its members carry in the output).
        With documents loaded from an index, only clusters with a member from
        this run are listed, and ``from_index`` counts their earlier members.
        """
        return cluster_entries(self.cluster_groups(), self._ids.__getitem__, self._label.__getitem__, self.base)


def deduplicate(
    items: Iterable[Record | Rejected], config: DedupeConfig | None = None, workers: int = 1
) -> Iterator[Result | Rejected]:
    """Decide every record against the ones before it (see :class:`Deduplicator`).

    Example:
        >>> text = "Pakistan stands with Azerbaijan in its quest to resolve the issue"
        >>> results = deduplicate([Record("1", text), Record("2", text + "!")])
        >>> [(r.record.id, r.match.duplicate_of) for r in results]
        [('1', None), ('2', '1')]
    """
    return Deduplicator(config).run(items, workers=workers)


def _batches(items: Iterable[Record | Rejected], batch_size: int) -> Iterator[list[Record | Rejected]]:
    batch: list[Record | Rejected] = []
    chars = 0
    try:
        for item in items:
            batch.append(item)
            if isinstance(item, Record):
                chars += len(item.text)
            if len(batch) >= batch_size or chars >= 4_000_000:
                yield batch
                batch, chars = [], 0
    except Exception:
        # The input broke (e.g. a damaged compressed stream): the records read
        # before the break are still decided and written, then the error goes on.
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _texts(batch: list[Record | Rejected], max_chars: int | None) -> list[str]:
    return [item.text[:max_chars] for item in batch if isinstance(item, Record)]


def _all_features(texts: list[str], config: DedupeConfig) -> tuple[Features, list[DocPassages] | None]:
    features = compute_features(texts, config)
    if config.passages is None:
        return features, None
    start = time.perf_counter()
    found = passage_features(texts, config.passages)
    hashes, signatures, keys, seconds = features
    return (hashes, signatures, keys, seconds + time.perf_counter() - start), found


def _featurized(
    items: Iterable[Record | Rejected],
    config: DedupeConfig,
    workers: int,
    batch_size: int,
    max_chars: int | None,
    stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[list[Record | Rejected], tuple[Features, list[DocPassages] | None]]]:
    if workers <= 1:
        for batch in _batches(items, batch_size):
            yield batch, _all_features(_texts(batch, max_chars), config)
        return
    # At most 2 batches per worker in flight: memory stays bounded however
    # large the input, and results are taken in submission order.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    pool = ctx.Pool(workers, initializer=_worker_signals)
    try:
        pending: deque[tuple[list[Record | Rejected], Any]] = deque()
        broken: Exception | None = None
        try:
            for batch in _batches(items, batch_size):
                pending.append((batch, pool.apply_async(_all_features, (_texts(batch, max_chars), config))))
                # Hand on finished batches at once (a slow input still sees its output), and wait
                # only when the window is full.
                while pending and (len(pending) >= 2 * workers or pending[0][1].ready()):
                    done, result = pending.popleft()
                    if not _wait(result, stop):
                        return
                    yield done, result.get()
        except Exception as exc:  # the input broke: what was read before it is decided first
            broken = exc
        while pending and not (stop is not None and stop()):
            done, result = pending.popleft()
            if not _wait(result, stop):
                return
            yield done, result.get()
        if broken is not None:
            raise broken
    finally:
        # close + join, never terminate: terminate kills workers that may hold the result queue's lock (mid
        # send), and the pool's task thread then waits for that lock forever (a hang seen after SIGTERM with
        # -w 2, about 1 run in 40). At most 2 batches per worker are in flight, so this waits a moment at most.
        pool.close()
        pool.join()


def _worker_signals() -> None:
    # Ctrl-C reaches the whole process group; the main process decides how to
    # stop (it checkpoints first), so workers leave SIGINT to it. A forked
    # worker inherits the main process's SIGTERM handler, which only sets a
    # flag: restore the default, or the pool could not terminate its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _wait(result: Any, stop: Callable[[], bool] | None) -> bool:
    """Wait for a worker's result; False when asked to stop first (a dead worker never answers)."""
    while not result.ready():
        result.wait(0.1)
        if stop is not None and stop():
            return False
    return True
