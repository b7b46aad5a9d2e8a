"""Which copy ``--keep`` keeps, explained: for the pair ``dedupe explain`` looks at (:func:`keep_ranks`,
:func:`keep_verdict`), and what a whole scan of the input decided for them (:func:`decisions_in_run`,
``--in-run``).

The ranks come from the :class:`~dedupe.core.keep.Ranker` a run ranks with, and the order from
:func:`~dedupe.core.keep.policy_order`, A counted as the first seen; the whole-run decisions from the same
:meth:`~dedupe.core.matcher.Deduplicator.run` and :func:`~dedupe.core.twopass.two_passes` a scan runs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import cast

import numpy as np
import orjson

from .config import DEFAULT_ID_FIELD, DEFAULT_TEXT_FIELD, ConfigError, DedupeConfig
from .core.keep import KeepPolicy, Ranker, field_value, policy_order
from .core.matcher import Deduplicator, Match, Result
from .core.twopass import two_passes
from .explanation import LABELS, Document, KeepVerdict, RunDecision
from .io.records import InputError, ReadStats, Record, Rejected, display_name, read_records


def _missing(value: object) -> int | float | str:
    """A field's value as explain shows it: "missing" when absent or null (the Ranker refused any other kind)."""
    return "missing" if value is None else cast("int | float | str", value)


def decisions_in_run(
    path: str,
    ids: Sequence[str],
    config: DedupeConfig,
    policy: KeepPolicy,
    text_field: str = DEFAULT_TEXT_FIELD,
    id_field: str = DEFAULT_ID_FIELD,
    max_chars: int | None = None,
) -> tuple[RunDecision, ...]:
    """What a scan of the file ``path`` decides for the first record of each of ``ids`` (labelled A, B, ...), with
    ``config`` and ``policy`` (two reads of the file for a policy other than first; bad lines pass through, as
    with ``--rejects``: the command line has refused a file with one already, as :func:`find_records` does).

    Raises:
        ConfigError: ``path`` is standard input (it cannot be read again).
        InputError: the file cannot be read.

    Example:
        >>> import os, tempfile
        >>> text = "the quick brown fox jumps over the lazy dog and runs far away " * 3
        >>> path = os.path.join(tempfile.mkdtemp(), "in.jsonl")
        >>> _ = open(path, "w").write("".join(f'{{"id": "{k}", "text": "{t}"}}\\n' for k, t in
        ...                             [("a", text), ("b", text + "again")]))
        >>> [d.duplicate_of for d in decisions_in_run(path, ["a", "b"], DedupeConfig(), KeepPolicy.parse("longest"))]
        ['b', None]
    """
    if path == "-":
        raise ConfigError("--in-run scans the --input file, which standard input cannot be: give a file")
    config = dataclasses.replace(config, passages=None)
    dedup = Deduplicator(config, max_chars=max_chars or None)

    def read() -> Iterator[Record | Rejected]:
        return read_records([path], text_field, id_field, ReadStats())

    if policy.streaming:
        results: Iterator[Result | Rejected] = dedup.run(read())
    else:
        results = two_passes(
            dedup,
            policy,
            text_field,
            lambda **kw: dedup.run(read(), **kw),
            lambda **kw: dedup.run(read(), **kw),
            lambda: False,
        )
    found: dict[str, Match] = {}
    wanted = set(ids)
    for item in results:
        if isinstance(item, Result) and item.record.id in wanted and item.record.id not in found:
            found[item.record.id] = item.match
    missing = [i for i in ids if i not in found]
    if missing:
        raise InputError(f"{display_name(path)}: no record with id {missing[0]!r} (--in-run)")
    return tuple(
        RunDecision(label, i, found[i].duplicate_of, found[i].similarity, found[i].cluster)
        for label, i in zip(LABELS, ids)
    )


