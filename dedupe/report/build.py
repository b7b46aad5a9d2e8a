"""Statistics that watch the stream, and the end-of-run report (JSON and one human line)."""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeGuard

from ..config import ConfigError
from ..core.matcher import Deduplicator, Result
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
        "removed_by_filter": _removed(stats, dedup.passages is not None),
        "similarity_histogram": {
            "bin_width": 1 / BINS,
            "candidates": _fold(dedup.similarity_counts),
            "duplicates": list(stats.duplicate_similarity),
        },
        "cluster_sizes": cluster_sizes(clusters),
        "rejects_file": rejects_file,
        "clusters": clusters,
    }
    report["max_chars"] = dedup.max_chars
    if index is not None:
        report["index"] = index
    if dedup.passages is not None:
        report["passages"] = dedup.passages.report(removing=mode == "filter")
    return report


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
            f"{f['near']:,} near, {f['boilerplate']:,} boilerplate ({verb}), {_n(f['quote'], 'quote')}"
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


def run_page(report: dict[str, Any], examples: Any, dedup: Deduplicator) -> bytes:
    """The HTML page of a run from its JSON report and the texts :class:`~dedupe.report.copies.Examples` kept."""
    from .html import Clusters, render

    base = dedup.base
    clusters = Clusters(dedup.cluster_groups(), lambda n: n - base if n >= base else -1, dedup.id_of)
    return render(report, examples, clusters).encode("utf-8")


def annotated_report(
    inputs: list[str],
    text_field: str = "text",
    id_field: str = "id",
    run_report: dict[str, Any] | None = None,
    stdin: Any = None,
    run_report_name: str = "the run report",
) -> tuple[dict[str, Any], Any, Any]:
    """The report model of an earlier ``scan`` from its output: (report dict, Examples, Clusters).

    Counts, clusters, duplicate similarities, passages and the text filtering would remove are computed from
    the annotations with the same code as during a run. What a scan output does not hold (parameters,
    timings, rejected lines, the similarity of candidate pairs that were not duplicates) comes from
    ``run_report``, the run's JSON report, when given (``run_report_name`` names it in messages).

    Raises:
        InputError: A line is not a record of a scan output (naming the line), or the parts of the run report
            the page shows are not what a run writes.
    """
    from ..io.records import InputError, read_records
    from .copies import REPEAT_KINDS, AnnotationClusters, AnnotationError, Examples, clusters_of, result_of
    from .html import Clusters

    if run_report is not None:  # before the (long) read of the output
        check_run_report(run_report, run_report_name)
    read = ReadStats()
    stats = RunStats()
    examples = Examples()
    found = AnnotationClusters()
    spans: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    with_passages = 0
    # earlier span -> [occurrences, documents, text, order, span]
    repeats: dict[tuple[str, int, int], list[Any]] = {}

    def results() -> Iterator[Result]:
        for item in read_records(inputs, text_field, id_field, read, stdin=stdin):
            if isinstance(item, Rejected):
                raise InputError(f"{item.message()} (a scan output has no bad lines: is this the right file?)")
            try:
                yield result_of(item)
            except AnnotationError as exc:
                raise InputError(str(exc)) from None

    try:
        for result in stats.watch(results()):
            assert isinstance(result, Result)
            found.add(result)
            examples.add(result)
            if result.passages is not None:
                with_passages += 1
                seen_here: set[tuple[str, int, int]] = set()
                for m in result.passages:
                    spans[m.kind] += 1
                    chars[m.kind] += m.end - m.start
                    key = (m.match_id, m.match_start, m.match_end)
                    entry = repeats.setdefault(key, [1, 1, result.record.text[m.start : m.end], len(repeats), key])
                    entry[0] += 1
                    if key not in seen_here:
                        entry[1] += 1
                        seen_here.add(key)
    except BaseException:
        examples.close()
        raise
    # The final clusters: merges no annotation shows.
    for members, from_index in _report_clusters(run_report, run_report_name):
        found.join(members, from_index)
    groups, position = found.groups()
    clusters = clusters_of(groups, found.id_of, lambda n: position[n] < 0)
    given = run_report or {}
    counts_given = given.get("counts") or {}
    rejected = int(counts_given.get("rejected") or 0)
    notes = []
    if run_report is None:
        notes.append(
            "Parameters, timings and rejected lines are not in a scan output: give the run's JSON report "
            "(--run-report) to show them. Without it, two clusters that a later record joined after their "
            "members were written show apart."
        )
    elif (counts_given.get("kept"), counts_given.get("duplicates")) != (stats.kept, stats.duplicates):
        notes.append(
            f"The run report counts {counts_given.get('kept')} kept and {counts_given.get('duplicates')} "
            f"duplicates, this file {stats.kept} and {stats.duplicates}: the figures shown are this file's."
        )
    report: dict[str, Any] = {
        "mode": given.get("mode", "scan"),
        "completed": given.get("completed", True),
        "error": given.get("error"),
        "inputs": given.get("inputs") or read.sources,
        "counts": {
            **counts_given,
            "input": stats.kept + stats.duplicates + rejected,
            "kept": stats.kept,
            "duplicates": stats.duplicates,
            "rejected": rejected,
            "rejected_by_reason": counts_given.get("rejected_by_reason", {}),
            "blank_lines_skipped": read.blank_lines,
            "clusters": len(clusters),
            "lsh_candidates": counts_given.get("lsh_candidates"),
        },
        "parameters": given.get("parameters"),
        "timings": given.get("timings"),
        "removed_by_filter": _removed(stats, with_passages > 0),
        "similarity_histogram": {
            "bin_width": 1 / BINS,
            "candidates": (given.get("similarity_histogram") or {}).get("candidates"),
            "duplicates": list(stats.duplicate_similarity),
        },
        "cluster_sizes": cluster_sizes(clusters),
        "rejects_file": given.get("rejects_file"),
        "clusters": clusters,
        "notes": notes,
        "built_from": read.sources,
    }
    if given.get("passages") is not None:  # the run's own figures: its groups of repeats are exact
        report["passages"] = given["passages"]
    elif with_passages:
        top = sorted(repeats.values(), key=lambda e: (-e[0], e[3]))[:20]
        report["passages"] = {
            "parameters": (given.get("passages") or {}).get("parameters"),
            "documents": with_passages,
            "passages": (given.get("passages") or {}).get("passages"),
            "found": {k: spans.get(k, 0) for k in REPEAT_KINDS},
            "chars": {k: chars.get(k, 0) for k in REPEAT_KINDS},
            "top": [
                {"text": e[2], "occurrences": e[0], "documents": e[1], "first": dict(zip(("id", "start", "end"), e[4]))}
                for e in top
            ],
        }
    return report, examples, Clusters(groups, lambda n: position[n], found.id_of)


