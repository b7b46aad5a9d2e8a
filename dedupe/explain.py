"""Explain one matching decision: why document B is (or is not) a near-duplicate of document A.

Every number comes from the code ``scan`` runs: the shingle sets and signatures from
:func:`dedupe.features.batch.compute_features` (so the same normalization and ``--max-chars`` cut), and the
verdict from a :class:`dedupe.core.matcher.Deduplicator` fed A then B, exactly as in a scan where A comes
first. The explanation adds what the pipeline does not keep: which shingles are shared (re-derived as
text from the normalized words or characters, and hashed the same way), the MinHash estimate and its
spread, which LSH bands collide, the S-curve probability, and with passages on, B's repeated spans
beside the spans of A they repeat. Which of the two ``--keep`` keeps comes from the ranks and the order a run
uses (:mod:`dedupe.core.keep`), A counted as the first seen.

This module reads the two documents and computes the :class:`Explanation`; the data classes and the text
(:func:`render`) are in :mod:`dedupe.explanation`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Iterator, Sequence
from typing import IO

import numpy as np
import orjson

from .config import DEFAULT_ID_FIELD, DEFAULT_TEXT_FIELD, ConfigError, DedupeConfig, PassageConfig, ShingleConfig
from .core.keep import KeepPolicy, Ranker, policy_order
from .core.matcher import Deduplicator, Match, Result
from .core.similarity import jaccard, shingle_set
from .core.twopass import two_passes
from .explanation import (
    Document,
    DocumentFacts,
    Explanation,
    KeepVerdict,
    PassageExplanation,
    RunDecision,
    ShingleExample,
    no_shingles,
    render,
    show_number,
    show_probability,
)
from .features.batch import compute_features
from .features.minhash import estimate_jaccard
from .features.normalize import normalize
from .features.scripts import join_words, split_words
from .features.shingles import unit_hashes, window_hashes
from .io.records import InputError, ReadStats, Record, Rejected, display_name, read_records
from .passages.matcher import PassageMatcher
from .passages.segment import passage_features

# The data classes and render live in dedupe.explanation; they are imported from here too.
__all__ = [
    "Document",
    "DocumentFacts",
    "Explanation",
    "KeepVerdict",
    "PassageExplanation",
    "RunDecision",
    "ShingleExample",
    "candidate_probability",
    "check_keep",
    "decisions_in_run",
    "explain",
    "find_records",
    "read_text_file",
    "render",
]

# Shingles shown as text in the human output and the JSON, per group.
SHARED_EXAMPLES = 5
ONLY_EXAMPLES = 3
# Labels the two documents carry inside the matchers: record ids may be equal, labels never are.
_LABELS = ("A", "B")


# --------------------------------------------------------------------------- reading the two documents


def read_text_file(path: str, stdin: IO[bytes] | None = None) -> Document:
    """A document holding the raw text of ``path`` ('-' is standard input), decoded as UTF-8.

    A UTF-8 byte order mark at the start is dropped, as the JSONL reader does; the id is the file name.

    Raises:
        InputError: the file cannot be read or is not UTF-8.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        ...     _ = f.write("\\ufeffCafé au lait".encode())
        >>> read_text_file(f.name).text
        'Café au lait'
        >>> os.remove(f.name)
    """
    name = "<stdin>" if path == "-" else display_name(path)
    try:
        if path == "-":
            data = (stdin if stdin is not None else sys.stdin.buffer).read()
        elif os.path.isdir(path):
            raise InputError(f"cannot read {name}: it is a directory (give a file holding the text)")
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as exc:
        raise InputError(f"cannot open {name}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: invalid UTF-8 at byte {exc.start} (give the text as UTF-8)") from exc
    return Document(name, text.removeprefix("\ufeff"), name)


def find_records(
    path: str,
    ids: Sequence[str],
    text_field: str = DEFAULT_TEXT_FIELD,
    id_field: str = DEFAULT_ID_FIELD,
    stdin: IO[bytes] | None = None,
) -> tuple[list[Document], list[str]]:
    """Look up records by id in a JSONL file (plain, gzip or zstd) read as ``scan`` reads it.

    The whole file is read, so that an id present more than once is noticed: the first occurrence is
    used, and a note says so. Reading stops at the first bad line, as ``scan`` does without ``--rejects``.

    Returns:
        (one document per id, in the order given; notes for stderr).

    Raises:
        InputError: the file cannot be read, a line is bad, or an id is not in it.

    Example:
        >>> import io
        >>> data = io.BytesIO(b'{"id": "x", "text": "one"}\\n{"id": 7, "text": "two"}\\n')
        >>> docs, notes = find_records("-", ["7", "x"], stdin=data)
        >>> [(d.id, d.text, d.source) for d in docs], notes
        ([('7', 'two', '<stdin>:2'), ('x', 'one', '<stdin>:1')], [])
    """
    if path != "-" and os.path.isdir(path):
        raise InputError(f"cannot read {display_name(path)}: it is a directory (give the JSONL file)")
    wanted = set(ids)
    first: dict[str, Record] = {}
    repeats: dict[str, list[int]] = {}
    stats = ReadStats()
    records = 0
    for item in read_records([path], text_field, id_field, stats, stdin=stdin):
        if isinstance(item, Rejected):
            raise InputError(f"{item.message()} (explain reads the input as scan does and stops at a bad line)")
        records += 1
        if item.id in wanted:
            if item.id in first:
                repeats.setdefault(item.id, [first[item.id].line]).append(item.line)
            else:
                first[item.id] = item
    name = stats.sources[0] if stats.sources else path
    missing = [i for i in dict.fromkeys(ids) if i not in first]
    if missing:
        which = " and ".join(repr(i) for i in missing)
        raise InputError(
            f"{'id' if len(missing) == 1 else 'ids'} {which} not found in {name} "
            f"({records:,} record{'s' * (records != 1)} read; "
            f"ids come from the field {id_field!r}, or the line number when it is absent)"
        )
    notes = [
        f"id {rid!r} occurs {len(lines)} times in {name} (lines {', '.join(map(str, lines))}); "
        f"using the first (line {lines[0]})"
        for rid, lines in repeats.items()
    ]
    docs = [Document(first[i].id, first[i].text, f"{name}:{first[i].line}", first[i].raw) for i in ids]
    return docs, notes


# --------------------------------------------------------------------------- the explanation


def _windows(normalized: str, shingle: ShingleConfig) -> tuple[np.ndarray, int]:
    """Hash of the shingle starting at each unit of ``normalized`` text (text order), and its length in units.

    The same functions as :func:`dedupe.features.shingles.shingle_hashes`: a text shorter than n units is one
    shingle of all of them.
    """
    units = unit_hashes(normalized, shingle.unit)
    if len(units) == 0:
        return units, 0
    n = min(shingle.ngram, len(units))
    return window_hashes(units, n), n


def _examples(normalized: str, shingle: ShingleConfig, allowed: np.ndarray, limit: int) -> list[ShingleExample]:
    """Up to ``limit`` distinct shingles of ``normalized`` whose hash is in ``allowed``, in text order, as text."""
    hashes, n = _windows(normalized, shingle)
    if not n or not len(allowed):
        return []
    words = split_words(normalized) if shingle.unit == "word" else None
    out: list[ShingleExample] = []
    seen: set[int] = set()
    for i in np.flatnonzero(np.isin(hashes, allowed)).tolist():
        h = int(hashes[i])
        if h in seen:
            continue
        seen.add(h)
        text = join_words(words[i : i + n]) if words is not None else normalized[i : i + n]
        out.append(ShingleExample(text, h))
        if len(out) == limit:
            break
    return out


def _passages(texts: list[str], docs: tuple[Document, Document], config: PassageConfig) -> list[PassageExplanation]:
    """B's repeated spans, from a PassageMatcher fed A then B as the pipeline feeds it."""
    matcher = PassageMatcher(config)
    found = matcher.add_batch(list(_LABELS), texts, passage_features(texts, config))[1]
    out = []
    for m in found:
        k = _LABELS.index(m.match_id)
        out.append(
            PassageExplanation(
                m.kind,
                m.unit,
                m.similarity,
                m.start,
                m.end,
                texts[1][m.start : m.end],
                _LABELS[k],
                docs[k].id,
                m.match_start,
                m.match_end,
                texts[k][m.match_start : m.match_end],
            )
        )
    return out


