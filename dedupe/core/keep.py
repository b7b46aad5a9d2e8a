"""Which copy a run keeps (``--keep``): the policy, each record's rank under it, and the selection.

A record is dropped only as a duplicate of a record that is kept, at or above the threshold (the rule of
:mod:`dedupe.core.decide`). Under ``first`` records are decided as they arrive, each against the records kept
before it. Under any other policy the run first finds every verified pair, then :func:`select` visits the
records in policy order (the most preferred first; ties go to the first seen): a record is dropped as a
duplicate of the best kept record it matches, else kept. Visiting in input order, this is exactly the
streaming rule, so ``first`` and the selection agree (tests hold them to it).

Ranks: ``longest`` prefers more characters of text; ``field:NAME`` (``:max`` by default, or ``:min``) compares
the field's numbers, or its strings as ISO 8601 dates or times (a time without a zone is read as UTC). A record
without the field (or with null) ranks after every record that has it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Literal

import numpy as np
import orjson

from ..config import DEFAULT_KEEP, ConfigError
from ..io.records import Record, Rejected

PolicyKind = Literal["first", "longest", "field"]

# A rank: larger is preferred; NaN ranks last (a record without the field).
MISSING = math.nan


@dataclass(frozen=True)
class KeepPolicy:
    """Which copy of near-duplicates is kept.

    Args:
        kind: "first" (the first seen; streaming), "longest" (most characters of text) or "field".
        field: The field ranked by, with kind "field".
        order: "max" (the largest value is kept) or "min".

    Example:
        >>> KeepPolicy.parse("field:published:min")
        KeepPolicy(kind='field', field='published', order='min')
        >>> str(KeepPolicy.parse("longest")), KeepPolicy.parse("first").streaming
        ('longest', True)
    """

    kind: PolicyKind = "first"
    field: str | None = None
    order: Literal["max", "min"] = "max"

    @classmethod
    def parse(cls, text: str = DEFAULT_KEEP) -> KeepPolicy:
        """The policy ``--keep`` names: ``first``, ``longest`` or ``field:NAME[:max|min]``.

        Raises:
            ConfigError: anything else.
        """
        if text in ("first", "longest"):
            return cls(text)  # type: ignore[arg-type]
        if text.startswith("field:"):
            name, _, order = text[len("field:") :].partition(":")
            if name and order in ("", "max", "min"):
                return cls("field", name, "min" if order == "min" else "max")
        raise ConfigError(
            f"--keep must be first, longest or field:NAME[:max|min] (e.g. field:score, field:date:min); got {text!r}"
        )

    def __str__(self) -> str:
        return f"field:{self.field}:{self.order}" if self.kind == "field" else self.kind

    @property
    def streaming(self) -> bool:
        """Records are decided as they arrive (one pass); any other policy reads the input twice."""
        return self.kind == "first"

    def ranker(self, text_field: str) -> Ranker:
        """A fresh :class:`Ranker` for one run (it remembers whether the field holds numbers or dates)."""
        return Ranker(self, text_field)


class Ranker:
    """Each record's rank under a policy, in stream order: a number, larger preferred (NaN: ranks last).

    Under ``field:NAME`` the first value seen decides whether the field holds numbers or dates; a value of
    another kind (a string that is no ISO date, a boolean, a list, a date among numbers) is a Rejected
    (code ``bad_keep_field``) naming the line.
    """

    def __init__(self, policy: KeepPolicy, text_field: str) -> None:
        self.policy = policy
        self.text_field = text_field
        self.kind: str | None = None  # "number" or "date", once a value was seen

    def __call__(self, record: Record) -> float | Rejected:
        if self.policy.kind == "longest":
            return float(len(record.text))
        if self.policy.kind == "first":
            return 0.0
        name = self.policy.field
        assert name is not None
        value = field_value(record.raw, name)
        if value is None:
            return MISSING
        rank = self._value(value)
        if isinstance(rank, str):
            reason = f"field {name!r} for --keep {self.policy}: {rank}"
            return Rejected(record.line, record.source, "bad_keep_field", reason, record.raw, record.number)
        return rank if self.policy.order == "max" else -rank

    def _value(self, value: object) -> float | str:
        """The value's rank, or why it cannot be ranked."""
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return f"{orjson.dumps(value).decode()[:40]} is neither a number nor an ISO 8601 date"
        if isinstance(value, str):
            kind, rank = "date", iso_timestamp(value)
            if rank is None:
                return f"{value[:40]!r} is not an ISO 8601 date (e.g. 2024-05-01 or 2024-05-01T12:00:00Z)"
        else:
            kind, rank = "number", float(value)
            if not math.isfinite(rank):
                return f"{value} is not a finite number"
        if self.kind is not None and kind != self.kind:
            return f"{value!r} is a {kind}, but earlier records hold {self.kind}s (one kind per field)"
        self.kind = kind
        return rank