def _report_clusters(run_report: dict[str, Any] | None, name: str) -> Iterator[tuple[list[str], int]]:
    """The run report's clusters as (member ids, how many of them come from the index), in its order.

    Raises:
        InputError: The report's ``clusters`` are not the list a run writes.
    """
    from ..io.records import InputError
    from .copies import shown_copy

    clusters = (run_report or {}).get("clusters") or []
    if not isinstance(clusters, list):
        raise InputError(f'{name}: "clusters" is {shown_copy(clusters)}, not a list (is it a dedupe JSON report?)')
    for k, cluster in enumerate(clusters):
        members = cluster.get("members") if isinstance(cluster, dict) else None
        from_index = cluster.get("from_index", 0) if isinstance(cluster, dict) else None
        if (
            not isinstance(members, list)
            or not all(isinstance(m, (str, int)) for m in members)
            or not _is_count(from_index)
        ):
            raise InputError(
                f"{name}: cluster {k + 1} is {shown_copy(cluster)}, not a cluster a run writes (members: "
                "a list of ids, from_index: a whole number) (is it a dedupe JSON report?)"
            )
        yield [str(m) for m in members], from_index


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_COUNT_KEYS = (
    "input",
    "kept",
    "duplicates",
    "rejected",
    "blank_lines_skipped",
    "clusters",
    "clusters_merged_after_output",
    "lsh_candidates",
    "repeated_ids",
    "truncated_for_matching",
    "lines_skipped_by_resume",
)
_PARAMETER_KINDS = {
    "unit": "string",
    "ngram": "count",
    "num_perm": "count",
    "bands": "count",
    "rows": "count",
    "threshold": "number",
    "seed": "integer",
    "verify": "string",
}
_TIMING_KINDS = {
    "seconds": "number",
    "feature_seconds": "number",
    "match_seconds": "number",
    "text_megabytes": "number",
    "docs_per_second": "number?",
    "megabytes_per_second": "number?",
}
_TESTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "count": (_is_count, "a whole number of at least 0"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "number": (_is_number, "a number"),
    "string": (lambda v: isinstance(v, str), "a string"),
    "boolean": (lambda v: isinstance(v, bool), "true or false"),
    "object": (lambda v: isinstance(v, dict), "an object"),
    "list": (lambda v: isinstance(v, list), "a list"),
}


