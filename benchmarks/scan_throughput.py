"""End-to-end throughput of `dedupe scan` on real corpora, median of several runs.

    .venv/bin/python benchmarks/scan_throughput.py [--runs 5] [--workers 1 2] [corpus.jsonl.gz ...]

Each run is a fresh `python -m dedupe scan` subprocess (JSONL in, annotated
JSONL out to /dev/null, default options) so start-up, reading, decompression
and writing are included. Runs of the different worker counts are
interleaved. Throughput is input records and UTF-8 megabytes of text per
wall-clock second of the whole process; duplicates come from the JSON report;
peak RSS is the main process's (worker processes hold no index).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT = [DATA / "reuters21578.jsonl.gz", DATA / "bbc.jsonl.gz"]


def run_once(corpus: Path, workers: int, extra: list[str]) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "dedupe", "scan", str(corpus), "--workers", str(workers),
               "--report", str(report), *extra]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}")
        result = json.loads(report.read_text())
        result["peak_rss_mb"] = usage.ru_maxrss / 1024  # main process (kilobytes on Linux)
        return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpora", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more options for dedupe scan")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{time.strftime('%Y-%m-%d')}; median (min-max) of {args.runs} runs")
    print("| corpus | workers | records | duplicates | text MB | seconds | docs/s | MB/s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for corpus in args.corpora:
        times: dict[int, list[float]] = {w: [] for w in args.workers}
        reports: dict[int, dict] = {}
        for _ in range(args.runs):
            for w in args.workers:
                seconds, reports[w] = run_once(corpus, w, args.extra)
                times[w].append(seconds)
        for w in args.workers:
            c, mb = reports[w]["counts"], reports[w]["timings"]["text_megabytes"]
            t = times[w]
            med = statistics.median(t)
            print(f"| {corpus.name} | {w} | {c['input']:,} | {c['duplicates']:,} | {mb:.1f} | "
                  f"{med:.2f} ({min(t):.2f}-{max(t):.2f}) | {c['input'] / med:,.0f} "
                  f"({c['input'] / max(t):,.0f}-{c['input'] / min(t):,.0f}) | {mb / med:.2f} "
                  f"({mb / max(t):.2f}-{mb / min(t):.2f}) | {reports[w]['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
