"""The command-line options of scan, filter, report and explain: their names, help texts and defaults.

Each option is declared once, in :data:`OPTIONS` (with its default, from :mod:`dedupe.config` for every matching
parameter), and each command takes the options that name it: :func:`parameters` gives them in --help order.
:func:`dedupe_config` turns the option values into the :class:`~dedupe.config.DedupeConfig` they describe.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, cast

import typer

from ..config import (
    BATCH_RECORDS,
    DEFAULT_BUCKET_CAP,
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_ENGINE,
    DEFAULT_ID_FIELD,
    DEFAULT_KEEP,
    DEFAULT_MAX_CHARS,
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_SPLIT_BYTES,
    DEFAULT_TEXT_FIELD,
    DEFAULT_WORKERS,
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

Inputs = Annotated[
    list[str] | None,
    typer.Argument(
        help="JSONL inputs, plain, gzip or zstd, or Parquet files (*.parquet; needs pyarrow); '-' or "
        "nothing reads stdin (JSONL).",
        show_default=False,
    ),
]
TextField = Annotated[str, typer.Option(help="Field holding the text.")]
IdField = Annotated[
    str,
    typer.Option(
        help="Field holding the id (string or integer); when absent or null, the 1-based line number "
        "counted across all inputs is used."
    ),
]
Threshold = Annotated[float, typer.Option("--threshold", "-t", help="Jaccard similarity that makes a duplicate.")]
NumPerm = Annotated[int, typer.Option(help="MinHash permutations (signature length).")]
Ngram = Annotated[int, typer.Option("--ngram", "-n", help="Units per shingle.")]
Unit = Annotated[str, typer.Option(help="Shingle unit: word or char.")]
Seed = Annotated[int, typer.Option(help="Seed of the MinHash permutations.")]
Bands = Annotated[int | None, typer.Option(help="LSH bands (derived from threshold and num-perm when omitted).")]
Rows = Annotated[int | None, typer.Option(help="Rows per band (derived when omitted).")]
FnWeight = Annotated[
    float, typer.Option(help="Weight of false negatives when deriving bands/rows (0.5 = datasketch default).")
]
Verify = Annotated[str, typer.Option(help="Candidate check: exact (Jaccard of shingle sets) or estimate (MinHash).")]
Workers = Annotated[
    int,
    typer.Option(
        "--workers",
        "-w",
        help="Processes, this one included: with 2 or more, this one reads, matches and writes while the others "
        "compute features (one per core is fastest). Output does not depend on it.",
    ),
]
BatchSize = Annotated[
    int,
    typer.Option(
        help="Records per batch (stream engine): larger is a little faster, and a slow input sees its first "
        "output after this many records. Output does not depend on it."
    ),
]
Report = Annotated[
    list[str] | None,
    typer.Option(
        help="Write the report to this file: HTML when the name ends in .html (a self-contained page with "
        "plots and the largest clusters; needs the report extra), JSON otherwise. May be given twice.",
        show_default=False,
    ),
]
Passages = Annotated[
    bool, typer.Option("--passages", help="Also find repeated passages (exact, near, boilerplate) in kept records.")
]
PassageUnit = Annotated[str, typer.Option(help="Passage unit: sentence or paragraph.")]
PassageMinWords = Annotated[
    int,
    typer.Option(
        help="Passages with fewer words are not matched alone (runs of short lines are merged first); near "
        "matching needs this many plain words (not numbers or names) in each passage and in common."
    ),
]
PassageThreshold = Annotated[
    float, typer.Option(help="Jaccard of character 5-grams that makes two passages near repeats.")
]
PassageWindow = Annotated[
    int, typer.Option(help="Words in a quote window (exact quotes inside different sentences); 0 turns quotes off.")
]
BoilerplateDocs = Annotated[int, typer.Option(help="A passage seen in this many distinct documents is boilerplate.")]
PassageMaxCandidates = Annotated[
    int, typer.Option(help="LSH candidates verified per passage at most (bounds the work at low thresholds).")
]
PassageNumbers = Annotated[bool, typer.Option(help="Near repeats must agree on the numbers they state.")]
PassageNames = Annotated[
    bool, typer.Option(help="Near repeats must agree on the names they state (companies, people, places).")
]
Index = Annotated[
    str | None,
    typer.Option(
        help="Index directory kept across runs: loaded at start (created if missing), every document of "
        "this run added, saved at the end. Later runs mark documents that duplicate earlier runs' ones.",
        show_default=False,
    ),
]
CheckpointEvery = Annotated[
    int,
    typer.Option(
        help="Save the index every N input records (0: only at the end); a killed run keeps the last checkpoint."
    ),
]
Resume = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue the index's interrupted run: skip the input lines it already "
        "wrote (append this run's output to the earlier one).",
    ),
]
BucketCap = Annotated[
    int,
    typer.Option(
        help="Earlier documents taken as candidates from each LSH bucket (band key), the earliest "
        "ones: bounds the work when many documents share a bucket (e.g. near-empty pages). 0 = no "
        "cap."
    ),
]
MaxChars = Annotated[
    int,
    typer.Option(
        help="Match on at most this many characters of each text (0: no limit); the record written out is never cut."
    ),
]
Rejects = Annotated[
    str | None,
    typer.Option(help="Write bad lines here (JSONL: source, line, code, reason, raw) and go on, instead of stopping."),
]
Output = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write into this directory instead of stdout: one file per input, "
        "NNNNN-NAME.jsonl (or .parquet), NNNNN its position among the inputs from 00000 and NAME its "
        "name without .jsonl/.json/.parquet/.gz/.zst ('stdin' for stdin), holding what stdout would get "
        "for that input's records. The directory is created if missing; files of these names are "
        "replaced (appended to with --resume), no other file is touched or deleted.",
        show_default=False,
    ),
]
OutputFormat = Annotated[
    str,
    typer.Option(
        "--format",
        help="Format of the --output files: jsonl, or parquet (the same objects, one row each; needs pyarrow).",
    ),
]
Engine = Annotated[
    str,
    typer.Option(
        help="stream: this process (and --workers); ray: a Ray Data job on the cluster named by "
        "--ray-address or RAY_ADDRESS, or on a local Ray it starts; the same decisions either way. "
        "ray needs --output DIR and the ray extra (pip install 'dedupe[ray]')."
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        help="With --engine ray: the cluster to run on (host:port, or ray://host:10001 "
        "for Ray Client); default RAY_ADDRESS, else a local Ray started for the run.",
        show_default=False,
    ),
]
SplitBytes = Annotated[
    int,
    typer.Option(
        help="With --engine ray: read an uncompressed JSONL input as byte ranges of about this size, cut at line "
        "starts, and a Parquet input as runs of row groups of about this size; each range is one map task "
        "(a compressed input is read whole). 0: one task per input. The output does not depend on it.",
        min=0,
    ),
]
Dropped = Annotated[str | None, typer.Option(help="Write the duplicates here, annotated as by scan.")]
Keep = Annotated[
    str,
    typer.Option(
        help="Which copy of near-duplicates is kept: first (the first seen; streaming), longest (most characters "
        "of text) or field:NAME[:max|min] (the largest, or smallest, value of a number or ISO 8601 date field; "
        "a record without it ranks last; ties go to the first seen). Any but first reads the input twice, "
        "and copies stdin or a pipe to a temporary file to do so.",
    ),
]
Documents = Annotated[
    list[str] | None,
    typer.Argument(
        help="A and B: two files holding the raw text ('-' is stdin, for one of them), or with --input two record ids.",
        show_default=False,
        metavar="A B",
    ),
]
ExplainInput = Annotated[
    str | None,
    typer.Option("--input", help="JSONL file to look A and B up in by id ('-' is stdin).", show_default=False),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object (keys below) instead of text.")]
InRun = Annotated[
    bool,
    typer.Option(
        "--in-run",
        help="With --input FILE: also scan the whole file with these options (and --keep) and say what the run "
        "decided for A and B: kept, or dropped as the duplicate of which kept record. That depends on every "
        "other record too (chains, a copy the policy prefers); it costs a scan of the file.",
    ),
]

_RUN = ("scan", "filter")
_ALL = ("scan", "filter", "explain")


@dataclass(frozen=True)
class Option:
    """One parameter of some commands: its type with the typer declaration (flags, help text), its default, and
    the commands that take it."""

    declaration: Any
    default: Any
    commands: tuple[str, ...]


# Every parameter of scan, filter and explain, declared once, in the order --help lists them (the keys are the
# parameter names, and so the option names: text_field is --text-field).
OPTIONS: dict[str, Option] = {
    "inputs": Option(Inputs, None, _RUN),
    "documents": Option(Documents, None, ("explain",)),
    "input_path": Option(ExplainInput, None, ("explain",)),
    "text_field": Option(TextField, DEFAULT_TEXT_FIELD, _ALL),
    "id_field": Option(IdField, DEFAULT_ID_FIELD, _ALL),
    "threshold": Option(Threshold, LSHConfig.threshold, _ALL),
    "num_perm": Option(NumPerm, MinHashConfig.num_perm, _ALL),
    "ngram": Option(Ngram, ShingleConfig.ngram, _ALL),
    "unit": Option(Unit, ShingleConfig.unit, _ALL),
    "seed": Option(Seed, MinHashConfig.seed, _ALL),
    "bands": Option(Bands, LSHConfig.bands, _ALL),
    "rows": Option(Rows, LSHConfig.rows, _ALL),
    "fn_weight": Option(FnWeight, LSHConfig.fn_weight, _ALL),
    "bucket_cap": Option(BucketCap, DEFAULT_BUCKET_CAP, _RUN),
    "verify": Option(Verify, VerifyConfig.mode, _ALL),
    "workers": Option(Workers, DEFAULT_WORKERS, _RUN),
    "batch_size": Option(BatchSize, BATCH_RECORDS, _RUN),
    "output": Option(Output, None, _RUN),
    "output_format": Option(OutputFormat, DEFAULT_OUTPUT_FORMAT, _RUN),
    "engine": Option(Engine, DEFAULT_ENGINE, _RUN),
    "ray_address": Option(RayAddress, None, _RUN),
    "split_bytes": Option(SplitBytes, DEFAULT_SPLIT_BYTES, _RUN),
    "report": Option(Report, None, _RUN),
    "rejects": Option(Rejects, None, _RUN),
    "dropped": Option(Dropped, None, ("filter",)),
    "keep": Option(Keep, DEFAULT_KEEP, _ALL),
    "in_run": Option(InRun, False, ("explain",)),
    "passages": Option(Passages, False, _ALL),
    "passage_unit": Option(PassageUnit, PassageConfig.unit, _ALL),
    "passage_min_words": Option(PassageMinWords, PassageConfig.min_words, _ALL),
    "passage_threshold": Option(PassageThreshold, PassageConfig.threshold, _ALL),
    "passage_window": Option(PassageWindow, PassageConfig.window, _ALL),
    "boilerplate_docs": Option(BoilerplateDocs, PassageConfig.boilerplate_docs, _ALL),
    "passage_max_candidates": Option(PassageMaxCandidates, PassageConfig.max_candidates, _ALL),
    "passage_numbers": Option(PassageNumbers, PassageConfig.numbers, _ALL),
    "passage_names": Option(PassageNames, PassageConfig.names, _ALL),
    "index": Option(Index, None, _RUN),
    "checkpoint_every": Option(CheckpointEvery, DEFAULT_CHECKPOINT_EVERY, _RUN),
    "resume": Option(Resume, False, _RUN),
    "max_chars": Option(MaxChars, DEFAULT_MAX_CHARS, _ALL),
    "as_json": Option(AsJson, False, ("explain",)),
}


def parameters(command: str) -> list[inspect.Parameter]:
    """The parameters of ``command`` (scan, filter or explain), in --help order, for a command's signature.

    Example:
        >>> [p.name for p in parameters("explain")][:4], parameters("filter")[-1].default
        (['documents', 'input_path', 'text_field', 'id_field'], 1000000)
    """
    return [
        inspect.Parameter(
            name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=option.default, annotation=option.declaration
        )
        for name, option in OPTIONS.items()
        if command in option.commands
    ]


def dedupe_config(values: Mapping[str, Any]) -> DedupeConfig:
    """The configuration the option values of scan, filter or explain describe (by parameter name).

    The passage configuration is built (so checked) even when --passages is off: a bad passage option is an error
    either way. An option the command does not take (explain has no --bucket-cap) has its default.
    """
    passages = PassageConfig(
        unit=cast("PassageUnitValue", values["passage_unit"]),  # checked by PassageConfig itself
        min_words=values["passage_min_words"],
        threshold=values["passage_threshold"],
        window=values["passage_window"],
        boilerplate_docs=values["boilerplate_docs"],
        max_candidates=values["passage_max_candidates"],
        numbers=values["passage_numbers"],
        names=values["passage_names"],
    )
    return DedupeConfig(
        passages=passages if values["passages"] else None,
        shingle=ShingleConfig(unit=values["unit"], ngram=values["ngram"]),
        minhash=MinHashConfig(num_perm=values["num_perm"], seed=values["seed"]),
        lsh=LSHConfig(
            threshold=values["threshold"],
            fn_weight=values["fn_weight"],
            bands=values["bands"],
            rows=values["rows"],
            bucket_cap=values.get("bucket_cap", DEFAULT_BUCKET_CAP),
        ),
        verify=VerifyConfig(mode=values["verify"]),
    )
