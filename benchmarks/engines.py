"""The Ray engine on a two-node cluster: cost per stage, the driver's memory, the object store; the figures of
docs/scaling.md.

    .venv/bin/python benchmarks/engines.py [--part stages|memory|ranges|shuffle|all] [--sizes 100000,1000000]
        [--runs 3] [--large-runs 1] [--shares 0.0075,0.04,0.16] [--split-bytes 16777216] [--shards 4]

The cluster is this machine: a head and a worker node (``ray start --block``, one CPU and ``--store-mb`` of
object store each, started and stopped by this script; ``benchmarks/_raymeasure.py``). The driver is the
``dedupe scan --engine ray SHARDS --output DIR --report R --split-bytes B`` process, with RAY_ADDRESS set, run
under a small wrapper that reads its peak RSS (``ru_maxrss``), samples its RSS by kind and its CPU time; the
object store's peak (primary copies pinned, summed over the nodes, and bytes spilled) is read from the raylets'
state every second while the job runs, and split by stage: the driver process runs dedupe's command line
through ``_raymeasure.py --driver``, which notes the wall-clock time of every stage's end (the engine's own
clock readings) and changes nothing else.

Corpora (written as ``--shards`` plain JSONL files, then cut into ``--split-bytes`` ranges, one map task each):
Reuters-21578 (21,578 news articles), then copies of it whose texts have their words shuffled (seeded: the
same words and lengths, next to no shared 5-gram) until the base documents are used up, in that order; among
them, a share ``s`` of the documents are **edited copies** of a base document drawn uniformly from those
before (1 to 1 + words/40 words replaced by corpus words, and in 30% of them 2-6 words appended): near-
duplicates, most of them above the 0.8 threshold, the short ones below it (candidates that verification
rejects). Reuters itself adds its own near-duplicates (about 1% of its documents in a cluster).

Parts:

- **stages**: for each of ``--sizes`` documents with ``--dup-share`` (5%) edited copies, ``--runs`` rounds
  (``--large-runs`` for sizes of 1M and more) of the Ray job and of the streaming engine
  (``dedupe scan SHARDS --output DIR --workers 2``); the shards of both are compared byte for byte. Printed: per
  stage the tasks (the report's ``engine.tasks``: ranges, ranges, shuffle partitions, verify partitions,
  large-star/small-star rounds, decide partitions, inputs), the seconds (``timings.ray.stage_seconds``) and
  the CPU-µs per document (seconds x the cluster's CPUs / documents: the CPU time the stage holds, an upper
  bound of what it uses), the object store's peak and the driver's peak RSS (RssAnon + RssShmem, sampled)
  during the stage; per contender the wall-clock seconds, the driver's peak RSS and the object store's peak.
  Then the fixed cost of a job (the two seed articles) and per-document figures of the first corpus.
- **memory**: corpora of ``--memory-docs`` documents whose share of edited copies is each of ``--shares``, so
  that the share of records in a cluster grows about tenfold; ``--runs`` interleaved rounds of the Ray job on
  each. Printed: candidate pairs, duplicates and records in a cluster per document (from the report), and
  the driver's peak RSS (median, min-max) against the first corpus's, and the stage seconds with their growth
  per candidate pair added.
- **ranges** (not in ``all``): one corpus of ``--ranges-docs`` documents read with each of ``--range-splits``
  (so with more and more map tasks): the driver's peak RSS, and its RSS after start-up, the map and the write
  stages and with the report.
- **shuffle** (not in ``all``): outside dedupe, a driver of its own runs the engine's first kind of shuffle
  (``from_arrow_refs`` of task-made tables, ``groupby("part").map_groups``) over ``--probe-blocks`` input blocks,
  then the same after ``repartition(4)``, then ``map_batches`` alone: the growth of its RssAnon.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import CORPORA, command_line, machine_line, open_jsonl  # noqa: E402
from _raymeasure import Node, StoreWatch, Usage, driver, measured, nodes, probe  # noqa: E402

ROOT = HERE.parent
SEEDS = ROOT / "seeds" / "seeds.jsonl"
BASE_ENV = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {
    "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
STAGES = ("count", "map", "shuffle", "verify", "components", "decide", "write")
MB = 1 << 20


# --- corpora ------------------------------------------------------------------------------------------------


@dataclass
class Corpus:
    paths: list[Path]
    docs: int
    copies: int  # edited copies planted
    mb: float  # bytes of the shards, MiB


def make_corpus(docs: int, share: float, shards: int, into: Path, seed: int = 1) -> Corpus:
    """``docs`` documents, a share ``share`` of them edited copies of an earlier base document (see the module's
    docstring), in ``shards`` JSONL files under ``into``; built a document at a time (only Reuters is held)."""
    with open_jsonl(CORPORA["reuters"]) as fh:
        originals: list[dict[str, Any]] = [orjson.loads(line) for line in fh if line.strip()]
    vocab = [w for obj in originals[:2000] for w in obj["text"].split()]
    rng = random.Random(seed)
    into.mkdir(parents=True, exist_ok=True)

    def base(b: int) -> dict[str, Any]:
        obj = originals[b % len(originals)]
        if b < len(originals):
            return obj
        words = obj["text"].split()
        random.Random(b).shuffle(words)
        return obj | {"id": f"{obj['id']}-s{b // len(originals)}", "text": " ".join(words)}

    def edited(obj: dict[str, Any], k: int) -> dict[str, Any]:
        words = obj["text"].split() or ["empty"]
        for _ in range(1 + rng.randrange(max(1, len(words) // 40))):
            words[rng.randrange(len(words))] = rng.choice(vocab)
        if rng.random() < 0.3:
            words += [rng.choice(vocab) for _ in range(rng.randint(2, 6))]
        return obj | {"id": f"{obj['id']}-e{k}", "text": " ".join(words)}

    paths = [into / f"shard-{s:02d}.jsonl" for s in range(shards)]
    bases = copies = 0
    for s, path in enumerate(paths):
        with open(path, "wb") as out:
            for k in range(s * docs // shards, (s + 1) * docs // shards):
                if bases and rng.random() < share:
                    obj = edited(base(rng.randrange(bases)), k)
                    copies += 1
                else:
                    obj = base(bases)
                    bases += 1
                out.write(orjson.dumps(obj) + b"\n")
    return Corpus(paths, docs, copies, sum(p.stat().st_size for p in paths) / MB)


# --- runs ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    usage: Usage
    report: dict[str, Any]
    store_mb: float = 0.0  # object store peak, primary copies pinned, all nodes
    spilled_mb: float = 0.0
    store_by_stage: dict[str, float] | None = None  # the peak during each stage, MiB
    driver_by_stage: dict[str, float] | None = None  # the driver's RssAnon + RssShmem peak in each stage, MiB


def scan(corpus: Corpus, out: Path, report: Path, *extra: str) -> list[str]:
    """The arguments of ``dedupe`` for a scan of the corpus."""
    return ["scan", *map(str, corpus.paths), "--output", str(out), "--report", str(report), *extra]


def run_ray(corpus: Corpus, node: Node, work: Path, split: int, out: str = "ray") -> Run:
    shutil.rmtree(work / out, ignore_errors=True)
    clock = work / "stage-ends.txt"
    cmd = driver(clock, scan(corpus, work / out, work / f"{out}.json", "--engine", "ray", "--split-bytes",
                             str(split)))
    with StoreWatch(node.logs) as store:
        usage = measured(cmd, BASE_ENV | {"RAY_ADDRESS": node.address}, work, ROOT)
    report = json.loads((work / f"{out}.json").read_text())
    if len(store.seen) < 2 or min(store.seen.values()) < 3:
        print(f"warning: the raylets' dumps were read too rarely to add up the nodes: {store.seen}", file=sys.stderr)
    by_stage = {k: v / MB for k, v in store.by_stage(clock, STAGES).items()}
    # The driver's phases: start-up (imports, connecting), the stages, then the report (clusters streamed).
    ends = [float(x) for x in clock.read_text().split()]
    bounds = [0.0, *ends[1 : 2 + len(STAGES)], float("inf")]
    phases = ("start-up", *STAGES, "report")
    driver_by = {name: usage.peak_between(bounds[k], bounds[k + 1]) for k, name in enumerate(phases)}
    return Run(usage, report, store.peak_pinned / MB, store.peak_spilled / MB, by_stage, driver_by)


def run_stream(corpus: Corpus, work: Path, workers: int) -> Run:
    out = f"stream-w{workers}"
    shutil.rmtree(work / out, ignore_errors=True)
    cmd = [sys.executable, "-m", "dedupe", *scan(corpus, work / out, work / f"{out}.json", "--workers", str(workers))]
    return Run(measured(cmd, BASE_ENV, work, ROOT), json.loads((work / f"{out}.json").read_text()))


def same_shards(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    for n in names:
        with open(a / n, "rb") as x, open(b / n, "rb") as y:
            while True:
                cx, cy = x.read(MB), y.read(MB)
                if cx != cy:
                    return False
                if not cx:
                    break
    return True


def in_clusters(report: dict[str, Any]) -> int:
    return sum(int(size) * n for size, n in report["cluster_sizes"].items())


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], fmt: str = ".2f") -> str:
    if len(values) == 1:
        return f"{values[0]:{fmt}}"
    return f"{med(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def driver_peak(rays: list[Run], phase: str) -> str:
    return f"{med([(r.driver_by_stage or {}).get(phase, 0.0) for r in rays]):.0f}"


# --- parts --------------------------------------------------------------------------------------------------


def stages_part(args: argparse.Namespace, node: Node, work: Path) -> None:
    print(f"## Cost per stage ({args.dup_share:.0%} edited copies; --split-bytes {args.split_bytes}, "
          f"{args.shards} shards)\n")
    first: tuple[Corpus, dict[str, Any], Path] | None = None
    for size in args.sizes:
        runs = args.runs if size < 1_000_000 else args.large_runs
        data = work / f"corpus-{size}"
        corpus = make_corpus(size, args.dup_share, args.shards, data)
        rays: list[Run] = []
        streams: dict[int, list[Run]] = {w: [] for w in args.stream_workers}
        for k in range(runs):
            order = ["ray", *args.stream_workers]
            for who in order[k % len(order):] + order[: k % len(order)]:
                if who == "ray":
                    rays.append(run_ray(corpus, node, work, args.split_bytes))
                else:
                    streams[int(who)].append(run_stream(corpus, work, int(who)))
            for w in args.stream_workers:
                if not same_shards(work / "ray", work / f"stream-w{w}"):
                    raise SystemExit(f"the engines wrote different shards ({size} documents)")
        report = rays[-1].report
        counts = report["counts"]
        cpus = report["engine"]["cpus"]
        tasks = report["engine"]["tasks"]
        print(f"### {size:,} documents ({corpus.mb:.0f} MiB in {args.shards} shards; {corpus.copies:,} edited "
              f"copies; {runs} run(s){', median (min-max)' if runs > 1 else ''})\n")
        print(f"Report: {counts['lsh_candidates']:,} candidate pairs ({counts['lsh_candidates'] / size:.4f} per "
              f"document), {counts['duplicates']:,} duplicates, {counts['clusters']:,} clusters holding "
              f"{in_clusters(report):,} records ({in_clusters(report) / size:.1%}); cluster: "
              f"{report['engine']['nodes']} nodes, {cpus} CPUs. Shards byte-identical to the streaming engine's "
              f"in every round.\n")
        print("| stage | tasks | seconds | CPU-µs per document (s x CPUs / docs) | share | object store peak "
              "MiB | store bytes per doc | driver peak MiB (anon + shared) |")
        print("|---|---|---|---|---|---|---|---|")
        total = sum(med([r.report["timings"]["ray"]["stage_seconds"][s] for r in rays]) for s in STAGES)
        print(f"| (start-up: imports, connecting) | | | | | | | {driver_peak(rays, 'start-up')} |")
        for s in STAGES:
            secs = [r.report["timings"]["ray"]["stage_seconds"][s] for r in rays]
            store = med([(r.store_by_stage or {}).get(s, 0.0) for r in rays])
            print(f"| {s} | {tasks[s]} | {spread(secs)} | {med(secs) * cpus / size * 1e6:.1f} | "
                  f"{med(secs) / total:.0%} | {store:.0f} | {store * MB / size:.0f} | {driver_peak(rays, s)} |")
        print(f"| (report: the clusters streamed) | | | | | | | {driver_peak(rays, 'report')} |")
        print(f"| all stages | | {total:.2f} | {total * cpus / size * 1e6:.1f} | | | | |\n")
        print("| contender | wall s | docs/s | speed-up over ray | driver peak RSS MiB | of it anon / shared MiB | "
              "driver CPU s | object store peak MiB (spilled) | store bytes per doc |")
        print("|---|---|---|---|---|---|---|---|---|")
        ray_wall = med([r.usage.seconds for r in rays])
        rows = [("ray (driver)", rays)] + [(f"stream -w {w}", streams[w]) for w in args.stream_workers]
        for name, rs in rows:
            wall = [r.usage.seconds for r in rs]
            held = (f"{med([r.store_mb for r in rs]):.0f} ({med([r.spilled_mb for r in rs]):.0f})"
                    if name.startswith("ray") else "-")
            per_doc = f"{med([r.store_mb for r in rs]) * MB / size:.0f}" if name.startswith("ray") else "-"
            print(f"| {name} | {spread(wall)} | {size / med(wall):,.0f} | {ray_wall / med(wall):.2f} | "
                  f"{spread([r.usage.peak_rss_mb for r in rs], '.0f')} | "
                  f"{med([r.usage.peak_anon_mb for r in rs]):.0f} / {med([r.usage.peak_shmem_mb for r in rs]):.0f} | "
                  f"{med([r.usage.cpu_seconds for r in rs]):.1f} | {held} | {per_doc} |")
        print()
        if first is None:
            first = (corpus, report, data)
        else:
            shutil.rmtree(data)
    fixed_cost(node, work, args.runs)
    if first is not None:
        figures = per_document(first[0], first[1])
        print(f"Per-document figures ({first[0].docs:,} documents):\n")
        for key, value in figures.items():
            print(f"- {key}: {value:,.4g}")
        print()
        shutil.rmtree(first[2])


def memory_part(args: argparse.Namespace, node: Node, work: Path) -> None:
    size = args.memory_docs
    print(f"## Driver memory against records in pairs ({size:,} documents; --split-bytes {args.split_bytes}, "
          f"{args.shards} shards; {args.runs} interleaved rounds, median (min-max))\n")
    corpora = {s: make_corpus(size, s, args.shards, work / f"share-{s}") for s in args.shares}
    runs: dict[float, list[Run]] = {s: [] for s in args.shares}
    for k in range(args.runs):
        order = list(args.shares)
        for s in order[k % len(order):] + order[: k % len(order)]:
            runs[s].append(run_ray(corpora[s], node, work, args.split_bytes))
    print("| edited copies | candidate pairs per doc | duplicates per doc | records in a cluster | x first | "
          "driver peak RSS MiB | x first | anon / shared MiB | driver CPU s | store peak MiB | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base_rss = base_in = None
    for s, rs in runs.items():
        counts = rs[-1].report["counts"]
        inside = in_clusters(rs[-1].report)
        rss = med([r.usage.peak_rss_mb for r in rs])
        base_rss, base_in = base_rss or rss, base_in or inside
        print(f"| {s:.1%} | {counts['lsh_candidates'] / size:.4f} | {counts['duplicates'] / size:.4f} | "
              f"{inside / size:.1%} | {inside / base_in:.1f} | {spread([r.usage.peak_rss_mb for r in rs], '.0f')} | "
              f"{rss / base_rss:.2f} | {med([r.usage.peak_anon_mb for r in rs]):.0f} / "
              f"{med([r.usage.peak_shmem_mb for r in rs]):.0f} | {med([r.usage.cpu_seconds for r in rs]):.1f} | "
              f"{med([r.store_mb for r in rs]):.0f} | {spread([r.usage.seconds for r in rs])} |")
    print()
    print("Stage seconds (median), and the growth of each stage per candidate pair, from the first corpus to the "
          "last (µs per pair: seconds x CPUs / the candidate pairs added):\n")
    print("| edited copies | " + " | ".join(STAGES) + " |")
    print("|---|" + "---|" * len(STAGES))
    secs = {s: {st: med([r.report["timings"]["ray"]["stage_seconds"][st] for r in rs]) for st in STAGES}
            for s, rs in runs.items()}
    for s in args.shares:
        tasks = runs[s][-1].report["engine"]["tasks"]
        print(f"| {s:.1%} | " + " | ".join(f"{secs[s][st]:.2f} ({tasks[st]})" for st in STAGES) + " |")
    lo, hi = args.shares[0], args.shares[-1]
    pairs = runs[hi][-1].report["counts"]["lsh_candidates"] - runs[lo][-1].report["counts"]["lsh_candidates"]
    cpus = runs[hi][-1].report["engine"]["cpus"]
    if pairs > 0:
        print("| µs per added pair | " + " | ".join(f"{(secs[hi][st] - secs[lo][st]) * cpus / pairs * 1e6:.0f}"
                                                  for st in STAGES) + " |")
    print("\n(In brackets: the stage's tasks, partitions or rounds, from the report's engine.tasks.)\n")
    for s in args.shares:
        shutil.rmtree(work / f"share-{s}")


def ranges_part(args: argparse.Namespace, node: Node, work: Path) -> None:
    size = args.ranges_docs
    print(f"## Driver memory against the number of ranges ({size:,} documents, {args.dup_share:.0%} edited "
          f"copies, {args.shards} shards; one run each)\n")
    corpus = make_corpus(size, args.dup_share, args.shards, work / "ranges")
    print("| --split-bytes | map tasks | shuffle partitions | driver peak RSS MiB | anon / shared MiB | driver "
          "after start-up / after map / after write / with the report MiB | driver CPU s | wall s | object store "
          "peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for split in args.range_splits:
        r = run_ray(corpus, node, work, split)
        tasks = r.report["engine"]["tasks"]
        phases = r.driver_by_stage or {}
        print(f"| {split:,} | {tasks['map']} | {tasks['shuffle']} | {r.usage.peak_rss_mb:.0f} | "
              f"{r.usage.peak_anon_mb:.0f} / {r.usage.peak_shmem_mb:.0f} | "
              + " / ".join(f"{phases.get(p, 0.0):.0f}" for p in ("start-up", "map", "write", "report"))
              + f" | {r.usage.cpu_seconds:.1f} | {r.usage.seconds:.1f} | {r.store_mb:.0f} |")
    print()
    shutil.rmtree(work / "ranges")


def shuffle_part(args: argparse.Namespace, node: Node) -> None:
    print(f"## A driver's memory over one Ray Data shuffle, outside dedupe ({args.probe_rows:,} rows per block; "
          "the engine's shuffle settings)\n")
    print("| input blocks | groupby(part).map_groups MiB | repartition(4), then the same, MiB | map_batches only MiB |")
    print("|---|---|---|---|")
    for n in args.probe_blocks:
        grown = [probe(node, n, args.probe_rows, v, BASE_ENV)["grown_mb"] for v in ("groupby", "repartition", "map")]
        print(f"| {n} | " + " | ".join(f"{g:.0f}" for g in grown) + " |")
    print()


def fixed_cost(node: Node, work: Path, runs: int) -> None:
    seeds = Corpus([SEEDS], 2, 0, 0.0)
    times = [run_ray(seeds, node, work, 0, "seeds").usage.seconds for _ in range(runs)]
    print(f"Fixed cost (the 2 seed articles, connected to the running cluster): {spread(times)} s.\n")


def per_document(corpus: Corpus, report: dict[str, Any]) -> dict[str, float]:
    from dedupe.config import DedupeConfig
    from dedupe.features.batch import compute_features
    from dedupe.io.records import Record, read_records

    config = DedupeConfig()
    bands = config.bands_rows[0]
    shingles = ids = docs = indexed = text = 0
    batch: list[Record] = []

    def flush() -> None:
        nonlocal shingles, indexed
        hashes = compute_features([r.text for r in batch], config)[0]
        lengths = np.diff(hashes.offsets)
        shingles += int(lengths.sum())
        indexed += int(np.count_nonzero(lengths))
        batch.clear()

    for record in read_records([str(p) for p in corpus.paths]):
        if not isinstance(record, Record):
            continue
        docs += 1
        ids += len(record.id.encode())
        text += len(record.text.encode())
        batch.append(record)
        if len(batch) == 2048:
            flush()
    flush()
    counts = report["counts"]
    return {
        "docs": docs,
        "text_bytes": text / docs,
        "bands": bands,
        "indexed": indexed / docs,
        "key_rows": indexed * bands / docs,
        "shingle_bytes": 8 * shingles / docs,
        "id_bytes": ids / docs,
        "candidates": counts["lsh_candidates"] / docs,
        "duplicates": counts["duplicates"] / docs,
        "clustered": in_clusters(report) / docs,
        "clusters": counts["clusters"] / docs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("stages", "memory", "ranges", "shuffle", "all"), default="all",
                        help="all: stages and memory")
    parser.add_argument("--sizes", default="100000,1000000", help="documents per corpus of the stages part")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large-runs", type=int, default=1, help="rounds for a corpus of 1M documents or more")
    parser.add_argument("--dup-share", type=float, default=0.05, help="edited copies in the stages part")
    parser.add_argument("--stream-workers", default="2", help="--workers of the streaming runs (comma-separated)")
    parser.add_argument("--memory-docs", type=int, default=100_000)
    parser.add_argument("--shares", default="0.0075,0.04,0.16", help="edited copies in the memory part")
    parser.add_argument("--split-bytes", type=int, default=16 << 20)
    parser.add_argument("--ranges-docs", type=int, default=1_000_000)
    parser.add_argument("--probe-blocks", default="50,200,400,800", help="input blocks of the shuffle part")
    parser.add_argument("--probe-rows", type=int, default=1500, help="rows per block of the shuffle part")
    parser.add_argument("--range-splits", default=f"{64 << 20},{16 << 20},{1 << 20}",
                        help="--split-bytes of the ranges part (comma-separated)")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--store-mb", type=int, default=2048, help="object store per node")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the cluster on the way out
    args.sizes = [int(x) for x in args.sizes.split(",")]
    args.shares = [float(x) for x in args.shares.split(",")]
    args.stream_workers = [int(x) for x in args.stream_workers.split(",") if x]
    args.range_splits = [int(x) for x in args.range_splits.split(",")]
    args.probe_blocks = [int(x) for x in args.probe_blocks.split(",")]
    print("# Engines: the Ray engine on a two-node cluster\n")
    print(f"machine: {machine_line()}; load average at start "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; date {time.strftime('%Y-%m-%d')}; "
          f"command: `{command_line()}`\n")
    with tempfile.TemporaryDirectory(prefix="dedupe-engines-") as tmp:
        work = Path(tmp)
        with nodes(work, count=2, cpus=1, object_store_mb=args.store_mb) as node:
            print(f"cluster: 2 nodes (`ray start --block`), 1 CPU and {args.store_mb} MiB of object store each\n")
            if args.part in ("stages", "all"):
                stages_part(args, node, work)
            if args.part in ("memory", "all"):
                memory_part(args, node, work)
            if args.part == "ranges":
                ranges_part(args, node, work)
            if args.part == "shuffle":
                shuffle_part(args, node)
    print(f"load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
