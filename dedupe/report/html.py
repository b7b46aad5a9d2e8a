"""The HTML report: one self-contained page from the run's report model.

The numbers come from the JSON report (:func:`dedupe.report.build.build_report`, or
:func:`dedupe.report.build.report_from_annotations` for ``dedupe report``); the texts come from
:class:`~dedupe.report.copies.Examples`. Nothing here computes a count of its own.

The page has no external resource: CSS and one script are inline, plots are SVG ``data:`` images
(matplotlib, see :mod:`dedupe.report.plots`), and a Content-Security-Policy forbids every fetch and every
script but the page's own (by its hash). Every piece of document text, id and file name goes through
:func:`html.escape`; the script only sorts and filters tables, which stay readable without it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

import orjson

from .. import __version__
from ..passages.matcher import PassageMatch
from .copies import REPEAT_KINDS, Examples, Shown


@dataclass(frozen=True)
class Limits:
    """What the page shows at most (it stays small enough to mail whatever the corpus)."""

    clusters: int = 25  # clusters listed in the table and shown member by member
    members: int = 8  # members shown per cluster, beside the representative
    diff_chars: int = 3_000  # characters of each text in a cluster's side-by-side view
    passage_documents: int = 30  # documents shown with their repeated spans
    top_passages: int = 20


@dataclass
class Clusters:
    """The run's clusters as document numbers, and how to find their records.

    Attributes:
        groups: (root, members in input order) per cluster, largest first.
        position: Document number -> position among this run's records, or -1 for an earlier run's document.
        id_of: Document number -> id.
    """

    groups: Sequence[tuple[int, list[int]]]
    position: Callable[[int], int]
    id_of: Callable[[int], str]


def esc(value: Any) -> str:
    """Text for HTML content and attribute values (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def _n(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _bytes(value: int) -> str:
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


def _svg_image(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="plot" alt="{esc(alt)}" src="data:image/svg+xml;base64,{data}">'


def _table(
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


def _kv(rows: Sequence[tuple[str, str]], name: str = "") -> str:
    cells = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<table class="kv"{f" id={chr(34)}{name}{chr(34)}" if name else ""}>{cells}</table>'


def _card(label: str, value: str, key: str, note: str = "") -> str:
    extra = f'<div class="note">{note}</div>' if note else ""
    return (
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="value" data-count="{key}">{value}</div>{extra}</div>'
    )


class _Page:
    def __init__(
        self, report: dict[str, Any], examples: Examples, clusters: Clusters, limits: Limits, plots: Any
    ) -> None:
        self.r = report
        self.ex = examples
        self.cl = clusters
        self.limits = limits
        self.plots = plots

    def glance(self) -> str:
        c = self.r["counts"]
        removed = self.r.get("removed_by_filter") or {}
        share = removed.get("share_of_text")
        cards = [
            _card("input records", _n(c["input"]), "input"),
            _card("kept", _n(c["kept"]), "kept"),
            _card("duplicates", _n(c["duplicates"]), "duplicates"),
            _card("rejected", _n(c["rejected"]), "rejected"),
            _card("clusters", _n(c["clusters"]), "clusters"),
        ]
        if removed:
            note = f"{share:.1%} of the text" if share is not None else ""
            cards.append(_card("text filter removes", esc(_bytes(removed["bytes"])), "removed_bytes", esc(note)))
        parts = [f'<div class="cards">{"".join(cards)}</div>']
        if c.get("rejected_by_reason"):
            rows = [((code), f"<code>{esc(code)}</code>") for code in c["rejected_by_reason"]]
            parts.append(
                "<h3>Rejected lines by reason</h3>"
                + _table(
                    [("reason", "text"), ("lines", "num")],
                    [[rows[k], (n, _n(n))] for k, n in enumerate(c["rejected_by_reason"].values())],
                    "rejected-reasons",
                )
            )
        details = []
        if removed:
            parts.append(
                '<p class="muted">Filtering removes '
                + esc(
                    f"{_n(removed['documents'])} duplicate documents ({_bytes(removed['document_bytes'])} of text)"
                    + (
                        f" and repeated passages of kept documents ({_bytes(removed['passage_bytes'])})"
                        if removed.get("passage_bytes") is not None
                        else ""
                    )
                )
                + ".</p>"
            )
        for key, label in (
            ("blank_lines_skipped", "blank lines skipped"),
            ("lsh_candidates", "LSH candidates verified"),
            ("clusters_merged_after_output", "clusters merged after output"),
            ("repeated_ids", "records reusing an earlier id"),
            ("truncated_for_matching", "texts matched on their start only (--max-chars)"),
            ("lines_skipped_by_resume", "lines skipped by --resume"),
        ):
            if c.get(key) is not None:
                details.append((label, _n(c[key])))
        parts.append('<div class="columns">')
        parts.append("<div><h3>Counts</h3>" + _kv(details) + "</div>")
        p = self.r.get("parameters")
        if p:
            shown = [
                ("shingles", esc(f"{p['unit']} {p['ngram']}-grams")),
                ("num_perm", _n(p["num_perm"])),
                ("bands x rows", esc(f"{p['bands']} x {p['rows']}")),
                ("threshold", esc(p["threshold"])),
                ("seed", esc(p["seed"])),
                ("verification", esc(p["verify"])),
            ]
            shown += [
                (k, esc(orjson.dumps(v).decode() if isinstance(v, (dict, list)) else v))
                for k, v in p.items()
                if k not in ("unit", "ngram", "num_perm", "bands", "rows", "threshold", "seed", "verify")
            ]
            parts.append("<div><h3>Parameters</h3>" + _kv(shown, "parameters") + "</div>")
        t = self.r.get("timings")
        if t:
            rate = (
                f"{t['docs_per_second']:,.0f} docs/s, {t['megabytes_per_second']:,.2f} MB/s"
                if t.get("docs_per_second")
                else "–"
            )
            parts.append(
                "<div><h3>Time</h3>"
                + _kv(
                    [
                        ("total", esc(f"{t['seconds']:,.2f} s")),
                        ("throughput", esc(rate)),
                        ("signatures", esc(f"{t['feature_seconds']:,.2f} s")),
                        ("matching", esc(f"{t['match_seconds']:,.2f} s")),
                        ("text", esc(f"{t['text_megabytes']:,.1f} MB")),
                    ]
                )
                + "</div>"
            )
        parts.append("</div>")
        return "".join(parts)

    def distributions(self) -> str:
        h = self.r.get("similarity_histogram") or {}
        p = self.r.get("parameters") or {}
        out = ['<h2 id="similarity">Similarity of matched pairs</h2>']
        candidates = h.get("candidates")
        duplicates = h.get("duplicates")
        if duplicates is None:
            out.append("<p>No similarity figures in this report.</p>")
        else:
            out.append(
                "<p>Every LSH candidate pair was verified by the exact Jaccard similarity of its shingle sets; "
                "pairs at or above the threshold are duplicates. The curve is the probability that LSH makes a pair "
                "of that similarity a candidate at all: where it is low, pairs are missed before verification.</p>"
                if candidates is not None and sum(candidates)
                else "<p>Similarity of each duplicate to the record it duplicates; the curve is the probability "
                "that LSH makes a pair of that similarity a candidate.</p>"
            )
            svg = self.plots.similarity_plot(candidates, duplicates, p.get("threshold"), p.get("bands"), p.get("rows"))
            out.append(_svg_image(svg, "Histogram of pair similarities with the LSH S-curve"))
        sizes = self.r.get("cluster_sizes") or {}
        out.append('<h2 id="sizes">Cluster sizes</h2>')
        if sizes:
            out.append(_svg_image(self.plots.cluster_size_plot(sizes), "Number of clusters by size, log scale"))
        else:
            out.append("<p>No clusters: no record duplicates another.</p>")
        return "".join(out)

    def largest_clusters(self) -> str:
        groups = list(self.cl.groups[: self.limits.clusters])
        total = self.r["counts"]["clusters"]
        out = ['<h2 id="clusters">Largest clusters</h2>']
        if not groups:
            out.append("<p>No clusters.</p>")
            return "".join(out)
        if total > len(groups):
            out.append(f"<p>The {len(groups)} largest of {_n(total)} clusters; the JSON report lists them all.</p>")
        wanted = [
            p for _, members in groups for p in map(self.cl.position, members[: self.limits.members + 1]) if p >= 0
        ]
        shown = self.ex.read(wanted)
        rows = []
        sections = []
        for k, (_root, members) in enumerate(groups, 1):
            here = [shown.get(self.cl.position(m)) for m in members]
            sims = [s.similarity for s in here if s is not None and s.similarity is not None]
            rep = next((s for s in here if s is not None), None)
            first_id = self.cl.id_of(members[0])
            snippet = esc(_snip(rep.text, 140)) if rep is not None else "<em>earlier run</em>"
            if here[0] is None and rep is not None:  # the text shown is not the first member's: say whose it is
                snippet = f"<em>{esc(first_id)}: earlier run</em> · {esc(rep.id)}: {snippet}"
            rows.append(
                [
                    (k, f'<a href="#cluster-{k}">{k}</a>'),
                    (first_id, esc(first_id)),
                    (len(members), _n(len(members))),
                    (min(sims) if sims else 0, f"{min(sims):.3f}" if sims else "–"),
                    (sum(sims) / len(sims) if sims else 0, f"{sum(sims) / len(sims):.3f}" if sims else "–"),
                    (rep.text[:140] if rep else "", snippet),
                ]
            )
            sections.append(self._cluster(k, members, here, rep))
        out.append(
            _table(
                [
                    ("#", "num"),
                    ("cluster", "text"),
                    ("size", "num"),
                    ("min similarity", "num"),
                    ("mean similarity", "num"),
                    ("representative", "text"),
                ],
                rows,
                "clusters-table",
                search=True,
            )
        )
        out.append("".join(sections))
        return "".join(out)

    def _cluster(self, k: int, members: list[int], here: list[Shown | None], rep: Shown | None) -> str:
        lim = self.limits
        head = (
            f'<summary><span class="pill">#{k}</span> {esc(self.cl.id_of(members[0]))} '
            f'<span class="muted">{_n(len(members))} documents</span></summary>'
        )
        body = []
        if here[0] is None:
            body.append(
                f'<p class="muted">The first member, {esc(self.cl.id_of(members[0]))}, is from an earlier '
                "run (its text is not in this run): members are shown beside the first member of this run.</p>"
            )
        if rep is None:
            body.append('<p class="muted">No member of this run is among the members shown.</p>')
        else:
            rep_text = _cut(rep.text, lim.diff_chars)
            count = 0
            for _, s in zip(members, here):
                if s is None or s is rep:
                    continue
                count += 1
                if count > lim.members:
                    break
                left, right = word_diff(rep_text, _cut(s.text, lim.diff_chars))
                sim = (
                    f"similarity {s.similarity:.3f}"
                    if s.similarity is not None
                    else "kept when written (a later record joined its cluster to this one)"
                )
                to = f" to {esc(s.duplicate_of)}" if s.duplicate_of is not None and s.duplicate_of != rep.id else ""
                body.append(
                    f'<div class="pair"><div class="side"><div class="who">representative <b>{esc(rep.id)}</b>'
                    f'{_more(rep, lim.diff_chars)}</div><div class="text">{left}</div></div>'
                    f'<div class="side"><div class="who">member <b>{esc(s.id)}</b> · {sim}{to}'
                    f'{_more(s, lim.diff_chars)}</div><div class="text">{right}</div></div></div>'
                )
            rest = len(members) - 1 - min(count, lim.members)
            if rest > 0:
                body.append(f'<p class="muted">and {_n(rest)} more members (see the JSON report).</p>')
        return f'<details class="cluster" id="cluster-{k}"{" open" if k <= 3 else ""}>{head}{"".join(body)}</details>'

    def passages(self) -> str:
        p = self.r.get("passages")
        if p is None:
            return ""
        removing = ("exact", "near", "boilerplate")  # what filter --passages cuts (remove_spans): not quotes
        out = [
            '<h2 id="passages">Repeated passages</h2>',
            f"<p>{_n(p['passages'])} passages in {_n(p['documents'])} kept documents. Exact, near and boilerplate "
            "repeats are what <code>filter --passages</code> removes; quotes (shared word runs inside otherwise "
            "different sentences) are only reported.</p>",
        ]
        rows = [
            [
                (k, f'<span class="kind k-{k}">{k}</span>'),
                (p["found"][k], _n(p["found"][k])),
                (p["chars"][k], _n(p["chars"][k])),
            ]
            for k in REPEAT_KINDS
        ]
        out.append(_table([("kind", "text"), ("spans", "num"), ("characters", "num")], rows, "passage-kinds"))
        out.append(_svg_image(self.plots.removed_chars_plot(p["chars"], removing), "Repeated characters by kind"))
        top = p.get("top") or []
        if top:
            out.append("<h3>Most repeated passages</h3>")
            out.append(_svg_image(self.plots.top_passages_plot(top), "Occurrences of the most repeated passages"))
            rows = [
                [
                    (k, _n(k)),
                    (t["occurrences"], _n(t["occurrences"])),
                    (t["documents"], _n(t["documents"])),
                    (t["text"], esc(_snip(t["text"], 300))),
                    (t["first"]["id"], esc(t["first"]["id"])),
                ]
                for k, t in enumerate(top[: self.limits.top_passages], 1)
            ]
            out.append(
                _table(
                    [
                        ("#", "num"),
                        ("occurrences", "num"),
                        ("documents", "num"),
                        ("passage", "text"),
                        ("first seen in", "text"),
                    ],
                    rows,
                    "top-passages",
                    search=True,
                )
            )
        out.append(self._documents())
        return "".join(out)

    def _documents(self) -> str:
        positions = self.ex.passage_documents()[: self.limits.passage_documents]
        if not positions:
            return "<p>No repeated passage in the kept documents.</p>"
        docs = self.ex.read(positions)
        wanted: dict[str, int] = {}
        for pos in positions:
            for m in docs[pos].passages or []:
                wanted[m.match_id] = max(wanted.get(m.match_id, -1), pos + (m.match_id == docs[pos].id))
        where = self.ex.find_ids(wanted)
        matched = self.ex.read(where.values())
        shown = set(positions)
        out = [
            '<h3 id="documents">Documents with the most repeated text</h3>',
            '<p class="legend">'
            + " ".join(f'<mark class="k-{k}">{k}</mark>' for k in REPEAT_KINDS)
            + " &nbsp;Each highlighted span links to the passage it repeats.</p>",
        ]
        for pos in positions:
            d = docs[pos]
            out.append(self._document(d, where, matched, shown))
        return "".join(out)

    def _document(self, d: Shown, where: dict[str, int], matched: dict[int, Shown], shown: set[int]) -> str:
        spans = sorted(d.passages or [], key=lambda m: (m.start, m.end))
        text = d.text
        pieces, notes, at = [], [], 0
        for i, m in enumerate(spans):
            anchor = f"d{d.position}-s{i}"
            start, end = max(m.start, at), min(m.end, len(text))
            target = where.get(m.match_id)
            if target is not None and target == d.position:
                target = None
            link = f"#d{target}" if target is not None and target in shown else f"#{anchor}-m"
            if start < end:
                pieces.append(esc(text[at:start]))
                pieces.append(
                    f'<a class="span" href="{link}" title="{esc(_title(m))}"><mark class="k-{esc(m.kind)}" '
                    f'id="{anchor}">{esc(text[start:end])}</mark></a>'
                )
                at = end
            other = matched.get(target) if target is not None else None
            if other is not None and m.match_end <= len(other.text):
                source = esc(_snip(other.text[m.match_start : m.match_end], 400))
            elif m.match_id == d.id and m.match_end <= len(text):
                source = esc(_snip(text[m.match_start : m.match_end], 400))
            else:
                source = "<em>past the characters kept for display of that document</em>"
            goto = (
                f' · <a href="#d{target}">go to {esc(m.match_id)}</a>' if target is not None and target in shown else ""
            )
            notes.append(
                f'<li id="{anchor}-m"><span class="kind k-{esc(m.kind)}">{esc(m.kind)}</span> '
                f"{esc(_title(m))}{goto}<blockquote>{source}</blockquote></li>"
            )
        pieces.append(esc(text[at:]))
        repeated = sum(m.end - m.start for m in spans)
        more = f" (shown up to {len(text):,} of {d.length:,} characters)" if d.length > len(text) else ""
        return (
            f'<article class="doc" id="d{d.position}"><h4>{esc(d.id)} <span class="muted">{repeated:,} of '
            f'{d.length:,} characters repeated{more}</span></h4><div class="text">{"".join(pieces)}</div>'
            f'<details><summary>{len(spans)} repeated spans and what they repeat</summary><ol class="matches">'
            f"{''.join(notes)}</ol></details></article>"
        )

    def rejected(self) -> str:
        rows = self.ex.rejected
        if not rows:
            return ""
        total = self.r["counts"]["rejected"]
        out = ['<h2 id="rejected">Rejected lines</h2>']
        if total > len(rows):
            out.append(
                f"<p>The first {len(rows)} of {_n(total)}"
                + (f"; all are in {esc(self.r['rejects_file'])}" if self.r.get("rejects_file") else "")
                + ".</p>"
            )
        out.append(
            _table(
                [("input", "text"), ("line", "num"), ("reason", "text"), ("message", "text")],
                [
                    [
                        (r["source"], esc(r["source"])),
                        (r["line"], _n(r["line"])),
                        (r["code"], f"<code>{esc(r['code'])}</code>"),
                        (r["reason"], esc(r["reason"])),
                    ]
                    for r in rows
                ],
                "rejected-lines",
                search=True,
            )
        )
        return "".join(out)


def _title(m: PassageMatch) -> str:
    what = "quote" if m.unit == "quote" else m.kind
    return f"{what}, similarity {m.similarity:.2f}: repeats {m.match_id} characters {m.match_start:,}-{m.match_end:,}"


def _snip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "\u2026"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def _more(s: Shown, limit: int) -> str:
    return f' <span class="muted">(first {limit:,} of {s.length:,} characters)</span>' if s.length > limit else ""


_CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bg:#f8fafc;--accent:#2563eb}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);margin:0;background:#fff}main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
header{background:var(--bg);border-bottom:1px solid var(--line)}\
header .in{max-width:1200px;margin:0 auto;padding:14px 24px}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:18px 0 6px}h4{font-size:14px;margin:0 0 6px}nav a{margin-right:14px}
a{color:var(--accent)}.muted{color:var(--muted);font-weight:normal}code{font-size:12px}
.banner{padding:10px 14px;border-radius:6px;margin:12px 0;background:#fef2f2;border:1px solid #fecaca}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{border:1px solid var(--line);border-radius:8px;
padding:10px 14px;min-width:150px;background:var(--bg)}.card .label{color:var(--muted);font-size:12px}
.card .value{font-size:22px;font-weight:600}.card .note{font-size:12px;color:var(--muted)}
.columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:18px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}table.kv{width:100%}\
th,td{border-bottom:1px solid var(--line);padding:4px 8px;
text-align:left;vertical-align:top}table.kv th{font-weight:normal;color:var(--muted);white-space:nowrap}
table.sortable th{cursor:pointer;background:var(--bg);user-select:none}\
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}td[data-sort]{max-width:560px;overflow-wrap:anywhere}
.finder{margin:6px 0;padding:5px 8px;width:320px;border:1px solid var(--line);border-radius:6px}
img.plot{width:min(100%,780px);height:auto;display:block;margin:6px 0}
details.cluster{border:1px solid var(--line);border-radius:8px;margin:10px 0;padding:6px 12px}
details.cluster summary{cursor:pointer;font-weight:600}.pill{background:var(--accent);color:#fff;border-radius:10px;
padding:0 7px;font-size:12px}.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin:10px 0;
border-top:1px dashed var(--line);padding-top:8px}.who{font-size:12px;color:var(--muted);margin-bottom:4px}
.text{white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px;max-height:420px;overflow:auto;
background:var(--bg);padding:8px;border-radius:6px}del{background:#fee2e2;color:#991b1b}
ins{background:#dcfce7;color:#166534;text-decoration:none}
article.doc{border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:12px 0}
mark{padding:0 1px;border-radius:2px}a.span{color:inherit;text-decoration:none}
.k-exact{background:#fecaca}.k-near{background:#fed7aa}.k-boilerplate{background:#ddd6fe}.k-quote{background:#99f6e4}
span.kind{padding:0 5px;border-radius:4px;font-size:12px}blockquote{margin:4px 0 8px 16px;color:var(--muted);
white-space:pre-wrap}ol.matches{font-size:13px}footer{color:var(--muted);font-size:12px;margin-top:36px}
article.doc:target,li:target,details:target,mark:target{outline:2px solid var(--accent)}
"""

# Sorting on a header click and filtering rows by a search box; the tables are complete without it.
_SCRIPT = """
(function(){
  function key(td, type){var v=td.getAttribute('data-sort');return type==='num'?parseFloat(v):v.toLowerCase();}
  document.querySelectorAll('table.sortable').forEach(function(table){
    var heads=table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,col){
      th.tabIndex=0;
      function sort(){
        var type=th.getAttribute('data-type'), asc=th.getAttribute('aria-sort')!=='ascending';
        Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=table.tBodies[0], rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){var x=key(a.cells[col],type),y=key(b.cells[col],type);
          return (x<y?-1:x>y?1:0)*(asc?1:-1);});
        rows.forEach(function(r){body.appendChild(r);});
      }
      th.addEventListener('click',sort);
      th.addEventListener('keydown',function(e){if(e.key==='Enter'){sort();}});
    });
  });
  document.querySelectorAll('input.finder').forEach(function(box){
    box.hidden=false;
    var table=document.getElementById(box.getAttribute('data-table'));
    box.addEventListener('input',function(){
      var q=box.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows,function(r){
        r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;});
    });
  });
})();
"""


def render(report: dict[str, Any], examples: Examples, clusters: Clusters, limits: Limits = Limits()) -> str:
    """The HTML page of a run (see the module docstring)."""
    from . import plots  # needs the report extra; imported only when a page is built

    page = _Page(report, examples, clusters, limits, plots)
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    csp = (
        f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; "
        "form-action 'none'; base-uri 'none'"
    )
    inputs = ", ".join(report.get("inputs") or []) or "–"
    banner = ""
    if not report.get("completed", True):
        banner = (
            f'<div class="banner" role="alert"><b>This run did not complete:</b> '
            f"{esc(report.get('error') or 'stopped')}. "
            "The figures cover the records decided before it stopped.</div>"
        )
    for note in report.get("notes") or []:
        banner += f'<div class="banner">{esc(note)}</div>'
    nav = [
        '<a href="#glance">At a glance</a>',
        '<a href="#similarity">Similarity</a>',
        '<a href="#clusters">Clusters</a>',
    ]
    if report.get("passages") is not None:
        nav.append('<a href="#passages">Passages</a>')
    if examples.rejected:
        nav.append('<a href="#rejected">Rejected</a>')
    lim = limits
    footer = (
        f"dedupe {esc(__version__)}. This page is self-contained (no network access). It shows at most "
        f"{lim.clusters} clusters with {lim.members} members each (texts cut at {lim.diff_chars:,} characters), "
        f"{lim.passage_documents} documents with repeated passages (cut at {examples.text_limit:,} characters) "
        f"and {len(examples.rejected)} rejected lines; the JSON report has every cluster."
    )
    body = (
        f'<header><div class="in"><h1>dedupe {esc(report.get("mode", ""))} report</h1>'
        f'<div class="muted">{esc(inputs)}</div><nav>{"".join(nav)}</nav></div></header><main>{banner}'
        f'<h2 id="glance">At a glance</h2>{page.glance()}{page.distributions()}{page.largest_clusters()}'
        f"{page.passages()}{page.rejected()}<footer>{footer}</footer></main>"
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>dedupe report: {esc(inputs)}</title><style>{_CSS}</style></head><body>{body}"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
