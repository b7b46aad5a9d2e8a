"""The command-line options of scan, filter, report and explain: their names and help texts.

Their defaults are given where the commands are declared (:mod:`dedupe.cli.app`), from :mod:`dedupe.config`.
"""

from __future__ import annotations

from typing import Annotated

import typer

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
    int, typer.Option("--workers", "-w", help="Processes computing signatures; output does not depend on it.")
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
        "matching needs this many words that are not numbers."
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
