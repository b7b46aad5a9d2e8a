"""What passage matching counts over a run (:class:`PassageStats`), and the ``passages`` part of the run report
built from it (:func:`passage_report`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import PassageConfig

# What the report counts repeats as (PassageMatch.repeat_kind): passages by kind, quotes and formulae.
REPEAT_KINDS = ("exact", "near", "boilerplate", "quote", "formula")


@dataclass
class PassageStats:
    """Counters over a run (for the report)."""

    documents: int = 0
    passages: int = 0
    indexed: int = 0
    candidates: int = 0
    candidates_max: int = 0
    raw_candidates: int = 0
    exact_hits: int = 0
    number_mismatches: int = 0
    name_mismatches: int = 0
    word_mismatches: int = 0
    capped: int = 0
    found: Counter[str] = field(default_factory=Counter)
    chars: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def count_candidates(self, raw: int, cap: int) -> None:
        """Count a passage's ``raw`` candidates, of which at most ``cap`` are verified."""
        chosen = min(raw, cap)
        self.raw_candidates += raw
        self.capped += raw > chosen
        self.candidates += chosen
        self.candidates_max = max(self.candidates_max, chosen)

    def count_rejected(self, rule: str) -> None:
        """Count a candidate that a pair rule ("words", "numbers" or "names") rejected."""
        if rule == "words":
            self.word_mismatches += 1
        elif rule == "numbers":
            self.number_mismatches += 1
        else:
            self.name_mismatches += 1

    def count_settled(self, raw: np.ndarray, cap: int) -> None:
        """:meth:`count_candidates` of many passages at once (``raw``: each one's candidates; 0: none, not
        counted)."""
        raw = raw[raw > 0]
        if not len(raw):
            return
        chosen = np.minimum(raw, cap)
        self.raw_candidates += int(raw.sum())
        self.capped += int(np.count_nonzero(raw > cap))
        self.candidates += int(chosen.sum())
        self.candidates_max = max(self.candidates_max, int(chosen.max()))


def passage_report(
    config: PassageConfig, stats: PassageStats, top: list[dict[str, Any]], removing: bool = False
) -> dict[str, Any]:
    """The ``passages`` part of the run report: the parameters, the counts of ``stats`` and the most repeated
    passage groups ``top``; with ``removing``, what a filter run removed from the texts."""
    queried = stats.passages - stats.exact_hits
    out = {
        "parameters": config.parameters(),
        "documents": stats.documents,
        "passages": stats.passages,
        "indexed": stats.indexed,
        "found": {k: stats.found.get(k, 0) for k in REPEAT_KINDS},
        "chars": {k: stats.chars.get(k, 0) for k in REPEAT_KINDS},
        "candidates": {
            "verified": stats.candidates,
            "before_cap": stats.raw_candidates,
            "per_passage": round(stats.candidates / max(1, queried), 3),
            "max_per_passage": stats.candidates_max,
            "capped_passages": stats.capped,
            "rejected_for_numbers": stats.number_mismatches,
            "rejected_for_names": stats.name_mismatches,
            "rejected_for_shared_words": stats.word_mismatches,
        },
        "seconds": round(stats.seconds, 3),
        "top": top,
    }
    if removing:
        out["removed"] = {
            k: {"passages": stats.found.get(k, 0), "chars": stats.chars.get(k, 0)}
            for k in ("exact", "near", "boilerplate")
        }
    return out
