"""Command line: a thin shell over the library.

Options become a DedupeConfig, streams are connected, and every exception is
turned into a message and an exit code in one place (:func:`_exit_codes`).
Data goes to stdout; diagnostics, the summary and progress go to stderr.
"""

from __future__ import annotations

import contextlib
import enum
import glob
import inspect
import os
import signal
import sys
from collections.abc import Iterator
from typing import Annotated, Any, cast

import orjson
import typer

from ..config import (
    DEFAULT_BUCKET_CAP,
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_MAX_CHARS,
    ConfigError,
    DedupeConfig,
    LSHConfig,
    MinHashConfig,
    PassageConfig,
    ShingleConfig,
    VerifyConfig,
)
from ..config import (
    PassageUnit as PassageUnitValue,
)
from ..engines.launch import run
from ..engines.preflight import check_inputs
from ..engines.ray import RayJobError
from ..engines.spec import AccountingError, BadRecord, Mode, RunSpec
from ..index.errors import IndexStoreError
from ..index.redis import SharedIndexError
from ..io.outfiles import WholeFile, check_paths
from ..io.records import InputError
from ..report.build import annotated_report, is_html, need_plots
from ..report.html import render
from .help import EPILOG_APP, EPILOG_EXPLAIN, EPILOG_FILTER, EPILOG_REPORT, EPILOG_SCAN
from .options import (
    Bands,
    BoilerplateDocs,
    BucketCap,
    CheckpointEvery,
    Engine,
    FnWeight,
    IdField,
    Index,
    Inputs,
    MaxChars,
    Ngram,
    NumPerm,
    Output,
    OutputFormat,
    PassageMaxCandidates,
    PassageMinWords,
    PassageNumbers,
    Passages,
    PassageThreshold,
    PassageUnit,
    PassageWindow,
    RayAddress,
    Rejects,
    Report,
    Resume,
    Rows,
    Seed,
    TextField,
    Threshold,
    Unit,
    Verify,
    Workers,
)


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    BAD_INPUT = 3
    OUTPUT_ERROR = 4
    INDEX_ERROR = 5  # --index: corrupt, built with other parameters, unreachable, or cannot be saved
    INTERRUPTED = 130  # SIGINT (Ctrl-C); SIGTERM gives 143
    BROKEN_PIPE = 141  # the output's reader went away (e.g. `| head`), as for a process killed by SIGPIPE


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
        from .. import __version__

        typer.echo(f"dedupe {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Find near-duplicate documents in JSONL streams (MinHash LSH with exact verification)."""


def _passage_config(
    enabled: bool,
    unit: str,
    min_words: int,
    threshold: float,
    window: int,
    boilerplate_docs: int,
    max_candidates: int,
    numbers: bool,
) -> PassageConfig | None:
    # Built (so checked) even when off: a bad passage option is an error either way.
    config = PassageConfig(
        unit=cast("PassageUnitValue", unit),  # checked by PassageConfig itself
        min_words=min_words,
        threshold=threshold,
        window=window,
        boilerplate_docs=boilerplate_docs,
        max_candidates=max_candidates,
        numbers=numbers,
    )
    return config if enabled else None


def _config(
    threshold: float,
    num_perm: int,
    ngram: int,
    unit: str,
    seed: int,
    bands: int | None,
    rows: int | None,
    fn_weight: float,
    verify: str,
    passages: PassageConfig | None = None,
    bucket_cap: int = DEFAULT_BUCKET_CAP,
) -> DedupeConfig:
    return DedupeConfig(
        passages=passages,
        shingle=ShingleConfig(unit=unit, ngram=ngram),  # type: ignore[arg-type]
        minhash=MinHashConfig(num_perm=num_perm, seed=seed),
        lsh=LSHConfig(threshold=threshold, fn_weight=fn_weight, bands=bands, rows=rows, bucket_cap=bucket_cap),
        verify=VerifyConfig(mode=verify),  # type: ignore[arg-type]
    )


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _notify(line: str) -> None:
    """A line from the library for the user: the summary ("dedupe scan: ...") as it is, notes and warnings as
    ``dedupe: note: ...``."""
    sys.stderr.write((line if line.startswith("dedupe ") else f"dedupe: {line}") + "\n")
    sys.stderr.flush()


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
        raise typer.Exit(ExitCode.BROKEN_PIPE) from None
    except ConfigError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(ExitCode.USAGE) from None
    except (InputError, BadRecord) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    except (IndexStoreError, SharedIndexError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(ExitCode.INDEX_ERROR) from None
    except AccountingError as exc:
        _err(f"internal error: {exc}")
        raise typer.Exit(ExitCode.ERROR) from None
    except RayJobError as exc:
        _err(f"error: --engine ray: {exc}")
        raise typer.Exit(ExitCode.ERROR) from None
    except OSError as exc:
        _err(f"error: cannot write output: {exc}")
        raise typer.Exit(ExitCode.OUTPUT_ERROR) from None
    except KeyboardInterrupt:
        _err("interrupted")
        raise typer.Exit(ExitCode.INTERRUPTED) from None


def _report_paths(paths: list[str] | None) -> list[str]:
    paths = paths or []
    if len(paths) > 2 or len({is_html(p) for p in paths}) < len(paths):
        raise ConfigError("--report takes at most one JSON and one HTML file (e.g. --report r.json --report r.html)")
    if any(map(is_html, paths)):
        need_plots()
    return paths


def _expand(paths: list[str]) -> list[str]:
    """Inputs with glob patterns expanded (sorted), for patterns the shell did not expand (quoted ones)."""
    out = []
    for path in paths:
        if "://" in path:
            raise InputError(
                f"cannot read {path}: inputs are local files (or mounted storage); copy or mount remote data first"
            )
        if path != "-" and not os.path.exists(path) and glob.has_magic(path):
            found = sorted(glob.glob(path))
            if not found:
                raise InputError(f"no file matches {path}")
            out += found
        else:
            out.append(path)
    return out


def _std_stream(name: str) -> Any:
    try:
        return typer.get_binary_stream(name)  # type: ignore[arg-type]
    except RuntimeError:  # the descriptor is closed (`<&-`, `>&-`)
        if name == "stdin":
            raise InputError(
                "<stdin>: standard input is closed (give input files, or '-' with data on stdin)"
            ) from None
        raise OSError("standard output is closed (redirect it to a file or a pipe)") from None


def _options(
    inputs: Inputs = None,
    text_field: TextField = "text",
    id_field: IdField = "id",
    threshold: Threshold = LSHConfig.threshold,
    num_perm: NumPerm = MinHashConfig.num_perm,
    ngram: Ngram = ShingleConfig.ngram,
    unit: Unit = ShingleConfig.unit,
    seed: Seed = MinHashConfig.seed,
    bands: Bands = None,
    rows: Rows = None,
    fn_weight: FnWeight = LSHConfig.fn_weight,
    bucket_cap: BucketCap = DEFAULT_BUCKET_CAP,
    verify: Verify = VerifyConfig.mode,
    workers: Workers = 1,
    output: Output = None,
    output_format: OutputFormat = "jsonl",
    engine: Engine = "stream",
    ray_address: RayAddress = None,
    report: Report = None,
    rejects: Rejects = None,
    dropped: Annotated[str | None, typer.Option(help="Write the duplicates here, annotated as by scan.")] = None,
    passages: Passages = False,
    passage_unit: PassageUnit = PassageConfig.unit,
    passage_min_words: PassageMinWords = PassageConfig.min_words,
    passage_threshold: PassageThreshold = PassageConfig.threshold,
    passage_window: PassageWindow = PassageConfig.window,
    boilerplate_docs: BoilerplateDocs = PassageConfig.boilerplate_docs,
    passage_max_candidates: PassageMaxCandidates = PassageConfig.max_candidates,
    passage_numbers: PassageNumbers = PassageConfig.numbers,
    index: Index = None,
    checkpoint_every: CheckpointEvery = DEFAULT_CHECKPOINT_EVERY,
    resume: Resume = False,
    max_chars: MaxChars = DEFAULT_MAX_CHARS,
) -> None:
    """The options of ``scan`` and ``filter`` (``--dropped`` is filter's only): one signature for both commands."""


def _command(mode: str, help_text: str, epilog: str) -> None:
    """Register ``mode`` as a command taking the options of :func:`_options` (filter alone takes --dropped)."""
    params = [
        p
        for p in inspect.signature(_options, eval_str=True).parameters.values()
        if mode == "filter" or p.name != "dropped"
    ]

    def command(**kw: Any) -> None:
        with _exit_codes():
            found = _passage_config(
                kw["passages"],
                kw["passage_unit"],
                kw["passage_min_words"],
                kw["passage_threshold"],
                kw["passage_window"],
                kw["boilerplate_docs"],
                kw["passage_max_candidates"],
                kw["passage_numbers"],
            )
            config = _config(
                kw["threshold"],
                kw["num_perm"],
                kw["ngram"],
                kw["unit"],
                kw["seed"],
                kw["bands"],
                kw["rows"],
                kw["fn_weight"],
                kw["verify"],
                found,
                kw["bucket_cap"],
            )
            spec = RunSpec(
                cast("Mode", mode),
                _expand(kw["inputs"] or ["-"]),
                config,
                kw["text_field"],
                kw["id_field"],
                kw["workers"],
                _report_paths(kw["report"]),
                kw["rejects"],
                kw.get("dropped"),
                kw["index"],
                kw["checkpoint_every"],
                kw["resume"],
                kw["max_chars"],
                output=kw["output"],
                output_format=kw["output_format"],
                engine=kw["engine"],
                ray_address=kw["ray_address"],
            )
            outcome = run(
                spec, stdout=lambda: _std_stream("stdout"), stdin=lambda: _std_stream("stdin"), notify=_notify
            )
            if outcome.signum is not None:
                _err(outcome.message or f"interrupted by {signal.Signals(outcome.signum).name}")
                raise typer.Exit(128 + outcome.signum)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params} | {"return": "None"}
    command.__doc__ = help_text
    command.__name__ = mode
    app.command(name=mode, epilog=epilog)(command)


_command("scan", "Write every record, annotated with its cluster and the earlier record it duplicates.", EPILOG_SCAN)
_command(
    "filter",
    "Write only first-seen records (no earlier near-duplicate), unchanged (with --passages: "
    "repeated passages removed).",
    EPILOG_FILTER,
)


@app.command(name="report", epilog=EPILOG_REPORT)
def report_command(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Output of 'dedupe scan' (JSONL, plain, gzip or zstd; '-' is stdin).", show_default=False),
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="The HTML page to write.")] = "report.html",
    run_report: Annotated[
        str | None,
        typer.Option(
            help="The scan's JSON report (--report run.json): adds its parameters, timings, rejected lines and the "
            "similarity of every candidate pair.",
            show_default=False,
        ),
    ] = None,
    text_field: TextField = "text",
    id_field: IdField = "id",
) -> None:
    """Build the HTML report of an earlier scan from its annotated output, without running it again."""
    with _exit_codes():
        need_plots()
        check_inputs(inputs)
        check_paths(inputs + ([run_report] if run_report is not None else []), [("--output", output)])
        # Created before the input is read (a bad path fails at once); a bad input leaves no page behind, and
        # an earlier page stays whole.
        with WholeFile("--output", output) as page_file:
            given = None
            if run_report is not None:
                try:
                    with open(run_report, "rb") as f:
                        given = orjson.loads(f.read())
                except (OSError, orjson.JSONDecodeError) as exc:
                    raise InputError(f"cannot read the run report {run_report}: {exc}") from None
                if not isinstance(given, dict) or "counts" not in given:
                    raise InputError(f'{run_report} is not a dedupe JSON report (no "counts")')
            stdin = _std_stream("stdin") if "-" in inputs else None
            report, examples, clusters = annotated_report(
                inputs, text_field, id_field, given, stdin=stdin, run_report_name=run_report or "the run report"
            )
            with contextlib.closing(examples):
                page = render(report, examples, clusters).encode("utf-8")
            page_file.commit(page)
        c = report["counts"]
        sys.stderr.write(
            f"dedupe report: wrote {output} ({len(page) / 1e3:,.0f} kB): "
            f"{_n(c['kept'] + c['duplicates'], 'record')}, {_n(c['duplicates'], 'duplicate')} in "
            f"{_n(c['clusters'], 'cluster')}\n"
        )


