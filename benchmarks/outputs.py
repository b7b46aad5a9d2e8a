"""Checksums of dedupe's output on the real corpora: a change that must not change behaviour keeps every one.

Runs a fixed set of commands (scan, scan --passages, filter at two thresholds, char shingles, estimate
verification, two workers, split --index runs) on Reuters-21578 and BBC, and records the sha256 of what
each writes to stdout (and of the JSON report's counts) in benchmarks/outputs.json.

    python benchmarks/outputs.py --record    # write benchmarks/outputs.json
    python benchmarks/outputs.py             # compare with it; exit 1 on any difference
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import CORPORA

RECORD = Path(__file__).resolve().parent / "outputs.json"

COMMANDS: dict[str, list[str]] = {
    "scan": ["scan"],
    "scan --passages": ["scan", "--passages"],
    "filter -t 0.5": ["filter", "-t", "0.5"],
    "filter -t 0.8": ["filter", "-t", "0.8"],
    "scan --unit char": ["scan", "--unit", "char"],
    "scan --verify estimate": ["scan", "--verify", "estimate"],
    "scan -w 2": ["scan", "-w", "2"],
}


def _dedupe(args: list[str], stdin: bytes) -> bytes:
    proc = subprocess.run([sys.executable, "-m", "dedupe", *args], input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"dedupe {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return proc.stdout


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checksums() -> dict[str, str]:
    """sha256 of stdout for every command on every corpus, and of split --index runs' joined stdout."""
    out: dict[str, str] = {}
    for corpus, path in CORPORA.items():
        data = gzip.decompress(path.read_bytes())
        for name, args in COMMANDS.items():
            out[f"{corpus}: {name}"] = _sha(_dedupe(args, data))
            print(f"{corpus}: {name}: {out[f'{corpus}: {name}']}", flush=True)
        lines = data.splitlines(keepends=True)
        half = len(lines) // 2
        for mode in ("scan", "filter"):
            index = Path(tempfile.mkdtemp()) / "idx"
            try:
                first = _dedupe([mode, "-", "--index", str(index)], b"".join(lines[:half]))
                second = _dedupe([mode, "-", "--index", str(index)], b"".join(lines[half:]))
            finally:
                shutil.rmtree(index.parent)
            key = f"{corpus}: {mode} --index (two runs)"
            out[key] = _sha(first + second)
            print(f"{key}: {out[key]}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true", help="write benchmarks/outputs.json")
    args = parser.parse_args()
    now = checksums()
    if args.record:
        RECORD.write_text(json.dumps(now, indent=2, sort_keys=True) + "\n")
        print(f"recorded {len(now)} checksums in {RECORD}")
        return
    before = json.loads(RECORD.read_text())
    differ = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
    for key in differ:
        print(f"DIFFERS: {key}: {before.get(key)} -> {now.get(key)}")
    print(f"{len(now) - len(differ)} of {len(now)} checksums as recorded")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
