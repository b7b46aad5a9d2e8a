"""Statistics that watch the stream, and the end-of-run report (JSON and one human line)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from .pipeline import Deduplicator, Result
from .records import ReadStats, Rejected


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

    @property
    def inputs(self) -> int:
        """Input records: kept + duplicates + rejected."""
        return self.kept + self.duplicates + sum(self.rejected.values())

    def watch(self, items: Iterable[Result | Rejected]) -> Iterator[Result | Rejected]:
        for item in items:
            if isinstance(item, Rejected):
                self.rejected[item.code] += 1
            else:
                self.records += 1
                text = item.record.text
                self.text_bytes += len(text) if text.isascii() else len(text.encode("utf-8"))
                if item.is_duplicate:
                    self.duplicates += 1
                else:
                    self.kept += 1
            yield item
        self.finished = self.clock()

    @property
    def seconds(self) -> float:
        return (self.finished if self.finished is not None else self.clock()) - self.started


def progress(
    items: Iterable[Any], stats: RunStats, stream: IO[str] | None = None, every: float = 0.5
) -> Iterator[Any]:
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
            stream.write(
                f"\r{stats.inputs:,} records, {stats.duplicates:,} duplicates, {rate:,.0f} docs/s   "
            )
            stream.flush()
    stream.write("\r" + " " * 60 + "\r")
    stream.flush()


def build_report(
    stats: RunStats,
    dedup: Deduplicator,
    read: ReadStats,
    mode: str,
    rejects_file: str | None = None,
    error: str | None = None,
    index: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON report of a run: ``completed`` is false and ``error`` says why when it stopped early."""
    seconds = stats.seconds
    clusters = dedup.clusters()
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
            "lsh_candidates": dedup.candidates,
            "repeated_ids": dedup.repeated_ids(),
            "truncated_for_matching": dedup.truncated,
            "lines_skipped_by_resume": read.skipped_lines,
        },
        "parameters": dedup.config.parameters(),
        "timings": {
            "seconds": round(seconds, 3),
            "feature_seconds": round(dedup.feature_seconds, 3),
            "match_seconds": round(dedup.match_seconds, 3),
            "docs_per_second": round(stats.records / seconds, 1) if seconds > 0 else None,
            "text_megabytes": round(stats.text_bytes / 1e6, 3),
            "megabytes_per_second": round(stats.text_bytes / 1e6 / seconds, 3) if seconds > 0 else None,
        },
        "rejects_file": rejects_file,
        "clusters": clusters,
    }
    report["max_chars"] = dedup.max_chars
    if index is not None:
        report["index"] = index
    if dedup.passages is not None:
        report["passages"] = dedup.passages.report(removing=mode == "filter")
    return report


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
        notes.append(f"{_n(c['truncated_for_matching'], 'text')} over {report['max_chars']:,} characters matched on "
                     "their start only (--max-chars; output unchanged)")
    if c.get("repeated_ids"):
        notes.append(f"{_n(c['repeated_ids'], 'record')} reused an earlier record's id")
    ix = report.get("index")
    if ix is not None:
        if "url" in ix:
            notes.append(f"shared index {ix['url']}: {ix['documents_after']:,} documents "
                         f"({ix['documents_added']:,} added by this run)")
        else:
            notes.append(f"index {ix['path']}: {ix['documents_before']:,} -> {ix['documents_after']:,} documents")
    for note in notes:
        line += f"\n{note}"
    p = report.get("passages")
    if p is not None:
        f = p["found"]
        verb = "removed" if "removed" in p else "found"
        line += (
            f"\npassages: {_n(p['passages'], 'passage')} in kept records; repeated: {f['exact']:,} exact, "
            f"{f['near']:,} near, {f['boilerplate']:,} boilerplate ({verb}), {_n(f['quote'], 'quote')}"
        )
    return line


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")