def candidate_probability(s: float, bands: int, rows: int) -> float:
    """The LSH S-curve: probability 1 - (1 - s^r)^b that a pair of Jaccard ``s`` shares a band.

    Example:
        >>> round(candidate_probability(0.85, 16, 8), 3)
        0.994
    """
    return 1.0 - (1.0 - s**rows) ** bands


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
        for label, i in zip(_LABELS, ids)
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


def _ranks(policy: KeepPolicy, docs: tuple[Document, Document]) -> tuple[list[float], Ranker]:
    """A's and B's ranks under ``policy``, by the :class:`dedupe.core.keep.Ranker` a run ranks with (fed A first),
    and the ranker (it knows whether a field held numbers or dates).

    Raises:
        ConfigError: ``field:NAME`` for documents that are not records (see :func:`check_keep`).
        InputError: a field value that cannot be ranked (not a number nor an ISO 8601 date), naming the document.
    """
    check_keep(policy, all(d.raw for d in docs))
    ranker = policy.ranker(DEFAULT_TEXT_FIELD)
    ranks: list[float] = []
    for label, d in zip(_LABELS, docs):
        rank = ranker(Record(d.id, d.text, source=d.source, raw=d.raw))
        if isinstance(rank, Rejected):
            raise InputError(f"{d.source or d.id}: document {label} (id {d.id!r}): {rank.reason}")
        ranks.append(rank)
    return ranks, ranker


