"""Statistics that watch the stream, and the end-of-run report (JSON and one human line).

The report of an earlier scan rebuilt from its output (``dedupe report``) is in :mod:`.annotated`.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import orjson

from ..config import ConfigError
from ..core.keep import KeepPolicy
from ..core.matcher import Result
from ..core.outcome import MatchCounters, MatchOutcome
from ..io.records import ReadStats, Rejected
from ..passages.matcher import remove_spans

BINS = 100  # similarity histograms: bins of width 1/BINS over [0, 1], the last one closed


def utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def similarity_bin(similarity: float) -> int:
    """The histogram bin of a similarity in [0, 1] (1.0 falls in the last bin)."""
    return min(int(similarity * BINS + 1e-9), BINS - 1)


class RunStats:
    """Counts what passes through :meth:`watch` without changing it."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.started = clock()
        self.finished: float | None = None
        self.records = 0
        self.kept = 0
        self.duplicates = 0
        self.rejected: Counter[str] = Counter()
        self.text_bytes = 0
        self.duplicate_bytes = 0  # text of duplicate records: what filter drops
        self.passage_bytes = 0  # text of repeated passages that filter cuts out of kept records
        self.duplicate_similarity = [0] * BINS  # each duplicate's similarity to the record it duplicates

    @property
    def inputs(self) -> int:
        """Input records: kept + duplicates + rejected."""
        return self.kept + self.duplicates + sum(self.rejected.values())

    def merge(self, other: RunStats) -> None:
        """Add the counts of ``other`` (a part of the same run, e.g. one input's shard) to these."""
        self.records += other.records
        self.kept += other.kept
        self.duplicates += other.duplicates
        self.rejected.update(other.rejected)
        self.text_bytes += other.text_bytes
        self.duplicate_bytes += other.duplicate_bytes
        self.passage_bytes += other.passage_bytes
        self.duplicate_similarity = [a + b for a, b in zip(self.duplicate_similarity, other.duplicate_similarity)]

    def watch(self, items: Iterable[Result | Rejected]) -> Iterator[Result | Rejected]:
        for item in items:
            if isinstance(item, Rejected):
                self.rejected[item.code] += 1
            else:
                self.records += 1
                text = item.record.text
                size = utf8_size(text)
                self.text_bytes += size
                if item.is_duplicate:
                    self.duplicates += 1
                    self.duplicate_bytes += size
                    if item.match.similarity is not None:
                        self.duplicate_similarity[similarity_bin(item.match.similarity)] += 1
                else:
                    self.kept += 1
                    if item.passages:
                        self.passage_bytes += size - utf8_size(remove_spans(text, item.passages))
            yield item
        self.finished = self.clock()

    @property
    def seconds(self) -> float:
        return (self.finished if self.finished is not None else self.clock()) - self.started


def progress(items: Iterable[Any], stats: RunStats, stream: IO[str] | None = None, every: float = 0.5) -> Iterator[Any]:
    """Pass ``items`` through, redrawing a one-line progress indicator on a TTY."""
    stream = stream if stream is not None else sys.stderr
    if not stream.isatty():
        yield from items
        return
    last = stats.clock()
    for item in items:
        yield item
        now = stats.clock()
        if now - last >= every:
            last = now
            rate = stats.records / max(stats.seconds, 1e-9)
            stream.write(f"\r{_n(stats.inputs, 'record')}, {_n(stats.duplicates, 'duplicate')}, {rate:,.0f} docs/s   ")
            stream.flush()
    stream.write("\r" + " " * 60 + "\r")
    stream.flush()


