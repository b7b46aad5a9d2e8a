"""End-to-end speed of `dedupe scan` against a datasketch reference pipeline and a rensa variant.

    .venv/bin/python benchmarks/speed.py [--runs 5] [--corpus reuters|bbc|both|copies] [--agreement] [--passages]

Every contender is a fresh subprocess that reads gzip JSONL and writes annotated JSONL to
/dev/null, with the default options (word 5-grams, 128 permutations, threshold 0.8):

  a. dedupe-w1   `python -m dedupe scan FILE --workers 1 --report R`
  b. dedupe-w2   `python -m dedupe scan FILE --workers 2 --report R`
  c. reference   `python benchmarks/speed.py --run reference FILE`: the textbook datasketch pipeline.
                 Lines parsed with orjson; text normalized with `dedupe.features.normalize` (the same
                 normalization as dedupe); shingles are the STRINGS of word 5-grams of
                 normalized.split(" ") (a text of fewer than 5 words is one shingle of all
                 its words; an empty normalized text has no shingles); encoded to UTF-8 bytes;
                 `MinHash.bulk(batch, num_perm=128, seed=1, hashfunc=xxhash.xxh32_intdigest)`
                 per batch of 1,000 documents; one `MinHashLSH(num_perm=128, params=(b, r))`
                 with (b, r) = `dedupe.DedupeConfig().bands_rows` (16 x 8), queried and then
                 inserted for each document in stream order; a candidate is accepted when
                 `m.jaccard(other) >= 0.8` (the MinHash estimate: there is no exact
                 verification); union-find whose root is the smallest position; each record
                 is written as `orjson.dumps({**obj, "dedupe": {cluster, duplicate_of,
                 similarity}})`. Documents with no shingles are neither queried nor indexed.
  d. rensa       `--run rensa FILE`: the same, except that the signature is
                 `rensa.RMinHash(num_perm=128, seed=1).update(list_of_shingle_strings)` per
                 document and the candidate check is rensa's `RMinHash.jaccard`. The LSH is
                 still datasketch's MinHashLSH, fed a tiny object with `.hashvalues` (the
                 uint32 digest) and `__len__` but no `scheme` attribute: rensa's hash is not
                 datasketch's affine32, so it is not labelled as such (MinHashLSH skips the
                 scheme check for objects without one). Skipped with a note when rensa is
                 not importable (`pip install -e '.[bench]'`).
  e. rensa-bulk  `--run rensa-bulk FILE`: rensa 0.5's own bulk API, its fastest pipeline: per batch of
                 1,000 documents, `RMinHash.digest_matrix_from_token_sets(shingle_string_lists,
                 num_perm=128, seed=1)` then `RMinHashLSH(threshold=0.8, num_perm=128, num_bands=16)
                 .insert_matrix_and_query_duplicate_flags(matrix, start_key=...)`: a record is flagged
                 when it shares a band with any other record so far (no verification, no cluster, no
                 duplicate_of); each record is written as `orjson.dumps({**obj, "dedupe": {"duplicate":
                 flag}})`. Its "duplicates" count is the flagged records, which includes the first copy
                 of each group, so it is not comparable with the others'.

`--passages` adds `dedupe-passages-w1` and `dedupe-passages-w2` (`dedupe scan --passages FILE --workers N
--report R`): repeated passages as well as near-duplicate documents, against the reference's documents only (the
measure of "passages for about the price of the reference's document dedup").

`--corpus copies` runs them on Reuters four times in a row (ids of copy k > 0 suffixed "~k"), where
every record after the first 21,578 has three exact copies: the case of a crawl with many copies,
where every such record has candidates to verify.

Runs are interleaved: round i runs every contender once, and the order rotates by one
contender per round. Throughput is input records (and UTF-8 megabytes, 10^6 bytes, of the
text fields) per wall-clock second of the whole process, start-up included. Reported: the
median over the runs with min-max; ratio = median docs/s of the contender / median docs/s
of the reference (above 1 is faster); peak RSS = the largest `ru_maxrss` over the runs,
from os.wait4 (with --workers 2, the largest process of the tree, not the sum); duplicates
= records with a non-null `duplicate_of` (dedupe: counts.duplicates of its report).

The contenders do not find exactly the same pairs: dedupe verifies candidates with the
exact Jaccard of 64-bit shingle hashes, the reference and rensa with a 128-value MinHash
estimate. `--agreement` runs each contender once more (untimed) with output to a temporary
file and compares the sets of duplicate records with dedupe-w1's (and checks that
--workers 2 writes byte-identical output).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import DATA, corpus_stats, dedupe_cmd, header_lines, open_jsonl, run_measured, spread  # noqa: E402

CORPORA = {"reuters": DATA / "reuters21578.jsonl.gz", "bbc": DATA / "bbc.jsonl.gz"}
COPIES_PATH = Path(tempfile.gettempdir()) / "dedupe-bench" / "reuters-x4.jsonl.gz"
COPIES = 4


def build_copies() -> Path:
    """Reuters-21578 four times in a row (copy k > 0 with ids "<id>~k"): every record has three exact copies,
    21,578 records apart. Written once to COPIES_PATH (gzip level 1) and reused."""
    if COPIES_PATH.exists():
        return COPIES_PATH
    COPIES_PATH.parent.mkdir(parents=True, exist_ok=True)
    partial = COPIES_PATH.with_suffix(".partial")
    with open_jsonl(CORPORA["reuters"]) as fh:
        objs = [orjson.loads(line) for line in fh if line.strip()]
    with gzip.open(partial, "wb", compresslevel=1) as out:
        for k in range(COPIES):
            for obj in objs:
                out.write(orjson.dumps({**obj, "id": f"{obj['id']}~{k}" if k else obj["id"]}) + b"\n")
    partial.rename(COPIES_PATH)
    return COPIES_PATH
BATCH = 1000


# --------------------------------------------------------------------------------------------
# The reference pipelines (run in a subprocess: --run reference|rensa FILE)
# --------------------------------------------------------------------------------------------

class _Signature:
    """What MinHashLSH needs from a sketch: hashvalues (numpy uint32) and a length; no scheme."""

    __slots__ = ("hashvalues",)

    def __init__(self, hashvalues) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


def run_rensa_bulk(path: Path, report: Path | None) -> None:
    from rensa import RMinHash, RMinHashLSH

    from dedupe import DedupeConfig
    from reference import word_shingles

    config = DedupeConfig()
    num_perm, seed, ngram = config.minhash.num_perm, config.minhash.seed, config.shingle.ngram
    bands, rows = config.bands_rows
    lsh = RMinHashLSH(threshold=config.lsh.threshold, num_perm=num_perm, num_bands=bands)
    out = sys.stdout.buffer
    docs = flagged = text_bytes = 0

    def process(objs: list[dict]) -> None:
        nonlocal docs, flagged, text_bytes
        shingle_sets = [word_shingles(obj["text"], ngram) for obj in objs]
        matrix = RMinHash.digest_matrix_from_token_sets(shingle_sets, num_perm=num_perm, seed=seed)
        flags = lsh.insert_matrix_and_query_duplicate_flags(matrix, start_key=docs)
        lines = []
        for obj, flag in zip(objs, flags):
            text_bytes += len(obj["text"].encode("utf-8"))
            flagged += bool(flag)
            lines.append(orjson.dumps({**obj, "dedupe": {"duplicate": bool(flag)}}))
        docs += len(objs)
        out.write(b"\n".join(lines) + b"\n")

    batch: list[dict] = []
    with open_jsonl(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            batch.append(orjson.loads(line))
            if len(batch) == BATCH:
                process(batch)
                batch = []
        if batch:
            process(batch)
    out.flush()
    if report is not None:
        report.write_bytes(orjson.dumps({"counts": {"input": docs, "duplicates": flagged},
                                         "timings": {"text_megabytes": round(text_bytes / 1e6, 3)},
                                         "parameters": {"bands": bands, "rows": rows, "num_perm": num_perm,
                                                        "seed": seed}}))


def run_pipeline(kind: str, path: Path, report: Path | None) -> None:
    import numpy as np
    import xxhash
    from datasketch import MinHash, MinHashLSH

    from dedupe import DedupeConfig, normalize

    config = DedupeConfig()
    num_perm, seed, ngram = config.minhash.num_perm, config.minhash.seed, config.shingle.ngram
    threshold = config.lsh.threshold
    bands, rows = config.bands_rows
    if kind == "rensa":
        from rensa import RMinHash

    from reference import StreamingReference, word_shingles

    stream = StreamingReference(MinHashLSH(num_perm=num_perm, params=(bands, rows)), threshold)
    ids: list[str] = []

    out = sys.stdout.buffer
    docs = duplicates = text_bytes = 0
    line_number = 0

    def process(objs: list[dict], numbers: list[int]) -> None:
        nonlocal docs, duplicates, text_bytes
        shingle_sets = [word_shingles(obj["text"], ngram) for obj in objs]
        if kind == "reference":
            sketches = MinHash.bulk([[s.encode("utf-8") for s in sh] for sh in shingle_sets],
                                    num_perm=num_perm, seed=seed, hashfunc=xxhash.xxh32_intdigest)
        else:
            sketches = []
            for sh in shingle_sets:
                m = RMinHash(num_perm=num_perm, seed=seed)
                m.update(sh)
                sketches.append(m)
        lines = []
        for obj, number, sh, m in zip(objs, numbers, shingle_sets, sketches):
            pos = len(ids)
            ids.append(str(number if obj.get("id") is None else obj["id"]))
            text_bytes += len(obj["text"].encode("utf-8"))
            if sh:
                key = m if kind == "reference" else _Signature(np.array(m.digest(), dtype=np.uint32))
                found, best = stream.add(m, key)
            else:
                found, best = stream.add(None)
            dup = found if found >= 0 else None
            if dup is not None:
                duplicates += 1
            annotation = {"cluster": ids[stream.find(pos)], "duplicate_of": None if dup is None else ids[dup],
                          "similarity": None if dup is None else round(best, 6)}
            lines.append(orjson.dumps({**obj, "dedupe": annotation}))
        docs += len(objs)
        out.write(b"\n".join(lines) + b"\n")

    batch: list[dict] = []
    numbers: list[int] = []
    with open_jsonl(path) as fh:
        for line in fh:
            line_number += 1
            if not line.strip():
                continue
            batch.append(orjson.loads(line))
            numbers.append(line_number)
            if len(batch) == BATCH:
                process(batch, numbers)
                batch, numbers = [], []
        if batch:
            process(batch, numbers)
    out.flush()
    if report is not None:
        report.write_bytes(orjson.dumps({"counts": {"input": docs, "duplicates": duplicates,
                                                    "lsh_candidates": stream.candidates},
                                         "timings": {"text_megabytes": round(text_bytes / 1e6, 3)},
                                         "parameters": {"bands": bands, "rows": rows, "num_perm": num_perm,
                                                        "seed": seed, "threshold": threshold}}))


# --------------------------------------------------------------------------------------------
# The benchmark driver
# --------------------------------------------------------------------------------------------

def contenders(rensa_ok: bool, passages: bool = False) -> dict[str, Callable[[Path, Path], list[str]]]:
    me = str(Path(__file__).resolve())
    table = {
        "dedupe-w1": lambda f, r: dedupe_cmd(f, 1, r),
        "dedupe-w2": lambda f, r: dedupe_cmd(f, 2, r),
        "reference": lambda f, r: [sys.executable, me, "--run", "reference", str(f), "--report", str(r)],
    }
    if passages:
        table["dedupe-passages-w1"] = lambda f, r: [*dedupe_cmd(f, 1, r), "--passages"]
        table["dedupe-passages-w2"] = lambda f, r: [*dedupe_cmd(f, 2, r), "--passages"]
    if rensa_ok:
        table["rensa"] = lambda f, r: [sys.executable, me, "--run", "rensa", str(f), "--report", str(r)]
        table["rensa-bulk"] = lambda f, r: [sys.executable, me, "--run", "rensa-bulk", str(f), "--report", str(r)]
    return table


def duplicate_ids(path: Path) -> tuple[set[str], str]:
    dups = set()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for line in fh:
            digest.update(line)
            obj = orjson.loads(line)
            note = obj["dedupe"]
            if note.get("duplicate_of", note.get("duplicate")):  # rensa-bulk: a flag, no duplicate_of
                dups.add(str(obj["id"]))
    return dups, digest.hexdigest()


def bench_corpus(name: str, path: Path, runs: int, table: dict, agreement: bool) -> list[str]:
    docs, nbytes = corpus_stats(path)
    mb = nbytes / 1e6
    seconds: dict[str, list[float]] = {c: [] for c in table}
    rss: dict[str, list[float]] = {c: [] for c in table}
    reports: dict[str, dict] = {}
    names = list(table)
    with tempfile.TemporaryDirectory(prefix="dedupe-speed-") as tmp:
        report = Path(tmp) / "report.json"
        for i in range(runs):
            for c in names[i % len(names):] + names[:i % len(names)]:
                m = run_measured(table[c](path, report))
                seconds[c].append(m.seconds)
                rss[c].append(m.peak_rss_mb)
                reports[c] = orjson.loads(report.read_bytes())
                print(f"  [{name} run {i + 1}/{runs}] {c}: {m.seconds:.2f} s, {m.peak_rss_mb:.0f} MB, "
                      f"{reports[c]['counts']['duplicates']} duplicates", file=sys.stderr, flush=True)
        agree_lines: list[str] = []
        if agreement:
            outputs = {}
            for c in names:
                out = Path(tmp) / f"{c}.jsonl"
                run_measured(table[c](path, report), stdout=str(out))
                outputs[c] = duplicate_ids(out)
                out.unlink()
            base, base_sha = outputs["dedupe-w1"]
            agree_lines.append(f"Agreement with dedupe-w1 on {name} (duplicate records, by id):")
            for c in names[1:]:
                dups, sha = outputs[c]
                note = " (byte-identical output)" if sha == base_sha else ""
                agree_lines.append(f"- {c}: {len(dups & base):,} in both, {len(dups - base):,} only in {c}, "
                                   f"{len(base - dups):,} only in dedupe-w1{note}")
    ref = statistics.median(docs / s for s in seconds["reference"])
    rows = [f"### {name}: {path.name}, {docs:,} docs, {mb:.1f} MB of text, {runs} run(s) per contender", "",
            "| contender | seconds median (min-max) | docs/s median (min-max) | MB/s median (min-max) "
            "| ratio to reference (docs/s) | peak RSS MB | duplicates found |",
            "|---|---|---|---|---|---|---|"]
    for c in names:
        rep = reports[c]
        if rep["counts"]["input"] != docs:
            raise SystemExit(f"{c} read {rep['counts']['input']} records, expected {docs}")
        rate = [docs / s for s in seconds[c]]
        mbs = [mb / s for s in seconds[c]]
        rows.append(f"| {c} | {spread(seconds[c], '.2f')} | {spread(rate)} | {spread(mbs, '.2f')} | "
                    f"{statistics.median(rate) / ref:.2f} | {max(rss[c]):,.0f} | {rep['counts']['duplicates']:,} |")
    return rows + [""] + (agree_lines + [""] if agree_lines else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per contender and corpus (default 5)")
    parser.add_argument("--corpus", choices=["reuters", "bbc", "both", "copies"], default="both",
                        help="both: reuters then bbc; copies: Reuters four times in a row (every record with three "
                             f"exact copies; built once in {COPIES_PATH.parent})")
    parser.add_argument("--agreement", action="store_true",
                        help="also compare the duplicates each contender finds (one extra untimed run each)")
    parser.add_argument("--passages", action="store_true",
                        help="also time dedupe scan --passages (-w 1 and -w 2) in the same rounds")
    parser.add_argument("--run", choices=["reference", "rensa", "rensa-bulk"], help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        if args.file is None:
            parser.error("--run needs a FILE")
        if args.run == "rensa-bulk":
            run_rensa_bulk(args.file, args.report)
        else:
            run_pipeline(args.run, args.file, args.report)
        return
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    rensa_ok = importlib.util.find_spec("rensa") is not None
    table = contenders(rensa_ok, args.passages)
    corpora = ["reuters", "bbc"] if args.corpus == "both" else [args.corpus]
    lines = ["## End-to-end speed: dedupe scan vs a datasketch reference pipeline", ""]
    lines += header_lines(["datasketch", "numpy", "orjson", "xxhash", "rensa"])
    lines += ["- options: word 5-grams, 128 permutations, threshold 0.8, bands x rows from "
              "DedupeConfig().bands_rows; gzip JSONL in, annotated JSONL out to /dev/null", ""]
    if not rensa_ok:
        lines += ["Note: rensa is not importable, so the rensa contender is skipped "
                  "(`pip install -e '.[bench]'`).", ""]
    for name in corpora:
        path = build_copies() if name == "copies" else CORPORA[name]
        lines += bench_corpus(name, path, args.runs, table, args.agreement)
    print("\n".join(lines).rstrip())


if __name__ == "__main__":
    main()
