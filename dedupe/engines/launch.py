"""Running a :class:`RunSpec` on the engine it names: the one entry point of the library for a whole run."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Callable
from typing import IO, Any

from ..config import DEFAULT_KEEP, ConfigError
from ..core.keep import KeepPolicy
from ..index.errors import IndexNotFound
from ..io.outfiles import WholeFile, open_stream
from ..io.records import ReadStats
from ..io.shards import ShardWriter, check_output, source_name
from ..report.build import RunStats, accounting_gap, build_report, is_html, report_chunks, summary
from .preflight import check_inputs, check_output_paths
from .spec import AccountingError, BadRecord, RunOutcome, RunSpec
from .stream import run_stream


def run(
    spec: RunSpec, *, stdout: Callable[[], IO[bytes]], stdin: Callable[[], IO[bytes]], notify: Callable[[str], None]
) -> RunOutcome:
    """Run ``spec`` on its engine ("stream" or "ray") and return what it did.

    Args:
        spec: The run.
        stdout, stdin: Open the standard streams, when the run writes or reads them.
        notify: Takes each line for the user (notes, warnings, the summary).

    Raises:
        ConfigError: an unknown engine, or an option the engine does not take.
        See :func:`run_stream` and :func:`run_ray` for the rest.

    Example:
        >>> import io, os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> path = os.path.join(d, "in.jsonl")
        >>> _ = open(path, "w").write('{"id": 1, "text": "a b c d e f"}\\n{"id": 2, "text": "a b c d e f"}\\n')
        >>> out = io.BytesIO()
        >>> outcome = run(RunSpec("filter", [path]), stdout=lambda: out, stdin=lambda: io.BytesIO(), notify=print)
        ... # doctest: +ELLIPSIS
        dedupe filter: 2 input records in ... 1 kept, 1 duplicate in 1 cluster, 0 rejected
        >>> out.getvalue()
        b'{"id": 1, "text": "a b c d e f"}\\n'
        >>> outcome.report["counts"]["duplicates"], outcome.signum
        (1, None)
    """
    if spec.engine == "stream":
        return run_stream(spec, stdout=stdout, stdin=stdin, notify=notify)
    if spec.engine == "ray":
        return run_ray(spec, notify)
    raise ConfigError(f"--engine must be stream or ray; got {spec.engine!r}")


def run_ray(opts: RunSpec, notify: Callable[[str], None]) -> RunOutcome:
    """``--engine ray``: the same decisions as :func:`run_stream`, computed by a Ray job; shards, report, summary.

    Raises:
        ConfigError: an option the Ray engine does not take (it names the streaming engine instead).
        RayJobError: the cluster cannot be reached, or the job failed for a reason other than its input.
        BadRecord, InputError, OSError, AccountingError: as for :func:`run_stream`.
    """
    from . import ray as rayengine
    from .ray_tasks import side_path

    refused = [
        (opts.output is None, "--engine ray writes one file per input: give --output DIR"),
        ("-" in opts.inputs, "--engine ray reads files, not stdin: give the input files"),
        (
            opts.index is not None and "://" in opts.index,
            "--engine ray reads an index directory, not a Redis index (--engine stream shares a Redis index)",
        ),
        (
            opts.index is not None and opts.config.passages is not None,
            "--engine ray reads an index without --passages; with --passages use --engine stream",
        ),
        (
            opts.index is not None and opts.keep != DEFAULT_KEEP,
            f"--engine ray reads an index with --keep first only; with --keep {opts.keep} use --engine stream",
        ),
        (opts.resume, "--resume runs on the streaming engine only (a Ray job is retried task by task)"),
        (
            any(map(is_html, opts.report)),
            "--engine ray writes the JSON report; make the page from the "
            "output: dedupe report DIR/*.jsonl --run-report REPORT.json -o report.html",
        ),
    ]
    for wrong, message in refused:
        if wrong:
            raise ConfigError(message)
    if opts.max_chars < 0:
        raise ConfigError(f"--max-chars must be 0 (no limit) or more; got {opts.max_chars}")
    if opts.split_bytes < 0:
        raise ConfigError(f"--split-bytes must be 0 (one range per input) or more; got {opts.split_bytes}")
    keep = KeepPolicy.parse(opts.keep)
    index = None
    if opts.index is not None:
        from .ray_index import IndexInput

        try:
            index = IndexInput.open(opts.index, opts.config.index_parameters())
        except IndexNotFound:
            raise ConfigError(
                f"--engine ray reads an index the streaming engine built, and there is none at {opts.index} "
                f"(build it with: dedupe scan --index {opts.index} FILES...)"
            ) from None
    check_inputs(opts.inputs)
    check_output(opts.output, opts.output_format, False, opts.inputs)
    check_output_paths(opts)
    ShardWriter(str(opts.output), opts.output_format)  # creates DIR: one that cannot be fails before the job
    rayengine.require_ray()
    job = rayengine.RayJob(
        opts.mode,
        opts.inputs,
        opts.config,
        opts.text_field,
        opts.id_field,
        opts.max_chars or None,
        str(opts.output),
        opts.output_format,
        opts.ray_address,
        [source_name(p) for p in opts.inputs],
        stop_at_reject=opts.rejects is None,
        keep=keep,
        split_bytes=opts.split_bytes,
        run_id=uuid.uuid4().hex[:12],
        index=index,
    )
    with contextlib.ExitStack() as stack:
        # Side files first: a bad path fails before the job starts.
        rejects = stack.enter_context(open_stream("--rejects", opts.rejects)) if opts.rejects is not None else None
        dropped = stack.enter_context(open_stream("--dropped", opts.dropped)) if opts.dropped is not None else None
        report_files = [stack.enter_context(WholeFile("--report", path)) for path in opts.report]

        def finish(result: rayengine.RayRun) -> tuple[dict[str, Any], RunStats, ReadStats]:
            for side, what in ((rejects, "rejects"), (dropped, "dropped")):
                if side is not None:
                    for unit in range(result.units):
                        with open(side_path(job, unit, what), "rb") as part:
                            shutil.copyfileobj(part, side)
                    side.flush()
            report = build_report(
                result.stats,
                result.outcome,
                result.read,
                opts.mode,
                opts.rejects,
                index=index.report() if index is not None else None,
                keep=keep,
            )
            clusters = result.clusters
            report["counts"]["clusters"] = len(clusters)
            report["counts"]["clusters_merged_after_output"] = clusters.merged
            report["cluster_sizes"] = {str(k): clusters.sizes[k] for k in sorted(clusters.sizes)}
            report["timings"]["engine"] = "ray"
            report["timings"]["ray"] = result.cluster | {"stage_seconds": result.stages}
            report["engine"] = result.engine
            for report_file in report_files:
                report_file.commit_chunks(report_chunks(report, clusters))
            return report, result.stats, result.read

        try:
            report, stats, read = rayengine.run(job, finish)
        except rayengine.RejectedInput as exc:
            raise BadRecord(
                f"{exc} (use --rejects FILE to record bad lines and go on; --engine ray checks every "
                "line before it writes anything, so nothing was written)"
            ) from None
    gap = accounting_gap(stats, read)
    if gap is not None:
        raise AccountingError(gap)
    notify(summary(report))
    return RunOutcome(report)