@app.command(name="explain", epilog=EPILOG_EXPLAIN)
def explain(
    documents: Annotated[
        list[str] | None,
        typer.Argument(
            help="A and B: two files holding the raw text ('-' is stdin, for one of them), or with "
            "--input two record ids.",
            show_default=False,
            metavar="A B",
        ),
    ] = None,
    input_path: Annotated[
        str | None,
        typer.Option("--input", help="JSONL file to look A and B up in by id ('-' is stdin).", show_default=False),
    ] = None,
    text_field: TextField = "text",
    id_field: IdField = "id",
    threshold: Threshold = LSHConfig.threshold,
    num_perm: NumPerm = MinHashConfig.num_perm,
    ngram: Ngram = ShingleConfig.ngram,
    unit: Unit = ShingleConfig.unit,
    seed: Seed = MinHashConfig.seed,
    bands: Bands = None,
    rows: Rows = None,
    fn_weight: FnWeight = LSHConfig.fn_weight,
    verify: Verify = VerifyConfig.mode,
    passages: Passages = False,
    passage_unit: PassageUnit = PassageConfig.unit,
    passage_min_words: PassageMinWords = PassageConfig.min_words,
    passage_threshold: PassageThreshold = PassageConfig.threshold,
    passage_window: PassageWindow = PassageConfig.window,
    boilerplate_docs: BoilerplateDocs = PassageConfig.boilerplate_docs,
    passage_max_candidates: PassageMaxCandidates = PassageConfig.max_candidates,
    passage_numbers: PassageNumbers = PassageConfig.numbers,
    max_chars: MaxChars = DEFAULT_MAX_CHARS,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (keys below) instead of text.")
    ] = False,
) -> None:
    """Explain why document B is or is not a near-duplicate of document A at these options."""
    from .. import explain as explaining

    with _exit_codes():
        found = _passage_config(
            passages,
            passage_unit,
            passage_min_words,
            passage_threshold,
            passage_window,
            boilerplate_docs,
            passage_max_candidates,
            passage_numbers,
        )
        config = _config(threshold, num_perm, ngram, unit, seed, bands, rows, fn_weight, verify, found)
        names = documents or []
        if len(names) != 2:
            what = "two record ids" if input_path is not None else "two files (A B)"
            raise ConfigError(
                f"explain takes {what}; got {len(names)} argument{'s' * (len(names) != 1)} (see dedupe explain --help)"
            )
        if input_path is not None:
            stdin = _std_stream("stdin") if input_path == "-" else None
            pair, notes = explaining.find_records(input_path, names, text_field, id_field, stdin)
            for note in notes:
                _err(f"note: {note}")
        else:
            if names == ["-", "-"]:
                raise ConfigError("only one of A and B can be '-' (standard input); give the other as a file")
            stdin = _std_stream("stdin") if "-" in names else None
            pair = [explaining.read_text_file(name, stdin) for name in names]
        result = explaining.explain(pair[0], pair[1], config, max_chars)
        out = _std_stream("stdout")
        if as_json:
            out.write(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        else:
            out.write((explaining.render(result) + "\n").encode("utf-8"))
        out.flush()


def main(args: list[str] | None = None) -> None:
    """Console script entry point: Click's own usage errors get the same form and exit code as ours."""
    try:  # typer 0.23 and later carry their own copy of Click
        from typer._click import exceptions as click  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from click import exceptions as click  # type: ignore[no-redef,unused-ignore]

    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="dedupe", standalone_mode=False)
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `dedupe` alone: the help, as Click shows it
            exc.show()
        else:
            where = exc.ctx.command_path if exc.ctx is not None else "dedupe"
            message = exc.format_message().rstrip(".")
            _err(f"error: {message[:1].lower()}{message[1:]} (see '{where} --help')")
        code = ExitCode.USAGE
    except click.ClickException as exc:
        _err(f"error: {exc.format_message()}")
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _err("interrupted")
        code = ExitCode.INTERRUPTED
    sys.exit(code if isinstance(code, int) else ExitCode.OK)