def _keep_verdict(
    policy: KeepPolicy, docs: tuple[Document, Document], ranks: list[float], ranker: Ranker, duplicate: bool
) -> KeepVerdict:
    """Which of A and B ``policy`` prefers (ordered by :func:`dedupe.core.keep.policy_order`, as a run orders
    records, A first), and what follows for the pair: with ``duplicate``, the other one is dropped."""
    first = int(policy_order(np.array(ranks, dtype=np.float64))[0])
    preferred, other = _LABELS[first], _LABELS[1 - first]
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
        found = [_field(d.raw, name) for d in docs]
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


def _field(raw: bytes, name: str) -> int | float | str:
    """The value of field ``name`` of a record's JSON line, or "missing" (absent or null), as the Ranker reads it."""
    try:
        value = orjson.loads(raw).get(name) if raw else None
    except (orjson.JSONDecodeError, AttributeError):
        value = None
    return "missing" if value is None else value  # the Ranker refused any other kind


def explain(
    a: Document,
    b: Document,
    config: DedupeConfig | None = None,
    max_chars: int | None = None,
    keep: KeepPolicy | None = None,
) -> Explanation:
    """Explain the decision about B, decided after A, at ``config`` (as ``scan`` decides it).

    Args:
        a: The earlier document.
        b: The document decided against it.
        config: All matching parameters; passages are explained when ``config.passages`` is set.
        max_chars: Match on at most this many characters of each text (None or 0: no limit).
        keep: The ``--keep`` policy (default ``first``): which of the two it prefers, and what it drops.

    Returns:
        The explanation; :func:`render` prints it.

    Raises:
        ConfigError: ``max_chars`` is negative, or ``keep`` ranks by a field and A or B is not a record (it has no
            ``raw`` JSON line).
        InputError: ``keep`` ranks by a field and A's or B's value cannot be ranked.

    Example:
        >>> text = "the quick brown fox jumps over the lazy dog and runs far away " * 3
        >>> e = explain(Document("a", text), Document("b", text + "again"))
        >>> e.duplicate, e.candidate, round(e.jaccard, 4), e.reason
        (True, True, 0.9286, 'duplicate: candidate (7 of 16 bands collide) and exact Jaccard 0.9286 >= threshold 0.8')
        >>> e.shared_examples[0].text
        'the quick brown fox jumps'
        >>> explain(Document("a", text), Document("b", "something else entirely")).reason
        'not a candidate: no band collides (probability 0 at Jaccard 0), and exact Jaccard 0 < threshold 0.8 anyway'
        >>> k = explain(Document("a", text), Document("b", text + "again"), keep=KeepPolicy.parse("longest")).keep
        >>> k.values, k.preferred, k.dropped
        ((186, 191), 'B', 'A')
    """
    config = config if config is not None else DedupeConfig()
    if max_chars is not None and max_chars < 0:
        raise ConfigError(f"--max-chars must be 0 (no limit) or more; got {max_chars}")
    policy = keep if keep is not None else KeepPolicy()
    ranks, ranker = _ranks(policy, (a, b))  # before any work: a bad field value stops here
    limit = max_chars or None
    docs = (a, b)
    texts = [d.text[:limit] for d in docs]  # as pipeline._texts
    packed, signatures, keys, _ = compute_features(texts, config)
    ha, hb = shingle_set(packed[0]), shingle_set(packed[1])  # the shingle sets (features keep multisets)

    # The verdict: the detector scan runs, fed A then B (passages do not change it).
    detector = Deduplicator(dataclasses.replace(config, passages=None), max_chars=limit)
    results = list(detector.run([Record(_LABELS[0], a.text), Record(_LABELS[1], b.text)]))
    decided = results[1]
    assert isinstance(decided, Result)  # records in, so no Rejected out
    match = decided.match
    duplicate = match.duplicate_of is not None
    candidate = detector.counters.candidates > 0  # A is decided against nothing, so these are B's

    bands, rows = config.bands_rows
    exact_mode = config.verify.mode == "exact"
    empty = [label for label, h in zip(_LABELS, (ha, hb)) if len(h) == 0]
    j = jaccard(hb, ha)  # 0 when a set is empty, as for scan
    # A document without shingles has no real signature (every value is the empty-set filler, so two empty
    # documents' signatures are equal and would read as an estimate of 1), and scan never compares it: its
    # estimate is 0, like its Jaccard, and nothing claims a similarity that no step computed.
    estimate = 0.0 if empty else estimate_jaccard(signatures[1], signatures[0])
    similarity = j if exact_mode else estimate
    colliding = [] if empty else np.flatnonzero(keys[0] == keys[1]).tolist()
    probability = candidate_probability(j, bands, rows)
    shared = np.intersect1d(ha, hb, assume_unique=True)
    only_a = np.setdiff1d(ha, hb, assume_unique=True)
    only_b = np.setdiff1d(hb, ha, assume_unique=True)

    norm = [normalize(t, config.normalize) for t in texts]
    shingle = config.shingle
    measure = "exact Jaccard" if exact_mode else "MinHash estimate"
    threshold = config.lsh.threshold
    if empty:
        reason = (
            f"{no_shingles(empty)} (nothing left after normalization), so there is nothing to compare: "
            "scan never compares a document without shingles, so such a document never matches"
        )
    elif not candidate:
        reason = (
            f"not a candidate: no band collides (probability {show_probability(probability)} "
            f"at Jaccard {show_number(j)})"
        )
        if similarity >= threshold:
            reason += (
                f"; LSH misses this pair although {measure} {show_number(similarity, threshold)} "
                f">= threshold {threshold:.12g}"
            )
        else:
            reason += f", and {measure} {show_number(similarity, threshold)} < threshold {threshold:.12g} anyway"
    elif duplicate:
        reason = (
            f"duplicate: candidate ({len(colliding)} of {bands} bands collide) and {measure} "
            f"{show_number(similarity, threshold)} >= threshold {threshold:.12g}"
        )
    else:
        reason = f"candidate but {measure} {show_number(similarity, threshold)} < threshold {threshold:.12g}"

    facts = (
        DocumentFacts(_LABELS[0], a.id, a.source or a.id, len(a.text), len(texts[0]), len(ha)),
        DocumentFacts(_LABELS[1], b.id, b.source or b.id, len(b.text), len(texts[1]), len(hb)),
    )
    return Explanation(
        documents=facts,
        unit=shingle.unit,
        ngram=shingle.ngram,
        shared=len(shared),
        only_a=len(only_a),
        only_b=len(only_b),
        shared_examples=_examples(norm[1], shingle, shared, SHARED_EXAMPLES),
        only_a_examples=_examples(norm[0], shingle, only_a, ONLY_EXAMPLES),
        only_b_examples=_examples(norm[1], shingle, only_b, ONLY_EXAMPLES),
        jaccard=j,
        minhash_estimate=estimate,
        standard_error=math.sqrt(j * (1.0 - j) / config.minhash.num_perm),
        num_perm=config.minhash.num_perm,
        bands=bands,
        rows=rows,
        colliding_bands=colliding,
        candidate_probability=probability,
        candidate=candidate,
        similarity=similarity,
        verify=config.verify.mode,
        threshold=threshold,
        duplicate=duplicate,
        reason=reason,
        passages=_passages(texts, docs, config.passages) if config.passages is not None else None,
        passage_config=config.passages,
        keep=_keep_verdict(policy, docs, ranks, ranker, duplicate),
    )
