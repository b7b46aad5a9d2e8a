"""Where the CPU of `dedupe scan` goes: the main process against its feature workers.

    .venv/bin/python benchmarks/cpu_split.py [--runs 3] [--workers 1 2] [FILE ...]

With `--workers 2` the main process reads lines, matches and writes while a worker process parses lines and
computes the features; the run takes at least the larger of the two. Each run is a fresh subprocess of this
script that runs the command line in process (`dedupe.cli.app.main`, output to /dev/null) and reports its own
CPU time (`RUSAGE_SELF`: the main process, its threads included, start-up included) and that of its
finished children (`RUSAGE_CHILDREN`: the feature workers). With `--workers 1` the helper thread's CPU is
part of the main process's. Medians over the runs, interleaved across files and worker counts.

Default inputs: Reuters-21578 (from ../shared/data) and the first 100,000 documents of the tiled corpus of
scale.py (built as scale.py builds it when missing).

It also measures what two processes get from this machine at all (the parallel ceiling, `--ceiling-runs`, 0 to
skip): the feature work alone (`parse_and_featurize` over the first 20,000 lines of the first input, three times)
in one process, then in two processes started together. The ceiling is 2 x (one alone) / (the later of the two
together): 2.0 on two free cores, less where the two virtual cores share a physical one or the host is busy.
No way of splitting the work between two processes scales beyond it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import DATA, ROOT, header_lines  # noqa: E402
from scale import build_corpora, corpus_path  # noqa: E402

TILED = corpus_path(100_000)



def child(workers: int, path: str) -> None:
    """Run the command line here and print wall seconds, main CPU, workers' CPU."""
    sys.argv = ["dedupe", "scan", "--workers", str(workers), path]
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- the run's data output, closed at exit
    start = time.perf_counter()
    from dedupe.cli.app import main

    try:
        main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    wall = time.perf_counter() - start
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime
    other = children.ru_utime + children.ru_stime
    print(f"{wall:.4f} {cpu:.4f} {other:.4f}", file=sys.__stdout__)


def burn(path: str) -> None:
    """The feature work on the first 20,000 lines of ``path``, three times; print the wall seconds."""
    import itertools

    from dedupe.config import DedupeConfig
    from dedupe.features.batch import parse_and_featurize
    from dedupe.io.records import open_input

    fh, _ = open_input(path)  # the CLI's reader (.gz too)
    with fh:
        lines = [line.rstrip(b"\n") for line in itertools.islice(fh, 20_000)]
    config = DedupeConfig()
    meta = (list(range(len(lines))), [path] * len(lines), list(range(len(lines))))
    start = time.perf_counter()
    for _ in range(3):
        for k in range(0, len(lines), 1024):
            parse_and_featurize(lines[k : k + 1024], tuple(m[k : k + 1024] for m in meta), ("text", "id"),
                                config, None)
    print(f"{time.perf_counter() - start:.4f}")


def ceiling(path: str, runs: int) -> tuple[float, float, float, list[float]]:
    """(median seconds alone, median seconds of the later of two together, ceiling, each run's ceiling)."""
    alone, together, ratios = [], [], []
    cmd = [sys.executable, __file__, "--burn", path]
    for i in range(runs):
        one = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        a = float(one.stdout)
        procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        b = max(float(p.communicate()[0]) for p in procs)
        alone.append(a)
        together.append(b)
        ratios.append(2 * a / b)
        print(f"  [ceiling {i + 1}/{runs}] alone {a:.2f} s, two together {b:.2f} s: {2 * a / b:.2f}x",
              file=sys.stderr, flush=True)
    a, b = statistics.median(alone), statistics.median(together)
    return a, b, statistics.median(ratios), ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ceiling-runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--burn", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1])
        return
    if args.burn:
        burn(args.burn)
        return
    files = args.files or [str(DATA / "reuters21578.jsonl.gz"), str(TILED)]
    if not args.files and not TILED.exists():
        build_corpora([100_000])
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    for i in range(args.runs):
        for path in files:
            for workers in args.workers:
                out = subprocess.run([sys.executable, __file__, "--child", str(workers), path], cwd=ROOT,
                                     capture_output=True, text=True, check=True)
                wall, cpu, other = map(float, out.stdout.split())
                results.setdefault((path, workers), []).append((wall, cpu, other))
                print(f"  [run {i + 1}/{args.runs}] {Path(path).name} -w {workers}: {wall:.2f} s, main {cpu:.2f} "
                      f"CPU-s, workers {other:.2f} CPU-s", file=sys.stderr, flush=True)
    lines = ["## CPU of the main process and the feature workers", "", *header_lines(["numpy", "orjson"]), "",
             "| input | workers | wall s | main process CPU s | feature workers CPU s |", "|---|---|---|---|---|"]
    for (path, workers), rows in results.items():
        wall, cpu, other = (statistics.median(r[k] for r in rows) for k in range(3))
        lines.append(f"| {Path(path).name} | {workers} | {wall:.2f} | {cpu:.2f} | {other:.2f} |")
    if args.ceiling_runs:
        a, b, ratio, ratios = ceiling(files[0], args.ceiling_runs)
        lines += ["", f"Parallel ceiling ({Path(files[0]).name}, first 20,000 lines, features three times; "
                  f"{args.ceiling_runs} runs): one process alone {a:.2f} s, the later of two together {b:.2f} s: "
                  f"{ratio:.2f}x (runs: {', '.join(f'{r:.2f}' for r in ratios)})"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
