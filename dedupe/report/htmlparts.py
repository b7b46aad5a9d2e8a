"""The pieces the HTML page is built from: escaping, numbers, tables, cards, images, word diffs, text cuts.

Every piece of document text goes through :func:`esc`. The page itself is :mod:`dedupe.report.html`.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

from .copies import Shown


def esc(value: Any) -> str:
    """Text for HTML content and attribute values (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def number(value: int | None) -> str:
    """A count with thousands separators, or a dash for None."""
    return "–" if value is None else f"{value:,}"


def byte_size(value: int) -> str:
    """A size in bytes, in B, kB, MB or GB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value:,} B"


def word_diff(a: str, b: str) -> tuple[str, str]:
    """HTML of ``a`` with the words that ``b`` lacks in ``<del>``, and of ``b`` with its words that ``a`` lacks
    in ``<ins>`` (difflib's longest matching blocks over words; whitespace is kept as written).

    Example:
        >>> word_diff("the truce took effect", "the truce taking affect")
        ('the truce <del>took effect</del>', 'the truce <ins>taking affect</ins>')
    """
    wa = [(m.start(), m.end()) for m in re.finditer(r"\S+", a)]
    wb = [(m.start(), m.end()) for m in re.finditer(r"\S+", b)]
    ka = [a[s:e] for s, e in wa]
    kb = [b[s:e] for s, e in wb]
    out_a: list[str] = [esc(a[: wa[0][0]]) if wa else esc(a)]
    out_b: list[str] = [esc(b[: wb[0][0]]) if wb else esc(b)]

    def piece(text: str, words: list[tuple[int, int]], i: int, j: int, tag: str | None) -> str:
        if i >= j:
            return ""
        start, end = words[i][0], words[j - 1][1]
        tail = text[end : words[j][0]] if j < len(words) else text[end:]
        body = esc(text[start:end])
        return (f"<{tag}>{body}</{tag}>" if tag else body) + esc(tail)

    for op, i1, i2, j1, j2 in SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        out_a.append(piece(a, wa, i1, i2, None if op == "equal" else "del"))
        out_b.append(piece(b, wb, j1, j2, None if op == "equal" else "ins"))
    return "".join(out_a), "".join(out_b)


def svg_image(svg: str, alt: str) -> str:
    """An ``<img>`` of an SVG document, as a ``data:`` URL (the page fetches nothing)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="plot" alt="{esc(alt)}" src="data:image/svg+xml;base64,{data}">'


def table(
    headers: Sequence[tuple[str, str]], rows: Sequence[Sequence[tuple[Any, str]]], name: str, search: bool = False
) -> str:
    """A table whose columns sort on click (``headers``: label and type, "num" or "text"); each cell is
    (sort value, HTML)."""
    head = "".join(f'<th data-type="{t}" scope="col">{esc(label)}</th>' for label, t in headers)
    body = "".join(
        "<tr>" + "".join(f'<td data-sort="{esc(v)}">{cell}</td>' for v, cell in row) + "</tr>" for row in rows
    )
    finder = (
        (
            f'<input type="search" class="finder" data-table="{name}" placeholder="Search this table" '
            f'aria-label="Search this table" hidden>'
        )
        if search
        else ""
    )
    return f'{finder}<table class="sortable" id="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def kv_table(rows: Sequence[tuple[str, str]], name: str = "") -> str:
    """A two-column table of (label, HTML) rows."""
    cells = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<table class="kv"{f" id={chr(34)}{name}{chr(34)}" if name else ""}>{cells}</table>'


def card(label: str, value: str, key: str, note: str = "") -> str:
    """One figure of the "at a glance" cards (``key``: its ``data-count``)."""
    extra = f'<div class="note">{note}</div>' if note else ""
    return (
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="value" data-count="{key}">{value}</div>{extra}</div>'
    )


def snip(text: str, width: int) -> str:
    """``text`` on one line (whitespace runs as one space), cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "\u2026"


def cut(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``."""
    return text if len(text) <= limit else text[:limit]


def length_note(s: Shown, limit: int) -> str:
    """The note that only the first ``limit`` characters of ``s`` are shown, or "" when all are."""
    return f' <span class="muted">(first {limit:,} of {s.length:,} characters)</span>' if s.length > limit else ""


def keep_rows(keep: dict[str, Any]) -> list[tuple[str, str]]:
    """The report's ``keep`` section as (label, HTML) rows."""
    lowest = keep.get("dropped_similarity_at_least")
    rows = [
        ("policy", f"<code>--keep {esc(keep['policy'])}</code>"),
        ("passes over the input", number(keep["passes"])),
        ("kept", number(keep["kept"])),
        ("dropped, each as a kept record's duplicate", number(keep["dropped"])),
        ("lowest similarity of a dropped record to its kept one", esc(f"{lowest:.2f}") if lowest is not None else "–"),
        ("kept although they match a dropped record (chains)", number(keep["kept_matching_only_dropped"])),
    ]
    if "kept_not_first" in keep:
        rows.append(("kept by the policy where first would drop them", number(keep["kept_not_first"])))
        rows.append(("dropped by the policy where first would keep them", number(keep["dropped_not_first"])))
    return rows
