"""The HTML report: one self-contained page from the run's report model.

The numbers come from the JSON report (:func:`dedupe.report.build.build_report`, or
:func:`dedupe.report.annotated.annotated_report` for ``dedupe report``); the texts come from
:class:`~dedupe.report.copies.Examples`. Nothing here computes a count of its own.

The page has no external resource: CSS and one script are inline, plots are SVG ``data:`` images
(matplotlib, see :mod:`dedupe.report.plots`), and a Content-Security-Policy forbids every fetch and every
script but the page's own (by its hash). Every piece of document text, id and file name goes through
:func:`html.escape`; the script only sorts and filters tables, which stay readable without it. The pieces
of the page are in :mod:`~dedupe.report.htmlparts`, its CSS and script in :mod:`~dedupe.report.htmlassets`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .. import __version__
from ..passages.matcher import PassageMatch
from ..passages.stats import REPEAT_KINDS
from .copies import Examples, Shown
from .htmlassets import CSS, SCRIPT
from .htmlparts import (
    byte_size,
    card,
    cut,
    esc,
    keep_rows,
    kv_table,
    length_note,
    number,
    snip,
    svg_image,
    table,
    word_diff,
)


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
            card("input records", number(c["input"]), "input"),
            card("kept", number(c["kept"]), "kept"),
            card("duplicates", number(c["duplicates"]), "duplicates"),
            card("rejected", number(c["rejected"]), "rejected"),
            card("clusters", number(c["clusters"]), "clusters"),
        ]
        if removed:
            note = f"{share:.1%} of the text" if share is not None else ""
            cards.append(card("text filter removes", esc(byte_size(removed["bytes"])), "removed_bytes", esc(note)))
        parts = [f'<div class="cards">{"".join(cards)}</div>']
        if c.get("rejected_by_reason"):
            rows = [((code), f"<code>{esc(code)}</code>") for code in c["rejected_by_reason"]]
            parts.append(
                "<h3>Rejected lines by reason</h3>"
                + table(
                    [("reason", "text"), ("lines", "num")],
                    [[rows[k], (n, number(n))] for k, n in enumerate(c["rejected_by_reason"].values())],
                    "rejected-reasons",
                )
            )
        details = []
        if removed:
            parts.append(
                '<p class="muted">Filtering removes '
                + esc(
                    f"{number(removed['documents'])} duplicate documents "
                    f"({byte_size(removed['document_bytes'])} of text)"
                    + (
                        f" and repeated passages of kept documents ({byte_size(removed['passage_bytes'])})"
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
                details.append((label, number(c[key])))
        parts.append('<div class="columns">')
        parts.append("<div><h3>Counts</h3>" + kv_table(details) + "</div>")
        keep = self.r.get("keep")
        if keep:
            parts.append("<div><h3>Which copy is kept</h3>" + kv_table(keep_rows(keep), "keep") + "</div>")
        p = self.r.get("parameters")
        if p:
            shown = [
                ("shingles", esc(f"{p['unit']} {p['ngram']}-grams")),
                ("num_perm", number(p["num_perm"])),
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
            parts.append("<div><h3>Parameters</h3>" + kv_table(shown, "parameters") + "</div>")
        t = self.r.get("timings")
        if t:
            rate = (
                f"{t['docs_per_second']:,.0f} docs/s, {t['megabytes_per_second']:,.2f} MB/s"
                if t.get("docs_per_second")
                else "–"
            )
            parts.append(
                "<div><h3>Time</h3>"
                + kv_table(
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
                "pairs at or above the threshold join a cluster, and a record is dropped as the duplicate of the "
                "kept record it matches best. The curve is the probability that LSH makes a pair "
                "of that similarity a candidate at all: where it is low, pairs are missed before verification.</p>"
                if candidates is not None and sum(candidates)
                else "<p>Similarity of each duplicate to the record it duplicates; the curve is the probability "
                "that LSH makes a pair of that similarity a candidate.</p>"
            )
            svg = self.plots.similarity_plot(candidates, duplicates, p.get("threshold"), p.get("bands"), p.get("rows"))
            out.append(svg_image(svg, "Histogram of pair similarities with the LSH S-curve"))
        sizes = self.r.get("cluster_sizes") or {}
        out.append('<h2 id="sizes">Cluster sizes</h2>')
        if sizes:
            out.append(svg_image(self.plots.cluster_size_plot(sizes), "Number of clusters by size, log scale"))
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
            out.append(f"<p>The {len(groups)} largest of {number(total)} clusters; the JSON report lists them all.</p>")
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
            snippet = esc(snip(rep.text, 140)) if rep is not None else "<em>earlier run</em>"
            if here[0] is None and rep is not None:  # the text shown is not the first member's: say whose it is
                snippet = f"<em>{esc(first_id)}: earlier run</em> · {esc(rep.id)}: {snippet}"
            rows.append(
                [
                    (k, f'<a href="#cluster-{k}">{k}</a>'),
                    (first_id, esc(first_id)),
                    (len(members), number(len(members))),
                    (min(sims) if sims else 0, f"{min(sims):.3f}" if sims else "–"),
                    (sum(sims) / len(sims) if sims else 0, f"{sum(sims) / len(sims):.3f}" if sims else "–"),
                    (rep.text[:140] if rep else "", snippet),
                ]
            )
            sections.append(self._cluster(k, members, here, rep))
        out.append(
            table(
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
            f'<span class="muted">{number(len(members))} documents</span></summary>'
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
            rep_text = cut(rep.text, lim.diff_chars)
            count = 0
            for _, s in zip(members, here):
                if s is None or s is rep:
                    continue
                count += 1
                if count > lim.members:
                    break
                left, right = word_diff(rep_text, cut(s.text, lim.diff_chars))
                sim = (
                    f"similarity {s.similarity:.3f}"
                    if s.similarity is not None
                    else "kept when written (a later record joined its cluster to this one)"
                )
                to = f" to {esc(s.duplicate_of)}" if s.duplicate_of is not None and s.duplicate_of != rep.id else ""
                body.append(
                    f'<div class="pair"><div class="side"><div class="who">representative <b>{esc(rep.id)}</b>'
                    f'{length_note(rep, lim.diff_chars)}</div><div class="text">{left}</div></div>'
                    f'<div class="side"><div class="who">member <b>{esc(s.id)}</b> · {sim}{to}'
                    f'{length_note(s, lim.diff_chars)}</div><div class="text">{right}</div></div></div>'
                )
            rest = len(members) - 1 - min(count, lim.members)
            if rest > 0:
                body.append(f'<p class="muted">and {number(rest)} more members (see the JSON report).</p>')
        return f'<details class="cluster" id="cluster-{k}"{" open" if k <= 3 else ""}>{head}{"".join(body)}</details>'

    def passages(self) -> str:
        p = self.r.get("passages")
        if p is None:
            return ""
        removing = ("exact", "near", "boilerplate")  # what filter --passages cuts (remove_spans): not quotes
        out = [
            '<h2 id="passages">Repeated passages</h2>',
            f"<p>{number(p['passages'])} passages in {number(p['documents'])} kept documents. Exact, near and "
            "boilerplate repeats are what <code>filter --passages</code> removes; quotes (shared word runs inside "
            "otherwise different sentences) are only reported.</p>",
        ]
        rows = [
            [
                (k, f'<span class="kind k-{k}">{k}</span>'),
                (p["found"].get(k, 0), number(p["found"].get(k, 0))),
                (p["chars"].get(k, 0), number(p["chars"].get(k, 0))),
            ]
            for k in REPEAT_KINDS
        ]
        out.append(table([("kind", "text"), ("spans", "num"), ("characters", "num")], rows, "passage-kinds"))
        out.append(svg_image(self.plots.removed_chars_plot(p["chars"], removing), "Repeated characters by kind"))
        top = p.get("top") or []
        if top:
            out.append("<h3>Most repeated passages</h3>")
            out.append(svg_image(self.plots.top_passages_plot(top), "Occurrences of the most repeated passages"))
            rows = [
                [
                    (k, number(k)),
                    (t["occurrences"], number(t["occurrences"])),
                    (t["documents"], number(t["documents"])),
                    (t["text"], esc(snip(t["text"], 300))),
                    (t["first"]["id"], esc(t["first"]["id"])),
                ]
                for k, t in enumerate(top[: self.limits.top_passages], 1)
            ]
            out.append(
                table(
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
                source = esc(snip(other.text[m.match_start : m.match_end], 400))
            elif m.match_id == d.id and m.match_end <= len(text):
                source = esc(snip(text[m.match_start : m.match_end], 400))
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
                f"<p>The first {len(rows)} of {number(total)}"
                + (f"; all are in {esc(self.r['rejects_file'])}" if self.r.get("rejects_file") else "")
                + ".</p>"
            )
        out.append(
            table(
                [("input", "text"), ("line", "num"), ("reason", "text"), ("message", "text")],
                [
                    [
                        (r["source"], esc(r["source"])),
                        (r["line"], number(r["line"])),
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
    what = m.repeat_kind
    return f"{what}, similarity {m.similarity:.2f}: repeats {m.match_id} characters {m.match_start:,}-{m.match_end:,}"


def render(report: dict[str, Any], examples: Examples, clusters: Clusters, limits: Limits = Limits()) -> str:
    """The HTML page of a run (see the module docstring)."""
    from . import plots  # needs the report extra; imported only when a page is built

    page = _Page(report, examples, clusters, limits, plots)
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
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
        f"<title>dedupe report: {esc(inputs)}</title><style>{CSS}</style></head><body>{body}"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
