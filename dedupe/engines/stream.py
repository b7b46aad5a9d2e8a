"""The streaming engine: one process (plus feature workers) reads, decides and writes in input order.

Every stop (a bad line, a damaged input, a signal, a closed reader, a full disk) leaves the output, the
index checkpoint and the report in agreement; see ``docs/output.md`` for what each leaves behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from functools import partial
from typing import IO, Any

import orjson

from ..config import ConfigError
from ..core.keep import KeepPolicy
from ..core.matcher import Deduplicator
from ..core.twopass import Settled, two_passes
from ..index.errors import IndexStoreError
from ..index.redis import RedisIndex, SharedIndexError
from ..index.shared import RedisBackend
from ..index.store import Checkpointer
from ..io.idfield import IdFieldCheck
from ..io.outfiles import BatchWriter, WholeFile, open_stream
from ..io.records import InputError, ReadStats, Rejected, read_lines
from ..io.render import write_result
from ..io.shards import InputShards, check_output
from ..io.spool import Spool
from ..report.build import RunStats, accounting_gap, build_report, is_html, progress, run_page, summary
from ..report.copies import Examples
from .preflight import check_inputs, check_output_paths, resume_options, resume_point, two_pass_limits
from .signals import Interrupted, SignalStop
from .spec import AccountingError, BadRecord, RunOutcome, RunSpec


def run_stream(
    opts: RunSpec, *, stdout: Callable[[], IO[bytes]], stdin: Callable[[], IO[bytes]], notify: Callable[[str], None]
) -> RunOutcome:
    """Run ``opts`` in this process (and its ``workers``): read, decide, write, checkpoint, report.

    SIGINT and SIGTERM stop the run at the next batch boundary (see :class:`SignalStop`): the run then returns
    an outcome with ``signum`` set, after its checkpoint and report.

    Args:
        opts: The run.
        stdout, stdin: Open the standard streams (called only when the run writes or reads them).
        notify: Takes each line for the user (notes, warnings, the summary).

    Raises:
        ConfigError: a bad option or combination; nothing was read.
        InputError, BadRecord: the input cannot be read, or a bad line without ``rejects`` (after writing
            what came before, checkpointing it and writing the report).
        IndexStoreError, SharedIndexError: the index cannot be used or saved.
        OSError: an output cannot be written (the report says the run did not complete).
        AccountingError: records read and records accounted for differ.
    """
    if opts.workers < 1:
        raise ConfigError(f"--workers must be at least 1; got {opts.workers}")
    if opts.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1; got {opts.batch_size}")
    if opts.checkpoint_every < 0:
        raise ConfigError(f"--checkpoint-every must be 0 (only at the end) or more; got {opts.checkpoint_every}")
    if opts.max_chars < 0:
        raise ConfigError(f"--max-chars must be 0 (no limit) or more; got {opts.max_chars}")
    policy = KeepPolicy.parse(opts.keep)
    if not policy.streaming:
        two_pass_limits(opts)
    check_inputs(opts.inputs)
    check_output(opts.output, opts.output_format, opts.resume, opts.inputs)
    check_output_paths(opts)
    if opts.resume and opts.local_index is not None and not os.path.exists(opts.local_index):
        raise ConfigError(
            f"nothing to resume: there is no index at {opts.index} (--resume continues a run that "
            "was interrupted on that index)"
        )
    # Standard output takes a batch's lines in one write (flushed after each batch, so output still appears
    # batch by batch, and before every checkpoint); with --output: the shards (below).
    out: Any = BatchWriter(stdout()) if opts.output is None else None
    stdin_stream = stdin() if "-" in opts.inputs else None
    read = ReadStats()
    stats = RunStats()
    index: Checkpointer | None = None
    shared: RedisIndex | None = None
    if opts.index is not None and opts.index.startswith(("redis://", "rediss://")):
        if opts.resume:
            raise ConfigError(
                "--resume works with an index directory; a Redis index holds every record written "
                "as soon as it is written: run on the input that remains"
            )
        shared = RedisIndex(opts.index)
        shared.check_parameters(opts.config.index_parameters())
    dedup = Deduplicator(
        opts.config, max_chars=opts.max_chars or None, backend=RedisBackend(shared) if shared is not None else None
    )
    if opts.index is not None and shared is None:
        # Locks the index (one writer at a time): released by index.close() below when the run ends, and,
        # should it end before that `with`, at interpreter exit.
        index = Checkpointer.open(opts.index, dedup)
        for note in index.notes:
            notify(f"note: {note}")
    skip = resume_point(opts, index, resume_options(opts), notify)
    settled: list[Settled] = []  # two passes: the decisions, once made
    if shared is not None and opts.config.passages is not None:
        notify("note: with a Redis index, --passages matches passages within this process only")
    progress_mark = {"lines": skip, "output": 0, "since": 0}

    def last_run(complete: bool, stopped_by: str | None = None) -> dict[str, Any]:
        return {
            "mode": opts.mode,
            "inputs": opts.inputs,
            "complete": complete,
            "lines_done": progress_mark["lines"],
            "records_output": progress_mark["output"],
            "stopped_by": stopped_by,
            "options": resume_options(opts),
        }

    def after_batch() -> None:
        if opts.output is None:
            out.flush()
        if (
            index is not None
            and policy.streaming  # two passes: the index is saved once, after the whole output
            and opts.checkpoint_every
            and progress_mark["since"] >= opts.checkpoint_every
        ):
            out.flush()  # what the checkpoint holds has been handed on first
            index.save(last_run(False, "checkpoint"))
            progress_mark["since"] = 0

    with contextlib.ExitStack() as stack:
        if index is not None:
            stack.callback(index.close)  # registered first, so it runs last: after the final save, on every exit
        # Every output file is created before the first record is read, so a
        # bad path fails at once rather than after a long run.
        # Side outputs continue the interrupted run's with --resume; a report is written whole at the end (a
        # temporary file renamed over the target), so a run that stops leaves no half report.
        rejects = (
            stack.enter_context(open_stream("--rejects", opts.rejects, opts.resume))
            if opts.rejects is not None
            else None
        )
        dropped = (
            stack.enter_context(open_stream("--dropped", opts.dropped, opts.resume))
            if opts.dropped is not None
            else None
        )
        report_files = [(stack.enter_context(WholeFile("--report", path)), is_html(path)) for path in opts.report]
        if opts.output is not None:  # the directory and the first shard now; closed on every way out
            out = stack.enter_context(
                InputShards(
                    opts.output,
                    opts.output_format,
                    opts.inputs,
                    read,
                    opts.mode,
                    opts.config.passages is not None,
                    append=opts.resume,
                )
            )
        examples = stack.enter_context(contextlib.closing(Examples())) if any(h for _, h in report_files) else None
        signals = stack.enter_context(SignalStop())
        if shared is not None:
            stack.callback(shared.close)
        spool = stack.enter_context(Spool(opts.inputs if not policy.streaming else [], stdin_stream, signals.stopped))

        def lines(stats: ReadStats) -> Iterator[Any]:  # parsed where their features are computed (the workers)
            found = read_lines(
                opts.inputs,
                opts.text_field,
                opts.id_field,
                stats,
                stdin=stdin_stream,
                skip=skip,
                waits=True,
                copies=lambda path: spool.open(path) if path in spool.files else None,
            )
            return signals.guard(found)

        run = partial(
            dedup.run,
            workers=opts.workers,
            batch_size=opts.batch_size,
            stop=signals.stopped,
            stop_at_reject=rejects is None,
            fields=(opts.text_field, opts.id_field),
        )
        if policy.streaming:
            decided = run(lines(read), after_batch=after_batch)
        else:  # the first read only gathers pairs: its own stats, so that the report counts one read
            decided = two_passes(
                dedup,
                policy,
                opts.text_field,
                partial(run, lines(ReadStats())),
                partial(run, lines(read), after_batch=after_batch),
                signals.stopped,
                settled.append,
            )
        items = IdFieldCheck(opts.id_field, read, lambda message: notify(f"warning: {message}")).watch(decided)

        finished: list[dict[str, Any]] = []

        def finish(
            error: str | None, stopped_by: str | None = None, show: bool = True, save: bool = True
        ) -> dict[str, Any]:
            """Flush, checkpoint (unless the output failed: then it may lack records the index would
            hold), write the report, print the summary. Once: a later failure leaves the first report."""
            if finished:
                return finished[0]
            if save:
                out.flush()
            # Two passes: the index holds every record from the first pass on, so it is saved only with the
            # whole output (a run stopped before leaves the index as it was).
            whole = policy.streaming or (error is None and bool(settled))
            if index is not None and save and whole:
                index.save(last_run(error is None, stopped_by), final=error is None)
            about_index = index.report() if index is not None else dedup.backend.about()
            outcome = dedup.outcome()
            report = build_report(
                stats, outcome, read, opts.mode, opts.rejects, error=error, index=about_index, keep=policy
            )
            for report_file, html in sorted(report_files, key=lambda f: f[1]):  # the JSON first: it is the record
                if html:
                    assert examples is not None
                    report_file.commit(run_page(report, examples, outcome))
                else:
                    report_file.commit(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
            finished.append(report)
            if show:
                notify(summary(report))
            return report

        try:
            watched = stats.watch(items)
            if examples is not None:
                watched = examples.watch(watched)
            for item in progress(watched, stats):
                if isinstance(item, Rejected):
                    if rejects is None:
                        error = f"{item.message()} (use --rejects FILE to record bad lines and go on)"
                        finish(error)
                        raise BadRecord(error)
                    rejects.write(item.to_json())
                    progress_mark["lines"] = item.number
                    progress_mark["since"] += 1
                    continue
                if opts.output is not None:
                    out.select(item.record)  # the shard of the record's input
                write_result(opts.mode, opts.text_field, out, dropped, item)
                progress_mark["lines"] = item.record.number
                progress_mark["since"] += 1
                progress_mark["output"] += 1 if opts.mode == "scan" or not item.is_duplicate else 0
            if signals.signum is None:  # a write error surfaces before the run is called complete
                if opts.output is not None:
                    out.complete()  # every input's shard written and closed
                for side in (rejects, dropped):
                    if side is not None:
                        side.flush()
        except Interrupted:
            pass
        except InputError as exc:
            # The input broke (a damaged compressed stream): the records read before the break have been
            # decided and written, so the checkpoint holds exactly the output, as after a bad line.
            finish(str(exc))
            raise
        except (IndexStoreError, SharedIndexError) as exc:  # a checkpoint failed: the report still says so
            with contextlib.suppress(Exception):
                finish(str(exc), show=False, save=False)
            raise
        except KeyboardInterrupt:  # a second signal: no checkpoint, but the report says where the run stopped
            with contextlib.suppress(Exception):
                finish("interrupted by a second signal (no checkpoint)", show=False, save=False)
            raise
        except BrokenPipeError:
            with contextlib.suppress(Exception):
                finish("output closed by its reader", show=False, save=False)
            if index is not None:
                notify(
                    f"output closed by its reader; the index keeps its last checkpoint ({index.store.documents:,} "
                    "documents)"
                )
            raise
        except OSError as exc:  # a full disk, a file size limit: the report says the run did not complete
            with contextlib.suppress(OSError):
                finish(f"cannot write output: {exc}", show=False, save=False)
            raise
        if signals.signum is not None:
            name = signal.Signals(signals.signum).name
            report = finish(f"interrupted by {name}", name)
            where = f"after input line {progress_mark['lines']:,}"
            if not policy.streaming:
                message = (
                    f"interrupted by {name} {where} (--keep {policy} reads the input twice): the output holds "
                    "every record up to there"
                    + (", and the index is unchanged: run the same command again from the start." if index else ".")
                )
            elif index is not None:
                how = (
                    ": it appends to the files in --output"
                    if opts.output is not None
                    else ", appending to the output (>>)"
                )
                message = (
                    f"interrupted by {name} {where}: the output and the index hold every record up to "
                    f"there. To continue, run the same command with --resume{how}."
                )
            else:
                message = f"interrupted by {name} {where}: the output holds every record up to there."
            return RunOutcome(report, signals.signum, message)
        gap = accounting_gap(stats, read)
        if gap is not None:
            raise AccountingError(gap)
        return RunOutcome(finish(None))
