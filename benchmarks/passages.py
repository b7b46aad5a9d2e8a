"""Passage matching (`dedupe.passages.matcher`) on the real corpora: speed, the measurements behind the defaults, samples.

    .venv/bin/python benchmarks/passages.py [--speed] [--sweep] [--sample] [--corpus reuters bbc]
                                            [--runs 3] [--truth-sample 3000] [--seed 1]

With none of --speed, --sweep, --sample every part runs (speed first, while this process is still
small: see below). The corpora are read with `_common.load_corpus`. Every document is fed to the
passage matcher, in corpus order, in batches of 256: this is passage matching alone, without the
document-level deduplication that `dedupe scan --passages` runs first. Markdown goes to stdout,
progress to stderr.

speed
-----
Default `PassageConfig()`. Each run is a fresh subprocess (`passages.py --run-speed CORPUS`, timed
by `_runner.run_measured`: wall time from spawn to exit, peak RSS = ru_maxrss from os.wait4) that
loads the corpus, then per batch computes `passage_features(texts, config)` and calls
`PassageMatcher.add_batch(ids, texts, features)`, timing the two with perf_counter; features are
dropped after their batch. Runs are interleaved across corpora (round i runs each corpus once).
Reported: median (min-max) over `--runs` of the total seconds (start-up and corpus loading
included), feature seconds, match seconds, passages/s and documents/s (both over feature + match
seconds) and peak RSS; the counts of `PassageMatcher.report()` (identical in every run, checked) and
its candidate figures. A child inherits the benchmark process's own peak RSS as the floor of its
ru_maxrss, which is why speed runs before anything large is loaded here.

sweep
-----
In this process, one run per configuration (features, then `add_batch` per batch of 256; match
seconds = `PassageMatcher.stats.seconds`): character 5-grams at t = 0.35 with (num_perm, fn_weight)
= (64, 0.95), (128, 0.5), (128, 0.7) (the default), (128, 0.9), (256, 0.7); the default with
max_candidates 1000 instead of 32; word 2-grams at t = 0.2 (128, 0.7); character 4-grams at t = 0.35
(128, 0.7). Every other parameter is the default, so segmentation (hence the passages) is the same
in every configuration.

Recall is measured against exact ground truth on a seeded random sample of `--truth-sample`
passages per corpus, drawn from the passages that have no exact repeat earlier (no earlier passage
with the same hash of normalized words: those take the exact path, not the near one). A sampled
passage q is truly near at threshold t when some earlier passage p (earlier in stream order:
an earlier document, or earlier in the same document) has exact Jaccard J(q, p) >= t of their
shingle sets, the sets being `passage_features(...).shingles` under the configuration's shingling,
both q and p have at least `min_words` plain words (`DocPassages.wordy`: near matching is defined
only for those), and the pair rules accept them (`dedupe.passages.facts.rejects`: plain words in
common, and with their rules on, numbers and names). The default configuration is also scored
against Jaccard alone (no pair rule), so that what the rules exclude shows as missed.
It is computed without sampling pairs: a scipy.sparse CSR matrix passages x shingle ids over ALL
passages of the corpus; the sample's rows times its transpose give |q ∩ p| for every passage p;
J = |q ∩ p| / (|q| + |p| - |q ∩ p|), restricted to p < q. Pairs with J at or above the lowest
threshold that shingling is used with are cached in the cache directory, keyed by corpus, shingling,
a digest of every shingle set and the sample.

Each `PassageMatch` with unit "passage" is mapped back to the passages it covers (its span starts
at a passage start; exact and boilerplate repeats of adjacent passages are coalesced into one span,
which covers each of them), so a passage is "reported" when any passage-unit match covers it.

* recall: reported / truly near, over the sample, with its 95% Wilson score interval (the sample
  holds few truly near passages, BBC especially: the interval is wide);
* recall J >= t + 0.1: the same for the sampled passages whose best earlier J is at least t + 0.1;
* recall, indexed neighbour: the same over the truly near passages that have an earlier passage at
  J >= t which this run indexed. The matcher indexes passages that matched nothing and near
  repeats less similar than `index_below` to their match, so a passage whose only neighbours at
  J >= t were closer repeats cannot be found by LSH (it is found only when a neighbour's own
  earlier match is also within t of it). Recall above is the honest figure; this one isolates LSH
  and the candidate cap;
* reported, no earlier >= t: sampled passages the matcher reported without any earlier passage at
  J >= t. Verification is exact, so this must be 0 (a check);
* candidates before cap / passage: distinct LSH candidates (`report()["candidates"]["before_cap"]`)
  per passage that went to the near path (passages - exact hits); verified / passage: those
  verified after the cap (`per_passage`); capped passages: passages with more candidates than
  max_candidates;
* near + boilerplate: entries of kind near or boilerplate (unit passage), as `report()["found"]`.

sample
------
Default `PassageConfig()` (the sweep's default run when the sweep ran, else a run of its own): a
seeded random sample of 40 near repeats (kind near, unit passage), 15 quotes (unit quote) and 15
boilerplate entries (kind boilerplate, unit passage) is written to
`<sample-dir>/dedupe-passage-samples-<corpus>.md`: both texts side by side (this document's span
and the earlier span it matched), with ids, spans and similarity, for a human to judge.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from bisect import bisect_left
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import orjson
import scipy.sparse as sp
import xxhash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPORA, load_corpus, today  # noqa: E402
from _runner import header_lines, run_measured, spread  # noqa: E402

from dedupe.config import PassageConfig  # noqa: E402
from dedupe.passages.matcher import PassageMatch, PassageMatcher  # noqa: E402
from dedupe.passages.facts import rejects  # noqa: E402
from dedupe.passages.packed import DocPassages  # noqa: E402
from dedupe.passages.segment import passage_features  # noqa: E402

BATCH = 256
TRUTH_VERSION = "passages-truth-v1"
TRUTH_BLOCK = 256  # sample rows per sparse product
SAMPLE_COUNTS = {"near": 40, "quote": 15, "formula": 15, "boilerplate": 15}
KINDS = ("exact", "near", "boilerplate", "quote", "formula")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def ratio(num: int, den: int) -> str:
    return f"{num / den:.4f}" if den else "n/a"


def wilson(num: int, den: int, z: float = 1.96) -> str:
    """A proportion with its 95% Wilson score interval: '0.9500 (0.91-0.97)'."""
    if not den:
        return "n/a"
    phat = num / den
    centre = (phat + z * z / (2 * den)) / (1 + z * z / den)
    half = z * math.sqrt(phat * (1 - phat) / den + z * z / (4 * den * den)) / (1 + z * z / den)
    return f"{phat:.4f} ({max(0.0, centre - half):.3f}-{min(1.0, centre + half):.3f})"


# --------------------------------------------------------------------------- speed


def run_speed_child(name: str, report: Path) -> None:
    """The measured subprocess: features and matching over one corpus, figures to ``report`` (JSON)."""
    start = time.perf_counter()
    ids, texts = load_corpus(CORPORA[name])
    load_seconds = time.perf_counter() - start
    config = PassageConfig()
    matcher = PassageMatcher(config)
    feature_seconds = match_seconds = 0.0
    for lo in range(0, len(texts), BATCH):
        t0 = time.perf_counter()
        features = passage_features(texts[lo : lo + BATCH], config)
        t1 = time.perf_counter()
        matcher.add_batch(ids[lo : lo + BATCH], texts[lo : lo + BATCH], features)
        t2 = time.perf_counter()
        feature_seconds += t1 - t0
        match_seconds += t2 - t1
    out = matcher.report()
    out.pop("top")
    out.update(load_seconds=load_seconds, feature_seconds=feature_seconds, match_seconds=match_seconds)
    report.write_bytes(orjson.dumps(out))


def speed(corpora: list[str], runs: int) -> list[str]:
    me = str(Path(__file__).resolve())
    results: dict[str, list[tuple[float, float, dict]]] = {name: [] for name in corpora}
    with tempfile.TemporaryDirectory(prefix="dedupe-passages-") as tmp:
        report = Path(tmp) / "report.json"
        for i in range(runs):
            for name in corpora[i % len(corpora) :] + corpora[: i % len(corpora)]:
                m = run_measured([sys.executable, me, "--run-speed", name, "--report", str(report)])
                rep = orjson.loads(report.read_bytes())
                results[name].append((m.seconds, m.peak_rss_mb, rep))
                log(f"  [speed {name} run {i + 1}/{runs}] {m.seconds:.1f} s (features {rep['feature_seconds']:.1f} s, "
                    f"match {rep['match_seconds']:.1f} s), {m.peak_rss_mb:.0f} MB")
    timing, counts, chars, candidates = [], [], [], []
    for name in corpora:
        runs_of = results[name]
        reps = [r for _, _, r in runs_of]
        first = reps[0]
        stable = ("documents", "passages", "indexed", "found", "chars", "candidates")
        if any({k: r[k] for k in stable} != {k: first[k] for k in stable} for r in reps):
            raise SystemExit(f"{name}: the counts differ between runs: {[{k: r[k] for k in stable} for r in reps]}")
        docs, passages = first["documents"], first["passages"]
        work = [r["feature_seconds"] + r["match_seconds"] for r in reps]
        timing.append([
            name, f"{len(runs_of)}", spread([s for s, _, _ in runs_of], ".1f"),
            spread([r["feature_seconds"] for r in reps], ".1f"), spread([r["match_seconds"] for r in reps], ".1f"),
            spread([passages / w for w in work]), spread([docs / w for w in work]),
            spread([rss for _, rss, _ in runs_of]),
        ])
        counts.append([name, f"{docs:,}", f"{passages:,}", f"{first['indexed']:,}"]
                      + [f"{first['found'][k]:,}" for k in KINDS])
        chars.append([name] + [f"{first['chars'][k]:,}" for k in KINDS])
        c = first["candidates"]
        candidates.append([name, f"{c['before_cap']:,}", f"{c['verified']:,}", f"{c['per_passage']}",
                           f"{c['max_per_passage']}", f"{c['capped_passages']:,}"])
    out = ["### Speed: default PassageConfig(), every document fed", ""]
    out += table(["corpus", "runs", "total s", "feature s", "match s", "passages/s", "documents/s", "peak RSS MB"],
                 timing)
    out += ["", "Median (min-max) over the runs. Total: the whole subprocess (start-up and corpus loading "
            "included); passages/s and documents/s over feature + match seconds.", ""]
    out += table(["corpus", "documents", "passages", "indexed"] + [f"found {k}" for k in KINDS], counts)
    out += [""]
    out += table(["corpus"] + [f"chars {k}" for k in KINDS], chars)
    out += [""]
    out += table(["corpus", "candidates before cap", "verified", "verified per passage", "max per passage",
                  "capped passages"], candidates)
    return out + [""]


# --------------------------------------------------------------------------- running the matcher


@dataclass
class Layout:
    """Every passage of a corpus in stream order: its document, span and exact hash."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    offsets: np.ndarray  # passages of document d: offsets[d]:offsets[d + 1]
    exact_repeat: np.ndarray  # bool: an earlier passage has the same normalized-word hash

    @classmethod
    def of(cls, features: list[DocPassages]) -> Layout:
        counts = np.array([len(f.spans) for f in features], dtype=np.int64)
        offsets = np.zeros(len(features) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        spans = np.array([s for f in features for s in f.spans], dtype=np.int64).reshape(-1, 2)
        seen: set[int] = set()
        repeat = []
        for f in features:
            for h in f.exact:
                repeat.append(h in seen)
                seen.add(h)
        return cls(np.repeat(np.arange(len(features)), counts), spans[:, 0], spans[:, 1], offsets,
                   np.array(repeat, dtype=bool))

    def __len__(self) -> int:
        return len(self.doc)


@dataclass
class Run:
    config: PassageConfig
    feature_seconds: float
    match_seconds: float
    report: dict
    exact_hits: int
    matches: list[list[PassageMatch]]
    reported: np.ndarray  # bool per passage: covered by a passage-unit match
    indexed: np.ndarray  # bool per passage: put in the LSH index (unmatched, or a near repeat below index_below)


def compute_features(texts: list[str], config: PassageConfig) -> tuple[list[DocPassages], float]:
    start = time.perf_counter()
    features: list[DocPassages] = []
    for lo in range(0, len(texts), BATCH):
        features.extend(passage_features(texts[lo : lo + BATCH], config))
    return features, time.perf_counter() - start


def run_matcher(texts: list[str], features: list[DocPassages], feature_seconds: float, config: PassageConfig,
                layout: Layout) -> Run:
    matcher = PassageMatcher(config)
    ids = [str(k) for k in range(len(texts))]  # positions as ids: match_id maps back to a document
    matches: list[list[PassageMatch]] = []
    for lo in range(0, len(texts), BATCH):
        matches.extend(matcher.add_batch(ids[lo : lo + BATCH], texts[lo : lo + BATCH], features[lo : lo + BATCH]))
    reported = np.zeros(len(layout), dtype=bool)
    loose = np.zeros(len(layout), dtype=bool)
    for d, doc_matches in enumerate(matches):
        lo, hi = int(layout.offsets[d]), int(layout.offsets[d + 1])
        starts = layout.start[lo:hi].tolist()
        for m in doc_matches:
            if m.unit != "passage":
                continue
            k = bisect_left(starts, m.start)
            if k == len(starts) or starts[k] != m.start:
                raise SystemExit(f"document {d}: match span {m.start}:{m.end} does not start at a passage")
            while k < len(starts) and layout.end[lo + k] <= m.end:
                reported[lo + k] = True
                loose[lo + k] = m.similarity < min(1.0, config.index_below)
                k += 1
    report = matcher.report()
    report.pop("top")
    return Run(config, feature_seconds, matcher.stats.seconds, report, matcher.stats.exact_hits, matches, reported,
               ~reported | loose)


# --------------------------------------------------------------------------- exact ground truth


@dataclass
class Truth:
    """Earlier passages at J >= floor of each sampled passage: (sample ordinal, passage, J)."""

    q: np.ndarray
    p: np.ndarray
    J: np.ndarray
    floor: float
    seconds: float
    cache: Path
    cached: bool


def _truth_digest(shingles: list[np.ndarray], sample: np.ndarray, floor: float) -> str:
    h = xxhash.xxh3_128()
    h.update(f"{TRUTH_VERSION}|{floor:.4f}|{len(shingles)}|".encode())
    h.update(np.ascontiguousarray(sample, dtype=np.int64).tobytes())
    h.update(np.array([len(s) for s in shingles], dtype=np.int64).tobytes())
    for s in shingles:
        h.update(np.ascontiguousarray(s, dtype=np.uint64).tobytes())
    return h.hexdigest()[:20]


def _earlier_pairs(shingles: list[np.ndarray], sample: np.ndarray, floor: float) -> tuple[np.ndarray, ...]:
    n = len(shingles)
    sizes = np.array([len(s) for s in shingles], dtype=np.int64)
    _, inv = np.unique(np.concatenate(shingles), return_inverse=True)
    inv = inv.reshape(-1).astype(np.int32)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    m = sp.csr_matrix((np.ones(len(inv), dtype=np.int32), inv, indptr), shape=(n, int(inv.max()) + 1))
    mt = m.T.tocsr()
    out_q, out_p, out_j = [], [], []
    for b0 in range(0, len(sample), TRUTH_BLOCK):
        rows_of = sample[b0 : b0 + TRUTH_BLOCK]
        inter = (m[rows_of] @ mt).tocsr()  # |q ∩ p| for every passage p sharing a shingle with q
        local = np.repeat(np.arange(len(rows_of)), np.diff(inter.indptr))
        p = inter.indices.astype(np.int64)
        q = rows_of[local]
        earlier = p < q
        local, p, q, common = local[earlier], p[earlier], q[earlier], inter.data[earlier].astype(np.int64)
        jac = common / (sizes[q] + sizes[p] - common)  # the matcher's own formula (int64 / int64)
        keep = jac >= floor
        out_q.append(local[keep] + b0)
        out_p.append(p[keep])
        out_j.append(jac[keep])
    return np.concatenate(out_q), np.concatenate(out_p), np.concatenate(out_j)


def ground_truth(label: str, shingles: list[np.ndarray], sample: np.ndarray, floor: float, cache_dir: Path,
                 use_cache: bool) -> Truth:
    cache = cache_dir / f"dedupe-passage-truth-{label}-{_truth_digest(shingles, sample, floor)}.npz"
    if use_cache and cache.exists():
        with np.load(cache) as z:
            return Truth(z["q"], z["p"], z["J"], floor, float(z["seconds"]), cache, True)
    start = time.perf_counter()
    q, p, jac = _earlier_pairs(shingles, sample, floor)
    seconds = time.perf_counter() - start
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=cache.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        np.savez(fh, q=q, p=p, J=jac, seconds=np.float64(seconds))
    os.replace(tmp, cache)
    return Truth(q, p, jac, floor, seconds, cache, False)


# --------------------------------------------------------------------------- sweep


@dataclass
class Facts:
    """Per passage of the corpus (in stream order): what the pair rules read."""

    wordy: np.ndarray
    numbers: list[np.ndarray]
    names: list[np.ndarray]
    plain: list[np.ndarray]

    def of_passage(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.numbers[k], self.names[k], self.plain[k]

    @classmethod
    def of(cls, features: list[DocPassages]) -> Facts:
        return cls(np.array([w for f in features for w in f.wordy], dtype=bool),
                   [n for f in features for n in f.numbers], [n for f in features for n in f.names],
                   [w for f in features for w in f.plain])


def pair_agrees(config: PassageConfig, facts: Facts, q: int, p: int) -> bool:
    """The matcher's pair rules (dedupe.passages.facts.rejects) for passages q and p."""
    return rejects(config, facts.of_passage(q), facts.of_passage(p)) is None


def sweep_configs(default_only: bool = False) -> list[tuple[str, PassageConfig]]:
    d = PassageConfig()
    if default_only:
        return [(DEFAULT_LABEL, d)]
    return [
        ("char 5-grams, t 0.35, 64 perm, fn 0.95", replace(d, num_perm=64, fn_weight=0.95)),
        ("char 5-grams, t 0.35, 128 perm, fn 0.5", replace(d, fn_weight=0.5)),
        (DEFAULT_LABEL, d),
        ("default with max_candidates 1000", replace(d, max_candidates=1000)),
        ("default without the numbers rule", replace(d, numbers=False)),
        ("default indexing unmatched passages only (index_below 0)", replace(d, index_below=0.0)),
        ("default indexing every near repeat (index_below 1.01)", replace(d, index_below=1.01)),
        ("char 5-grams, t 0.35, 128 perm, fn 0.9", replace(d, fn_weight=0.9)),
        ("char 5-grams, t 0.35, 256 perm, fn 0.7", replace(d, num_perm=256)),
        ("word 2-grams, t 0.2, 128 perm, fn 0.7", replace(d, shingle="word", ngram=2, threshold=0.2)),
        ("char 4-grams, t 0.35, 128 perm, fn 0.7", replace(d, ngram=4)),
    ]


def _feature_key(c: PassageConfig) -> tuple:
    return (c.unit, c.min_words, c.shingle, c.ngram, c.num_perm, c.bands_rows, c.window)


def _shingling(c: PassageConfig) -> str:
    return f"{c.shingle} {c.ngram}-grams"


def score(run: Run, truth: Truth, sample: np.ndarray, layout_indexed: np.ndarray, facts: Facts,
          rules: bool = True) -> dict[str, int]:
    t = run.config.threshold
    # The definition the matcher implements: J >= t between two passages with enough plain words, and with
    # ``rules``, the pair rules the configuration turns on (shared plain words; agreeing numbers and names).
    at_t = (t <= truth.J) & facts.wordy[sample[truth.q]] & facts.wordy[truth.p]
    if rules:
        idx = np.flatnonzero(at_t)
        agree = [pair_agrees(run.config, facts, int(sample[q]), int(p)) for q, p in zip(truth.q[idx], truth.p[idx])]
        at_t[idx[~np.array(agree, dtype=bool)]] = False
    best = np.zeros(len(sample))
    np.maximum.at(best, truth.q[at_t], truth.J[at_t])
    near = best >= t
    strong = best >= t + 0.1
    via_index = np.zeros(len(sample), dtype=bool)
    via_index[truth.q[at_t & layout_indexed[truth.p]]] = True
    rep = run.reported[sample]
    return {
        "true": int(near.sum()), "found": int((near & rep).sum()),
        "strong": int(strong.sum()), "strong_found": int((strong & rep).sum()),
        "indexed": int(via_index.sum()), "indexed_found": int((via_index & rep).sum()),
        "false": int((rep & ~near).sum()),
    }


DEFAULT_LABEL = "**default**: char 5-grams, t 0.35, 128 perm, fn 0.7, max_candidates 32, index_below 0.8"


def sweep_corpus(name: str, texts: list[str], sample_size: int, seed: int, cache_dir: Path, use_cache: bool,
                 keep_default: bool, default_only: bool = False) -> tuple[list[str], Run | None]:
    configs = sweep_configs(default_only)
    floors: dict[str, float] = {}
    for _, c in configs:
        floors[_shingling(c)] = min(floors.get(_shingling(c), 1.0), c.threshold)
    layout: Layout | None = None
    sample = np.empty(0, dtype=np.int64)
    truths: dict[str, Truth] = {}
    rows: list[list[str]] = []
    default_run: Run | None = None
    features: list[DocPassages] = []
    feature_seconds = 0.0
    key = None
    for label, config in configs:
        if _feature_key(config) != key:
            features = []  # free the previous configuration's features first
            log(f"{name}: features, {label} ...")
            features, feature_seconds = compute_features(texts, config)
            key = _feature_key(config)
        if layout is None:
            layout = Layout.of(features)
            candidates = np.flatnonzero(~layout.exact_repeat)
            rng = np.random.default_rng(seed)
            sample = np.sort(rng.choice(candidates, size=min(sample_size, len(candidates)), replace=False))
        shingling = _shingling(config)
        if shingling not in truths:
            log(f"{name}: ground truth, {shingling}, J >= {floors[shingling]} ...")
            shingles = [s for f in features for s in f.shingles]
            truths[shingling] = ground_truth(f"{name}-{config.shingle}{config.ngram}", shingles, sample,
                                             floors[shingling], cache_dir, use_cache)
            del shingles
            tr = truths[shingling]
            log(f"{name}: ground truth {shingling}: {len(tr.J):,} earlier pairs at J >= {tr.floor} "
                f"({'cached' if tr.cached else f'{tr.seconds:.1f} s'})")
        log(f"{name}: matching, {label} ...")
        run = run_matcher(texts, features, feature_seconds, config, layout)
        facts = Facts.of(features)
        rep = run.report
        c = rep["candidates"]
        queried = rep["passages"] - run.exact_hits
        b, r = config.bands_rows
        # The default is also scored against Jaccard alone: the pairs the pair rules exclude count as missed.
        for row_label, rules in [(label, True)] + ([(f"{label}, against Jaccard alone", False)]
                                                   if config == PassageConfig() else []):
            s = score(run, truths[shingling], sample, run.indexed, facts, rules)
            log(f"{name}: {row_label}: match {run.match_seconds:.1f} s, recall {ratio(s['found'], s['true'])} "
                f"({s['found']}/{s['true']}), false {s['false']}")
            rows.append([
                row_label, f"{b}×{r}", f"{c['before_cap'] / max(1, queried):.2f}", f"{c['per_passage']:.2f}",
                f"{c['capped_passages']:,}", f"{rep['found']['near'] + rep['found']['boilerplate']:,}",
                f"{run.feature_seconds:.1f}", f"{run.match_seconds:.1f}",
                f"{s['true']:,}", wilson(s["found"], s["true"]),
                f"{ratio(s['strong_found'], s['strong'])} ({s['strong']:,})",
                f"{ratio(s['indexed_found'], s['indexed'])} ({s['indexed']:,})", f"{s['false']}",
            ])
        del facts
        if keep_default and config == PassageConfig():
            default_run = run
        run.matches = run.matches if run is default_run else []
    assert layout is not None
    out = [f"### Sweep: {name}, {len(texts):,} documents, {len(layout):,} passages "
           f"({int(layout.exact_repeat.sum()):,} exact repeats)", ""]
    out.append(f"Ground truth: {len(sample):,} passages sampled (seed {seed}) among the "
               f"{int((~layout.exact_repeat).sum()):,} with no exact repeat earlier; every earlier passage's exact "
               "Jaccard by sparse products over all passages:")
    for shingling, tr in truths.items():
        how = (f"loaded from the cache `{tr.cache}` (computing it took {tr.seconds:.1f} s)" if tr.cached
               else f"computed in {tr.seconds:.1f} s, cached in `{tr.cache}`")
        out.append(f"- {shingling}: {len(tr.J):,} (sampled, earlier) pairs at J >= {tr.floor}; {how}")
    out.append("")
    out += table(["configuration", "b×r", "candidates before cap / passage", "verified / passage",
                  "capped passages", "near + boilerplate", "feature s", "match s", "truly near in sample",
                  "recall (95% CI)", "recall J ≥ t+0.1 (n)", "recall, indexed neighbour (n)",
                  "reported, no earlier ≥ t"], rows)
    return out + [""], default_run


# --------------------------------------------------------------------------- samples for a human


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|") or "(empty)"


def _context(text: str, start: int, end: int, width: int = 150) -> str:
    """The span marked ⟦...⟧ with ``width`` characters either side (quotes)."""
    return _cell(f"…{text[max(0, start - width):start]}⟦{text[start:end]}⟧{text[end:end + width]}…")


def write_samples(name: str, ids: list[str], texts: list[str], run: Run, seed: int, path: Path) -> list[str]:
    entries: dict[str, list[tuple[int, PassageMatch]]] = {k: [] for k in SAMPLE_COUNTS}
    for d, doc_matches in enumerate(run.matches):
        for m in doc_matches:
            kind = m.repeat_kind
            if kind in entries:
                entries[kind].append((d, m))
    rng = np.random.default_rng(seed)
    config = run.config
    lines = [f"# Passage matching samples: {name}", "",
             f"- date: {today()}",
             f"- configuration: `{config}`",
             f"- found: {', '.join(f'{k} {v:,}' for k, v in run.report['found'].items())}",
             f"- drawn with seed {seed}, shown in stream order; left: the later passage, right: the earlier "
             "span it matched (similarity: exact Jaccard of character n-grams; quotes are exact word windows)",
             ""]
    for kind, count in SAMPLE_COUNTS.items():
        pool = entries[kind]
        picked = sorted(rng.choice(len(pool), size=min(count, len(pool)), replace=False).tolist()) if pool else []
        lines += [f"## {kind}: {len(picked)} of {len(pool):,}", ""]
        for n, k in enumerate(picked, 1):
            d, m = pool[k]
            e = int(m.match_id)
            lines += [f"### {kind} {n}: similarity {m.similarity:.4f}", "",
                      f"| {ids[d]} (#{d}) [{m.start}:{m.end}] | {ids[e]} (#{e}) [{m.match_start}:{m.match_end}] |",
                      "|---|---|",
                      f"| {_cell(texts[d][m.start:m.end])} | {_cell(texts[e][m.match_start:m.match_end])} |"]
            if kind in ("quote", "formula"):
                lines.append(f"| {_context(texts[d], m.start, m.end)} | "
                             f"{_context(texts[e], m.match_start, m.match_end)} |")
            lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    counts = ", ".join(f"{min(c, len(entries[k]))} {k}" for k, c in SAMPLE_COUNTS.items())
    return [f"- {name}: `{path}` ({counts})"]


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", action="store_true", help="run the speed part (default: every part)")
    parser.add_argument("--sweep", action="store_true", help="run the configuration sweep with recall")
    parser.add_argument("--sample", action="store_true", help="write samples of matches for a human to inspect")
    parser.add_argument("--default-only", action="store_true",
                        help="sweep the default configuration only (scored with and without the pair rules)")
    parser.add_argument("--corpus", nargs="+", choices=sorted(CORPORA), default=["reuters", "bbc"])
    parser.add_argument("--runs", type=int, default=3, help="speed runs per corpus (default 3)")
    parser.add_argument("--truth-sample", type=int, default=3000,
                        help="sampled query passages per corpus for the ground truth (default 3000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the truth sample and the match samples")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the ground truth is cached (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="recompute the ground truth even when cached")
    parser.add_argument("--sample-dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the sample files are written (default: %(default)s)")
    parser.add_argument("--run-speed", choices=sorted(CORPORA), help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_speed:
        if args.report is None:
            parser.error("--run-speed needs --report")
        run_speed_child(args.run_speed, args.report)
        return
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.truth_sample < 1:
        parser.error("--truth-sample must be at least 1")
    parts = {p for p in ("speed", "sweep", "sample") if getattr(args, p)} or {"speed", "sweep", "sample"}

    started = time.perf_counter()
    lines = ["## Passage matching", ""]
    lines += header_lines(["numpy", "scipy", "xxhash", "datasketch"])
    lines += [f"- parts: {', '.join(p for p in ('speed', 'sweep', 'sample') if p in parts)}; "
              f"default configuration: `{PassageConfig()}` (bands × rows {PassageConfig().bands_rows})",
              "- every document fed to `PassageMatcher.add_batch` in corpus order, batches of 256, features by "
              "`passage_features` (passage matching alone, no document deduplication)", ""]
    print("\n".join(lines), flush=True)

    if "speed" in parts:  # first: this process is still small (children inherit its peak RSS as a floor)
        body = speed(args.corpus, args.runs)
        print("\n".join(body), flush=True)
    sample_lines: list[str] = []
    for name in args.corpus:
        if not parts & {"sweep", "sample"}:
            break
        ids, texts = load_corpus(CORPORA[name])
        default_run = None
        if "sweep" in parts:
            body, default_run = sweep_corpus(name, texts, args.truth_sample, args.seed, args.cache_dir,
                                             not args.no_cache, keep_default="sample" in parts,
                                             default_only=args.default_only)
            print("\n".join(body), flush=True)
        if "sample" in parts:
            if default_run is None:
                config = PassageConfig()
                features, seconds = compute_features(texts, config)
                default_run = run_matcher(texts, features, seconds, config, Layout.of(features))
                del features
            path = args.sample_dir / f"dedupe-passage-samples-{name}.md"
            sample_lines += write_samples(name, ids, texts, default_run, args.seed, path)
            log(f"{name}: samples written to {path}")
    if sample_lines:
        print("\n".join(["### Samples for inspection (default configuration)", ""] + sample_lines + [""]), flush=True)
    print(f"Total run time: {time.perf_counter() - started:.0f} s.", flush=True)


if __name__ == "__main__":
    main()
