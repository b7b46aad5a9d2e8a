"""What ``dedupe explain`` shows about one decision: the :class:`Explanation` and its parts (data classes, with
their JSON form), and :func:`render`, its text. They are computed by :func:`dedupe.explain.explain`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .config import PassageConfig

# Labels the two documents carry inside the matchers: record ids may be equal, labels never are.
LABELS = ("A", "B")


@dataclass(frozen=True)
class Document:
    """One document to compare.

    Attributes:
        id: The record id, or the file name the text was read from.
        text: The whole text (``--max-chars`` is applied when matching, as in ``scan``).
        source: Where it came from: a file name, ``<stdin>``, or ``FILE:LINE`` for a JSONL record.
        raw: The record's JSONL line (empty for a text file), where ``--keep field:NAME`` reads the field.
    """

    id: str
    text: str
    source: str = ""
    raw: bytes = b""


@dataclass(frozen=True)
class ShingleExample:
    """One shingle shown as text: the n-gram of normalized words (or characters) and its 64-bit hash."""

    text: str
    hash: int

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "hash": f"{self.hash:016x}"}


@dataclass(frozen=True)
class DocumentFacts:
    """What matching saw of one document."""

    label: str
    id: str
    source: str
    characters: int
    characters_used: int  # after the --max-chars cut
    shingles: int  # unique shingle hashes

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PassageExplanation:
    """One repeated span of B and the span it repeats (in A, or earlier in B itself)."""

    kind: str  # exact, near or boilerplate
    unit: str  # passage or quote
    similarity: float
    start: int
    end: int
    text: str
    match_document: str  # "A" or "B"
    match_id: str
    match_start: int
    match_end: int
    match_text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "unit": self.unit,
            "similarity": self.similarity,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "match": {
                "document": self.match_document,
                "id": self.match_id,
                "start": self.match_start,
                "end": self.match_end,
                "text": self.match_text,
            },
        }


@dataclass(frozen=True)
class KeepVerdict:
    """Which of A and B a ``--keep`` policy prefers, and what that means for the pair.

    Attributes:
        policy: The policy, as ``--keep`` spells it in full (``first``, ``longest``, ``field:score:max``).
        values: What each of A and B is ranked by, as the user knows it: None under ``first`` (the order decides,
            and A comes first), the characters of text under ``longest``, the field's value under ``field:NAME``
            (a number or an ISO 8601 date string), or ``"missing"`` without it (it then ranks last).
        preferred: "A" or "B": the one the policy visits first (ties go to A, the first seen).
        why: Why it is preferred, in words.
        dropped: With near-duplicates (the explanation's ``duplicate``), the other one, dropped as a duplicate
            of ``preferred`` when that one is kept in the run; None when they are not near-duplicates.
        reason: The verdict for the pair under the policy, in one sentence.
    """

    policy: str
    values: tuple[int | float | str | None, int | float | str | None]
    preferred: str
    why: str
    dropped: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "values": {"A": self.values[0], "B": self.values[1]},
            "preferred": self.preferred,
            "why": self.why,
            "dropped": self.dropped,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RunDecision:
    """What a whole scan of the ``--input`` file decided for one of A and B (``explain --in-run``).

    Attributes:
        label: "A" or "B".
        id: The record's id.
        duplicate_of: The kept record it was dropped for, or None (kept).
        similarity: Its similarity to that record, or None.
        cluster: Its ``cluster`` in the scan's output.
    """

    label: str
    id: str
    duplicate_of: str | None
    similarity: float | None
    cluster: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kept": self.duplicate_of is None,
            "duplicate_of": self.duplicate_of,
            "similarity": self.similarity,
            "cluster": self.cluster,
        }

    def line(self) -> str:
        if self.duplicate_of is None:
            return f"  {self.label}  {self.id}: kept (cluster {self.cluster})"
        return (
            f"  {self.label}  {self.id}: dropped as the duplicate of {self.duplicate_of} (similarity "
            f"{show_number(self.similarity or 0.0)}), the kept record it matches best (cluster {self.cluster})"
        )


@dataclass(frozen=True)
class Explanation:
    """Why B is or is not a near-duplicate of A at one configuration (see :func:`dedupe.explain.explain`).

    ``similarity`` is what verification compares with the threshold: the exact Jaccard, or the MinHash
    estimate with ``verify.mode == "estimate"``. When A or B has no shingles, the Jaccard, the estimate and
    ``similarity`` are all 0: scan never compares such a document, and its signature (the empty-set filler)
    says nothing. ``candidate`` and ``duplicate`` are the decisions of a
    :class:`~dedupe.core.matcher.Deduplicator` fed A then B. ``passages`` is None unless passages are on.
    ``keep`` says which of the two the ``--keep`` policy keeps (None only for an explanation built without one);
    ``in_run`` (with ``--in-run``: the input's name and A's and B's decisions) what a whole scan of the input
    decided for them, which also depends on every other record (a chain, a copy the policy prefers).
    :func:`render` prints it as text, :meth:`as_dict` as JSON.
    """

    documents: tuple[DocumentFacts, DocumentFacts]
    unit: str
    ngram: int
    shared: int
    only_a: int
    only_b: int
    shared_examples: list[ShingleExample]
    only_a_examples: list[ShingleExample]
    only_b_examples: list[ShingleExample]
    jaccard: float
    minhash_estimate: float
    standard_error: float
    num_perm: int
    bands: int
    rows: int
    colliding_bands: list[int]
    candidate_probability: float
    candidate: bool
    similarity: float
    verify: str
    threshold: float
    duplicate: bool
    reason: str
    passages: list[PassageExplanation] | None
    passage_config: PassageConfig | None = None
    keep: KeepVerdict | None = None
    in_run: tuple[str, tuple[RunDecision, ...]] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The explanation as a JSON-ready dict (the keys of ``dedupe explain --json``)."""
        return {
            "documents": [d.as_dict() for d in self.documents],
            "shingles": {
                "unit": self.unit,
                "ngram": self.ngram,
                "shared": self.shared,
                "only_a": self.only_a,
                "only_b": self.only_b,
                "shared_examples": [s.as_dict() for s in self.shared_examples],
                "only_a_examples": [s.as_dict() for s in self.only_a_examples],
                "only_b_examples": [s.as_dict() for s in self.only_b_examples],
            },
            "jaccard": self.jaccard,
            "minhash_estimate": self.minhash_estimate,
            "standard_error": self.standard_error,
            "num_perm": self.num_perm,
            "bands": self.bands,
            "rows": self.rows,
            "colliding_bands": self.colliding_bands,
            "candidate_probability": self.candidate_probability,
            "candidate": self.candidate,
            "verify": self.verify,
            "similarity": self.similarity,
            "threshold": self.threshold,
            "duplicate": self.duplicate,
            "reason": self.reason,
            "passages": None if self.passages is None else [p.as_dict() for p in self.passages],
            "keep": None if self.keep is None else self.keep.as_dict(),
            "in_run": None
            if self.in_run is None
            else {"source": self.in_run[0]} | {d.label: d.as_dict() for d in self.in_run[1]},
        }


# --------------------------------------------------------------------------- rendering
# no_shingles, show_number and show_probability also word the verdict's reason (dedupe.explain.explain).


def no_shingles(labels: Sequence[str]) -> str:
    """ "A has no shingles", "A and B have no shingles"."""
    return f"{' and '.join(labels)} {'has' if len(labels) == 1 else 'have'} no shingles"


def show_number(x: float, versus: float | None = None) -> str:
    """A similarity or threshold: 4 decimals at most, no trailing zeros; more when fewer would make ``x``
    read as equal to a different ``versus`` (0.79999 is not "0.8 < threshold 0.8").

    Example:
        >>> show_number(0.96106), show_number(0.8), show_number(0.79999, 0.8), show_number(0.0)
        ('0.9611', '0.8', '0.79999', '0')
    """
    digits = 4
    while versus is not None and x != versus and digits < 17 and round(x, digits) == round(versus, digits):
        digits += 1
    return f"{x:.{digits}f}".rstrip("0").rstrip(".") if x else "0"


def show_probability(p: float) -> str:
    """A probability that never reads as 0 or 1 unless it is."""
    if p in (0.0, 1.0):
        return f"{p:g}"
    if p < 1e-4:
        return f"{p:.1e}"
    if p > 0.9999:
        return "> 0.9999"
    return f"{p:.4f}"


def _quoted(text: str, limit: int = 200) -> str:
    """``text`` as a JSON string (newlines visible), cut at ``limit`` characters (unless little is left)."""
    if len(text) <= limit + 40:
        return json.dumps(text, ensure_ascii=False)
    return json.dumps(text[:limit], ensure_ascii=False)[:-1] + f'…" (+{len(text) - limit:,} characters)'


def _similarity(e: Explanation) -> list[str]:
    """The Similarity section: both measures, or with an empty document, that there is nothing to compare."""
    union = e.shared + e.only_a + e.only_b
    empty = [d.label for d in e.documents if not d.shingles]
    if not empty:
        return [
            "Similarity",
            f"  exact Jaccard     {show_number(e.jaccard):<7} ({e.shared:,} shared / {union:,} in either)",
            f"  MinHash estimate  {show_number(e.minhash_estimate):<7} ({e.num_perm} permutations; standard error "
            f"{e.standard_error:.4f} at the exact Jaccard)",
        ]
    # 0 shared / 0 in either is no ratio: say why the Jaccard is 0 rather than print a quotient.
    why = f"{union:,} in either" if union else "no shingle in either: 0 by definition"
    return [
        f"Similarity: nothing to compare ({no_shingles(empty)})",
        f"  exact Jaccard     {show_number(e.jaccard):<7} ({e.shared:,} shared / {why})",
        f"  MinHash estimate  {show_number(e.minhash_estimate):<7} (not computed: a document without shingles has no "
        "signature)",
    ]


def _keep(k: KeepVerdict | None) -> list[str]:
    """Which one ``--keep`` keeps: one line of the verdict under ``first`` (A, the first seen), else a section."""
    if k is None:
        return []
    if k.policy == "first":
        return [f"  --keep first: {k.preferred}, {k.why}, is preferred; {k.reason}"]
    return ["", f"Keep (--keep {k.policy}): {k.preferred} is preferred, {k.why}", f"  {k.reason}"]


def render(e: Explanation) -> str:
    """The explanation as a few short sections of text (what ``dedupe explain`` prints).

    Example:
        >>> from dedupe.explain import explain
        >>> text = "the quick brown fox jumps over the lazy dog and runs far away " * 3
        >>> print(render(explain(Document("a", text), Document("b", text + "again"))))  # doctest: +ELLIPSIS
        Documents (word 5-grams after normalization; B is decided against A, as in a scan where A comes first)
          A  a: 186 characters, 13 shingles
          B  b: 191 characters, 14 shingles
        ...
        Verdict: DUPLICATE
          duplicate: candidate (7 of 16 bands collide) and exact Jaccard 0.9286 >= threshold 0.8
          --keep first: A, the first seen, is preferred; B is dropped as a duplicate of A when A is kept in the run; ...
    """
    lines = [
        f"Documents ({e.unit} {e.ngram}-grams after normalization; B is decided against A, "
        "as in a scan where A comes first)"
    ]
    names = [d.id + (f" ({d.source})" if d.source != d.id else "") + ":" for d in e.documents]
    width = max(map(len, names))
    for d, name in zip(e.documents, names):
        cut = f" (first {d.characters_used:,} matched, --max-chars)" if d.characters_used < d.characters else ""
        lines.append(
            f"  {d.label}  {name:<{width}} {d.characters:,} character{'s' * (d.characters != 1)}{cut}, "
            f"{d.shingles:,} shingle{'s' * (d.shingles != 1)}"
        )

    lines += ["", f"Shingles: {e.shared:,} shared, {e.only_a:,} only in A, {e.only_b:,} only in B"]
    for title, examples in (
        ("shared", e.shared_examples),
        ("only A", e.only_a_examples),
        ("only B", e.only_b_examples),
    ):
        for k, s in enumerate(examples):
            lines.append(f"  {title + ':' if k == 0 else '':<8} {_quoted(s.text)}")

    lines += ["", *_similarity(e)]

    lines += [
        "",
        f"LSH: {e.bands} bands x {e.rows} rows",
        f"  P(candidate) at Jaccard {show_number(e.jaccard)}: {show_probability(e.candidate_probability)}",
    ]
    if e.documents[0].shingles and e.documents[1].shingles:
        listed = ", ".join(map(str, e.colliding_bands)) or "none"
        lines.append(
            f"  {len(e.colliding_bands)} of {e.bands} bands collide: {listed}"
            f" -> candidate: {'yes' if e.candidate else 'no'}"
        )
    else:
        lines.append("  not consulted (a document without shingles is never indexed or queried) -> candidate: no")

    lines += ["", f"Verdict: {'DUPLICATE' if e.duplicate else 'NOT A DUPLICATE'}", f"  {e.reason}"]
    lines += _keep(e.keep)
    if e.in_run is not None:
        policy = e.keep.policy if e.keep is not None else "first"
        lines += ["", f"In a scan of {e.in_run[0]} (--keep {policy}, the same options):"]
        lines += [d.line() for d in e.in_run[1]]

    if e.passages is not None:
        cfg = e.passage_config
        about = f"{cfg.unit} units, threshold {cfg.threshold:.12g}" if cfg is not None else ""
        lines += ["", f"Repeated passages of B ({about}): {len(e.passages)}"]
        if e.duplicate:
            lines.append("  (scan annotates passages only on records that are not duplicates)")
        for k, p in enumerate(e.passages, 1):
            kind = p.kind if p.unit == "passage" else ("formula quote" if p.kind == "boilerplate" else "exact quote")
            lines.append(f"  {k}. {kind}, similarity {show_number(p.similarity)}")
            lines.append(f"     B [{p.start},{p.end}) {_quoted(p.text)}")
            where = "A" if p.match_document == "A" else "B, earlier"
            lines.append(f"     {where} [{p.match_start},{p.match_end}) {_quoted(p.match_text)}")
    return "\n".join(lines)
