"""A repeated passage as a span of a document (:class:`PassageMatch`), and what is done with such spans: adjacent
ones merged (:func:`coalesce`), and repeated passages cut out of a text (:func:`remove_spans`, what ``filter
--passages`` writes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PassageMatch:
    """One repeated passage of a document.

    Attributes:
        start, end: Code point span in the document's text.
        kind: "exact", "near" or "boilerplate" (a quote: "exact", or "boilerplate" for a formula).
        similarity: Exact Jaccard of character n-grams (1.0 for exact repeats).
        match_id, match_start, match_end: The earlier occurrence.
        unit: "passage" (whole sentences or paragraphs) or "quote" (words
            inside otherwise different passages).
    """

    start: int
    end: int
    kind: str
    similarity: float
    match_id: str
    match_start: int
    match_end: int
    unit: str = "passage"

    @property
    def repeat_kind(self) -> str:
        """What the report counts it as: its kind for a passage, "quote" or "formula" (a quote seen in
        ``boilerplate_docs`` documents) for a quote.

        Example:
            >>> PassageMatch(0, 9, "boilerplate", 1.0, "a", 0, 9, unit="quote").repeat_kind
            'formula'
        """
        if self.unit == "passage":
            return self.kind
        return "formula" if self.kind == "boilerplate" else "quote"

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "similarity": self.similarity,
            "match": {"id": self.match_id, "start": self.match_start, "end": self.match_end},
            "unit": self.unit,
        }


def coalesce(found: list[tuple[int, int, PassageMatch, int]]) -> list[PassageMatch]:
    """Merge adjacent exact (or boilerplate) matches of adjacent passages of one earlier document into one span.

    Near matches stay one entry per passage, each with its own similarity.
    """
    out: list[PassageMatch] = []
    last: tuple[int, int, int] | None = None  # (unit, match unit, match doc) of out[-1]'s end
    for unit, match_unit, m, match_doc in found:
        if out and last is not None:
            prev = out[-1]
            if (
                last[0] + 1 == unit
                and last[1] + 1 == match_unit
                and last[2] == match_doc
                and prev.kind == m.kind != "near"
                and prev.match_id == m.match_id
                and m.match_start >= prev.match_end
            ):
                out[-1] = PassageMatch(
                    prev.start,
                    m.end,
                    m.kind,
                    min(prev.similarity, m.similarity),
                    m.match_id,
                    prev.match_start,
                    m.match_end,
                )
                last = (unit, match_unit, match_doc)
                continue
        out.append(m)
        last = (unit, match_unit, match_doc)
    return out


def remove_spans(text: str, matches: Sequence[PassageMatch]) -> str:
    """``text`` without the repeated passages (quotes inside passages are kept).

    Whitespace after a removed span goes with it, and a line left empty by the
    removal disappears with its line break.

    Example:
        >>> t = "Keep this line.\\nDrop this line.\\nKeep too."
        >>> remove_spans(t, [PassageMatch(16, 31, "exact", 1.0, "x", 0, 15)])
        'Keep this line.\\nKeep too.'
    """
    cuts = sorted((m.start, m.end) for m in matches if m.unit == "passage")
    if not cuts:
        return text
    pieces: list[str] = []
    at = 0
    for s, e in cuts:
        s = max(s, at)
        if e <= s:
            continue
        while e < len(text) and text[e] in " \t":
            e += 1
        line_start = s == 0 or text[s - 1] in "\r\n"
        if line_start and e < len(text) and text[e] in "\r\n":
            e += 2 if text.startswith("\r\n", e) else 1
        pieces.append(text[at:s])
        at = e
    pieces.append(text[at:])
    if at >= len(text):  # the text ended with a removed span: drop the line break left before it
        pieces[-2] = pieces[-2].rstrip()
    return "".join(pieces)
