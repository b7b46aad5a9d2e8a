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

4. In process (a subprocess of its own, so that matplotlib is not yet imported), from the annotated output of
   the last scan: the parts of the page's cost, timed one by one: keeping the display copies
   (`Examples.add` for every record), importing matplotlib (`dedupe.report.plots`), and `htmlreport.render`.
"""

from __future__ import annotations

import argparse
import json
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
    """Bytes of the page by part: plots (all SVG data: images), largest clusters, passages, the rest."""
    size = lambda s: len(s.encode("utf-8"))  # noqa: E731
    plot = re.compile(r'<img class="plot"[^>]*>')
    end = page.index('<h2 id="rejected">') if '<h2 id="rejected">' in page else page.index("<footer>")
    start = page.index('<h2 id="passages">') if '<h2 id="passages">' in page else end
    clusters = page[page.index('<h2 id="clusters">'):start]
    passages = page[start:end]
    out = {"total": size(page), "plots": sum(size(m) for m in plot.findall(page)),
           "largest clusters (text)": size(plot.sub("", clusters)), "passages (text)": size(plot.sub("", passages))}
    out["rest"] = out["total"] - sum(v for k, v in out.items() if k != "total")
    return out


BREAKDOWN = """
import sys, time, json
from dedupe.report.copies import AnnotationClusters, Examples, result_of
from dedupe.io.records import read_records
from dedupe.report.annotated import annotated_report
results = [result_of(r) for r in read_records([sys.argv[1]], "text", "id")]
given = json.load(open(sys.argv[2]))
t = time.perf_counter(); ex = Examples()
for r in results: ex.add(r)
copies = time.perf_counter() - t; ex.close()
report, examples, clusters = annotated_report([sys.argv[1]], run_report=given)
t = time.perf_counter(); import dedupe.report.plots; imported = time.perf_counter() - t
from dedupe.report.html import render
t = time.perf_counter(); page = render(report, examples, clusters); rendered = time.perf_counter() - t
print(json.dumps({"records": len(results), "copies": copies, "import": imported, "render": rendered}))
"""


def breakdown(annotated: Path, run_report: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", BREAKDOWN, str(annotated), str(run_report)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="reuters", choices=sorted(CORPORA))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--passages", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the pages and reports in this directory")
    args = ap.parse_args()
    corpus = os.path.relpath(CORPORA[args.corpus])
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
        parts_timed = [breakdown(annotated, d / "r.json") for _ in range(args.runs)]
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
        n = parts_timed[0]["records"]
        copies = statistics.median(p["copies"] for p in parts_timed)
        print("| part of the page's cost (in process, median) | seconds |")
        print("|---|---|")
        print(f"| display copies of {n:,} records (Examples.add) | {copies:.2f} ({copies / n * 1e6:.1f} µs per record) |")
        print(f"| import matplotlib (dedupe.report.plots) | {statistics.median(p['import'] for p in parts_timed):.2f} |")
        print(f"| render the page (plots, diffs, HTML) | {statistics.median(p['render'] for p in parts_timed):.2f} |")
        print()
        print("| part of the page | bytes |")
        print("|---|---|")
        for k, v in sizes.items():
            print(f"| {k} | {v:,} |")
        print(f"\nbudget 5 MB: {'within' if sizes['total'] < 5_000_000 else 'OVER'} "
              f"({sizes['total'] / 5_000_000:.1%} of it)")


if __name__ == "__main__":
    main()
