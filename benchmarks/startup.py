"""Start-up time: `dedupe scan </dev/null` (nothing to read), against importing datasketch alone.

    .venv/bin/python benchmarks/startup.py [--runs 15]

Each run is a fresh subprocess with stdin from /dev/null and output to /dev/null, timed from just before
``Popen`` to the return of ``os.wait4``; runs of the contenders are interleaved. Contenders:

  a. dedupe scan       `python -m dedupe scan` (imports the CLI, reads nothing, writes the summary)
  b. python            `python -c pass` (the interpreter's own start-up, the floor)
  c. import datasketch `python -c "import datasketch"` (what a datasketch pipeline pays before any work)

Byte-compiled files are written and used (PYTHONDONTWRITEBYTECODE is cleared for the children), as an
installed package has them. Reported: median and min-max seconds per contender.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import ROOT, header_lines, spread  # noqa: E402

CONTENDERS = {
    "dedupe scan": [sys.executable, "-m", "dedupe", "scan"],
    "python": [sys.executable, "-c", "pass"],
    "import datasketch": [sys.executable, "-c", "import datasketch"],
}


def timed(cmd: list[str], env: dict[str, str]) -> float:
    with open(os.devnull, "rb") as stdin, open(os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=out, cwd=ROOT, env=env)
        _, status, _ = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for cmd in CONTENDERS.values():  # warm up: byte-compile, fill the page cache
        timed(cmd, env)
    seconds: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    names = list(CONTENDERS)
    for i in range(args.runs):
        for name in names[i % len(names):] + names[: i % len(names)]:
            seconds[name].append(timed(CONTENDERS[name], env))
    lines = ["## Start-up", ""] + header_lines(["datasketch", "numpy", "typer"])
    lines += ["", "| contender | seconds median (min-max) |", "|---|---|"]
    lines += [f"| {name} | {spread(values, '.3f')} |" for name, values in seconds.items()]
    lines += ["", f"(median of {args.runs} interleaved runs; dedupe scan minus python: "
              f"{statistics.median(seconds['dedupe scan']) - statistics.median(seconds['python']):.3f} s)"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
