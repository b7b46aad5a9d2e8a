"""Two passes over the input, for a ``--keep`` policy other than ``first``.

1. :func:`gather`: every record's features, candidates and verified pairs, as the streaming engine finds them
   (the same index, the same bucket cap), and its rank under the policy; nothing is decided or written.
2. :func:`settle`: :func:`~dedupe.core.keep.select` decides every record from the pairs, in policy order.
3. The input is read again and each record is written, in input order, with its decision (passages of kept
   records are matched then, in input order, as in one pass).

Labels: a record's ``cluster`` is its final cluster's first-seen member (all pairs are known when it is
written), so no cluster is ever renamed after its members were written.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

import numpy as np

from ..io.records import Record, Rejected
from .keep import KeepPolicy, Ranker, select
from .matcher import Deduplicator, Match, Result


class Settled:
    """The decisions of this run's records, in input order (what the second pass writes).

    Attributes:
        best: Each record's ``duplicate_of`` as a document number (-1: kept).
        similarity: Its similarity (-1.0: kept).
    """

    def __init__(self, dedup: Deduplicator, best: np.ndarray, similarity: np.ndarray) -> None:
        self.dedup = dedup
        self.best = best
        self.similarity = similarity
        self.at = 0

    def __call__(self, n: int) -> list[Match]:
        """The decisions of the next ``n`` records."""
        docs, base = self.dedup.docs, self.dedup.base
        ids, labels = docs.ids, docs.labels
        out = []
        for k in range(self.at, self.at + n):
            best = int(self.best[k])
            cluster = ids[labels[base + k]]
            out.append(Match(cluster) if best < 0 else Match(cluster, ids[best], round(float(self.similarity[k]), 6)))
        self.at += n
        return out


def gather(dedup: Deduplicator, ranker: Ranker, run: Callable[..., Iterator[Result | Rejected]]) -> np.ndarray:
    """The first pass: run ``run`` (a :meth:`Deduplicator.run` with its items bound) gathering pairs; returns the
    ranks of the records it matched, in input order."""
    ranks = array("d")

    def admit(record: Record) -> Rejected | None:
        rank = ranker(record)
        if isinstance(rank, Rejected):
            return rank
        ranks.append(rank)
        return None

    dedup.pending = []
    for _ in run(admit=admit):
        pass
    # A run that ends at a bad line ranked the records of its last batch after that line too: they were not matched.
    return np.array(ranks[: len(dedup.docs) - dedup.base], dtype=np.float64)


def settle(dedup: Deduplicator, ranks: np.ndarray) -> Settled:
    """Decide this run's records from the gathered pairs, in policy order; set their labels (final cluster
    roots) and kept flags in ``dedup``, and count the kept records that matched one visited before them."""
    assert dedup.pending is not None
    pending, dedup.pending = dedup.pending, None
    empty = np.empty(0, dtype=np.int64)
    pi = np.concatenate([p[0] for p in pending]) if pending else empty
    pj = np.concatenate([p[1] for p in pending]) if pending else empty
    ps = np.concatenate([p[2] for p in pending]) if pending else np.empty(0)
    docs, base = dedup.docs, dedup.base
    chosen = select(base, ranks, pi, pj, ps, dedup.threshold, docs.is_kept)
    first = select(base, np.zeros(len(ranks)), pi, pj, ps, dedup.threshold, docs.is_kept)  # what first decides
    kept, kept_first = chosen.best < 0, first.best < 0
    dedup.counters.policy_changes = (int((kept & ~kept_first).sum()), int((~kept & kept_first).sum()))
    find = docs.clusters.find
    for k, best in enumerate(chosen.best.tolist()):
        docs.labels[base + k] = find(base + k)
        docs.kept[base + k] = best < 0
    dedup.counters.kept_linked += chosen.linked
    return Settled(dedup, chosen.best, chosen.similarity)


def two_passes(
    dedup: Deduplicator,
    policy: KeepPolicy,
    text_field: str,
    first: Callable[..., Iterator[Result | Rejected]],
    second: Callable[..., Iterator[Result | Rejected]],
    stopped: Callable[[], bool],
    done: Callable[[Settled], None] = lambda settled: None,
) -> Iterator[Result | Rejected]:
    """Every record decided under ``policy``, in input order: ``first`` and ``second`` are the same
    :meth:`Deduplicator.run` over two reads of the input (keywords ``admit`` and ``replay`` are added).
    Nothing is yielded when ``stopped`` answers True after the first pass. ``done`` gets the decisions once
    they are made."""
    ranks = gather(dedup, policy.ranker(text_field), first)
    if stopped():
        return
    settled = settle(dedup, ranks)
    done(settled)
    second_ranker = policy.ranker(text_field)  # rejects the same records again, with the same reasons

    def admit(record: Record) -> Rejected | None:
        rank = second_ranker(record)
        return rank if isinstance(rank, Rejected) else None

    yield from second(admit=admit, replay=settled)
