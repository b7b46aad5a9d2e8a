"""Helpers shared by the benchmark scripts: corpus loading and a machine description."""

from __future__ import annotations

import gzip
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import orjson

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CORPORA = {
    "reuters": DATA / "reuters21578.jsonl.gz",
    "bbc": DATA / "bbc.jsonl.gz",
}


def open_jsonl(path: Path):
    """Open a JSONL file for binary reading, gzip or plain (by magic bytes)."""
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def load_corpus(path: Path, text_field: str = "text", id_field: str = "id") -> tuple[list[str], list[str]]:
    """Read a (gzipped) JSONL corpus into (ids, texts), in file order; blank lines are skipped.

    A missing id becomes the record's 1-based line number, as in ``dedupe``.
    """
    ids: list[str] = []
    texts: list[str] = []
    with open_jsonl(path) as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            obj = orjson.loads(line)
            raw_id = obj.get(id_field)
            ids.append(str(number) if raw_id is None else str(raw_id))
            texts.append(obj[text_field])
    return ids, texts


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """One line: architecture, CPU, cores, memory, OS and Python version."""
    mem = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return (f"{platform.machine()}, {cpu_model()}, {os.cpu_count()} cores{mem}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def _relative(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def command_line() -> str:
    """The command that is running, with interpreter and script relative to the working directory when below it."""
    return shlex.join([_relative(sys.executable), _relative(sys.argv[0]), *sys.argv[1:]])


def today() -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z")