def build_report(
    stats: RunStats,
    outcome: MatchOutcome,
    read: ReadStats,
    mode: str,
    rejects_file: str | None = None,
    error: str | None = None,
    index: dict[str, Any] | None = None,
    keep: KeepPolicy | None = None,
) -> dict[str, Any]:
    """The JSON report of a run: ``completed`` is false and ``error`` says why when it stopped early.

    Both engines call it with what they decided (a :class:`~dedupe.core.outcome.MatchOutcome`).
    """
    seconds = stats.seconds
    clusters = outcome.clusters
    counters = outcome.counters
    report = {
        "mode": mode,
        "completed": error is None,
        "error": error,
        "inputs": read.sources,
        "counts": {
            "input": stats.inputs,
            "kept": stats.kept,
            "duplicates": stats.duplicates,
            "rejected": sum(stats.rejected.values()),
            "rejected_by_reason": dict(sorted(stats.rejected.items())),
            "blank_lines_skipped": read.blank_lines,
            "clusters": len(clusters),
            "clusters_merged_after_output": sum(1 for c in clusters if "output_labels" in c),
            "lsh_candidates": counters.candidates,
            "repeated_ids": outcome.repeated_ids,
            "truncated_for_matching": counters.truncated,
            "lines_skipped_by_resume": read.skipped_lines,
        },
        "parameters": outcome.config.parameters(),
        "timings": {
            "seconds": round(seconds, 3),
            "feature_seconds": round(counters.feature_seconds, 3),
            "match_seconds": round(counters.match_seconds, 3),
            "docs_per_second": round(stats.records / seconds, 1) if seconds > 0 else None,
            "text_megabytes": round(stats.text_bytes / 1e6, 3),
            "megabytes_per_second": round(stats.text_bytes / 1e6 / seconds, 3) if seconds > 0 else None,
        },
        "removed_by_filter": removed_by_filter(stats, outcome.passage_report is not None),
        "keep": keep_section(keep if keep is not None else KeepPolicy(), stats, counters),
        "similarity_histogram": {
            "bin_width": 1 / BINS,
            "candidates": _fold(counters.similarity_counts),
            "duplicates": list(stats.duplicate_similarity),
        },
        "cluster_sizes": cluster_sizes(clusters),
        "rejects_file": rejects_file,
        "clusters": clusters,
    }
    report["max_chars"] = outcome.max_chars
    if index is not None:
        report["index"] = index
    if outcome.passage_report is not None:
        report["passages"] = outcome.passage_report(mode == "filter")
    return report


