"""Helpers for speed.py and scale.py: timed subprocesses with peak RSS, header lines, formatting.

Every measured run is a fresh subprocess. Wall time runs from just before ``Popen`` to the
return of ``os.wait4``. The peak RSS is ``ru_maxrss`` from the rusage that ``os.wait4``
returns. On Linux that is the largest resident set of the child or of any descendant it
waited for (``--workers N`` pool processes). It is a maximum, not a sum. A child also
inherits the PEAK RSS of the process that spawns it as the floor of its own ru_maxrss (Linux
records the old address space's high-water mark at exec), so the benchmark process itself
must stay small: run_measured warns when a child's figure is not clearly above that floor.
"""

from __future__ import annotations

import gzip
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from _common import DATA, command_line, cpu_model, open_jsonl  # noqa: E402,F401  (re-exported)

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float  # MiB (ru_maxrss is in KiB on Linux)


def run_measured(cmd: list[str], stdout: str = os.devnull, cwd: Path = ROOT) -> Measurement:
    """Run ``cmd`` with stdout sent to the path ``stdout``. Stop the script with stderr shown if it fails."""
    with open(stdout, "wb") as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")[-3000:]
            raise SystemExit(f"failed (exit {proc.returncode}): {shlex.join(cmd)}\n{tail}")
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if usage.ru_maxrss / 1024 < 1.2 * floor:
        print(f"warning: peak RSS {usage.ru_maxrss / 1024:.0f} MB of {shlex.join(cmd[:4])} ... is near the "
              f"benchmark process's own peak ({floor:.0f} MB), which a child inherits as a floor",
              file=sys.stderr, flush=True)
    return Measurement(seconds, usage.ru_maxrss / 1024)


def dedupe_cmd(path: Path, workers: int, report: Path) -> list[str]:
    return [sys.executable, "-m", "dedupe", "scan", str(path), "--workers", str(workers), "--report", str(report)]


def corpus_stats(path: Path) -> tuple[int, int]:
    """(records, UTF-8 bytes of the text fields) of a JSONL file (blank lines skipped)."""
    docs = nbytes = 0
    with open_jsonl(path) as fh:
        for line in fh:
            if line.strip():
                docs += 1
                nbytes += len(orjson.loads(line)["text"].encode("utf-8"))
    return docs, nbytes


def _version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return "not installed"


def _git() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "dedupe"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return f"{head}{' + uncommitted changes in dedupe/' if dirty else ''}" if head else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def header_lines(packages: list[str]) -> list[str]:
    cpu = cpu_model()
    mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    versions = ", ".join(f"{p} {_version(p)}" for p in packages)
    return [
        f"- machine: {platform.platform()}, {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; load average at start {load}",
        f"- Python {platform.python_version()} ({sys.executable}); {versions}",
        f"- dedupe code: git {_git()}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- command: `{command_line()}`",
    ]


def spread(values: list[float], fmt: str = ",.0f") -> str:
    """'median (min-max)'."""
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"
