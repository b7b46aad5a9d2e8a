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
(:func:`render`) are in :mod:`dedupe.explanation`, what ``--keep`` keeps (the pair, and ``--in-run``) in
:mod:`dedupe.explain_keep`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Sequence
from typing import IO

import numpy as np

from .config import DEFAULT_ID_FIELD, DEFAULT_TEXT_FIELD, ConfigError, DedupeConfig, PassageConfig, ShingleConfig
from .core.keep import KeepPolicy
from .core.matcher import Deduplicator, Result
from .core.similarity import jaccard, shingle_set
from .explain_keep import check_keep, decisions_in_run, keep_ranks, keep_verdict
from .explanation import (
    LABELS,
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
    found = matcher.add_batch(list(LABELS), texts, passage_features(texts, config))[1]
    out = []
    for m in found:
        k = LABELS.index(m.match_id)
        out.append(
            PassageExplanation(
                m.kind,
                m.unit,
                m.similarity,
                m.start,
                m.end,
                texts[1][m.start : m.end],
                LABELS[k],
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
    ranks, ranker = keep_ranks(policy, (a, b))  # before any work: a bad field value stops here
    limit = max_chars or None
    docs = (a, b)
    texts = [d.text[:limit] for d in docs]  # as pipeline._texts
    packed, signatures, keys, _ = compute_features(texts, config)
    ha, hb = shingle_set(packed[0]), shingle_set(packed[1])  # the shingle sets (features keep multisets)

    # The verdict: the detector scan runs, fed A then B (passages do not change it).
    detector = Deduplicator(dataclasses.replace(config, passages=None), max_chars=limit)
    results = list(detector.run([Record(LABELS[0], a.text), Record(LABELS[1], b.text)]))
    decided = results[1]
    assert isinstance(decided, Result)  # records in, so no Rejected out
    match = decided.match
    duplicate = match.duplicate_of is not None
    candidate = detector.counters.candidates > 0  # A is decided against nothing, so these are B's

    bands, rows = config.bands_rows
    exact_mode = config.verify.mode == "exact"
    empty = [label for label, h in zip(LABELS, (ha, hb)) if len(h) == 0]
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
        DocumentFacts(LABELS[0], a.id, a.source or a.id, len(a.text), len(texts[0]), len(ha)),
        DocumentFacts(LABELS[1], b.id, b.source or b.id, len(b.text), len(texts[1]), len(hb)),
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
        keep=keep_verdict(policy, docs, ranks, ranker, duplicate),
    )
