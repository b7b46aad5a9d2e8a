"""The HTML report on a real corpus: page size (against the 5 MB budget), what it costs a run, and `dedupe report`.

    .venv/bin/python benchmarks/report.py [--corpus reuters] [--runs 3] [--passages] [--keep DIR]

Each measurement is a `python -m dedupe` subprocess over the gzipped corpus in ../shared/data, timed from
outside (wall clock, median (min-max) of RUNS, one run after the other, nothing else running):

1. `scan CORPUS --report r.json > annotated.jsonl` (the baseline);
2. `scan CORPUS --report r.json --report r.html > annotated.jsonl`: the difference to 1 is what the page
   costs a run (the display copies written while the run goes, the plots and the page at the end);
3. `report annotated.jsonl --run-report r.json -o later.html`: the page built afterwards from the output.

With --passages the scans add --passages (about a minute per run on Reuters with one worker).
The page's size is broken down into plots (SVG data: URLs), largest clusters, passages and the rest.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import CORPORA, command_line, machine_line


def timed(args: list[str], stdout: Path | None = None) -> float:
    start = time.perf_counter()
    with open(stdout or os.devnull, "wb") as out:
        subprocess.run([sys.executable, "-m", "dedupe", *args], stdout=out, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def parts(page: str) -> dict[str, int]:
    size = lambda s: len(s.encode("utf-8"))  # noqa: E731
    plots = sum(size(m) for m in re.findall(r'<img class="plot"[^>]*>', page))
    clusters = size(page[page.index('<h2 id="clusters">'):page.index("<footer>")])
    passages = 0
    if '<h2 id="passages">' in page:
        start = page.index('<h2 id="passages">')
        end = page.index('<h2 id="rejected">') if '<h2 id="rejected">' in page else page.index("<footer>")
        passages = size(page[start:end])
        clusters -= passages
    total = size(page)
    return {"total": total, "plots": plots, "largest clusters": clusters,
            "passages (without plots)": passages - sum(size(m) for m in re.findall(r'<img class="plot"[^>]*>',
                                                                              page[page.find('<h2 id="passages">'):]))
            if passages else 0,
            "rest": total - plots - clusters - passages}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="reuters", choices=sorted(CORPORA))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--passages", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the pages and reports in this directory")
    args = ap.parse_args()
    corpus = str(CORPORA[args.corpus])
    extra = ["--passages"] if args.passages else []
    with tempfile.TemporaryDirectory() as tmp:
        d = args.keep or Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        annotated = d / "annotated.jsonl"
        base, both, later = [], [], []
        for _ in range(args.runs):
            base.append(timed(["scan", corpus, *extra, "--report", str(d / "r.json")], annotated))
            both.append(timed(["scan", corpus, *extra, "--report", str(d / "r.json"), "--report",
                               str(d / "report.html")], annotated))
            later.append(timed(["report", str(annotated), "--run-report", str(d / "r.json"), "-o",
                                str(d / "later.html")]))
        page = (d / "report.html").read_text()
        sizes = parts(page)
        print(f"# HTML report, {args.corpus}{' --passages' if args.passages else ''}")
        print(f"machine: {machine_line()}")
        print(f"command: {command_line()}")
        print(f"date: {time.strftime('%Y-%m-%d')}")
        print(f"runs: {args.runs}")
        print()
        print("| run | wall time |")
        print("|---|---|")
        print(f"| scan --report r.json | {summary(base)} |")
        print(f"| scan --report r.json --report r.html | {summary(both)} |")
        print(f"| page cost during the run (median difference) | "
              f"{statistics.median(b - a for a, b in zip(base, both)):.2f} s |")
        print(f"| report annotated.jsonl --run-report r.json (afterwards) | {summary(later)} |")
        print()
        print("| part of the page | bytes |")
        print("|---|---|")
        for k, v in sizes.items():
            print(f"| {k} | {v:,} |")
        print(f"\nbudget 5 MB: {'within' if sizes['total'] < 5_000_000 else 'OVER'} "
              f"({sizes['total'] / 5_000_000:.1%} of it)")


if __name__ == "__main__":
    main()
