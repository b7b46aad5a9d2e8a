"""The examples and notes shown at the end of each command's --help (and in docs/cli.md)."""

# The exit codes of scan and filter (docs/output.md lists them in full, under "Exit codes"); report and explain
# give some of them, with their own words for some: see :func:`exit_codes`.
EXIT_CODES = {
    "0": "ok",
    "1": "internal error",
    "2": "bad option",
    "3": "bad input",
    "4": "cannot write output",
    "5": "index unusable (damaged, other parameters, unreachable, cannot be saved)",
    "130/143": "interrupted by SIGINT/SIGTERM (after a checkpoint)",
    "141": "stdout closed by its reader",
}


def exit_codes(codes: tuple[str, ...] = tuple(EXIT_CODES), meanings: dict[str, str] | None = None) -> str:
    """The "Exit codes: ..." sentence ending an epilog: ``codes`` of :data:`EXIT_CODES` (all of them by default),
    each with its meaning there unless ``meanings`` gives the command's own.

    Click wraps an epilog's paragraphs, so the sentence is one line here and several in the --help.

    Example:
        >>> exit_codes(("0", "4"), {"4": "cannot write the page"})
        'Exit codes: 0 ok, 4 cannot write the page.'
    """
    own = meanings or {}
    listed = ", ".join(f"{code} {own.get(code, EXIT_CODES[code])}" for code in codes)
    return f"Exit codes: {listed}."


EPILOG_SCAN = (
    """\
Examples:

  cat corpus.jsonl | dedupe scan > annotated.jsonl

  dedupe scan a.jsonl b.jsonl.gz --report report.json

  dedupe scan --unit char --ngram 5 --threshold 0.7 corpus.jsonl --rejects bad.jsonl

  dedupe scan --passages seeds/seeds.jsonl --report report.json

  dedupe scan corpus.jsonl.gz --report run.json --report run.html > annotated.jsonl   (a page to read)

  dedupe scan today.jsonl.gz --index ~/dedupe-index > annotated.jsonl   (against every earlier run)

  dedupe scan big.jsonl --index idx --resume >> annotated.jsonl   (continue an interrupted run)

  dedupe scan shards/*.jsonl.gz --output out/   (out/00000-NAME.jsonl, ...: one file per input)

  dedupe scan data/*.parquet --output out/ --format parquet

  DEDUPE_REDIS_PASSWORD=... dedupe scan shard.jsonl --index 'redis://host:6379/0?prefix=crawl'

  dedupe scan --engine ray shards/*.jsonl.gz --output out/ --report report.json   (a Ray job, same answer)

  dedupe scan --keep longest corpus.jsonl > annotated.jsonl   (the longest copy is the one kept)

Each output line is the input record unchanged plus
"dedupe": {"cluster": ..., "duplicate_of": ..., "similarity": ...}; with --passages
also "passages": [{"start", "end", "kind", "similarity", "match": {"id", "start", "end"},
"unit"}, ...] on records that are not duplicates: code point spans of the text that
repeat an earlier passage (kind exact, near or boilerplate; unit "quote" for words
quoted inside otherwise different sentences).
"""
    + exit_codes()
    + "\n"
)

EPILOG_FILTER = (
    """\
Examples:

  cat corpus.jsonl | dedupe filter > unique.jsonl

  dedupe filter corpus.jsonl.gz --dropped dups.jsonl --report report.json

  dedupe filter --passages --boilerplate-docs 5 crawl.jsonl.gz > clean.jsonl

  dedupe filter crawl-day2.jsonl.gz --index ~/dedupe-index > new-only.jsonl

  RAY_ADDRESS=ray://head:10001 dedupe filter --engine ray 'data/*.parquet' --output clean/

  dedupe filter data/*.parquet --output clean/ --format parquet   (one file per input)

  dedupe filter --keep field:score crawl.jsonl > best.jsonl   (the copy with the highest score)

  zcat news.jsonl.gz | dedupe filter --keep field:published:min > first-published.jsonl

With --passages, kept records also lose every repeated sentence/paragraph and
boilerplate passage from their text (the first occurrence stays; quotes inside
sentences stay); other fields are unchanged.

Writes only the records kept, unchanged: a record is dropped only as the duplicate of a
record that is written (or was written by an earlier run, with --index), at or above
the threshold, so a chain A ~ B ~ C never drops C when C is far from A.
"""
    + exit_codes()
    + "\n"
)

EPILOG_APP = """\
Examples:

  cat corpus.jsonl | dedupe scan > annotated.jsonl

  cat corpus.jsonl | dedupe filter > unique.jsonl

  dedupe scan a.jsonl b.jsonl.gz --report report.json --report report.html

  dedupe report annotated.jsonl --run-report report.json -o report.html

  dedupe explain a.txt b.txt

Run 'dedupe COMMAND --help' for the options of scan, filter, report and explain.
"""


EPILOG_REPORT = (
    """\
Examples:

  dedupe scan corpus.jsonl --report run.json > annotated.jsonl

  dedupe report annotated.jsonl --run-report run.json -o report.html

  dedupe report annotated.jsonl.gz   (writes report.html)

The page is one self-contained HTML file (inline styles, script and SVG plots; it makes no
network request): counts, parameters, the similarity of matched pairs against the LSH
S-curve, cluster sizes, the largest clusters with each member beside its representative
(differing words highlighted) and, for a scan with --passages, the repeated passages.
Needs the report extra: pip install 'dedupe[report]'.
"""
    + exit_codes(("0", "2", "3", "4"), {"4": "cannot write the page"})
    + "\n"
)


EPILOG_EXPLAIN = (
    """\
Examples:

  dedupe explain a.txt b.txt

  cat edited.txt | dedupe explain original.txt -

  dedupe explain --input annotated.jsonl 000_d3a659f08dc455c3 002_07df8ba35f6e2ac3 --passages

  dedupe explain --json --unit char --threshold 0.7 a.txt b.txt

  dedupe explain --input crawl.jsonl page-1 page-2 --keep field:fetched:min

  dedupe explain --input corpus.jsonl a17 a42 --keep longest --in-run   (what the whole scan decided)

A and B are files holding the raw text (UTF-8; '-' is stdin, for one of them), or with
--input FILE two ids of records of a JSONL file (plain, gzip or zstd), read as scan reads
it: --text-field/--id-field apply, the first bad line stops it; an id present more than
once means its first record (a note on stderr says so). B is decided against A, as in a
scan where A comes first, by the same code and options as scan.
--json prints one object: documents [{label, id, source, characters, characters_used,
shingles}], shingles {unit, ngram, shared, only_a, only_b, shared_examples,
only_a_examples, only_b_examples: [{text, hash}]}, jaccard, minhash_estimate,
standard_error, num_perm, bands, rows, colliding_bands, candidate_probability,
candidate, verify, similarity (what verification compares), threshold, duplicate,
reason, passages (null without --passages, else [{kind, unit, similarity, start, end,
text, match: {document, id, start, end, text}}]), keep {policy, values: {A, B},
preferred, why, dropped, reason} (which of the two --keep prefers: under first, A),
in_run (null without --in-run, else {source, A, B: {id, kept, duplicate_of, similarity,
cluster}}).
"""
    + exit_codes(
        ("0", "1", "2", "3"),
        {
            "0": "whatever the verdict",
            "2": "bad option or not two documents",
            "3": "bad input (missing file, unknown id, bad line, a --keep field value that is no number or date)",
        },
    )
    + "\n"
)
