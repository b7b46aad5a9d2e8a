"""Command line: a thin shell over the library.

Options become a DedupeConfig, streams are connected, and every exception is
turned into a message and an exit code in one place (:func:`_exit_codes`).
Data goes to stdout; diagnostics, the summary and progress go to stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
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

from ..config import DEFAULT_ID_FIELD, DEFAULT_TEXT_FIELD, ConfigError
from ..engines.launch import run
from ..engines.preflight import check_inputs
from ..engines.spec import AccountingError, BadRecord, Mode, RayJobError, RunSpec
from ..index.errors import IndexStoreError
from ..index.redis import SharedIndexError
from ..io.outfiles import WholeFile, check_paths
from ..io.records import InputError, display_name
from ..report.annotated import annotated_report
from ..report.build import is_html, need_plots
from .collector import settle
from .help import EPILOG_APP, EPILOG_EXPLAIN, EPILOG_FILTER, EPILOG_REPORT, EPILOG_SCAN
from .options import IdField, TextField, dedupe_config, parameters


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


def _declare(name: str, function: Any, epilog: str) -> None:
    """Register ``function`` (taking keyword arguments) as the command ``name``, with the parameters that
    :data:`~dedupe.cli.options.OPTIONS` gives it."""
    params = parameters(name)
    function.__signature__ = inspect.Signature(params)
    function.__annotations__ = {p.name: p.annotation for p in params} | {"return": "None"}
    function.__name__ = name
    app.command(name=name, epilog=epilog)(function)


def _command(mode: str, help_text: str, epilog: str) -> None:
    """Register ``mode`` (scan or filter) as a command running the library on its options."""

    def command(**kw: Any) -> None:
        with _exit_codes():
            config = dedupe_config(kw)
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
                batch_size=kw["batch_size"],
                keep=kw["keep"],
                split_bytes=kw["split_bytes"],
            )
            settle()  # start-up's objects are made by now
            outcome = run(
                spec, stdout=lambda: _std_stream("stdout"), stdin=lambda: _std_stream("stdin"), notify=_notify
            )
            if outcome.signum is not None:
                _err(outcome.message or f"interrupted by {signal.Signals(outcome.signum).name}")
                raise typer.Exit(128 + outcome.signum)

    command.__doc__ = help_text
    _declare(mode, command, epilog)


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
    text_field: TextField = DEFAULT_TEXT_FIELD,
    id_field: IdField = DEFAULT_ID_FIELD,
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
            from ..report.html import render  # the page's code only when a page is asked for

            with contextlib.closing(examples):
                page = render(report, examples, clusters).encode("utf-8")
            page_file.commit(page)
        c = report["counts"]
        sys.stderr.write(
            f"dedupe report: wrote {output} ({len(page) / 1e3:,.0f} kB): "
            f"{_n(c['kept'] + c['duplicates'], 'record')}, {_n(c['duplicates'], 'duplicate')} in "
            f"{_n(c['clusters'], 'cluster')}\n"
        )


def explain(**kw: Any) -> None:
    """Explain why document B is or is not a near-duplicate of document A at these options."""
    from .. import explain as explaining
    from ..core.keep import KeepPolicy

    with _exit_codes():
        config = dedupe_config(kw)
        input_path, text_field, id_field = kw["input_path"], kw["text_field"], kw["id_field"]
        names = kw["documents"] or []
        if len(names) != 2:
            what = "two record ids" if input_path is not None else "two files (A B)"
            raise ConfigError(
                f"explain takes {what}; got {len(names)} argument{'s' * (len(names) != 1)} (see dedupe explain --help)"
            )
        keep = KeepPolicy.parse(kw["keep"])
        explaining.check_keep(keep, records=input_path is not None)
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
        if kw["in_run"] and input_path is None:
            raise ConfigError("--in-run scans the --input file: give two record ids with --input FILE")
        result = explaining.explain(pair[0], pair[1], config, kw["max_chars"], keep)
        if kw["in_run"]:
            decided = explaining.decisions_in_run(
                input_path, names, config, keep, text_field, id_field, kw["max_chars"]
            )
            result = dataclasses.replace(result, in_run=(display_name(input_path), decided))
        out = _std_stream("stdout")
        if kw["as_json"]:
            out.write(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        else:
            out.write((explaining.render(result) + "\n").encode("utf-8"))
        out.flush()


_declare("explain", explain, EPILOG_EXPLAIN)


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