def check_keep(policy: KeepPolicy, records: bool) -> None:
    """Refuse ``--keep field:NAME`` for raw text files (``records`` False): they have no fields.

    Raises:
        ConfigError: the policy ranks by a field and the documents are not records.

    Example:
        >>> check_keep(KeepPolicy.parse("longest"), records=False)
        >>> check_keep(KeepPolicy.parse("field:score"), records=False)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        dedupe.config.ConfigError: --keep field:score:max ranks records by a field, and raw text files have none: ...
    """
    if policy.kind == "field" and not records:
        raise ConfigError(
            f"--keep {policy} ranks records by a field, and raw text files have none: give two record ids with "
            "--input FILE (or use --keep first or longest)"
        )


def _shown(value: object) -> str:
    """A field's value as the text shows it: a date string as it is, a number as in JSON (a year stays 2024)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def keep_ranks(policy: KeepPolicy, docs: tuple[Document, Document]) -> tuple[list[float], Ranker]:
    """A's and B's ranks under ``policy``, by the :class:`dedupe.core.keep.Ranker` a run ranks with (fed A first),
    and the ranker (it knows whether a field held numbers or dates).

    Raises:
        ConfigError: ``field:NAME`` for documents that are not records (see :func:`check_keep`).
        InputError: a field value that cannot be ranked (not a number nor an ISO 8601 date), naming the document.
    """
    check_keep(policy, all(d.raw for d in docs))
    ranker = policy.ranker(DEFAULT_TEXT_FIELD)
    ranks: list[float] = []
    for label, d in zip(LABELS, docs):
        rank = ranker(Record(d.id, d.text, source=d.source, raw=d.raw))
        if isinstance(rank, Rejected):
            raise InputError(f"{d.source or d.id}: document {label} (id {d.id!r}): {rank.reason}")
        ranks.append(rank)
    return ranks, ranker


def keep_verdict(
    policy: KeepPolicy, docs: tuple[Document, Document], ranks: list[float], ranker: Ranker, duplicate: bool
) -> KeepVerdict:
    """Which of A and B ``policy`` prefers (ordered by :func:`dedupe.core.keep.policy_order`, as a run orders
    records, A first), and what follows for the pair: with ``duplicate``, the other one is dropped."""
    first = int(policy_order(np.array(ranks, dtype=np.float64))[0])
    preferred, other = LABELS[first], LABELS[1 - first]
    tie = ranks[0] == ranks[1] or (math.isnan(ranks[0]) and math.isnan(ranks[1]))

    values: tuple[int | float | str | None, int | float | str | None]
    if policy.kind == "first":
        values, why = (None, None), "the first seen"
    elif policy.kind == "longest":
        values = (len(docs[0].text), len(docs[1].text))
        if tie:
            why = f"the first seen of two texts equally long ({values[0]:,} characters each)"
        else:
            why = f"the longer (A {values[0]:,} characters, B {values[1]:,})"
    else:
        name = policy.field
        assert name is not None
        found = [_missing(field_value(d.raw, name)) for d in docs]
        values = (found[0], found[1])
        shown = f"A {_shown(values[0])}, B {_shown(values[1])}"
        if all(v == "missing" for v in values):
            why = f"the first seen: neither has the field {name!r} (a tie)"
        elif "missing" in values:
            why = f"the one with the field {name!r} ({shown}: a record without it ranks last)"
        elif tie:
            why = f"the first seen: a tie ({name} {shown})"
        else:
            dates = ranker.kind == "date"
            word = ("later" if dates else "larger") if policy.order == "max" else ("earlier" if dates else "smaller")
            why = f"the {word} {name} ({shown})"

    if duplicate:
        before = "seen before it" if policy.streaming else "the policy prefers to it"
        reason = (
            f"{other} is dropped as a duplicate of {preferred} when {preferred} is kept in the run; {preferred} "
            f"may itself be dropped as a duplicate of a third record {before}"
        )
    else:
        reason = "neither is a duplicate of the other, so both are kept as far as this pair goes"
    return KeepVerdict(str(policy), values, preferred, why, other if duplicate else None, reason)
