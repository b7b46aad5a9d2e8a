"""What the bucket cap (--bucket-cap) costs and saves: scan speed and candidates per cap, and a giant bucket.

    .venv/bin/python benchmarks/bucket_cap.py [--caps 0 1 4 16 64] [--runs 5] [--giant 20000] [--timeout 120]

1. Reuters-21578: ``dedupe scan reuters21578.jsonl.gz --bucket-cap N --report r.json > /dev/null`` for each
   cap, ``--runs`` rounds with the caps interleaved (so host noise spreads over all of them); wall time of the
   subprocess (median, min-max), the report's LSH candidates, duplicates and clusters, and whether the output
   equals the uncapped one byte for byte.
2. Giant buckets: ``--giant`` records that all hold the same short text, so every band key of every record
   is one bucket; and as many near copies (the same 16 words plus one word of their own: exact Jaccard
   12/14 = 0.86 between any two, so they are duplicates of one another and most of their band keys are shared).
   Scanned with each cap; a run still going after ``--timeout`` seconds is killed, and the records it had
   written by then are counted.

Quality against exact ground truth is ``benchmarks/quality.py --bucket-cap N``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPORA, command_line, machine_line, today  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEDUPE = [sys.executable, "-m", "dedupe"]


def scan(path: Path, cap: int, out: Path, report: Path, timeout: float | None = None) -> tuple[float, bool]:
    """Run one scan; (wall seconds, finished before the timeout)."""
    cmd = [*DEDUPE, "scan", str(path), "--bucket-cap", str(cap), "--report", str(report)]
    with open(out, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.PIPE, cwd=ROOT)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return time.perf_counter() - start, False
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed (exit {proc.returncode}): {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return seconds, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--caps", nargs="+", type=int, default=[0, 1, 4, 16, 64])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--giant", type=int, default=20_000, help="records in the giant-bucket case (0: skip it)")
    parser.add_argument("--giant-caps", nargs="+", type=int, default=None,
                        help="caps for the giant bucket (default: --caps)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a giant-bucket run is killed")
    args = parser.parse_args()
    corpus = CORPORA["reuters"]
    print(f"- machine: {machine_line()}\n- date: {today()}\n- command: `{command_line()}`\n", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        times: dict[int, list[float]] = {cap: [] for cap in args.caps}
        reports: dict[int, dict] = {}
        outputs: dict[int, bytes] = {}
        for run in range(args.runs):
            for cap in args.caps:
                out, report = work / f"out-{cap}.jsonl", work / f"r-{cap}.json"
                seconds, _ = scan(corpus, cap, out, report)
                times[cap].append(seconds)
                reports[cap] = orjson.loads(report.read_bytes())
                outputs[cap] = out.read_bytes()
                print(f"run {run + 1}, cap {cap}: {seconds:.2f} s", file=sys.stderr, flush=True)
        base = outputs.get(0)
        print(f"Reuters-21578 ({corpus.name}), `dedupe scan --bucket-cap N`, {args.runs} runs per cap, interleaved:\n")
        print("| cap | wall seconds, median (min-max) | LSH candidates | duplicates | clusters | output = uncapped |")
        print("|---|---|---|---|---|---|")
        for cap in args.caps:
            t, c = times[cap], reports[cap]["counts"]
            same = "n/a" if base is None else ("yes" if outputs[cap] == base else "NO")
            print(f"| {cap} | {statistics.median(t):.2f} ({min(t):.2f}-{max(t):.2f}) | {c['lsh_candidates']:,} | "
                  f"{c['duplicates']:,} | {c['clusters']:,} | {same} |")
        print(flush=True)

        page = "Page not found. Please try again later or return to the home page of this site."
        cases = {"same text": lambda k: page, "near copies": lambda k: f"{page} ref{k}"}
        for kind, text in cases.items() if args.giant else ():
            giant = work / "giant.jsonl"
            with open(giant, "wb") as f:
                for k in range(args.giant):
                    f.write(orjson.dumps({"id": f"g{k}", "text": text(k)}) + b"\n")
            print(f"Giant bucket, {kind}: {args.giant:,} records, killed after {args.timeout:.0f} s:\n")
            print("| cap | wall seconds | finished | records written | LSH candidates | duplicates |")
            print("|---|---|---|---|---|---|")
            for cap in args.giant_caps if args.giant_caps is not None else args.caps:
                out, report = work / f"giant-{cap}.jsonl", work / f"giant-{cap}.json"
                seconds, done = scan(giant, cap, out, report, args.timeout)
                written = out.read_bytes().count(b"\n")
                counts = orjson.loads(report.read_bytes())["counts"] if done else None
                shown = (["n/a", "n/a"] if counts is None
                         else [f"{counts[k]:,}" for k in ("lsh_candidates", "duplicates")])
                print(f"| {cap} | {seconds:.1f} | {'yes' if done else 'no (killed)'} | {written:,} | "
                      f"{shown[0]} | {shown[1]} |", flush=True)
                if os.path.exists(report):
                    os.remove(report)
            print(flush=True)


if __name__ == "__main__":
    main()
