"""The matcher: decides each record against every earlier one, in stream order.

Features (normalize, shingle, MinHash; :mod:`dedupe.features.batch`) are a pure function of the text and the
configuration, so they may be computed in worker processes (:mod:`dedupe.features.pool`); matching (LSH
query, verification, clustering) is sequential in stream order, which makes the output independent of the
number of workers. What the matcher keeps of each document is in :mod:`dedupe.core.documents`, what it counts
in :mod:`dedupe.core.outcome`, the documents of other processes behind :mod:`dedupe.core.backend`, and its
snapshot codec (for an index directory) in :mod:`dedupe.index.snapshot`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

from ..config import BATCH_RECORDS, DEFAULT_ID_FIELD, DEFAULT_TEXT_FIELD, DEFAULT_WORKERS, DedupeConfig
from ..features.batch import HashRows, PackedHashes
from ..features.minhash import estimate_jaccard
from ..features.pool import featurized
from ..io.records import Line, Record, Rejected, Waiting
from ..passages.matcher import PassageMatch, PassageMatcher
from ..passages.packed import PassageBatch
from .backend import Added, Held, IndexBackend, InMemory
from .clusters import cluster_entries
from .decide import take
from .documents import Documents
from .lsh import BandIndex, band_keys
from .outcome import MatchCounters, MatchOutcome, candidate_bin
from .similarity import jaccard, jaccard_many, shingle_set

# A record's best match among the backend's documents: (similarity, id, cluster id).
Remote = tuple[float, str, str]


class Match(NamedTuple):
    """The decision for one record (immutable).

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


class Result(NamedTuple):
    """A record and the decision about it (immutable)."""

    record: Record
    match: Match
    passages: list[PassageMatch] | None = None

    @property
    def is_duplicate(self) -> bool:
        return self.match.duplicate_of is not None


