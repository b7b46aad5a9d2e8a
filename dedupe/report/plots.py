"""The HTML report's plots: matplotlib figures rendered to SVG text (needs the ``report`` extra).

matplotlib is used through its object API (``Figure`` and the SVG canvas), never ``pyplot``, so no global
state or GUI backend is involved. Text stays text in the SVG (``svg.fonttype: none``), which keeps each plot
at a few tens of kilobytes; ids and metadata are fixed, so the same numbers give the same SVG.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

try:
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
except ImportError as exc:  # pragma: no cover - exercised by the CLI check
    raise ImportError("the HTML report needs matplotlib: pip install 'dedupe[report]'") from exc

INK = "#1f2933"
MUTED = "#9aa5b1"
ACCENT = "#2563eb"
KIND_COLORS = {
    "exact": "#dc2626",
    "near": "#ea580c",
    "boilerplate": "#7c3aed",
    "quote": "#0d9488",
    "formula": "#6b7280",
}

_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "dedupe",
    "font.family": ["DejaVu Sans", "sans-serif"],
    "font.size": 9,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _figure(
    width: float = 6.4,
    height: float = 3.0,
    left: float = 0.75,
    right: float = 0.75,
    bottom: float = 0.5,
    top: float = 0.15,
) -> Figure:
    """A figure with fixed margins in inches (a layout engine would draw everything twice: half the time)."""
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)
    return fig


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    with matplotlib.rc_context(_STYLE):
        FigureCanvasSVG(fig).print_svg(out, metadata={"Date": None, "Creator": None})
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def s_curve(similarity: float, bands: int, rows: int) -> float:
    """Probability that LSH with ``bands`` x ``rows`` makes a pair of this Jaccard similarity a candidate."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def similarity_plot(
    candidates: Sequence[int] | None,
    duplicates: Sequence[int],
    threshold: float | None,
    bands: int | None,
    rows: int | None,
) -> str:
    """Histogram of the similarity of LSH candidate pairs (or of duplicates only), the LSH S-curve on a second
    axis and the threshold marked."""
    with matplotlib.rc_context(_STYLE):
        fig = _figure()
        ax = fig.add_subplot()
        bins = len(duplicates)
        edges = [k / bins for k in range(bins + 1)]
        shown = candidates if candidates is not None and sum(candidates) != 0 else None
        counts = [c for c in (shown or duplicates) if c]
        # e.g. exact copies at 1.0 dwarf the rest: then a log scale
        log = bool(counts) and max(counts) >= 20 * min(counts)
        base = 0.7 if log else 0
        # One filled step patch per series (stairs), not a bar per bin: a tenth of the drawing time.
        if shown is not None:
            below = [c if threshold is None or edges[k + 1] <= threshold + 1e-9 else 0 for k, c in enumerate(shown)]
            above = [c - b for c, b in zip(shown, below)]
            ax.stairs(below, edges, fill=True, baseline=base, color=MUTED, label="candidate pairs below the threshold")
            ax.stairs(above, edges, fill=True, baseline=base, color=ACCENT, label="candidate pairs at or above it")
            ax.set_ylabel("candidate pairs (verified)")
        else:
            ax.stairs(duplicates, edges, fill=True, baseline=base, color=ACCENT, label="duplicates")
            ax.set_ylabel("duplicates")
        ax.set_xlabel("Jaccard similarity of the pair (exact)")
        ax.set_xlim(0, 1)
        if log:
            ax.set_yscale("log")
            ax.set_ylim(base, max(counts) * 1.6)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v >= 1 else ""))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_ylabel(ax.get_ylabel() + " (log scale)")
        else:
            ax.set_ylim(bottom=0, top=None if counts else 1)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        handles, labels = ax.get_legend_handles_labels()
        if threshold is not None:
            line = ax.axvline(threshold, color=INK, linestyle="--", linewidth=1)
            handles.append(line)
            labels.append(f"threshold {threshold:g}")
        if bands and rows:
            twin = ax.twinx()
            xs = [k / 200 for k in range(201)]
            (curve,) = twin.plot(xs, [s_curve(x, bands, rows) for x in xs], color="#f59e0b", linewidth=1.5)
            twin.set_ylim(0, 1.02)
            twin.set_ylabel("P(candidate)")
            twin.spines["right"].set_visible(True)
            handles.append(curve)
            labels.append(f"LSH S-curve 1-(1-s^{rows})^{bands}")
        ax.legend(handles, labels, loc="upper left", frameon=False, fontsize=8)
        return _svg(fig)


def cluster_size_plot(sizes: dict[str, int]) -> str:
    """Number of clusters by size, both axes logarithmic."""
    with matplotlib.rc_context(_STYLE):
        fig = _figure(height=2.8, right=0.3)
        ax = fig.add_subplot()
        xs = [int(k) for k in sizes]
        ys = list(sizes.values())
        ax.scatter(xs, ys, color=ACCENT, s=18, zorder=3)
        ax.vlines(xs, 0.8, ys, color=ACCENT, linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(1.5, max([*xs, 10]) * 1.5)
        ax.set_ylim(0.8, max([*ys, 10]) * 1.5)
        plain = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v >= 1 else "")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())
        if len(xs) <= 12:
            ax.set_xticks(xs, labels=[f"{x:,}" for x in xs])
        ax.set_xlabel("cluster size (documents)")
        ax.set_ylabel("clusters")
        return _svg(fig)


def removed_chars_plot(chars: dict[str, int], removing: Sequence[str]) -> str:
    """Characters of repeated passages by kind (those a filter run removes marked)."""
    with matplotlib.rc_context(_STYLE):
        kinds = list(chars)
        fig = _figure(height=0.6 + 0.38 * len(kinds), left=1.5, right=0.3, bottom=0.45, top=0.1)
        ax = fig.add_subplot()
        ys = range(len(kinds))
        ax.barh(ys, [chars[k] for k in kinds], color=[KIND_COLORS.get(k, ACCENT) for k in kinds])
        ax.set_yticks(list(ys), labels=[f"{k} ({'removed' if k in removing else 'kept'})" for k in kinds])
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_xlabel("characters")
        return _svg(fig)


def top_passages_plot(top: Sequence[dict[str, Any]], limit: int = 12) -> str:
    """Occurrences of the most repeated passages, each labelled with its start."""
    with matplotlib.rc_context(_STYLE):
        shown = list(top[:limit])
        fig = _figure(width=7.2, height=0.6 + 0.3 * len(shown), left=3.0, right=0.3, bottom=0.45, top=0.1)
        ax = fig.add_subplot()
        ys = range(len(shown))
        ax.barh(ys, [p["occurrences"] for p in shown], color=ACCENT)
        labels = [_label(p["text"]) for p in shown]
        # parse_math=False: a passage such as "$5 mln to $6 mln" is text, not TeX.
        ax.set_yticks(list(ys), labels=labels, parse_math=False, fontsize=8)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("occurrences")
        return _svg(fig)


def _label(text: str, width: int = 48) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "\u2026"
