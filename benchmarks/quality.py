"""Detection quality of dedupe against exact ground truth, next to a plain datasketch pipeline.

    .venv/bin/python benchmarks/quality.py [--corpus reuters bbc] [--thresholds 0.5 0.7 0.8 0.9]
        [--bucket-cap N] [--out FILE]
    .venv/bin/python benchmarks/quality.py --languages [zh ja ru] [--out FILE] [languages.py options]

``--languages`` runs ``benchmarks/languages.py`` instead (see its docstring): Chinese, Japanese and Russian prose
from Debian's packages (``apt-get install -y manpages-zh manpages-ja fortunes-ru``, read at run time), lightly
edited copies found by the default options and by ``--unit char --ngram 5`` against exact ground truth (copies
found, false clusters, precision/recall/F1 of pairs and detection by J bin as below), and sentences planted in
later documents found by ``--passages``. Options it does not know (``--originals``, ``--copies``,
``--documents``, ``--seed``, ``--max-chars``, ``--threshold``) are passed on to it.

Ground truth is exact: with dedupe's own normalization and shingling
(``text_shingles(text)``, default word 5-grams), the Jaccard similarity of
every pair of documents that share at least one shingle is computed from a
sparse documents x shingles matrix (intersections by sparse products in row
blocks), with no sampling and no skipping of frequent shingles. Pairs with
J >= 0.40 are kept. Documents with an empty shingle set are in no pair
(dedupe never matches them). The ground truth is cached in /tmp under a key
that covers the shingle sets themselves, so a change to shingling invalidates it.

For every threshold t three pipelines run over the corpus in file order:

* dedupe: ``Deduplicator(DedupeConfig(lsh=LSHConfig(threshold=t))).run(records)``,
  everything else default (exact verification, fn_weight 0.95 bands/rows, the
  default bucket cap; ``--bucket-cap N`` sets ``LSHConfig(bucket_cap=N)``).
* datasketch, same b x r: word 5-gram strings of ``normalize(text).split(" ")``
  (a text of 1..4 words is one shingle of all of them), ``MinHash.bulk(...,
  num_perm=128, seed=1, hashfunc=xxhash.xxh32_intdigest)``, ``MinHashLSH(num_perm=128,
  params=(b, r))`` with dedupe's (b, r); streaming query-then-insert; a candidate
  counts if its MinHash estimate is >= t; union-find over accepted pairs;
  duplicate_of is the earlier candidate with the best estimate (ties: earliest).
* datasketch defaults: the same with ``MinHashLSH(threshold=t, num_perm=128)``,
  i.e. datasketch's equal (0.5, 0.5) weights for bands/rows.

Measures (pairs are unordered document pairs):

* precision: reported pairs (record, duplicate_of) whose true J >= t - 0.05
  (a pair absent from the ground truth has J < 0.40), over reported pairs;
* recall: true pairs with J >= t + 0.05 whose documents end in the same final
  cluster, over those true pairs;
* P@t, R@t, F1@t: the same at exactly t (reported pairs with J >= t; true pairs
  with J >= t in the same cluster), and their harmonic mean;
* detection by J bin: the fraction of true pairs of each 0.05 bin that end in
  the same cluster, next to the S-curve 1-(1-s^r)^b at the bin midpoint;
* targets: precision >= 0.99 and recall >= 0.99.

The datasketch MinHashes do not depend on t, so they are computed once per
corpus; their time is added to each datasketch run's seconds. dedupe's seconds
are a whole ``run`` (features and matching, one process) plus ``clusters()``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp
import xxhash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPORA, command_line, load_corpus, machine_line, today  # noqa: E402


def _import_dedupe(attempts: int = 6, wait: float = 20.0):  # type: ignore[no-untyped-def]
    """Import dedupe, retrying for a while (its internals may be mid-edit)."""
    for attempt in range(attempts):
        try:
            import dedupe

            return dedupe
        except Exception as exc:  # noqa: BLE001 - any import failure is worth a retry
            if attempt == attempts - 1:
                raise
            print(f"import dedupe failed ({exc!r}); retrying in {wait:.0f} s", file=sys.stderr)
            for name in [m for m in sys.modules if m == "dedupe" or m.startswith("dedupe.")]:
                del sys.modules[name]
            time.sleep(wait)
    raise AssertionError("unreachable")


dedupe = _import_dedupe()
from dedupe import DedupeConfig, Deduplicator, LSHConfig, Record, normalize, text_shingles  # noqa: E402

import datasketch  # noqa: E402
from datasketch import MinHash, MinHashLSH  # noqa: E402
from reference import StreamingReference, word_shingles  # noqa: E402

GT_VERSION = "quality-gt-v1"
GT_FLOOR = 0.40
BIN = 0.05
TARGET = 0.99
NUM_PERM = 128
NGRAM = 5
BLOCK_ROWS = 2048
MAX_MISSES_SHOWN = 8


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- ground truth


@dataclass
class GroundTruth:
    n: int
    sizes: np.ndarray  # shingles per document
    i: np.ndarray  # first document of each pair (i < j), pairs sorted by (i, j)
    j: np.ndarray
    J: np.ndarray  # exact Jaccard
    floor: float
    sharing_pairs: int  # pairs sharing at least one shingle
    seconds: float  # pair computation (not shingling)
    cache: Path
    cached: bool

    def __post_init__(self) -> None:
        self.keys = self.i.astype(np.int64) * self.n + self.j.astype(np.int64)

    def lookup(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Exact J of pairs (a[k], b[k]) in either order; NaN when J < floor (not in the ground truth)."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        keys = np.minimum(a, b) * self.n + np.maximum(a, b)
        out = np.full(len(keys), np.nan)
        if len(self.keys) == 0:
            return out
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found = self.keys[pos] == keys
        out[found] = self.J[pos[found]]
        return out


def _gt_digest(shingles: list[np.ndarray], floor: float) -> str:
    h = xxhash.xxh3_128()
    h.update(f"{GT_VERSION}|{floor:.4f}|{len(shingles)}|".encode())
    h.update(np.array([len(s) for s in shingles], dtype=np.int64).tobytes())
    for s in shingles:
        h.update(np.ascontiguousarray(s, dtype=np.uint64).tobytes())
    return h.hexdigest()[:20]


def _exact_pairs(shingles: list[np.ndarray], floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    n = len(shingles)
    sizes = np.array([len(s) for s in shingles], dtype=np.int64)
    total = int(sizes.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.int32)
        return empty, empty, np.empty(0), 0
    _, inv = np.unique(np.concatenate(shingles), return_inverse=True)
    inv = inv.reshape(-1).astype(np.int32)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    m = sp.csr_matrix((np.ones(total, dtype=np.int32), inv, indptr), shape=(n, int(inv.max()) + 1))
    mt = m.T.tocsr()
    out_i, out_j, out_J = [], [], []
    sharing = 0
    for r0 in range(0, n, BLOCK_ROWS):
        r1 = min(n, r0 + BLOCK_ROWS)
        inter = (m[r0:r1] @ mt).tocoo()  # |A ∩ B| for every pair sharing a shingle
        rows = inter.row.astype(np.int64) + r0
        cols = inter.col.astype(np.int64)
        upper = cols > rows
        rows, cols, common = rows[upper], cols[upper], inter.data[upper].astype(np.float64)
        sharing += len(rows)
        jac = common / (sizes[rows] + sizes[cols] - common)
        keep = jac >= floor
        out_i.append(rows[keep].astype(np.int32))
        out_j.append(cols[keep].astype(np.int32))
        out_J.append(jac[keep])
    i, j, jac = np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_J)
    order = np.lexsort((j, i))
    return i[order], j[order], jac[order], sharing


def ground_truth(name: str, shingles: list[np.ndarray], floor: float, cache_dir: Path, use_cache: bool) -> GroundTruth:
    sizes = np.array([len(s) for s in shingles], dtype=np.int64)
    cache = cache_dir / f"dedupe-gt-{name}-{_gt_digest(shingles, floor)}.npz"
    if use_cache and cache.exists():
        with np.load(cache) as z:
            return GroundTruth(len(shingles), sizes, z["i"], z["j"], z["J"], floor, int(z["sharing"]),
                               float(z["seconds"]), cache, True)
    start = time.perf_counter()
    i, j, jac, sharing = _exact_pairs(shingles, floor)
    seconds = time.perf_counter() - start
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=cache.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        np.savez(fh, i=i, j=j, J=jac, sharing=np.int64(sharing), seconds=np.float64(seconds))
    os.replace(tmp, cache)
    return GroundTruth(len(shingles), sizes, i, j, jac, floor, sharing, seconds, cache, False)


# --------------------------------------------------------------------------- pipelines


@dataclass
class Outcome:
    pipeline: str
    bands: int
    rows: int
    dup: np.ndarray  # reported pairs: record position
    of: np.ndarray  # ... and its duplicate_of position
    label: np.ndarray  # final cluster label per position
    seconds: float
    candidates: int | None


def run_dedupe(texts: list[str], t: float, bucket_cap: int | None = None) -> Outcome:
    lsh = LSHConfig(threshold=t) if bucket_cap is None else LSHConfig(threshold=t, bucket_cap=bucket_cap)
    config = DedupeConfig(lsh=lsh)
    bands, rows = config.bands_rows
    # Positions as ids: corpus ids need not be unique, positions are.
    records = [Record(str(k), text) for k, text in enumerate(texts)]
    start = time.perf_counter()
    dd = Deduplicator(config)
    dup, of = [], []
    for result in dd.run(records):
        duplicate_of = result.match.duplicate_of
        if duplicate_of is not None:
            dup.append(int(result.record.id))
            of.append(int(duplicate_of))
    clusters = dd.clusters()
    seconds = time.perf_counter() - start
    label = np.arange(len(texts))
    for cluster in clusters:
        members = np.array([int(x) for x in cluster["members"]])
        label[members] = members.min()
    candidates = getattr(dd, "candidates", None)
    return Outcome("dedupe", bands, rows, np.array(dup, dtype=np.int64), np.array(of, dtype=np.int64),
                   label, seconds, candidates if isinstance(candidates, int) else None)


def reference_minhashes(texts: list[str]) -> tuple[list[MinHash | None], float]:
    """datasketch MinHashes of the word 5-gram strings (None for an empty text), and the seconds spent."""
    start = time.perf_counter()
    shingles = [[s.encode("utf-8") for s in word_shingles(text, NGRAM)] for text in texts]
    nonempty = [k for k, s in enumerate(shingles) if s]
    computed = MinHash.bulk((shingles[k] for k in nonempty), num_perm=NUM_PERM, seed=1,
                            hashfunc=xxhash.xxh32_intdigest)
    minhashes: list[MinHash | None] = [None] * len(texts)
    for k, mh in zip(nonempty, computed):
        minhashes[k] = mh
    return minhashes, time.perf_counter() - start


def run_reference(minhashes: list[MinHash | None], t: float, params: tuple[int, int] | None,
                  feature_seconds: float, pipeline: str) -> Outcome:
    start = time.perf_counter()
    if params is None:
        lsh = MinHashLSH(threshold=t, num_perm=NUM_PERM)
    else:
        lsh = MinHashLSH(num_perm=NUM_PERM, params=params)
    stream = StreamingReference(lsh, t)
    dup, of = [], []
    for k, mh in enumerate(minhashes):
        best, _ = stream.add(mh)
        if best >= 0:
            dup.append(k)
            of.append(best)
    candidates = stream.candidates
    find = stream.find
    label = np.array([find(x) for x in range(len(minhashes))])
    seconds = time.perf_counter() - start + feature_seconds
    return Outcome(pipeline, lsh.b, lsh.r, np.array(dup, dtype=np.int64), np.array(of, dtype=np.int64),
                   label, seconds, candidates)


# --------------------------------------------------------------------------- measures


def s_curve(s: float, bands: int, rows: int) -> float:
    return 1.0 - (1.0 - s**rows) ** bands


def s_curve_array(s: np.ndarray, bands: int, rows: int) -> np.ndarray:
    return 1.0 - (1.0 - np.asarray(s, dtype=np.float64) ** rows) ** bands


def bin_edges(floor: float) -> np.ndarray:
    count = int(round((1.0 - floor) / BIN))
    return np.round(floor + BIN * np.arange(count + 1), 10)


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)


@dataclass
class Scores:
    reported: int
    precision: float  # J >= t - 0.05
    recall: float  # J >= t + 0.05, same final cluster
    recall_true: int
    recall_missed: int
    precision_t: float
    recall_t: float
    f1_t: float
    true_t: int
    detected_by_bin: np.ndarray
    misses_t: np.ndarray  # indices into the ground truth of missed pairs at J >= t


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def score(outcome: Outcome, gt: GroundTruth, t: float, edges: np.ndarray) -> Scores:
    low, high = round(t - BIN, 10), round(t + BIN, 10)
    rep_j = gt.lookup(outcome.dup, outcome.of)  # NaN: J below the ground truth floor
    reported = len(rep_j)
    with np.errstate(invalid="ignore"):
        good_low = int(np.sum(rep_j >= low))
        good_t = int(np.sum(rep_j >= t))
    same = outcome.label[gt.i] == outcome.label[gt.j]
    above = gt.J >= high
    at_t = gt.J >= t
    recall_true = int(above.sum())
    recall_hit = int((same & above).sum())
    precision_t = _ratio(good_t, reported)
    recall_t = _ratio(int((same & at_t).sum()), int(at_t.sum()))
    f1 = 2 * precision_t * recall_t / (precision_t + recall_t) if precision_t + recall_t > 0 else math.nan
    bins = bin_index(gt.J, edges)
    detected = np.bincount(bins[same], minlength=len(edges) - 1)
    return Scores(reported, _ratio(good_low, reported), _ratio(recall_hit, recall_true), recall_true,
                  recall_true - recall_hit, precision_t, recall_t, f1, int(at_t.sum()), detected,
                  np.flatnonzero(at_t & ~same))


# --------------------------------------------------------------------------- Markdown


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def fmt(x: float, digits: int = 4) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def verdict(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return "pass" if x >= TARGET else "FAIL"


def bin_label(edges: np.ndarray, k: int) -> str:
    close = "]" if k == len(edges) - 2 else ")"
    return f"[{edges[k]:.2f}, {edges[k + 1]:.2f}{close}"


# --------------------------------------------------------------------------- main


def evaluate_corpus(name: str, path: Path, thresholds: list[float], floor: float, cache_dir: Path,
                    use_cache: bool, reference: bool, bucket_cap: int | None = None) -> list[str]:
    out: list[str] = []
    log(f"{name}: loading {path}")
    corpus_ids, texts = load_corpus(path)
    n = len(texts)

    start = time.perf_counter()
    shingles = [text_shingles(text) for text in texts]
    shingle_seconds = time.perf_counter() - start
    log(f"{name}: {n} documents shingled in {shingle_seconds:.1f} s; ground truth ...")
    gt = ground_truth(name, shingles, floor, cache_dir, use_cache)
    del shingles
    empty = int((gt.sizes == 0).sum())
    log(f"{name}: ground truth: {len(gt.J)} pairs with J >= {floor:.2f} "
        f"({'cached' if gt.cached else f'{gt.seconds:.1f} s'})")

    edges = bin_edges(floor)
    nbins = len(edges) - 1
    gt_bins = bin_index(gt.J, edges)
    true_by_bin = np.bincount(gt_bins, minlength=nbins)
    mids = (edges[:-1] + edges[1:]) / 2

    out += [f"## {name}: {path.name}", ""]
    out.append(f"{n:,} documents, {empty:,} with an empty shingle set (never matched, left out of every pair), "
               f"{int(gt.sizes.sum()):,} shingles (word {NGRAM}-grams, `text_shingles`, shingling {shingle_seconds:.1f} s).")
    out.append("")
    how = (f"loaded from the cache `{gt.cache}` (computing it took {gt.seconds:.1f} s)" if gt.cached
           else f"computed in {gt.seconds:.1f} s, cached in `{gt.cache}`")
    out.append(f"Ground truth: exact Jaccard of all {gt.sharing_pairs:,} pairs sharing at least one shingle; "
               f"{len(gt.J):,} pairs with J >= {floor:.2f}, of which {int((gt.J >= 1.0).sum()):,} with J = 1 "
               f"(identical shingle sets); {how}.")
    out.append("")
    cumulative = np.cumsum(true_by_bin[::-1])[::-1]
    out += table(["true J bin", "pairs", "pairs with J >= bin start"],
                 [[bin_label(edges, k), f"{true_by_bin[k]:,}", f"{cumulative[k]:,}"] for k in range(nbins)])
    out.append("")

    minhashes: list[MinHash | None] = []
    ref_feature_seconds = 0.0
    if reference:
        log(f"{name}: datasketch MinHashes ...")
        minhashes, ref_feature_seconds = reference_minhashes(texts)
        log(f"{name}: datasketch MinHashes in {ref_feature_seconds:.1f} s")

    summary: list[list[str]] = []
    detail: list[str] = []
    for t in thresholds:
        log(f"{name}: t={t}: dedupe ...")
        outcomes = [run_dedupe(texts, t, bucket_cap)]
        b, r = outcomes[0].bands, outcomes[0].rows
        log(f"{name}: t={t}: dedupe {b}x{r} {outcomes[0].seconds:.1f} s")
        if reference:
            outcomes.append(run_reference(minhashes, t, (b, r), ref_feature_seconds, "datasketch, same b×r"))
            log(f"{name}: t={t}: datasketch same b x r {outcomes[-1].seconds:.1f} s")
            outcomes.append(run_reference(minhashes, t, None, ref_feature_seconds, "datasketch defaults"))
            log(f"{name}: t={t}: datasketch defaults {outcomes[-1].bands}x{outcomes[-1].rows} "
                f"{outcomes[-1].seconds:.1f} s")
        scores = [score(o, gt, t, edges) for o in outcomes]
        for o, s in zip(outcomes, scores):
            summary.append([
                f"{t:.2f}", o.pipeline, f"{o.bands}×{o.rows}", f"{s.reported:,}", fmt(s.precision),
                fmt(s.recall), f"{s.recall_missed:,} / {s.recall_true:,}", fmt(s.precision_t), fmt(s.recall_t),
                fmt(s.f1_t), f"{s.true_t:,}", "n/a" if o.candidates is None else f"{o.candidates:,}",
                f"{o.seconds:.1f}", verdict(s.precision), verdict(s.recall),
            ])

        # Detection by true-J bin.
        detail += [f"### {name}, t = {t:.2f}: detection rate by true J bin", ""]
        headers = ["true J bin", "true pairs"]
        for o in outcomes:
            headers.append(f"{o.pipeline} ({o.bands}×{o.rows})")
            if o.pipeline != "datasketch, same b×r":
                headers.append(f"S-curve {o.bands}×{o.rows} at mid")
        rows = []
        for k in range(nbins):
            row = [bin_label(edges, k), f"{true_by_bin[k]:,}"]
            for o, s in zip(outcomes, scores):
                row.append(fmt(_ratio(int(s.detected_by_bin[k]), int(true_by_bin[k]))))
                if o.pipeline != "datasketch, same b×r":
                    row.append(fmt(s_curve(float(mids[k]), o.bands, o.rows)))
            rows.append(row)
        detail += table(headers, rows)
        detail.append("")

        # dedupe's misses at J >= t: compare with the S-curve (which ignores chaining through clusters).
        misses = scores[0].misses_t
        at_t = gt.J >= t
        expected = float(np.sum(1.0 - s_curve_array(gt.J[at_t], b, r)))
        detail.append(f"dedupe missed {len(misses):,} of {int(at_t.sum()):,} true pairs at J >= {t:.2f} "
                      f"({scores[0].recall_missed:,} at J >= {t + BIN:.2f}); the S-curve {b}×{r} expects "
                      f"{expected:.1f} pairs at J >= {t:.2f} never to become candidates (chaining through "
                      "clusters can still join some of them).")
        detail.append("")
        if len(misses):
            shown = misses[np.argsort(-gt.J[misses], kind="stable")][:MAX_MISSES_SHOWN]
            miss_rows = []
            for m in shown:
                a, c = int(gt.i[m]), int(gt.j[m])
                miss_rows.append([f"{corpus_ids[a]} ~ {corpus_ids[c]}", f"{gt.J[m]:.4f}",
                                  f"{int(gt.sizes[a]):,} / {int(gt.sizes[c]):,}",
                                  fmt(s_curve(float(gt.J[m]), b, r))])
            detail.append(f"Missed pairs (first {len(shown)}, by J descending):")
            detail.append("")
            detail += table(["pair (ids)", "exact J", "shingles", f"P(candidate) {b}×{r}"], miss_rows)
            detail.append("")

    out += [f"### {name}: summary", ""]
    out += table(["t", "pipeline", "b×r", "reported pairs", "precision (J ≥ t−0.05)", "recall (J ≥ t+0.05)",
                  "missed / true pairs (J ≥ t+0.05)", "P@t", "R@t", "F1@t", "true pairs (J ≥ t)",
                  "candidates", "seconds", f"precision ≥ {TARGET}", f"recall ≥ {TARGET}"], summary)
    out.append("")
    out += detail
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", choices=sorted(CORPORA), default=["reuters", "bbc"])
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.5, 0.7, 0.8, 0.9])
    parser.add_argument("--out", type=Path, help="also write the Markdown to this file")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the ground truth is cached (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="recompute the ground truth even when cached")
    parser.add_argument("--no-reference", action="store_true", help="skip the datasketch reference pipelines")
    parser.add_argument("--bucket-cap", type=int, default=None, metavar="N",
                        help="dedupe's LSHConfig(bucket_cap=N): earlier documents taken per LSH bucket, 0 = no cap "
                        "(default: the library default)")
    parser.add_argument("--languages", nargs="*", metavar="LANG", choices=["zh", "ja", "ru"],
                        help="run benchmarks/languages.py for these languages (none named: zh ja ru) instead; "
                        "its own options are passed on")
    args, rest = parser.parse_known_args()
    if args.languages is not None:
        import languages

        forwarded = (["--languages", *args.languages] if args.languages else []) + rest
        languages.main(forwarded + (["--out", str(args.out)] if args.out else []))
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.bucket_cap is not None and args.bucket_cap < 0:
        parser.error(f"--bucket-cap must be 0 (no cap) or more; got {args.bucket_cap}")
    cap = args.bucket_cap if args.bucket_cap is not None else LSHConfig().bucket_cap
    for t in args.thresholds:
        if not 0.0 < t <= 1.0:
            parser.error(f"thresholds must be in (0, 1]; got {t}")
    # The ground truth must reach t - 0.05 for every threshold (precision), in whole bins.
    floor = min(GT_FLOOR, math.floor(round((min(args.thresholds) - BIN) / BIN, 6)) * BIN)
    floor = round(max(floor, BIN), 10)

    started = time.perf_counter()
    lines = [
        "# dedupe detection quality against exact ground truth",
        "",
        f"- machine: {machine_line()}",
        f"- date: {today()}",
        f"- command: `{command_line()}`",
        f"- versions: dedupe {getattr(dedupe, '__version__', '?')}, datasketch {datasketch.__version__}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}",
        f"- dedupe: `Deduplicator(DedupeConfig(lsh=LSHConfig(threshold=t, bucket_cap={cap}))).run(records)`, "
        "defaults otherwise (word 5-grams, 128 permutations, exact verification, fn_weight 0.95), one process, "
        "records in corpus order",
        "- datasketch: word 5-gram strings of `normalize(text)`, `MinHash.bulk(num_perm=128, seed=1, "
        "hashfunc=xxh32)`, `MinHashLSH` streaming query then insert, a candidate counts when its MinHash "
        "estimate >= t; \"same b×r\" uses dedupe's bands and rows, \"defaults\" `MinHashLSH(threshold=t)` "
        "(weights 0.5/0.5); its seconds include the MinHash time of the corpus, computed once",
        "- precision: reported (record, duplicate_of) pairs with true J >= t−0.05; recall: true pairs with "
        "J >= t+0.05 in the same final cluster; P@t/R@t/F1@t: the same at t; "
        f"targets: precision and recall >= {TARGET}",
        "- detection by bin: true pairs of the bin in the same final cluster (clusters chain, so pairs below t "
        "can be joined through other documents); S-curve 1−(1−s^r)^b at the bin midpoint: the probability of becoming "
        "an LSH candidate (below t a candidate is rejected by verification, so pairs there join only by chaining)",
        "",
    ]
    print("\n".join(lines), flush=True)
    for name in args.corpus:
        body = evaluate_corpus(name, CORPORA[name], args.thresholds, floor, args.cache_dir,
                               not args.no_cache, not args.no_reference, args.bucket_cap)
        print("\n".join(body), flush=True)
        lines += body
    tail = f"Total run time: {time.perf_counter() - started:.0f} s."
    print(tail, flush=True)
    lines.append(tail)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