class Deduplicator:
    """Streaming near-duplicate detector: decides each record against all earlier ones.

    Holds the LSH index (:attr:`index`), what it knows of every document (:attr:`docs`: ids, labels,
    verification data, clusters), its counters (:attr:`counters`) and its backend (:attr:`backend`: where
    documents it does not hold are found; :class:`~dedupe.core.backend.InMemory` by default).

    Args:
        config: All matching parameters.
        clock: Time source for the timings (a seam for tests).
        max_chars: Decide on the first this many characters of each text (None: all).
        backend: Where the documents of other processes are (see :mod:`dedupe.core.backend`).

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
        backend: IndexBackend | None = None,
    ) -> None:
        self.config = config if config is not None else DedupeConfig()
        self.bands, self.rows = self.config.bands_rows
        self.clock = clock
        self.cap = self.config.lsh.bucket_cap
        self.index = BandIndex(self.bands, self.cap, batched=True)
        self.threshold = self.config.lsh.threshold
        self._exact = self.config.verify.mode == "exact"
        self.docs = Documents(self._exact)
        self.counters = MatchCounters()
        self.passages = PassageMatcher(self.config.passages) if self.config.passages is not None else None
        self.base = 0  # documents loaded from an index (earlier runs); this run's start at this position
        self.max_chars = max_chars
        self.backend: IndexBackend = backend if backend is not None else InMemory()
        # The clusters of backend documents that local clusters joined: they name those clusters from then on.
        self._remote_cluster: dict[int, str] = {}
        # Two passes (a --keep policy other than first; dedupe.core.twopass): verified pairs (later, earlier,
        # similarity) at or above the threshold, gathered while nothing is decided; None when deciding at once.
        self.pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def __len__(self) -> int:
        return len(self.docs)

    def add(self, record_id: str, hashes: np.ndarray, signature: np.ndarray) -> Match:
        """Decide one record from its features, then remember it for the ones after it."""
        signatures = signature[None, :]
        return self.add_batch([record_id], [hashes], signatures, band_keys(signatures, self.bands, self.rows))[0]

    def add_batch(self, ids: list[str], hashes: HashRows, signatures: np.ndarray, keys: np.ndarray) -> list[Match]:
        """Decide consecutive records, each against everything before it (earlier ones of the batch included).

        The batch's candidate pairs come from one :meth:`BandIndex.match_batch` (every band key of the batch
        looked up and inserted at once; the candidates of a record never depend on decisions), its
        verification data is stored at once, every pair is verified (:meth:`_verify`), and then the records are
        decided one by one, in stream order (only those with candidates, a few in a hundred, take any work).
        """
        n = len(ids)
        docs = self.docs
        first = len(docs)
        lengths = hashes.lengths() if isinstance(hashes, PackedHashes) else np.array([len(hashes[k]) for k in range(n)])
        indexed = lengths > 0
        with self.backend.lock():
            remote = self._remote_best(self.backend.candidates(keys, self.cap), hashes, signatures)
            pair_rows, pair_positions = self.index.match_batch(keys, first, indexed)
            # Every record with shingles is indexed, an exact copy of an earlier one too: with capped buckets,
            # which records fill a bucket decides what later records see, and the rule must not depend on matches.
            self._store(hashes, signatures, lengths)
            docs.clusters.extend(n)
            docs.ids.extend(ids)
            # Similarities never depend on decisions: every pair of the batch is verified first, then the records
            # are decided one by one, in stream order.
            # A row's pairs are pair_rows[bounds[g]:bounds[g + 1]] for its group g (rows with pairs ascending).
            starts = np.flatnonzero(np.diff(pair_rows, prepend=-1))
            bounds = [*starts.tolist(), len(pair_rows)]
            sims = self._verify(pair_rows, pair_positions, bounds, hashes, signatures, first)
            self.counters.candidates += len(pair_rows)
            counts = self.counters.similarity_counts
            for sim in sims:
                counts[candidate_bin(sim)] += 1
            if self.pending is not None:
                return self._gather(ids, pair_rows + first, pair_positions, sims)
            group_of = {r: g for g, r in enumerate(pair_rows[starts].tolist())}
            positions = pair_positions.tolist()
            out: list[Match] = []
            for k, (rid, has_shingles) in enumerate(zip(ids, indexed.tolist())):
                g = group_of.get(k)
                # Nothing to verify (a new singleton), or an empty text: kept, and it never matches.
                if (g is None and remote[k] is None) or not has_shingles:
                    docs.labels.append(first + k)
                    docs.kept.append(1)
                    out.append(Match(rid))
                    continue
                best, best_sim = -1, -1.0
                if g is not None:
                    lo, hi = bounds[g], bounds[g + 1]
                    best, best_sim = take(
                        first + k, positions[lo:hi], sims[lo:hi], self.threshold, docs.join, docs.is_kept
                    )
                out.append(self._decided(first + k, best, best_sim, remote[k]))

            def payload(k: int) -> bytes:  # a shared index holds shingle sets, as every dedupe version reads them
                return (shingle_set(hashes[k]) if self._exact else np.ascontiguousarray(signatures[k])).tobytes()

            def indexed_rows() -> list[Added]:  # every record with shingles
                return [
                    (rid, out[k].cluster, keys[k], payload(k), out[k].duplicate_of is None)
                    for k, rid in enumerate(ids)
                    if indexed[k]
                ]

            self.backend.add(indexed_rows)
        return out

    def _gather(self, ids: list[str], later: np.ndarray, earlier: np.ndarray, sims: list[float]) -> list[Match]:
        """Two passes: keep the batch's pairs at or above the threshold and join their clusters; decide nothing
        (every record counts as kept and its own label until :func:`~dedupe.core.twopass.settle`)."""
        assert self.pending is not None
        similarity = np.asarray(sims, dtype=np.float64)
        match = similarity >= self.threshold
        self.pending.append((later[match], earlier[match], similarity[match]))
        for i, j in zip(later[match].tolist(), earlier[match].tolist()):
            self.docs.join(i, j)
        first = len(self.docs.labels)
        self.docs.labels.extend(range(first, first + len(ids)))
        self.docs.kept.extend(b"\x01" * len(ids))
        return [Match(rid) for rid in ids]

    def _store(self, hashes: HashRows, signatures: np.ndarray, lengths: np.ndarray) -> None:
        """Keep the batch's verification data (shingle hashes, or signatures), by document number."""
        if self._exact:
            if isinstance(hashes, PackedHashes):
                values, offsets = hashes.values, np.asarray(hashes.offsets, dtype=np.int64)
            else:
                rows = [hashes[k] for k in range(len(lengths))]
                values = np.concatenate(rows) if rows else np.empty(0, dtype=np.uint64)
                offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        else:  # a signature per record with shingles, none for an empty text (never a candidate)
            values = signatures[lengths > 0].ravel()
            offsets = np.concatenate(([0], np.cumsum((lengths > 0) * signatures.shape[1]))).astype(np.int64)
        self.docs.stored.extend(values, offsets)

    def _remote_best(self, found: list[list[Held]], hashes: HashRows, signatures: np.ndarray) -> list[Remote | None]:
        """For each record, its best match among the backend's documents, or None."""
        dtype = self.docs.stored.dtype
        counts = self.counters.similarity_counts
        out: list[Remote | None] = []
        for k, held in enumerate(found):
            if not held:
                out.append(None)
                continue
            sims = []
            mine = shingle_set(hashes[k]) if self._exact else signatures[k]
            for _, _, payload, _ in held:  # earliest first: the earliest document wins a tie
                other = np.frombuffer(payload, dtype=dtype)
                sim = jaccard(mine, shingle_set(other)) if self._exact else estimate_jaccard(mine, other)
                counts[candidate_bin(sim)] += 1
                sims.append(sim)
            # Documents held elsewhere are not in this matcher's clusters: nothing to join, only the best kept.
            kept = [doc[3] for doc in held]
            best, sim = take(-1, range(len(held)), sims, self.threshold, lambda a, b: None, kept.__getitem__)
            out.append((sim, held[best][0], held[best][1]) if best >= 0 else None)
        return out

    def _verify(
        self,
        rows: np.ndarray,
        positions: np.ndarray,
        bounds: list[int],
        hashes: HashRows,
        signatures: np.ndarray,
        first: int,
    ) -> list[float]:
        """The similarity of each candidate pair (batch row, earlier position; sorted by row, a row's pairs between
        consecutive ``bounds``): exact Jaccard of the shingle sets, or the MinHash estimate. A candidate's stored
        data is read once for the batch, and each row's set is searched for all its candidates' values at once
        (:func:`~dedupe.core.similarity.jaccard_many`)."""
        if len(rows) == 0:
            return []
        stored = self.docs.stored
        if not self._exact:
            return [estimate_jaccard(signatures[r], stored.get(j)) for r, j in zip(rows.tolist(), positions.tolist())]
        all_positions = positions.tolist()
        earlier = sorted({j for j in all_positions if j < first})  # read from the store at once
        stored_rows = dict(zip(earlier, stored.get_many(earlier)))
        sets: dict[int, np.ndarray] = {}
        out: list[float] = []
        for lo, hi in pairwise(bounds):
            own = hashes[int(rows[lo])]
            sims = [1.0] * (hi - lo)
            others, at_pair = [], []
            for t, j in enumerate(all_positions[lo:hi]):
                stored_hashes = hashes[j - first] if j >= first else stored_rows[j]
                # The same shingles in the same order (an exact copy, after normalization): the same set, whose
                # similarity is exactly 1.0, as the formula below gives it; no set needed.
                if len(stored_hashes) == len(own) and bool((stored_hashes == own).all()):
                    continue
                other = sets.get(j)
                if other is None:
                    other = sets[j] = shingle_set(stored_hashes)
                others.append(other)
                at_pair.append(t)
            if others:
                for t, sim in zip(at_pair, jaccard_many(shingle_set(own), others)):
                    sims[t] = sim
            out.extend(sims)
        return out

    def _decided(self, i: int, best: int, similarity: float, remote: Remote | None = None) -> Match:
        ids = self.docs.ids
        root = self.docs.clusters.find(i)
        self.docs.labels.append(root)
        if remote is not None:  # the cluster of another process's document names this local cluster from now on
            self._remote_cluster.setdefault(root, remote[2])
        cluster = self._remote_cluster.get(root, ids[root]) if self._remote_cluster else ids[root]
        kept = remote is None and best < 0  # no kept record matched: kept, even when it joined a cluster
        self.docs.kept.append(kept)
        if kept:
            self.counters.kept_linked += root != i
            return Match(cluster)
        if remote is not None and remote[0] >= similarity:  # a tie goes to the backend's (earlier) document
            return Match(cluster, remote[1], round(remote[0], 6))
        return Match(cluster, ids[best], round(similarity, 6))

    def run(
        self,
        items: Iterable[Record | Rejected | Line | Waiting],
        workers: int = DEFAULT_WORKERS,
        batch_size: int = BATCH_RECORDS,
        stop: Callable[[], bool] | None = None,
        after_batch: Callable[[], None] | None = None,
        stop_at_reject: bool = False,
        fields: tuple[str, str] = (DEFAULT_TEXT_FIELD, DEFAULT_ID_FIELD),
        admit: Callable[[Record], Rejected | None] | None = None,
        replay: Callable[[int], list[Match]] | None = None,
    ) -> Iterator[Result | Rejected]:
        """Decide every record of ``items`` in order; Rejected items pass through in place.

        Args:
            items: Records (and rejects) in stream order, or JSONL lines not parsed yet (a
                :class:`~dedupe.io.records.Line`, from :func:`~dedupe.io.records.read_lines`: parsed where the
                features are computed, into the Record or the Rejected that comes out here); a
                :class:`~dedupe.io.records.Waiting` (the input has nothing more yet) ends the current batch early.
            workers: Processes, this one included: with 1 a helper thread of this process computes the features;
                with more, ``workers - 1`` other processes do while this one matches. The output does not depend
                on it.
            batch_size: Records per feature batch.
            stop: Asked before each batch is decided; when it answers True the run ends there, so
                everything decided has been yielded (read-ahead batches are dropped undecided).
            after_batch: Called once the consumer has taken every item of a batch: the state then
                matches what was yielded (the moment to checkpoint).
            stop_at_reject: End the run at the first Rejected, deciding nothing after it (for a
                caller that stops there: the state then holds exactly the records yielded).
            fields: The text field and the id field lines are parsed with.
            admit: Asked of each record, in stream order, before it is matched: a Rejected it answers takes
                the record's place (the record is never matched or indexed).
            replay: The second pass of two (:mod:`dedupe.core.twopass`): gives the decisions of the next
                this many records, already made; the run only matches passages (of kept records) and yields.
        """
        hashes: HashRows
        passage_feats: PassageBatch | None
        counters = self.counters
        # Gathering pairs for two passes, passages wait for the second (only kept records' passages are matched).
        config = self.config if self.pending is None else replace(self.config, passages=None)
        for batch, ((hashes, signatures, keys, seconds), passage_feats) in featurized(
            items, config, workers, batch_size, self.max_chars, stop, fields, documents=replay is None
        ):
            if stop is not None and stop():
                return
            counters.feature_seconds += seconds
            start = self.clock()
            last = False
            if admit is not None:
                batch, rows = _admitted(batch, admit)
                if rows is not None:
                    hashes, signatures, keys = [hashes[k] for k in rows], signatures[rows], keys[rows]
                    passage_feats = passage_feats.select(rows) if passage_feats is not None else None
            if stop_at_reject:
                cut = next((k for k, item in enumerate(batch) if isinstance(item, Rejected)), None)
                if cut is not None:
                    batch, last = batch[: cut + 1], True
                    n = sum(1 for item in batch if isinstance(item, Record))
                    hashes, signatures, keys = [hashes[k] for k in range(n)], signatures[:n], keys[:n]
                    passage_feats = passage_feats.select(range(n)) if passage_feats is not None else None
            records = [item for item in batch if isinstance(item, Record)]
            if self.max_chars is not None:
                counters.truncated += sum(len(r.text) > self.max_chars for r in records) if replay is None else 0
            if replay is None:
                matches = self.add_batch([r.id for r in records], hashes, signatures, keys)
            else:
                matches = replay(len(records))
            found: list[list[PassageMatch] | None] = [None] * len(records)
            if self.passages is not None and passage_feats is not None:
                keep = [k for k, m in enumerate(matches) if m.duplicate_of is None]
                lists = self.passages.add_batch(
                    [records[k].id for k in keep],
                    [records[k].text[: self.max_chars] for k in keep],
                    passage_feats.select(keep),
                )
                for k, lst in zip(keep, lists):
                    found[k] = lst
            it = iter(zip(matches, found))
            out = [item if isinstance(item, Rejected) else Result(item, *next(it)) for item in batch]
            counters.match_seconds += self.clock() - start
            yield from out
            if last:
                return
            if after_batch is not None:
                after_batch()

    def repeated_ids(self) -> int:
        """Records of this run whose id an earlier record (of this run or of the index) already had.

        Ids need not be unique: every record is decided on its own, so a record
        repeating an earlier one's id and text is its duplicate (``duplicate_of``
        then names that same id).
        """
        return self.docs.repeated_ids(self.base)

    def cluster_groups(self) -> list[tuple[int, list[int]]]:
        """Every cluster with a member from this run, as document numbers: (root, members in input order),
        largest first (ties: first seen first). This run's documents are numbered from :attr:`base` in output
        order; smaller numbers are earlier runs' documents (from an index)."""
        return self.docs.groups(self.base)

    def clusters(self) -> list[dict[str, Any]]:
        """Every cluster with more than one member, largest first (ties: first seen first).

        Each entry: ``cluster`` (id of the first-seen member), ``size``,
        ``members`` (ids in input order) and, when a later record joined two
        clusters after some members had been written with another cluster id,
        ``output_labels`` (the cluster ids its members carry in the output).
        With documents loaded from an index, only clusters with a member from
        this run are listed, and ``from_index`` counts their earlier members.
        """
        docs = self.docs
        return cluster_entries(self.cluster_groups(), docs.ids.__getitem__, docs.labels.__getitem__, self.base)

    def outcome(self) -> MatchOutcome:
        """What this matcher decided so far, as the report reads it."""
        return MatchOutcome(
            config=self.config,
            max_chars=self.max_chars,
            counters=self.counters,
            repeated_ids=self.repeated_ids(),
            groups=self.cluster_groups(),
            id_of=self.docs.ids.__getitem__,
            label_of=self.docs.labels.__getitem__,
            base=self.base,
            passage_report=self.passages.report if self.passages is not None else None,
        )


def _admitted(
    batch: list[Record | Rejected], admit: Callable[[Record], Rejected | None]
) -> tuple[list[Record | Rejected], list[int] | None]:
    """The batch with the records ``admit`` rejects replaced by their Rejected, and the feature rows of the
    records left (None: all of them)."""
    out: list[Record | Rejected] = []
    rows: list[int] = []
    k = 0
    for item in batch:
        if isinstance(item, Record):
            refused = admit(item)
            if refused is None:
                rows.append(k)
            k += 1
            out.append(item if refused is None else refused)
        else:
            out.append(item)
    return out, rows if len(rows) < k else None


def deduplicate(
    items: Iterable[Record | Rejected], config: DedupeConfig | None = None, workers: int = DEFAULT_WORKERS
) -> Iterator[Result | Rejected]:
    """Decide every record against the ones before it (see :class:`Deduplicator`).

    Example:
        >>> text = "Pakistan stands with Azerbaijan in its quest to resolve the issue"
        >>> results = deduplicate([Record("1", text), Record("2", text + "!")])
        >>> [(r.record.id, r.match.duplicate_of) for r in results]
        [('1', None), ('2', '1')]
    """
    return Deduplicator(config).run(items, workers=workers)
