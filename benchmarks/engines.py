"""The Ray engine against the streaming engine on one machine, and the per-document figures of docs/scaling.md.

    .venv/bin/python benchmarks/engines.py [--runs 3] [--shards 8] [--corpus reuters|bbc]

The corpus is split into ``--shards`` plain JSONL files (as a sharded crawl arrives). Then, for a Ray
cluster of this machine with 1 CPU and with 2 CPUs (``ray start --head --num-cpus N --block``, started
and stopped by this script), each round runs, interleaved:

  a. stream-w1   `dedupe scan SHARDS --output DIR --report R`            (the streaming engine, 1 process)
  b. stream-wN   the same with `--workers N` (N = the cluster's CPUs; skipped for N = 1)
  c. ray         `dedupe scan --engine ray SHARDS --output DIR --report R` with RAY_ADDRESS set

Reported: the median wall-clock seconds of the whole process over ``--runs`` rounds (min-max), docs/s,
the ratio to stream-w1 measured in the same rounds, and the Ray run's stage timings (from its report).
Both engines' shards are compared byte for byte after every round. The input is the corpus plus ``--copies - 1``
copies with each text's words shuffled (default 5 in all: 107,890 Reuters documents), so that the fixed cost of a
Ray job does not hide its throughput.

Fixed cost: `--engine ray` on the two seed articles, connected to the running cluster (job set-up and
tear-down, no work), and without RAY_ADDRESS (it starts and stops a local Ray itself).

Per-document figures (for docs/scaling.md): band keys, stored shingle hashes, ids, candidate pairs,
verified pairs and records involved in a pair, from the Ray run's report and the features of the corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _common import CORPORA, command_line, cpu_model, open_jsonl  # noqa: E402
from _runner import run_measured  # noqa: E402
from raycluster import ENV, cluster  # noqa: E402

ROOT = HERE.parent
SEEDS = ROOT / "seeds" / "seeds.jsonl"


def split(corpus: Path, shards: int, into: Path, copies: int) -> tuple[list[Path], int]:
    """The corpus plus ``copies - 1`` copies whose texts have their words shuffled (seeded: the same lengths and
    words, next to no shared 5-gram, so the work per document is like the original's), in ``shards`` files."""
    import random

    import orjson

    with open_jsonl(corpus) as fh:
        lines = [line.rstrip(b"\r\n") + b"\n" for line in fh if line.strip()]
    rng = random.Random(1)
    originals = list(lines)
    for copy in range(1, copies):
        for line in originals:
            obj = orjson.loads(line)
            words = obj["text"].split()
            rng.shuffle(words)
            obj["id"] = f"{obj['id']}-shuffled-{copy}"
            obj["text"] = " ".join(words)
            lines.append(orjson.dumps(obj) + b"\n")
    paths = []
    for k in range(shards):
        path = into / f"shard-{k:02d}.jsonl"
        path.write_bytes(b"".join(lines[k * len(lines) // shards : (k + 1) * len(lines) // shards]))
        paths.append(path)
    return paths, len(lines)


def scan(inputs: list[Path], out: Path, report: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dedupe", "scan", *map(str, inputs), "--output", str(out), "--report", str(report),
            *extra]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        return run_measured(cmd).seconds
    finally:
        os.environ.clear()
        os.environ.update(saved)


def same_shards(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names)


def per_document(paths: list[Path], report: dict) -> dict[str, float]:
    from dedupe.config import DedupeConfig
    from dedupe.features.batch import compute_features
    from dedupe.io.records import Record, read_records

    config = DedupeConfig()
    bands = config.bands_rows[0]
    shingles = ids = docs = indexed = 0
    batch: list[Record] = []

    def flush() -> None:
        nonlocal shingles, indexed
        hashes = compute_features([r.text for r in batch], config)[0]
        lengths = np.diff(hashes.offsets)
        shingles += int(lengths.sum())
        indexed += int(np.count_nonzero(lengths))
        batch.clear()

    for record in read_records([str(p) for p in paths]):
        docs += 1
        ids += len(record.id.encode())
        batch.append(record)
        if len(batch) == 2048:
            flush()
    flush()
    counts = report["counts"]
    edges = sum(c["size"] - 1 for c in report["clusters"])
    involved = sum(c["size"] for c in report["clusters"])
    return {
        "docs": docs,
        "bands": bands,
        "indexed": indexed / docs,
        "key_rows": indexed * bands / docs,
        "shingle_bytes": 8 * shingles / docs,
        "id_bytes": ids / docs,
        "candidates": counts["lsh_candidates"] / docs,
        "clustered": involved / docs,
        "cluster_links": edges / docs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="reuters")
    parser.add_argument("--copies", type=int, default=5, help="the corpus plus copies-1 word-shuffled copies")
    args = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | ENV
    print(f"# Engines: {args.corpus} + {args.copies - 1} word-shuffled copies, {args.shards} shards, "
          f"{args.runs} run(s)\n")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; date {time.strftime('%Y-%m-%d')}; "
          f"command: `{command_line()}`\n")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths, docs = split(CORPORA[args.corpus], args.shards, work, args.copies)
        last_report: dict = {}
        print("| cluster CPUs | contender | median s | min-max s | docs/s | ratio to stream-w1 |")
        print("|---|---|---|---|---|---|")
        stages: dict[int, list[dict]] = {}
        for cpus in (1, 2):
            with cluster(work, nodes=1, cpus=cpus, object_store_mb=1024) as running:
                ray_env = base_env | {"RAY_ADDRESS": running.address}
                contenders = {"stream-w1": (scan(paths, work / "s1", work / "s1.json"), base_env)}
                if cpus > 1:
                    contenders[f"stream-w{cpus}"] = (scan(paths, work / "s2", work / "s2.json", "--workers",
                                                          str(cpus)), base_env)
                contenders["ray"] = (scan(paths, work / "r", work / "r.json", "--engine", "ray"), ray_env)
                timed(contenders["ray"][0], ray_env)  # warm-up: the first job on a fresh cluster starts workers
                times: dict[str, list[float]] = {name: [] for name in contenders}
                for k in range(args.runs):
                    names = list(contenders)
                    names = names[k % len(names):] + names[: k % len(names)]
                    for name in names:
                        cmd, env = contenders[name]
                        times[name].append(timed(cmd, env))
                    if not same_shards(work / "s1", work / "r"):
                        raise SystemExit("the engines wrote different shards")
                    stages.setdefault(cpus, []).append(json.loads((work / "r.json").read_text())["timings"]["ray"])
                base = statistics.median(times["stream-w1"])
                for name, ts in times.items():
                    med = statistics.median(ts)
                    print(f"| {cpus} | {name} | {med:.2f} | {min(ts):.2f}-{max(ts):.2f} | {docs / med:,.0f} | "
                          f"{base / med:.2f} |")
                if cpus == 1:
                    fixed = [timed([sys.executable, "-m", "dedupe", "scan", "--engine", "ray", str(SEEDS), "--output",
                                    str(work / "seeds-out")], ray_env) for _ in range(args.runs)]
                    local = [timed([sys.executable, "-m", "dedupe", "scan", "--engine", "ray", str(SEEDS), "--output",
                                    str(work / "seeds-local")], base_env) for _ in range(args.runs)]
                last_report = json.loads((work / "r.json").read_text())
        print(f"\nFixed cost (2 seed articles): connected to a running cluster {statistics.median(fixed):.2f} s "
              f"(min-max {min(fixed):.2f}-{max(fixed):.2f}); starting a local Ray {statistics.median(local):.2f} s "
              f"({min(local):.2f}-{max(local):.2f}); the streaming engine on the same input takes about 0.3 s.\n")
        print("Ray stage seconds (median over the rounds):\n")
        print("| cluster CPUs | " + " | ".join(stages[1][0]["stage_seconds"]) + " |")
        print("|---|" + "---|" * len(stages[1][0]["stage_seconds"]))
        for cpus, rounds in stages.items():
            names = rounds[0]["stage_seconds"]
            print(f"| {cpus} | " + " | ".join(f"{statistics.median(r['stage_seconds'][n] for r in rounds):.2f}"
                                               for n in names) + " |")
        figures = per_document(paths, last_report)
        print("\nPer-document figures:\n")
        for key, value in figures.items():
            print(f"- {key}: {value:,.4g}")


if __name__ == "__main__":
    main()