def field_value(raw: bytes, name: str) -> object:
    """Field ``name`` of a record's JSON line, or None when it is absent or null (or the record has no JSON line).

    Example:
        >>> field_value(b'{"text": "a", "score": 3}', "score"), field_value(b'{"text": "a"}', "score")
        (3, None)
    """
    try:
        found: object = orjson.loads(raw).get(name) if raw else None
    except (orjson.JSONDecodeError, AttributeError):  # not an object
        found = None
    return found


def iso_timestamp(text: str) -> float | None:
    """Seconds since 1970 of an ISO 8601 date or date and time (UTC when no zone is given), or None.

    Example:
        >>> iso_timestamp("1970-01-02"), iso_timestamp("1970-01-01T01:00:00+01:00"), iso_timestamp("May 1")
        (86400.0, 0.0, None)
    """
    try:
        if len(text) <= 10 and "T" not in text:
            when = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


@dataclass(frozen=True)
class Selection:
    """Decisions for records ``base .. base + len(best) - 1`` (this run's), by :func:`select`.

    Attributes:
        best: The kept record each record is a duplicate of (-1: kept).
        similarity: Its similarity (-1.0 when kept).
        linked: Records kept although they matched a record visited before them (every such record was a
            duplicate, or an earlier run's duplicate).
    """

    best: np.ndarray
    similarity: np.ndarray
    linked: int = 0


def policy_order(ranks: np.ndarray) -> np.ndarray:
    """This run's records in the order a policy visits them: the largest rank first, NaN last, ties by input
    order (a stable sort of the negated ranks, NaN mapped past every number)."""
    key = np.where(np.isnan(ranks), np.inf, -ranks)
    return np.argsort(key, kind="stable")


def select(
    base: int,
    ranks: np.ndarray,
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    sims: np.ndarray,
    threshold: float,
    fixed_kept: Callable[[int], bool],
) -> Selection:
    """Decide this run's records (numbered ``base`` on) in policy order from their verified pairs.

    Args:
        base: Documents numbered below it are earlier runs' (from an index): already written, so fixed. One
            that was kept is preferred to every record of this run; one that was a duplicate is nobody's
            ``duplicate_of``.
        ranks: This run's records' ranks (larger preferred, NaN last).
        pairs_i, pairs_j, sims: Verified pairs (later, earlier document number) and their similarity.
        threshold: Pairs below it are ignored.
        fixed_kept: Whether an earlier run's document (number < ``base``) was kept.

    A record is a duplicate of the kept record it matches best (at or above ``threshold``; a tie goes to the
    one visited first, an earlier run's before this run's), else kept.

    Example:
        >>> sel = select(0, np.array([1.0, 5.0, 3.0]), np.array([1, 2]), np.array([0, 1]),
        ...              np.array([0.9, 0.9]), 0.8, lambda j: True)
        >>> sel.best.tolist()  # 1 is longest: 0 and 2 are its duplicates
        [1, -1, 1]
    """
    n = len(ranks)
    keep = sims >= threshold
    pi, pj, ps = pairs_i[keep], pairs_j[keep], sims[keep]
    # Every pair in both directions, grouped by the record it belongs to (CSR).
    src = np.concatenate([pi, pj])
    dst = np.concatenate([pj, pi])
    sim = np.concatenate([ps, ps])
    mine = src >= base
    src, dst, sim = src[mine] - base, dst[mine], sim[mine]
    order = np.argsort(src, kind="stable")
    src, dst, sim = src[order], dst[order], sim[order]
    starts = np.searchsorted(src, np.arange(n + 1))
    visits = policy_order(ranks)
    visit_of = np.empty(n, dtype=np.int64)
    visit_of[visits] = np.arange(n)
    best = np.full(n, -1, dtype=np.int64)
    similarity = np.full(n, -1.0)
    kept = np.zeros(n, dtype=bool)
    with_pairs = np.flatnonzero(np.diff(starts))
    dst_list, sim_list, visit_list = dst.tolist(), sim.tolist(), visit_of.tolist()
    linked = 0
    for r in sorted(with_pairs.tolist(), key=visit_list.__getitem__):
        lo, hi = int(starts[r]), int(starts[r + 1])
        choice, choice_sim, choice_visit = -1, -1.0, math.inf
        before = False  # a record visited before r matched it
        for j, s in zip(dst_list[lo:hi], sim_list[lo:hi]):
            if j < base:
                before = True
                if not fixed_kept(j):
                    continue
                visit = j - base  # an earlier run's document: before all of this run, in their order
            else:
                visit = visit_list[j - base]
                before = before or visit < visit_list[r]
                if not kept[j - base]:
                    continue
            if s > choice_sim or (s == choice_sim and visit < choice_visit):
                choice, choice_sim, choice_visit = j, s, visit
        if choice < 0:
            kept[r] = True
            linked += before
        else:
            best[r], similarity[r] = choice, choice_sim
    return Selection(best, similarity, linked)
