"""Command line: a thin shell over the library.

Options become a DedupeConfig, streams are connected, and every exception is
turned into a message and an exit code in one place (:func:`_exit_codes`).
Data goes to stdout; diagnostics, the summary and progress go to stderr.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sys
from collections.abc import Iterator
from typing import Annotated, Optional

import orjson
import typer

from .config import ConfigError, DedupeConfig, LSHConfig, MinHashConfig, PassageConfig, ShingleConfig, VerifyConfig
from .pipeline import Deduplicator
from .passages import remove_spans
from .records import InputError, ReadStats, Rejected, annotated, open_output, original, read_records, with_text
from .report import RunStats, build_report, progress, summary


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    BAD_INPUT = 3
    OUTPUT_ERROR = 4
    INTERRUPTED = 130


class BadRecord(Exception):
    """A rejected line while no --rejects file was given."""


EPILOG_SCAN = """\
Examples:

  cat corpus.jsonl | dedupe scan > annotated.jsonl

  dedupe scan a.jsonl b.jsonl.gz --report report.json

  dedupe scan --unit char --ngram 5 --threshold 0.7 corpus.jsonl --rejects bad.jsonl

  dedupe scan --passages seeds/seeds.jsonl --report report.json

Each output line is the input record unchanged plus
"dedupe": {"cluster": ..., "duplicate_of": ..., "similarity": ...}; with --passages
also "passages": [{"start", "end", "kind", "similarity", "match": {"id", "start", "end"},
"unit"}, ...] on records that are not duplicates: code point spans of the text that
repeat an earlier passage (kind exact, near or boilerplate; unit "quote" for words
quoted inside otherwise different sentences).
Exit codes: 0 ok, 1 internal error, 2 bad option, 3 bad input, 4 cannot write output,
130 interrupted.
"""

EPILOG_FILTER = """\
Examples:

  cat corpus.jsonl | dedupe filter > unique.jsonl

  dedupe filter corpus.jsonl.gz --dropped dups.jsonl --report report.json

  dedupe filter --passages --boilerplate-docs 5 crawl.jsonl.gz > clean.jsonl

With --passages, kept records also lose every repeated sentence/paragraph and
boilerplate passage from their text (the first occurrence stays; quotes inside
sentences stay); other fields are unchanged.

Writes only records that duplicate no earlier record, unchanged.
Exit codes: 0 ok, 1 internal error, 2 bad option, 3 bad input, 4 cannot write output,
130 interrupted.
"""

EPILOG_APP = """\
Examples:

  cat corpus.jsonl | dedupe scan > annotated.jsonl

  cat corpus.jsonl | dedupe filter > unique.jsonl

  dedupe scan a.jsonl b.jsonl.gz --report report.json

Run 'dedupe scan --help' or 'dedupe filter --help' for the options.
"""

app = typer.Typer(
    help="Find near-duplicate documents in JSONL streams (MinHash LSH with exact verification).",
    epilog=EPILOG_APP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

def _show_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"dedupe {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Find near-duplicate documents in JSONL streams (MinHash LSH with exact verification)."""


