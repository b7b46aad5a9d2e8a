"""The report of an earlier ``scan`` built from its annotated output (``dedupe report``), and the check of the
run's JSON report given with it (``--run-report``)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TypeGuard

from ..config import DEFAULT_ID_FIELD, DEFAULT_TEXT_FIELD
from ..core.matcher import Result
from ..io.records import ReadStats, Rejected
from .build import BINS, RunStats, cluster_sizes, removed_by_filter


def annotated_report(
    inputs: list[str],
    text_field: str = DEFAULT_TEXT_FIELD,
    id_field: str = DEFAULT_ID_FIELD,
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
    from ..passages.stats import REPEAT_KINDS
    from .copies import AnnotationClusters, AnnotationError, Examples, clusters_of, result_of
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
                    spans[m.repeat_kind] += 1
                    chars[m.repeat_kind] += m.end - m.start
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
        "removed_by_filter": removed_by_filter(stats, with_passages > 0),
        "keep": given.get("keep"),  # the policy is not in a scan output
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
    from ..passages.stats import REPEAT_KINDS
    from .copies import shown_copy

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
            for kind in REPEAT_KINDS:  # reports written before formulae were counted apart from quotes lack them
                if kind == "formula":
                    get(table, kind, "count?", f"passages.{key}")
                else:
                    required(table, kind, "count", f"passages.{key}")
        for k, top in enumerate(get(passages, "top", "list?", "passages") or [], 1):
            where = f"passages.top.{k}"
            if not isinstance(top, dict):
                raise InputError(f'{name}: "{where}" is {shown_copy(top)}, not an object (is it a dedupe JSON report?)')
            required(top, "text", "string", where)
            required(top, "occurrences", "count", where)
            required(top, "documents", "count", where)
            required(required(top, "first", "object", where), "id", "string", f"{where}.first")