def check_run_report(report: dict[str, Any], name: str = "the run report") -> None:
    """Check the parts of a run's JSON report that ``dedupe report`` shows (their types, not their figures).

    Raises:
        InputError: naming the report (``name``) and the first key whose value a run does not write.
    """
    from ..io.records import InputError
    from .copies import REPEAT_KINDS, shown_copy

    def get(obj: dict[str, Any], key: str, kind: str, where: str) -> Any:
        """``obj[key]``, checked to be of ``kind`` (a trailing "?": or null/absent)."""
        optional = kind.endswith("?")
        value = obj.get(key)
        if value is None and (optional or key not in obj):
            return None
        test, want = _TESTS[kind.rstrip("?")]
        if not test(value):
            path = f"{where}.{key}" if where else key
            raise InputError(f'{name}: "{path}" is {shown_copy(value)}, not {want} (is it a dedupe JSON report?)')
        return value

    def required(obj: dict[str, Any], key: str, kind: str, where: str) -> Any:
        if key not in obj:
            raise InputError(f'{name}: no "{where}.{key}" (is it a dedupe JSON report?)')
        return get(obj, key, kind, where)

    counts = get(report, "counts", "object", "") or {}
    for key in _COUNT_KEYS:
        get(counts, key, "count?", "counts")
    for reason in get(counts, "rejected_by_reason", "object?", "counts") or {}:
        get(counts["rejected_by_reason"], reason, "count", "counts.rejected_by_reason")
    for key, kind in (
        ("mode", "string?"),
        ("completed", "boolean?"),
        ("error", "string?"),
        ("rejects_file", "string?"),
    ):
        get(report, key, kind, "")
    for k, source in enumerate(get(report, "inputs", "list?", "") or []):
        if not isinstance(source, str):
            raise InputError(
                f"{name}: input {k + 1} is {shown_copy(source)}, not a string (is it a dedupe JSON report?)"
            )
    parameters = get(report, "parameters", "object?", "")
    for key, kind in _PARAMETER_KINDS.items() if parameters else ():
        required(parameters, key, kind, "parameters")
    timings = get(report, "timings", "object?", "")
    for key, kind in _TIMING_KINDS.items() if timings else ():
        (get if kind.endswith("?") else required)(timings, key, kind, "timings")
    histogram = get(report, "similarity_histogram", "object?", "") or {}
    candidates = get(histogram, "candidates", "list?", "similarity_histogram")
    if candidates is not None and (len(candidates) != BINS or not all(map(_is_count, candidates))):
        raise InputError(
            f'{name}: "similarity_histogram.candidates" is {shown_copy(candidates)}, not {BINS} whole '
            "numbers (is it a dedupe JSON report?)"
        )
    passages = get(report, "passages", "object?", "")
    if passages:
        get(passages, "passages", "count?", "passages")
        get(passages, "documents", "count?", "passages")
        for key in ("found", "chars"):
            table = required(passages, key, "object", "passages")
            for kind in REPEAT_KINDS:
                required(table, kind, "count", f"passages.{key}")
        for k, top in enumerate(get(passages, "top", "list?", "passages") or [], 1):
            where = f"passages.top.{k}"
            if not isinstance(top, dict):
                raise InputError(f'{name}: "{where}" is {shown_copy(top)}, not an object (is it a dedupe JSON report?)')
            required(top, "text", "string", where)
            required(top, "occurrences", "count", where)
            required(top, "documents", "count", where)
            required(required(top, "first", "object", where), "id", "string", f"{where}.first")


def _removed(stats: RunStats, passages: bool) -> dict[str, Any]:
    total = stats.duplicate_bytes + stats.passage_bytes
    return {
        "documents": stats.duplicates,
        "document_bytes": stats.duplicate_bytes,
        "passage_bytes": stats.passage_bytes if passages else None,
        "bytes": total,
        "share_of_text": round(total / stats.text_bytes, 6) if stats.text_bytes else 0.0,
    }