Inputs = Annotated[
    Optional[list[str]],
    typer.Argument(help="JSONL inputs, plain, gzip or zstd; '-' or nothing reads stdin.", show_default=False),
]
TextField = Annotated[str, typer.Option(help="Field holding the text.")]
IdField = Annotated[
    str,
    typer.Option(help="Field holding the id (string or integer); when absent or null, the 1-based line number "
                 "counted across all inputs is used."),
]
Threshold = Annotated[float, typer.Option("--threshold", "-t", help="Jaccard similarity that makes a duplicate.")]
NumPerm = Annotated[int, typer.Option(help="MinHash permutations (signature length).")]
Ngram = Annotated[int, typer.Option("--ngram", "-n", help="Units per shingle.")]
Unit = Annotated[str, typer.Option(help="Shingle unit: word or char.")]
Seed = Annotated[int, typer.Option(help="Seed of the MinHash permutations.")]
Bands = Annotated[Optional[int], typer.Option(help="LSH bands (derived from threshold and num-perm when omitted).")]
Rows = Annotated[Optional[int], typer.Option(help="Rows per band (derived when omitted).")]
FnWeight = Annotated[float, typer.Option(help="Weight of false negatives when deriving bands/rows (0.5 = datasketch default).")]
Verify = Annotated[str, typer.Option(help="Candidate check: exact (Jaccard of shingle sets) or estimate (MinHash).")]
Workers = Annotated[int, typer.Option("--workers", "-w", help="Processes computing signatures; output does not depend on it.")]
Report = Annotated[Optional[str], typer.Option(help="Write the JSON report to this file.")]
Passages = Annotated[bool, typer.Option("--passages", help="Also find repeated passages (exact, near, boilerplate) in kept records.")]
PassageUnit = Annotated[str, typer.Option(help="Passage unit: sentence or paragraph.")]
PassageMinWords = Annotated[int, typer.Option(help="Passages with fewer words are not matched alone (runs of short lines are merged first); near matching needs this many words that are not numbers.")]
PassageThreshold = Annotated[float, typer.Option(help="Jaccard of character 5-grams that makes two passages near repeats.")]
PassageWindow = Annotated[int, typer.Option(help="Words in a quote window (exact quotes inside different sentences); 0 turns quotes off.")]
BoilerplateDocs = Annotated[int, typer.Option(help="A passage seen in this many distinct documents is boilerplate.")]
PassageMaxCandidates = Annotated[int, typer.Option(help="LSH candidates verified per passage at most (bounds the work at low thresholds).")]
PassageNumbers = Annotated[bool, typer.Option(help="Near repeats must agree on the numbers they state.")]
Rejects = Annotated[
    Optional[str], typer.Option(help="Write bad lines here (JSONL: source, line, code, reason, raw) and go on, instead of stopping.")
]


def _passage_config(enabled: bool, unit: str, min_words: int, threshold: float, window: int,
                    boilerplate_docs: int, max_candidates: int, numbers: bool) -> Optional[PassageConfig]:
    # Built (so checked) even when off: a bad passage option is an error either way.
    config = PassageConfig(unit=unit, min_words=min_words, threshold=threshold, window=window,  # type: ignore[arg-type]
                           boilerplate_docs=boilerplate_docs, max_candidates=max_candidates, numbers=numbers)
    return config if enabled else None


def _config(threshold: float, num_perm: int, ngram: int, unit: str, seed: int, bands: Optional[int],
            rows: Optional[int], fn_weight: float, verify: str, passages: Optional[PassageConfig] = None) -> DedupeConfig:
    return DedupeConfig(
        passages=passages,
        shingle=ShingleConfig(unit=unit, ngram=ngram),  # type: ignore[arg-type]
        minhash=MinHashConfig(num_perm=num_perm, seed=seed),
        lsh=LSHConfig(threshold=threshold, fn_weight=fn_weight, bands=bands, rows=rows),
        verify=VerifyConfig(mode=verify),  # type: ignore[arg-type]
    )


def _err(message: str) -> None:
    sys.stderr.write(f"dedupe: {message}\n")
    sys.stderr.flush()


@contextlib.contextmanager
def _exit_codes() -> Iterator[None]:
    """Map every failure to a message on stderr and an exit code, in one place."""
    try:
        yield
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python
        # from failing again when it flushes stdout at exit.
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(ExitCode.OK)
    except ConfigError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(ExitCode.USAGE)
    except (InputError, BadRecord) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(ExitCode.BAD_INPUT)
    except OSError as exc:
        _err(f"error: cannot write output: {exc}")
        raise typer.Exit(ExitCode.OUTPUT_ERROR)
    except KeyboardInterrupt:
        _err("interrupted")
        raise typer.Exit(ExitCode.INTERRUPTED)


