"""What a run checks before it reads anything: inputs, output paths, and where a resumed run goes on."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from ..config import ConfigError
from ..index.store import Checkpointer
from ..io.outfiles import check_paths
from ..io.records import InputError
from ..io.shards import shard_name, source_name
from .spec import RunSpec


def check_inputs(paths: list[str]) -> None:
    for path in paths:
        if path != "-" and not os.path.exists(path):
            raise InputError(f"cannot open {path}: no such file")
        if os.path.isdir(path):
            raise InputError(f"cannot read {path}: it is a directory (give the JSONL files in it)")


def two_pass_limits(opts: RunSpec) -> None:
    """What a run that reads its input twice (``--keep`` other than ``first``) cannot do, said before reading."""
    why = f"--keep {opts.keep} decides only after every record is read"
    if opts.resume:
        raise ConfigError(
            f"--resume continues a streaming run; {why}, so an interrupted run starts again: run it without --resume"
        )
    if opts.index is not None and "://" in opts.index:
        raise ConfigError(
            f"a Redis index is shared by processes deciding records as they arrive; {why}: use an index directory "
            "(--index DIR), or --keep first"
        )


def check_output_paths(opts: RunSpec) -> None:
    """Every output against every input, every other output and the index, before anything is opened."""
    for option, value in (("--output", opts.output), ("--index", opts.index)):
        if value == "":
            raise ConfigError(f"{option} needs a directory name; got ''")
    outputs = [("--report", path) for path in opts.report]
    outputs += [
        (option, path)
        for option, path in (("--rejects", opts.rejects), ("--dropped", opts.dropped))
        if path is not None
    ]
    if opts.output is not None:
        outputs += [
            ("--output", os.path.join(opts.output, shard_name(k, source_name(path), opts.output_format)))
            for k, path in enumerate(opts.inputs)
        ]
    check_paths(opts.inputs, outputs, stdout=opts.output is None, index=opts.local_index)


# Options that change a decision or an output byte: a resumed run must give the interrupted run's values.
_RESUME_OPTIONS = {
    "text_field": "--text-field",
    "id_field": "--id-field",
    "max_chars": "--max-chars",
    "output": "--output",
    "output_format": "--format",
}


def resume_options(opts: RunSpec) -> dict[str, Any]:
    """What :func:`resume_point` compares: the decision parameters and the options that shape the output."""
    return {
        "parameters": opts.config.parameters(),
        "passages": opts.config.passages.parameters() if opts.config.passages is not None else None,
        **{name: getattr(opts, name) for name in _RESUME_OPTIONS},
        "output": os.path.normpath(opts.output) if opts.output is not None else None,
    }


def _option_differences(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Each option that differs, as `--name VALUE (interrupted run: VALUE)`."""

    def flat(options: dict[str, Any]) -> dict[str, Any]:
        parameters = options.get("parameters") or {}
        passages = options.get("passages")
        out = {
            f"--{k.replace('_', '-')}": v
            for k, v in parameters.items()
            if k not in ("scheme", "normalize", "fn_weight", "bands", "rows")
        }
        out |= {
            "--fn-weight": parameters.get("fn_weight"),
            "--bands": parameters.get("bands"),
            "--rows": parameters.get("rows"),
            "normalization": parameters.get("normalize"),
            "--passages": passages is not None,
        }
        for key, value in (passages or {}).items():
            out[f"--passage {key}"] = value
        out |= {flag: options.get(name) for name, flag in _RESUME_OPTIONS.items()}
        return out

    a, b = flat(before), flat(now)
    return [
        f"{key} {json.dumps(b.get(key))} (interrupted run: {json.dumps(a.get(key))})"
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]


def resume_point(
    opts: RunSpec, index: Checkpointer | None, options: dict[str, Any], notify: Callable[[str], None]
) -> int:
    """Input lines to pass over: those a resumed run already wrote and indexed."""
    last = index.store.last_run if index is not None else None
    if not opts.resume:
        if last is not None and not last.get("complete", True):
            notify(
                f"note: the last run on this index stopped after input line {last['lines_done']:,}; "
                "this run starts from the beginning (use --resume to continue that run instead)"
            )
        return 0
    if index is None:
        raise ConfigError("--resume needs --index PATH (the index records where the run stopped)")
    if last is None or last.get("complete", True):
        raise ConfigError(f"nothing to resume: the last run on {opts.index} completed")
    if last["inputs"] != opts.inputs or last["mode"] != opts.mode:
        raise ConfigError(
            f"--resume continues `dedupe {last['mode']} {' '.join(last['inputs'])}`; "
            f"give the same command and inputs (this one: `dedupe {opts.mode} {' '.join(opts.inputs)}`)"
        )
    if "options" in last:  # an index saved before options were recorded: only mode and inputs can be checked
        differences = _option_differences(last["options"], options)
        if differences:
            raise ConfigError(
                "--resume must continue with the interrupted run's options, or the output would mix "
                "two settings; differing: " + "; ".join(differences)
            )
    return int(last["lines_done"])
