"""Interleaved A/B timing of `dedupe scan` from two source trees (a change against the commit before it).

Each round runs every (tree, workers) pair once, alternating, so both trees see the same machine load;
the medians over the rounds are compared. The trees are put first on PYTHONPATH, so the same venv serves both.

    git worktree add /tmp/before COMMIT
    .venv/bin/python benchmarks/compare.py --before /tmp/before [--rounds 7] [--corpus reuters|bbc]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import CORPORA

HERE = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="source tree of the earlier version (a git worktree)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="reuters")
    args = parser.parse_args()
    trees = {"before": Path(args.before).resolve(), "after": HERE}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            for workers in ("1", "2"):
                env = dict(os.environ, PYTHONPATH=str(tree))
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "dedupe", "scan", str(CORPORA[args.corpus]), "-w", workers],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tree, check=True)
                times.setdefault((name, workers), []).append(time.perf_counter() - start)
    print(f"| tree | workers | median s | min s | max s | ({args.corpus}, {args.rounds} interleaved rounds)")
    print("|---|---|---|---|---|")
    for (name, workers), values in sorted(times.items()):
        print(f"| {name} | {workers} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")


if __name__ == "__main__":
    main()