def _run(mode: str, inputs: Optional[list[str]], config: DedupeConfig, text_field: str, id_field: str,
         workers: int, report_path: Optional[str], rejects_path: Optional[str], dropped_path: Optional[str]) -> None:
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1; got {workers}")
    paths = inputs or ["-"]
    for path in paths:
        if path != "-" and not os.path.exists(path):
            raise InputError(f"cannot open {path}: no such file")
        if os.path.isdir(path):
            raise InputError(f"cannot read {path}: it is a directory (give the JSONL files in it)")
    out = typer.get_binary_stream("stdout")
    read = ReadStats()
    stats = RunStats()
    dedup = Deduplicator(config)
    with contextlib.ExitStack() as stack:
        # Every output file is created before the first record is read, so a
        # bad path fails at once rather than after a long run.
        rejects = stack.enter_context(open_output(rejects_path)) if rejects_path else None
        dropped = stack.enter_context(open_output(dropped_path)) if dropped_path else None
        report_file = stack.enter_context(open_output(report_path)) if report_path else None
        records = read_records(paths, text_field, id_field, read, stdin=typer.get_binary_stream("stdin"))
        for item in progress(stats.watch(dedup.run(records, workers=workers)), stats):
            if isinstance(item, Rejected):
                if rejects is None:
                    out.flush()
                    error = f"{item.message()} (use --rejects FILE to record bad lines and go on)"
                    if report_file is not None:  # the report says how far the run got
                        failed = build_report(stats, dedup, read, mode, None, error=error)
                        report_file.write(orjson.dumps(failed, option=orjson.OPT_INDENT_2) + b"\n")
                    raise BadRecord(error)
                rejects.write(item.to_json())
            elif mode == "scan":
                note = item.match.as_dict()
                if item.passages is not None:
                    note["passages"] = [m.as_dict() for m in item.passages]
                out.write(annotated(item.record, note))
            elif not item.is_duplicate:
                if item.passages:
                    cleaned = remove_spans(item.record.text, item.passages)
                    if cleaned != item.record.text:
                        out.write(with_text(item.record, text_field, cleaned))
                        continue
                out.write(original(item.record))
            elif dropped is not None:
                dropped.write(annotated(item.record, item.match.as_dict()))
        out.flush()
        report = build_report(stats, dedup, read, mode, rejects_path)
        if report_file is not None:
            report_file.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stderr.write(summary(report) + "\n")


@app.command(epilog=EPILOG_SCAN)
def scan(
    inputs: Inputs = None,
    text_field: TextField = "text",
    id_field: IdField = "id",
    threshold: Threshold = 0.8,
    num_perm: NumPerm = 128,
    ngram: Ngram = 5,
    unit: Unit = "word",
    seed: Seed = 1,
    bands: Bands = None,
    rows: Rows = None,
    fn_weight: FnWeight = 0.95,
    verify: Verify = "exact",
    workers: Workers = 1,
    report: Report = None,
    rejects: Rejects = None,
    passages: Passages = False,
    passage_unit: PassageUnit = "sentence",
    passage_min_words: PassageMinWords = 6,
    passage_threshold: PassageThreshold = 0.35,
    passage_window: PassageWindow = 8,
    boilerplate_docs: BoilerplateDocs = 3,
    passage_max_candidates: PassageMaxCandidates = 32,
    passage_numbers: PassageNumbers = True,
) -> None:
    """Write every record, annotated with its cluster and the earlier record it duplicates."""
    with _exit_codes():
        found = _passage_config(passages, passage_unit, passage_min_words, passage_threshold, passage_window,
                                boilerplate_docs, passage_max_candidates, passage_numbers)
        config = _config(threshold, num_perm, ngram, unit, seed, bands, rows, fn_weight, verify, found)
        _run("scan", inputs, config, text_field, id_field, workers, report, rejects, None)


@app.command(name="filter", epilog=EPILOG_FILTER)
def filter_(
    inputs: Inputs = None,
    text_field: TextField = "text",
    id_field: IdField = "id",
    threshold: Threshold = 0.8,
    num_perm: NumPerm = 128,
    ngram: Ngram = 5,
    unit: Unit = "word",
    seed: Seed = 1,
    bands: Bands = None,
    rows: Rows = None,
    fn_weight: FnWeight = 0.95,
    verify: Verify = "exact",
    workers: Workers = 1,
    report: Report = None,
    rejects: Rejects = None,
    dropped: Annotated[Optional[str], typer.Option(help="Write the duplicates here, annotated as by scan.")] = None,
    passages: Passages = False,
    passage_unit: PassageUnit = "sentence",
    passage_min_words: PassageMinWords = 6,
    passage_threshold: PassageThreshold = 0.35,
    passage_window: PassageWindow = 8,
    boilerplate_docs: BoilerplateDocs = 3,
    passage_max_candidates: PassageMaxCandidates = 32,
    passage_numbers: PassageNumbers = True,
) -> None:
    """Write only first-seen records (no earlier near-duplicate), unchanged (with --passages: repeated passages removed)."""
    with _exit_codes():
        found = _passage_config(passages, passage_unit, passage_min_words, passage_threshold, passage_window,
                                boilerplate_docs, passage_max_candidates, passage_numbers)
        config = _config(threshold, num_perm, ngram, unit, seed, bands, rows, fn_weight, verify, found)
        _run("filter", inputs, config, text_field, id_field, workers, report, rejects, dropped)


def main() -> None:
    """Console script entry point."""
    app(prog_name="dedupe")