def report_chunks(report: dict[str, Any], clusters: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """The JSON report (as ``orjson.dumps(..., OPT_INDENT_2)`` writes it, and a newline) with ``clusters`` in
    place of its empty ``clusters`` list, written an entry at a time: a report listing millions of clusters is
    never held whole.

    Example:
        >>> b"".join(report_chunks({"clusters": [], "n": 1}, [{"size": 2}])).decode()
        '{\\n  "clusters": [\\n    {\\n      "size": 2\\n    }\\n  ],\\n  "n": 1\\n}\\n'
    """
    assert report["clusters"] == []
    text = orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n"
    marker = b'\n  "clusters": []'
    at = text.index(marker)
    head, tail = text[: at + len(marker) - 1], text[at + len(marker) :]
    entries = iter(clusters)
    first = next(entries, None)
    if first is None:
        yield text
        return
    yield head
    for k, entry in enumerate(itertools.chain([first], entries)):
        lines = orjson.dumps(entry, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n    ")
        yield (b"\n    " if k == 0 else b",\n    ") + lines
    yield b"\n  ]" + tail


def keep_section(keep: KeepPolicy, stats: RunStats, counters: MatchCounters) -> dict[str, Any]:
    """The report's ``keep``: the policy, what it kept and dropped, the lowest similarity of a dropped record
    to the kept record it names (the distribution is ``similarity_histogram.duplicates``), the records kept
    although they match a dropped one, and (two passes) the decisions that differ from ``first``."""
    lowest = next((k for k, n in enumerate(stats.duplicate_similarity) if n), None)
    section: dict[str, Any] = {
        "policy": str(keep),
        "passes": 1 if keep.streaming else 2,
        "kept": stats.kept,
        "dropped": stats.duplicates,
        "dropped_similarity_at_least": round(lowest / BINS, 6) if lowest is not None else None,
        "kept_matching_only_dropped": counters.kept_linked,
    }
    if counters.policy_changes is not None:
        section["kept_not_first"], section["dropped_not_first"] = counters.policy_changes
    return section


def _fold(counts: list[int]) -> list[int]:
    """The pipeline's 101 bins (the last holds 1.0 alone) as BINS bins, the last one closed."""
    return [*counts[: BINS - 1], sum(counts[BINS - 1 :])]


def cluster_sizes(clusters: list[dict[str, Any]]) -> dict[str, int]:
    """Number of clusters of each size, smallest size first (JSON keys are strings)."""
    sizes = Counter(c["size"] for c in clusters)
    return {str(k): sizes[k] for k in sorted(sizes)}


def accounting_gap(stats: RunStats, read: ReadStats) -> str | None:
    """Why the records accounted for (kept, duplicate, rejected) differ from the non-blank lines read, or None.

    Both engines check this at the end of a completed run: every input record is accounted for exactly once.
    """
    expected = read.lines - read.blank_lines - read.skipped_lines
    if stats.inputs == expected:
        return None
    return f"{expected} records read, {stats.inputs} accounted for"


def summary(report: dict[str, Any]) -> str:
    """One human line for stderr."""
    c, t = report["counts"], report["timings"]
    rate = ""
    if t["docs_per_second"] is not None:
        rate = f" ({t['docs_per_second']:,.0f} docs/s, {t['megabytes_per_second']:.1f} MB/s)"
    line = (
        f"dedupe {report['mode']}: {_n(c['input'], 'input record')} in {t['seconds']:.2f} s{rate}: "
        f"{c['kept']:,} kept, {_n(c['duplicates'], 'duplicate')} in {_n(c['clusters'], 'cluster')}, "
        f"{c['rejected']:,} rejected"
    )
    if c["rejected"] and report.get("rejects_file"):
        line += f" (see {report['rejects_file']})"
    notes = []
    if c.get("truncated_for_matching"):
        notes.append(
            f"{_n(c['truncated_for_matching'], 'text')} over {report['max_chars']:,} characters matched on "
            "their start only (--max-chars; output unchanged)"
        )
    if c.get("repeated_ids"):
        notes.append(f"{_n(c['repeated_ids'], 'record')} reused an earlier record's id")
    ix = report.get("index")
    if ix is not None:
        if "url" in ix:
            notes.append(
                f"shared index {ix['url']}: {_n(ix['documents_after'], 'document')} "
                f"({ix['documents_added']:,} added by this run)"
            )
        else:
            notes.append(f"index {ix['path']}: {ix['documents_before']:,} -> {_n(ix['documents_after'], 'document')}")
    for note in notes:
        line += f"\n{note}"
    p = report.get("passages")
    if p is not None:
        f = p["found"]
        verb = "removed" if "removed" in p else "found"
        line += (
            f"\npassages: {_n(p['passages'], 'passage')} in kept records; repeated: {f['exact']:,} exact, "
            f"{f['near']:,} near, {f['boilerplate']:,} boilerplate ({verb}), {_n(f['quote'], 'quote')}, "
            f"{_n(f.get('formula', 0), 'formula')}"
        )
    return line


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def is_html(path: str) -> bool:
    """A report path that asks for the HTML page (``.html`` or ``.htm``, possibly compressed)."""
    name = path.lower()
    for suffix in (".gz", ".zst"):
        name = name.removesuffix(suffix)
    return name.endswith((".html", ".htm"))


def need_plots() -> None:
    """Raise ConfigError saying how to install the HTML report's plotting library when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError(
            "an HTML report (--report FILE.html) needs matplotlib for its plots: "
            "pip install 'dedupe[report]' (or write a JSON report: --report FILE.json)"
        ) from None


def run_page(report: dict[str, Any], examples: Any, outcome: MatchOutcome) -> bytes:
    """The HTML page of a run from its JSON report and the texts :class:`~dedupe.report.copies.Examples` kept."""
    from .html import Clusters, render

    base = outcome.base
    clusters = Clusters(outcome.groups, lambda n: n - base if n >= base else -1, outcome.id_of)
    return render(report, examples, clusters).encode("utf-8")


def removed_by_filter(stats: RunStats, passages: bool) -> dict[str, Any]:
    """The report's ``removed_by_filter``: what filter drops (duplicates) and cuts (repeated passages, when
    ``passages``), in documents and bytes of text."""
    total = stats.duplicate_bytes + stats.passage_bytes
    return {
        "documents": stats.duplicates,
        "document_bytes": stats.duplicate_bytes,
        "passage_bytes": stats.passage_bytes if passages else None,
        "bytes": total,
        "share_of_text": round(total / stats.text_bytes, 6) if stats.text_bytes else 0.0,
    }
