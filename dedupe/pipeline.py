"""The only place the stages meet: records -> features -> matches -> results.

Features (normalize, shingle, MinHash) are a pure function of the text and
the configuration, so they may be computed in worker processes; matching
(LSH query, verification, clustering) is sequential in stream order, which
makes the output independent of the number of workers.
"""

from __future__ import annotations

import multiprocessing
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .clusters import UnionFind
from .config import DedupeConfig
from .lsh import BandIndex, band_keys
from .minhash import MinHasher, estimate_jaccard
from .normalize import normalize, prepare_utf8
from .passages import DocPassages, PassageMatch, PassageMatcher, passage_features
from .records import Record, Rejected
from .shingles import shingle_batch
from .verify import ArrayStore, jaccard


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

    def __init__(self, config: DedupeConfig | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.config = config if config is not None else DedupeConfig()
        self.bands, self.rows = self.config.bands_rows
        self.clock = clock
        self.index = BandIndex(self.bands)
        self.threshold = self.config.lsh.threshold
        self._exact = self.config.verify.mode == "exact"
        self._uf = UnionFind()
        self._ids: list[str] = []
        self._label = array("q")  # cluster root as written in the output
        # What verification reads: shingle hashes (exact) or signatures (estimate).
        self._stored = ArrayStore(np.uint64 if self._exact else np.uint32)
        self.candidates = 0
        self.feature_seconds = 0.0
        self.match_seconds = 0.0
        self.passages = PassageMatcher(self.config.passages) if self.config.passages is not None else None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, record_id: str, hashes: np.ndarray, signature: np.ndarray) -> Match:
        """Decide one record from its features, then remember it for the ones after it."""
        signatures = signature[None, :]
        return self.add_batch([record_id], [hashes], signatures, band_keys(signatures, self.bands, self.rows))[0]

    def add_batch(
        self, ids: list[str], hashes: Sequence[np.ndarray], signatures: np.ndarray, keys: np.ndarray
    ) -> list[Match]:
        """Decide consecutive records, each against everything before it (earlier ones of the batch included)."""
        from_runs = self.index.query_runs(keys)  # the runs do not change within a batch
        key_lists = keys.tolist()
        out = [
            self._decide(rid, hashes[k], signatures[k], key_lists[k], keys[k], from_runs[k])
            for k, rid in enumerate(ids)
        ]
        self.index.maybe_flush()
        return out

    def _decide(self, record_id: str, hashes: np.ndarray, signature: np.ndarray, keys: list[int],
                key_row: np.ndarray, earlier: list[int]) -> Match:
        i = self._uf.add()
        self._ids.append(record_id)
        if len(hashes) == 0:  # an empty text is kept and never matches
            self._label.append(i)
            return Match(record_id)
        candidates = earlier + self.index.query_recent(keys)
        best, best_sim = -1, -1.0
        if candidates:
            candidates = sorted(set(candidates))
            self.candidates += len(candidates)
            for j in candidates:
                other = self._stored.get(j)
                sim = jaccard(hashes, other) if self._exact else estimate_jaccard(signature, other)
                if sim >= self.threshold:
                    self._uf.union(i, j)
                    if sim > best_sim:
                        best, best_sim = j, sim
        if best_sim < 1.0:
            self.index.insert(i, keys, key_row)
            self._stored.put(i, hashes if self._exact else signature)
        # else: the same set (or signature) as an earlier record, which is
        # indexed: every later record matching this one matches that one
        # equally, so indexing it again would only add work.
        return self._decided(i, best, best_sim)

    def _decided(self, i: int, best: int, similarity: float) -> Match:
        root = self._uf.find(i)
        self._label.append(root)
        if best < 0:
            return Match(self._ids[root])
        return Match(self._ids[root], self._ids[best], round(similarity, 6))

    def run(self, items: Iterable[Record | Rejected], workers: int = 1, batch_size: int = 256) -> Iterator[Result | Rejected]:
        """Decide every record of ``items`` in order; Rejected items pass through in place.

        Args:
            items: Records (and rejects) in stream order.
            workers: Processes computing features; 1 computes them in this process.
                The output does not depend on it.
            batch_size: Records per feature batch.
        """
        for batch, ((hashes, signatures, keys, seconds), passage_feats) in _featurized(
                items, self.config, workers, batch_size):
            self.feature_seconds += seconds
            start = self.clock()
            records = [item for item in batch if isinstance(item, Record)]
            matches = self.add_batch([r.id for r in records], hashes, signatures, keys)
            found: list[list[PassageMatch] | None] = [None] * len(records)
            if self.passages is not None and passage_feats is not None:
                keep = [k for k, m in enumerate(matches) if m.duplicate_of is None]
                lists = self.passages.add_batch(
                    [records[k].id for k in keep], [records[k].text for k in keep], [passage_feats[k] for k in keep]
                )
                for k, lst in zip(keep, lists):
                    found[k] = lst
            it = iter(zip(matches, found))
            out = [item if isinstance(item, Rejected) else Result(item, *next(it)) for item in batch]
            self.match_seconds += self.clock() - start
            yield from out

    def clusters(self) -> list[dict[str, Any]]:
        """Every cluster with more than one member, largest first (ties: first seen first).

        Each entry: ``cluster`` (id of the first-seen member), ``size``,
        ``members`` (ids in input order) and, when a later record joined two
        clusters after some members had been written with another cluster id,
        ``output_labels`` (the cluster ids its members carry in the output).
        """
        groups = sorted(self._uf.groups().items(), key=lambda kv: (-len(kv[1]), kv[0]))
        out = []
        for root, members in groups:
            entry: dict[str, Any] = {
                "cluster": self._ids[root],
                "size": len(members),
                "members": [self._ids[m] for m in members],
            }
            labels = sorted({self._label[m] for m in members})
            if len(labels) > 1:
                entry["output_labels"] = [self._ids[x] for x in labels]
            out.append(entry)
        return out


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
    for item in items:
        batch.append(item)
        if isinstance(item, Record):
            chars += len(item.text)
        if len(batch) >= batch_size or chars >= 4_000_000:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _texts(batch: list[Record | Rejected]) -> list[str]:
    return [item.text for item in batch if isinstance(item, Record)]


def _all_features(texts: list[str], config: DedupeConfig) -> tuple[Features, list[DocPassages] | None]:
    features = compute_features(texts, config)
    if config.passages is None:
        return features, None
    start = time.perf_counter()
    found = passage_features(texts, config.passages)
    hashes, signatures, keys, seconds = features
    return (hashes, signatures, keys, seconds + time.perf_counter() - start), found


def _featurized(
    items: Iterable[Record | Rejected], config: DedupeConfig, workers: int, batch_size: int
) -> Iterator[tuple[list[Record | Rejected], tuple[Features, list[DocPassages] | None]]]:
    if workers <= 1:
        for batch in _batches(items, batch_size):
            yield batch, _all_features(_texts(batch), config)
        return
    # At most 2 batches per worker in flight: memory stays bounded however
    # large the input, and results are taken in submission order.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ctx.Pool(workers) as pool:
        pending: deque[tuple[list[Record | Rejected], Any]] = deque()
        for batch in _batches(items, batch_size):
            pending.append((batch, pool.apply_async(_all_features, (_texts(batch), config))))
            if len(pending) >= 2 * workers:
                done, result = pending.popleft()
                yield done, result.get()
        while pending:
            done, result = pending.popleft()
            yield done, result.get()
