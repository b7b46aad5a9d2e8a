"""What a run decided, in the one shape the report reads from either engine.

:class:`MatchCounters` are what matching counts as it goes (candidates, their similarities, the time spent);
:class:`MatchOutcome` adds the clusters and the passage report at the end of a run. The streaming engine's
:meth:`~dedupe.core.matcher.Deduplicator.outcome` and the Ray engine both hand
:func:`~dedupe.report.build.build_report` a :class:`MatchOutcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..config import DedupeConfig
from .clusters import cluster_entries

# Similarities of verified candidates in bins of 0.01; the last bin, 100, holds 1.0 alone.
SIMILARITY_BINS = 101


def candidate_bin(similarity: float) -> int:
    """The bin of :attr:`MatchCounters.similarity_counts` that counts ``similarity`` (in [0, 1])."""
    return int(similarity * 100 + 1e-9)


@dataclass
class MatchCounters:
    """What matching counted.

    Attributes:
        candidates: Candidate pairs verified (LSH candidates of this process's index).
        similarity_counts: Verified candidates by similarity, :data:`SIMILARITY_BINS` bins (see
            :func:`candidate_bin`). A plain list: one increment per candidate costs less than a numpy call.
        feature_seconds: Time spent computing features (summed over workers).
        match_seconds: Time spent deciding records in stream order.
        truncated: Records whose text was cut at ``--max-chars`` for matching.
        kept_linked: Records kept although they matched a record at or above the threshold, because every
            record they matched was itself a duplicate (the end of a chain; they share their cluster).
        policy_changes: With a --keep policy other than first: (records it kept that first would drop,
            records it dropped that first would keep); None otherwise.
    """

    candidates: int = 0
    similarity_counts: list[int] = field(default_factory=lambda: [0] * SIMILARITY_BINS)
    feature_seconds: float = 0.0
    match_seconds: float = 0.0
    truncated: int = 0
    kept_linked: int = 0
    policy_changes: tuple[int, int] | None = None


@dataclass(frozen=True)
class MatchOutcome:
    """The decisions of a run, as the report reads them.

    Attributes:
        config: The matching parameters.
        max_chars: The ``--max-chars`` cut (None: none).
        counters: What matching counted.
        repeated_ids: Records of this run whose id an earlier record already had.
        groups: Every cluster with a member from this run, as (root, members in input order) document numbers,
            largest first (ties: first seen first). Numbers below ``base`` are earlier runs' documents.
        id_of: The id of a document number.
        label_of: The number of the cluster label a document was written with.
        base: Documents loaded from an index before this run.
        passage_report: The passages section of the report, given whether the run removes passages
            (``filter``); None without ``--passages``.
    """

    config: DedupeConfig
    max_chars: int | None
    counters: MatchCounters
    repeated_ids: int
    groups: list[tuple[int, list[int]]]
    id_of: Callable[[int], str]
    label_of: Callable[[int], int]
    base: int = 0
    passage_report: Callable[[bool], dict[str, Any]] | None = None

    @cached_property
    def clusters(self) -> list[dict[str, Any]]:
        """The report's cluster entries (see :func:`~dedupe.core.clusters.cluster_entries`)."""
        return cluster_entries(self.groups, self.id_of, self.label_of, self.base)
