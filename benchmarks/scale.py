"""Scale curve of `dedupe scan`: docs/s and peak RSS at 10k, 100k and 1M documents.

    .venv/bin/python benchmarks/scale.py [--sizes 10000 100000 1000000] [--runs 3] [--runs-large 1]
                                          [--workers 1 2]

Inputs
------
The real corpora hold 23,803 documents (Reuters-21578, 21,578, then BBC, 2,225), so larger
inputs are built by tiling them. Tile k holds every base document once, in the same order,
with id "<original id>~k":

- tile 0 is the original text, unchanged;
- tile k > 0 keeps the punctuation, whitespace and case pattern of the original but renames
  every word. The text is taken in NFKC form, and each maximal run of word characters
  (as dedupe's normalization defines them: alphanumeric, "_", combining marks) is
  replaced by T_k(casefold(run)), written in lower case, Capitalized or UPPER CASE as
  the run was. T_k is a bijection of the base vocabulary (every distinct normalized word
  of both corpora, in sorted order): T_k(w) is len(w) lowercase ASCII letters drawn from
  xxh3_64 of "k, attempt, i, w" (seed SEED below). When the token is already taken in
  tile k, the next attempt is tried, and after 4 collisions at one length the length
  grows by one (there are only 26 one-letter tokens, so a few short words get longer
  tokens). A document for which this would not normalize to exactly the renamed word
  sequence (checked with `dedupe.features.normalize` on tile 1) gets the renamed words joined by
  single spaces instead; the manifest counts them.

  So dedupe sees in tile k exactly the normalized word sequences of tile 0 under a
  renaming: every pair of documents inside a tile has the same shingle-set Jaccard
  similarity as in tile 0, while documents of different tiles share (practically) no
  5-gram. Text length stays that of the original (word lengths are kept; the text is in
  NFKC form). What differs from the real text: words are random letter strings, so
  they are all ASCII, and gzip compresses them less well.

An input of N documents is the first N documents of tiles 0, 1, 2, ... in order (10,000 docs
is a prefix of tile 0, that is, of Reuters). The files are written to /tmp/dedupe-scale/
(gzip level 1) with a manifest (manifest-v1.json) that records the recipe, the seed, the
SHA-256 of the base corpora, per tile the number of words whose token had to grow and a
fingerprint of T_k, and per file its document count and text bytes. They are reused while
the manifest matches and regenerated when missing. Nothing is written inside the project.

Expected duplicates: a decision of dedupe depends only on the records before it, so the
duplicates inside a prefix of tile 0 are those of the full run on tile 0. At generation
time dedupe scans tile 0 once and the positions of its duplicates are kept in the
manifest. An input of N = q * 23,803 + r documents should then have about q * D + (duplicates
among tile 0's first r positions) duplicates. It is "about" because LSH finds a pair with a
probability (0.947 at J = 0.8 for 16 x 8), and tile k's shingle hashes, hence its
signatures, differ from tile 0's: a few pairs near the threshold are found in one tile and
missed in another.

Measurements
------------
Each run is a fresh `python -m dedupe scan FILE --workers W --report R` with output to
/dev/null. Runs are interleaved across worker counts. Seconds are wall time of the whole
process; docs/s and MB/s (10^6 UTF-8 bytes of text) use the median seconds. Peak RSS is
ru_maxrss from os.wait4, median over the runs (with --workers 2 the largest process of the
tree, which is the main process holding the index). RSS per document = (peak RSS at N -
peak RSS of a run on the first 1,000 documents) / (N - 1,000): an estimate of the memory
each further document costs, mostly the index.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from array import array
from pathlib import Path

import orjson
import xxhash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import DATA, dedupe_cmd, header_lines, open_jsonl, run_measured, spread  # noqa: E402

CACHE = Path("/tmp/dedupe-scale")
RECIPE = "v1"
SEED = 20261123
BASE = [DATA / "reuters21578.jsonl.gz", DATA / "bbc.jsonl.gz"]
BASELINE = 1000
ALPHABET = "abcdefghijklmnopqrstuvwxyz"
MANIFEST = CACHE / f"manifest-{RECIPE}.json"


def corpus_path(n: int) -> Path:
    return CACHE / f"tiled-{RECIPE}-{n}.jsonl.gz"


# --------------------------------------------------------------------------------------------
# Building the tiled corpora
# --------------------------------------------------------------------------------------------

def _token(k: int, word: str, attempt: int, length: int) -> str:
    chars: list[str] = []
    i = 0
    while len(chars) < length:
        h = xxhash.xxh3_64_intdigest(f"{k}\x1f{attempt}\x1f{i}\x1f{word}".encode(), seed=SEED)
        for _ in range(13):  # 26^13 < 2^64
            h, c = divmod(h, 26)
            chars.append(ALPHABET[c])
        i += 1
    return "".join(chars[:length])


def tile_tokens(k: int, vocab: list[str]) -> tuple[list[str], int]:
    """T_k as a list aligned with vocab, and how many tokens had to be longer than their word."""
    used: set[str] = set()
    tokens: list[str] = []
    grown = 0
    for word in vocab:
        length, attempt = len(word), 0
        token = _token(k, word, attempt, length)
        while token in used:
            attempt += 1
            if attempt % 4 == 0:
                length += 1
            token = _token(k, word, attempt, length)
        grown += length > len(word)
        used.add(token)
        tokens.append(token)
    return tokens, grown


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _load_manifest() -> dict:
    try:
        return orjson.loads(MANIFEST.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}


def _write_manifest(manifest: dict) -> None:
    tmp = MANIFEST.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    os.replace(tmp, MANIFEST)


class _WordOrSpace(dict):  # type: ignore[type-arg]
    """str.translate table as in dedupe's normalization: word characters (alphanumeric, "_", combining
    marks) and whitespace stay, everything else becomes a space."""

    def __missing__(self, point: int) -> str:
        char = chr(point)
        keep = char.isalnum() or char == "_" or unicodedata.category(char)[0] == "M" or char.isspace()
        self[point] = value = char if keep else " "
        return value


def _case(run: str) -> int:
    """0: lower case, 1: capitalized, 2: upper case (of a word run of the original text)."""
    if run[:1].isupper():
        return 2 if len(run) > 1 and run.isupper() else 1
    return 0


def build_corpora(sizes: list[int]) -> None:
    """Write the files for ``sizes`` (all of them) and update the manifest. Runs in a subprocess of
    main() so that the benchmark process stays small (a child inherits its parent's peak RSS as
    the floor of its own ru_maxrss)."""
    from dedupe import normalize

    start = time.perf_counter()
    base_info = [{"path": str(p), "sha256": _sha256(p)} for p in BASE]
    manifest = _load_manifest()
    if manifest.get("recipe") != RECIPE or manifest.get("seed") != SEED or manifest.get("base") != base_info:
        manifest = {"recipe": RECIPE, "seed": SEED, "base": base_info, "tiles": {}, "files": {}}
    print(f"building tiled corpora {sizes} in {CACHE} ...", file=sys.stderr, flush=True)
    ids: list[str] = []
    texts: list[str] = []
    for path in BASE:
        with open_jsonl(path) as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    obj = orjson.loads(line)
                    ids.append(str(number if obj.get("id") is None else obj["id"]))
                    texts.append(obj["text"])

    # Template of every base document: the separators (punctuation and whitespace of its NFKC
    # form) around its word runs, and per run the normalized word and its case pattern.
    table = _WordOrSpace()
    words_of: list[list[str]] = []
    cases_of: list[list[int]] = []
    seps_of: list[list[str] | None] = []
    for text in texts:
        nfkc = unicodedata.normalize("NFKC", text)
        spans = [m.span() for m in re.finditer(r"\S+", nfkc.translate(table))]
        words = [nfkc[a:b].casefold() for a, b in spans]
        seps = [nfkc[b0:a1] for (_, b0), (a1, _) in zip([(0, 0), *spans], [*spans, (len(nfkc), 0)])]
        if words != normalize(text).split():  # casefold changed a word boundary: use the plain word sequence
            words, seps = normalize(text).split(), None
        words_of.append(words)
        cases_of.append([_case(nfkc[a:b]) for a, b in spans] if seps is not None else [])
        seps_of.append(seps)
    vocab = sorted({w for words in words_of for w in words})
    index = {w: i for i, w in enumerate(vocab)}
    # Per document: the flat token index 3 * word + case of every word.
    docs = [array("I", [3 * index[w] + (c[i] if c else 0) for i, w in enumerate(ws)])
            for ws, c in zip(words_of, cases_of)]
    del words_of, cases_of, index
    per_tile = len(ids)

    def tile_text(flat: list[str], j: int) -> str:
        seps = seps_of[j]
        if seps is None:
            return " ".join(map(flat.__getitem__, docs[j]))
        parts = [""] * (2 * len(seps) - 1)
        parts[0::2] = seps
        parts[1::2] = map(flat.__getitem__, docs[j])
        return "".join(parts)

    def flat_tokens(k: int) -> tuple[list[str], int]:
        tokens, grown = tile_tokens(k, vocab)
        flat = [""] * (3 * len(tokens))
        flat[0::3] = tokens
        flat[1::3] = [t.capitalize() for t in tokens]
        flat[2::3] = [t.upper() for t in tokens]
        return flat, grown

    # Check with tile 1 that dedupe sees exactly the renamed word sequence; plain sequence otherwise.
    flat1, _ = flat_tokens(1)
    for j in range(per_tile):
        if seps_of[j] is not None:
            expected = [flat1[i - i % 3] for i in docs[j]]
            if normalize(tile_text(flat1, j)).split() != expected:
                seps_of[j] = None
    plain = sum(s is None for s in seps_of)
    manifest.update({"tile_docs": per_tile, "vocabulary": len(vocab), "docs_without_punctuation": plain})
    print(f"  templates: {per_tile:,} docs ({plain} as plain word sequences), {len(vocab):,} words, "
          f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)

    top = max(sizes)
    writers = {}
    for n in sizes:
        tmp = corpus_path(n).with_suffix(".tmp")
        writers[n] = (gzip.open(tmp, "wb", compresslevel=1), tmp)
    text_bytes = dict.fromkeys(sizes, 0)
    for k in range((top + per_tile - 1) // per_tile):
        if k == 0:
            tile_texts = texts
        else:
            flat, grown = flat_tokens(k)
            manifest["tiles"][str(k)] = {
                "grown_tokens": grown,
                "fingerprint": xxhash.xxh3_64_hexdigest("\n".join(flat[0::3]).encode(), seed=SEED),
            }
            if k == 1:
                manifest["example_tile_1"] = {vocab[i]: flat[3 * i] for i in range(0, len(vocab), len(vocab) // 8)}
            needed = min(per_tile, top - k * per_tile)
            tile_texts = [tile_text(flat, j) for j in range(needed)]
        first = k * per_tile
        for n, (fh, _) in writers.items():
            count = min(per_tile, n - first)
            if count <= 0:
                continue
            chunk = [orjson.dumps({"id": f"{ids[j]}~{k}", "text": tile_texts[j]}) for j in range(count)]
            fh.write(b"\n".join(chunk) + b"\n")
            text_bytes[n] += sum(len(tile_texts[j].encode("utf-8")) for j in range(count))
        print(f"  tile {k}: {min(top, first + per_tile):,}/{top:,} docs, {time.perf_counter() - start:.0f} s",
              file=sys.stderr, flush=True)
    for n, (fh, tmp) in writers.items():
        fh.close()
        os.replace(tmp, corpus_path(n))
        manifest["files"][str(n)] = {"path": str(corpus_path(n)), "docs": n, "text_bytes": text_bytes[n],
                                     "tiles": (n + per_tile - 1) // per_tile}
    _write_manifest(manifest)
    print(f"built in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def ensure_corpora(sizes: list[int]) -> dict:
    """Make sure /tmp/dedupe-scale holds a valid file for every size (building the missing ones in a
    subprocess); return the manifest."""
    CACHE.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest()
    valid = (manifest.get("recipe") == RECIPE and manifest.get("seed") == SEED
             and manifest.get("base") == [{"path": str(p), "sha256": _sha256(p)} for p in BASE])
    files = manifest.get("files", {}) if valid else {}
    missing = sorted(n for n in set(sizes) if str(n) not in files or not corpus_path(n).exists())
    if missing:
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--build", *map(str, missing)], check=True)
        manifest = _load_manifest()
    return manifest


def tile0_duplicates(manifest: dict) -> list[int]:
    """Positions (0-based) of the duplicates dedupe finds in tile 0; computed once and cached."""
    if "tile0_duplicate_positions" in manifest:
        return manifest["tile0_duplicate_positions"]
    per_tile = manifest["tile_docs"]
    manifest = ensure_corpora([per_tile])
    print("scanning tile 0 once for the expected duplicates ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="dedupe-scale-") as tmp:
        out = Path(tmp) / "tile0.jsonl"
        run_measured(dedupe_cmd(corpus_path(per_tile), 2, Path(tmp) / "report.json"), stdout=str(out))
        with open(out, "rb") as fh:
            positions = [i for i, line in enumerate(fh) if orjson.loads(line)["dedupe"]["duplicate_of"] is not None]
    manifest["tile0_duplicate_positions"] = positions
    _write_manifest(manifest)
    return positions


def expected_duplicates(n: int, per_tile: int, positions: list[int]) -> int:
    q, r = divmod(n, per_tile)
    return q * len(positions) + sum(p < r for p in positions)


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

def measure(n: int, runs: int, workers: list[int]) -> dict[int, dict]:
    result = {w: {"seconds": [], "rss": [], "report": None} for w in workers}
    with tempfile.TemporaryDirectory(prefix="dedupe-scale-") as tmp:
        report = Path(tmp) / "report.json"
        for i in range(runs):
            for w in workers[i % len(workers):] + workers[:i % len(workers)]:
                m = run_measured(dedupe_cmd(corpus_path(n), w, report))
                rep = orjson.loads(report.read_bytes())
                result[w]["seconds"].append(m.seconds)
                result[w]["rss"].append(m.peak_rss_mb)
                result[w]["report"] = rep
                print(f"  [{n:,} docs run {i + 1}/{runs}] workers {w}: {m.seconds:.1f} s, {m.peak_rss_mb:,.0f} MB, "
                      f"{rep['counts']['duplicates']:,} duplicates", file=sys.stderr, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="input sizes in documents (default 10000 100000 1000000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per size and worker count (default 3)")
    parser.add_argument("--runs-large", type=int, default=1,
                        help="runs for sizes of --large-from documents or more (default 1)")
    parser.add_argument("--large-from", type=int, default=1_000_000, help="see --runs-large (default 1000000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="dedupe --workers values (default 1 2)")
    parser.add_argument("--build", type=int, nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build_corpora(sorted(set(args.build)))
        return
    if min(args.sizes) <= BASELINE:
        parser.error(f"sizes must exceed the {BASELINE:,}-document baseline")
    if args.runs < 1 or args.runs_large < 1:
        parser.error("--runs and --runs-large must be at least 1")
    sizes = sorted(set(args.sizes))
    manifest = ensure_corpora([BASELINE, *sizes])
    positions = tile0_duplicates(manifest)
    manifest = _load_manifest()
    per_tile = manifest["tile_docs"]

    results = {}
    for n in [BASELINE, *sizes]:
        runs = args.runs_large if n >= args.large_from else args.runs
        results[n] = (runs, measure(n, runs, args.workers))

    lines = ["## Scale curve: dedupe scan on tiled Reuters+BBC", ""]
    lines += header_lines(["datasketch", "numpy", "orjson", "xxhash"])
    lines += [f"- inputs: {CACHE}/tiled-{RECIPE}-N.jsonl.gz, tiles of {per_tile:,} docs (Reuters+BBC; tile k>0 "
              f"renamed word by word, seed {SEED}; see the docstring); {len(positions)} duplicates per full tile; "
              "default options, output to /dev/null",
              f"- RSS per doc = (peak RSS - peak RSS at {BASELINE:,} docs) / (docs - {BASELINE:,})", ""]
    lines += ["| docs | workers | runs | text MB | seconds median (min-max) | docs/s | MB/s | peak RSS MB "
              "| RSS per doc (bytes) | duplicates expected | duplicates found | LSH candidates |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in [BASELINE, *sizes]:
        runs, res = results[n]
        mb = manifest["files"][str(n)]["text_bytes"] / 1e6
        for w in args.workers:
            r = res[w]
            rep = r["report"]
            if rep["counts"]["input"] != n:
                raise SystemExit(f"dedupe read {rep['counts']['input']} records from {corpus_path(n)}, expected {n}")
            sec = statistics.median(r["seconds"])
            rss = statistics.median(r["rss"])
            base_rss = statistics.median(results[BASELINE][1][w]["rss"])
            per_doc = "-" if n == BASELINE else f"{(rss - base_rss) * 2**20 / (n - BASELINE):,.0f}"
            expected = expected_duplicates(n, per_tile, positions)
            found = rep["counts"]["duplicates"]
            lines.append(f"| {n:,} | {w} | {runs} | {mb:,.1f} | {spread(r['seconds'], '.2f')} | {n / sec:,.0f} | "
                         f"{mb / sec:.2f} | {rss:,.0f} | {per_doc} | {expected:,} | {found:,} ({found - expected:+,}) | "
                         f"{rep['counts'].get('lsh_candidates', 0):,} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
