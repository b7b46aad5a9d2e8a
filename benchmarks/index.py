"""Index persistence at 1M documents: save, checkpoint, load, size on disk, load RSS, incremental cost.

    .venv/bin/python benchmarks/index.py [--docs 1000000] [--runs 3] [--delta 100000] [--decide 10000]
                                         [--workers 1] [--tmpdir DIR] [--no-write] [--profile] [--keep]

Inputs
------
The tiled Reuters+BBC corpus of benchmarks/scale.py (same recipe, same cache in /tmp/dedupe-scale), of
DOCS + DELTA + DECIDE documents: the first DOCS documents make the index, the next DELTA the checkpoint,
the next DECIDE the "new" documents decided against it. (Its first 1,000,000 documents are those of
scale.py's 1M input.)

Measurements
------------
1. Build (one subprocess): `Deduplicator.run` with default options over the first DOCS documents,
   in process, into a `Checkpointer` opened on an empty directory (as `dedupe scan --index DIR
   --checkpoint-every 0` does). Then:
   - full save: `Checkpointer.save(final=True)` of all DOCS documents as one segment, RUNS times, each
     into a fresh directory (the run's cluster links are put back before each, since an export takes
     them). Timed parts: `Deduplicator.export` (of which `ArrayStore.export`, `BandIndex.export`) and
     the segment write (`store.write_atomic`: write + xxh3-128 + fsync + rename), fsync alone, and
     the manifest.
   - checkpoint: DELTA more documents are decided, then `Checkpointer.save()` (not final) appends
     a delta segment onto each of the RUNS full indexes.
   - compaction (for reference): `IndexStore.rewrite(export(0, all_links=True))` of DOCS + DELTA
     documents, what a final save does past 32 segments.
2. Load (one subprocess per measurement, nothing else in it): `Checkpointer.open` of the DOCS index
   into an empty `Deduplicator`, timed inside the process; parts: `read_segment` (read + checksum),
   `Deduplicator.restore` (of which id decoding, `ArrayStore.extend`, `BandIndex.load`,
   `UnionFind.from_links`). "cold": the segment's pages are first dropped from the page cache with
   posix_fadvise(DONTNEED) (only this file's pages; the VM's host may still cache the disk);
   "warm": right after. Peak RSS: VmHWM from /proc/self/status at the end of the process (and
   ru_maxrss from wait4), against the same process opening an empty index.
3. Incremental cost (one subprocess per run): features of DECIDE new documents (and of DECIDE
   repeats: the first DECIDE indexed documents again, under new ids) are computed first, in batches
   of 256; then `Deduplicator.add_batch` over those batches is timed into an empty detector and into
   one loaded from the DOCS index (new documents first, then repeats, in each).
   End to end: `python -m dedupe scan NEW.jsonl.gz --index COPY` (a hard-linked copy of the index)
   against the same command without --index.
Times: median (min-max) of RUNS. Everything heavy runs in subprocesses; this process stays small.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Index persistence"
SCRIPT = str(Path(__file__).resolve())


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

def records(path: str, start: int, stop: int, suffix: str = ""):
    """Records start..stop-1 (0-based, blank lines skipped) of a tiled corpus file."""
    import orjson
    from dedupe.io.records import Record

    with gzip.open(path, "rb") as fh:
        k = 0
        for line in fh:
            if not line.strip():
                continue
            if k >= stop:
                return
            if k >= start:
                obj = orjson.loads(line)
                yield Record(obj["id"] + suffix, obj["text"], number=k + 1)
            k += 1


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Timer:
    """Accumulates seconds per label by wrapping callables (no change to the code measured)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, owner, name: str, label: str, static: bool = False) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start
                self.calls[label] = self.calls.get(label, 0) + 1

        setattr(owner, name, staticmethod(wrapper) if static else wrapper)

    def take(self) -> dict[str, float]:
        out, self.seconds, self.calls = self.seconds, {}, {}
        return out


def last_run(lines: int, complete: bool = True) -> dict:
    return {"mode": "scan", "inputs": ["bench"], "complete": complete, "lines_done": lines,
            "records_output": lines, "stopped_by": None if complete else "checkpoint"}


def segment_arrays(path: str) -> dict[str, int]:
    """Bytes per array of a segment file, from its header (plus 'header+padding')."""
    with open(path, "rb") as f:
        head = f.read(16)
        header = json.loads(f.read(int.from_bytes(head[8:], "little")))
    out = {e["name"]: e["nbytes"] for e in header["arrays"]}
    out["header+padding"] = os.path.getsize(path) - sum(out.values())
    return out


def hardlink_copy(src: str, dst: str) -> None:
    """A copy of an index directory: segments (immutable) hard-linked, the manifest copied."""
    os.makedirs(dst)
    for entry in os.listdir(src):
        if entry.startswith("seg-"):
            os.link(os.path.join(src, entry), os.path.join(dst, entry))
        else:
            shutil.copy2(os.path.join(src, entry), os.path.join(dst, entry))


# --------------------------------------------------------------------------------------------
# Subprocess: build, save, checkpoint, compaction
# --------------------------------------------------------------------------------------------

def child_build(a: argparse.Namespace) -> dict:
    from array import array

    import dedupe.index.store as store
    from dedupe.core.matcher import Deduplicator
    from dedupe.index.snapshot import export_arrays
    from dedupe.index.store import Checkpointer, IndexStore

    n, delta, runs, work = a.docs, a.delta, a.runs, a.work
    out: dict = {"docs": n, "delta": delta}
    dedup = Deduplicator()
    cps = [Checkpointer.open(os.path.join(work, "full-1"), dedup)]
    timer = Timer()  # wrapped after open: restoring (an empty index) replaces the union-find
    timer.wrap(os, "fsync", "fsync")
    timer.wrap(store, "write_atomic", "write")  # segment and manifest files: write + checksum + fsync + rename
    timer.wrap(store, "export_arrays", "export")
    timer.wrap(dedup.docs.stored, "export", "export.stored")
    timer.wrap(dedup.index, "export", "export.band")
    timer.wrap(dedup.docs.clusters, "links", "export.uf_links")
    start = time.perf_counter()
    for _ in dedup.run(records(a.corpus, 0, n), workers=a.workers):
        pass
    out["build_seconds"] = time.perf_counter() - start
    out["build_feature_seconds"] = dedup.counters.feature_seconds
    out["build_match_seconds"] = dedup.counters.match_seconds
    out["build_rss_mb"] = status_kb("VmRSS") / 1024
    out["candidates"] = dedup.counters.candidates
    links = array("q", dedup.docs.links)
    out["links"] = len(links) // 2
    print(f"  built {n:,} docs in {out['build_seconds']:.0f} s ({len(links) // 2:,} links)", file=sys.stderr, flush=True)

    # Full save, RUNS times into fresh directories.
    out["full"] = []
    for r in range(runs):
        if r:
            cp = Checkpointer(IndexStore.open(os.path.join(work, f"full-{r + 1}"), dedup.config.index_parameters()), dedup)
            cp.saved = 0
            cps.append(cp)
        dedup.docs.links = array("q", links)
        timer.take()
        start = time.perf_counter()
        cps[r].save(last_run(n), final=True)
        total = time.perf_counter() - start
        parts = timer.take()
        out["full"].append({"seconds": total, **parts})
        print(f"  full save {r + 1}/{runs}: {total:.2f} s {json.dumps({k: round(v, 2) for k, v in parts.items()})}",
              file=sys.stderr, flush=True)
    seg = cps[0].store.segments[0]
    out["full_segment"] = {"file": seg["file"], "bytes": seg["bytes"],
                           "arrays": segment_arrays(os.path.join(work, "full-1", seg["file"]))}
    out["manifest_bytes"] = os.path.getsize(os.path.join(work, "full-1", "MANIFEST.json"))
    out["full_save_seconds_reported"] = cps[0].save_seconds
    hardlink_copy(os.path.join(work, "full-1"), os.path.join(work, "index"))

    # Checkpoint: DELTA more documents, then a delta segment onto each full index.
    start = time.perf_counter()
    for _ in dedup.run(records(a.corpus, n, n + delta), workers=a.workers):
        pass
    out["delta_build_seconds"] = time.perf_counter() - start
    delta_links = array("q", dedup.docs.links)
    out["checkpoint"] = []
    for r in range(runs):
        dedup.docs.links = array("q", delta_links)
        timer.take()
        start = time.perf_counter()
        cps[r].save(last_run(n + delta, complete=False))
        total = time.perf_counter() - start
        parts = timer.take()
        out["checkpoint"].append({"seconds": total, **parts})
        print(f"  checkpoint {r + 1}/{runs}: {total:.2f} s {json.dumps({k: round(v, 2) for k, v in parts.items()})}",
              file=sys.stderr, flush=True)
    seg = cps[0].store.segments[-1]
    out["delta_segment"] = {"file": seg["file"], "bytes": seg["bytes"],
                            "arrays": segment_arrays(os.path.join(work, "full-1", seg["file"]))}
    for r in range(1, runs):
        shutil.rmtree(os.path.join(work, f"full-{r + 1}"))

    # Compaction (the final save past 32 segments): export of everything with all links, one segment.
    out["compaction"] = []
    for r in range(runs):
        path = os.path.join(work, f"compact-{r + 1}")
        st = IndexStore.open(path, dedup.config.index_parameters())
        timer.take()
        start = time.perf_counter()
        st.rewrite(export_arrays(dedup, 0, all_links=True), len(dedup), last_run(n + delta))
        total = time.perf_counter() - start
        parts = timer.take()
        out["compaction"].append({"seconds": total, "bytes": st.segments[0]["bytes"], **parts})
        print(f"  compaction {r + 1}/{runs}: {total:.2f} s {json.dumps({k: round(v, 2) for k, v in parts.items()})}",
              file=sys.stderr, flush=True)
        shutil.rmtree(path)
    out["peak_rss_mb"] = status_kb("VmHWM") / 1024
    return out


# --------------------------------------------------------------------------------------------
# Subprocess: load only
# --------------------------------------------------------------------------------------------

def child_load(a: argparse.Namespace) -> dict:
    start_process = time.perf_counter()
    import dedupe.index.snapshot as snapshot
    import dedupe.index.store as store
    from dedupe.core.clusters import UnionFind
    from dedupe.core.matcher import Deduplicator
    from dedupe.index.store import Checkpointer

    imported = time.perf_counter() - start_process
    dedup = Deduplicator()
    timer = Timer()
    timer.wrap(store, "read_segment", "read+checksum")
    timer.wrap(store, "restore_arrays", "restore")
    timer.wrap(snapshot, "unpack_strings", "restore.ids")
    timer.wrap(dedup.docs.stored, "extend", "restore.stored")
    timer.wrap(dedup.index, "load", "restore.band")
    timer.wrap(UnionFind, "from_links", "restore.union_find", static=True)
    timer.wrap(store, "track_changes", "keep_links")
    rss_before = status_kb("VmRSS")
    if a.profile_out:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    start = time.perf_counter()
    cp = Checkpointer.open(a.index, dedup)
    seconds = time.perf_counter() - start
    if a.profile_out:
        prof.disable()
        prof.dump_stats(a.profile_out)
    return {"seconds": seconds, "reported": cp.load_seconds, "documents": len(dedup), "import_seconds": imported,
            "parts": timer.take(), "rss_before_mb": rss_before / 1024, "rss_after_mb": status_kb("VmRSS") / 1024,
            "hwm_mb": status_kb("VmHWM") / 1024}


# --------------------------------------------------------------------------------------------
# Subprocess: deciding new documents against an empty and a loaded index
# --------------------------------------------------------------------------------------------

def child_decide(a: argparse.Namespace) -> dict:
    from dedupe.core.matcher import Deduplicator
    from dedupe.features.batch import compute_features
    from dedupe.index.snapshot import track_changes
    from dedupe.index.store import Checkpointer

    config = Deduplicator().config
    sets = {}
    out: dict = {"feature_seconds": {}}
    for name, recs in (("new", records(a.corpus, a.new_start, a.new_start + a.decide)),
                       ("repeats", records(a.corpus, 0, a.decide, suffix="#again"))):
        recs = list(recs)
        batches = []
        start = time.perf_counter()
        for k in range(0, len(recs), 256):
            chunk = recs[k : k + 256]
            hashes, signatures, keys, _ = compute_features([r.text for r in chunk], config)
            batches.append(([r.id for r in chunk], hashes, signatures, keys))
        out["feature_seconds"][name] = time.perf_counter() - start
        sets[name] = batches

    def decide(dedup: Deduplicator) -> dict:
        res = {}
        for name in ("new", "repeats"):
            before = dedup.counters.candidates
            dups = 0
            start = time.perf_counter()
            for ids, hashes, signatures, keys in sets[name]:
                dups += sum(m.duplicate_of is not None for m in dedup.add_batch(ids, hashes, signatures, keys))
            res[name] = {"seconds": time.perf_counter() - start, "candidates": dedup.counters.candidates - before,
                         "duplicates": dups}
        return res

    order = ["loaded", "empty"] if a.run % 2 else ["empty", "loaded"]
    for which in order:
        dedup = Deduplicator()
        if which == "loaded":
            start = time.perf_counter()
            Checkpointer.open(a.index, dedup)
            out["load_seconds"] = time.perf_counter() - start
        else:
            track_changes(dedup)  # as Checkpointer.open does on an empty index
        out[which] = decide(dedup)
        del dedup
    return out


# --------------------------------------------------------------------------------------------
# Subprocess: raw read and checksum speed of one segment (16 MB blocks, like read_segment)
# --------------------------------------------------------------------------------------------

def child_probe(a: argparse.Namespace) -> dict:
    import xxhash

    buf = bytearray(1 << 24)
    view = memoryview(buf)
    read = hashed = 0.0
    digest = xxhash.xxh3_128()
    with open(a.index, "rb", buffering=0) as f:
        while True:
            t0 = time.perf_counter()
            got = f.readinto(buf)
            t1 = time.perf_counter()
            if not got:
                break
            digest.update(view[:got])
            hashed += time.perf_counter() - t1
            read += t1 - t0
    return {"read_seconds": read, "checksum_seconds": hashed}


# --------------------------------------------------------------------------------------------
# The orchestrating process
# --------------------------------------------------------------------------------------------

def run_child(kind: str, args: list[str], label: str) -> tuple[dict, float, float]:
    """Run this script as a child; returns (its JSON result, wall seconds, ru_maxrss MB)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as res:
        cmd = [sys.executable, SCRIPT, f"--child-{kind}", "--result", res.name, *args]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{label} failed: {' '.join(cmd)}")
        return json.loads(Path(res.name).read_text()), wall, usage.ru_maxrss / 1024


def drop_cache(directory: str) -> int:
    """Drop the page-cache pages of an index's files (posix_fadvise DONTNEED); returns bytes advised."""
    total = 0
    for entry in os.listdir(directory):
        path = os.path.join(directory, entry)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            total += os.fstat(fd).st_size
        finally:
            os.close(fd)
    return total


def meminfo_kb(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def med(values: list[float], fmt: str = ".2f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def pick_tmpdir(requested: str | None) -> str:
    base = requested or tempfile.gettempdir()
    if os.stat(base).st_dev != os.stat(ROOT).st_dev:
        raise SystemExit(f"{base} is not on the disk of {ROOT}; give --tmpdir on it")
    mounts = Path("/proc/mounts").read_text().splitlines()
    best = max((m.split() for m in mounts if base.startswith(m.split()[1])), key=lambda m: len(m[1]), default=None)
    if best is not None and best[2] in ("tmpfs", "ramfs"):
        raise SystemExit(f"{base} is on {best[2]}; give --tmpdir on the disk of {ROOT}")
    return base


def disk_line(path: str) -> str:
    mounts = Path("/proc/mounts").read_text().splitlines()
    best = max((m.split() for m in mounts if path.startswith(m.split()[1])), key=lambda m: len(m[1]), default=None)
    usage = shutil.disk_usage(path)
    fs = f"{best[0]} ({best[2]}) mounted on {best[1]}" if best else "?"
    return f"{path} on {fs}, {usage.free / 2**30:.0f} GiB free of {usage.total / 2**30:.0f} GiB"


def write_new_docs(corpus: str, start: int, count: int, dest: str) -> None:
    with gzip.open(corpus, "rb") as fh, gzip.open(dest, "wb", compresslevel=1) as out:
        k = 0
        for line in fh:
            if not line.strip():
                continue
            if k >= start + count:
                break
            if k >= start:
                out.write(line if line.endswith(b"\n") else line + b"\n")
            k += 1


def profile_summary(path: str, top: int = 12) -> list[str]:
    import io
    import pstats

    s = io.StringIO()
    pstats.Stats(path, stream=s).sort_stats("tottime").print_stats(top)
    lines = [ln for ln in s.getvalue().splitlines() if re.match(r"\s*\d", ln)]
    return lines[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1_000_000, help="documents in the index (default 1000000)")
    parser.add_argument("--delta", type=int, default=100_000, help="documents of the checkpoint (default 100000)")
    parser.add_argument("--decide", type=int, default=10_000, help="new documents decided (default 10000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per timing (default 3)")
    parser.add_argument("--workers", type=int, default=1, help="feature workers of the build (default 1)")
    parser.add_argument("--tmpdir", help="where the indexes go (default: the temp dir, if on the disk of the project)")
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not update {RESULTS.name}")
    parser.add_argument("--profile", action="store_true", help="profile one load (done anyway if a load takes > 10 s)")
    parser.add_argument("--keep", action="store_true", help="keep the index directory")
    for kind in ("build", "load", "decide", "probe"):
        parser.add_argument(f"--child-{kind}", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--index", help=argparse.SUPPRESS)
    parser.add_argument("--new-start", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    a = parser.parse_args()
    for kind, fn in (("build", child_build), ("load", child_load), ("decide", child_decide), ("probe", child_probe)):
        if getattr(a, f"child_{kind}"):
            Path(a.result).write_text(json.dumps(fn(a)))
            return
    if a.runs < 1 or a.docs < 1000:
        parser.error("--runs must be at least 1 and --docs at least 1000")

    from _runner import header_lines
    from scale import corpus_path, ensure_corpora

    load_start = os.getloadavg()
    header = header_lines(["numpy", "scipy", "orjson", "xxhash"])
    base = pick_tmpdir(a.tmpdir)
    total = a.docs + a.delta + a.decide
    print(f"corpus of {total:,} docs (scale.py recipe) ...", file=sys.stderr, flush=True)
    ensure_corpora([total])
    corpus = str(corpus_path(total))
    work = tempfile.mkdtemp(prefix="dedupe-index-bench-", dir=base)
    disk = disk_line(work)
    t_all = time.perf_counter()
    try:
        common = ["--corpus", corpus, "--work", work, "--docs", str(a.docs), "--delta", str(a.delta),
                  "--runs", str(a.runs), "--workers", str(a.workers)]
        print(f"build + save + checkpoint ({work}) ...", file=sys.stderr, flush=True)
        build, build_wall, build_rss = run_child("build", common, "build")
        index = os.path.join(work, "index")
        index2 = os.path.join(work, "full-1")  # DOCS + DELTA documents, two segments
        empty = os.path.join(work, "empty")

        probe_cold, probe_warm = [], []
        loads: dict[str, list] = {"cold": [], "warm": [], "two segments, warm": [], "empty index": []}
        dropped = []
        for r in range(a.runs):
            seg = os.path.join(index, build["full_segment"]["file"])
            cached = meminfo_kb("Cached")
            drop_cache(index)
            dropped.append((cached - meminfo_kb("Cached")) * 1024)
            res, wall, rss = run_child("load", ["--index", index], "load")
            loads["cold"].append((res, wall, rss))
            res, wall, rss = run_child("load", ["--index", index], "load")
            loads["warm"].append((res, wall, rss))
            res, wall, rss = run_child("load", ["--index", index2], "load")
            loads["two segments, warm"].append((res, wall, rss))
            shutil.rmtree(empty, ignore_errors=True)
            res, wall, rss = run_child("load", ["--index", empty], "load")
            loads["empty index"].append((res, wall, rss))
            drop_cache(index)
            probe_cold.append(run_child("probe", ["--index", seg], "probe")[0])
            probe_warm.append(run_child("probe", ["--index", seg], "probe")[0])
            w = loads["warm"][-1][0]
            print(f"  load {r + 1}/{a.runs}: cold {loads['cold'][-1][0]['seconds']:.2f} s, warm {w['seconds']:.2f} s "
                  f"{json.dumps({k: round(v, 2) for k, v in w['parts'].items()})}, VmHWM {w['hwm_mb']:,.0f} MB",
                  file=sys.stderr, flush=True)

        warm_load = statistics.median(x[0]["seconds"] for x in loads["warm"])
        profile_lines: list[str] = []
        if a.profile or warm_load > 10:
            prof = os.path.join(work, "load.prof")
            run_child("load", ["--index", index, "--profile-out", prof], "profiled load")
            profile_lines = profile_summary(prof)
            print("\n".join(profile_lines), file=sys.stderr, flush=True)

        new_start = a.docs + a.delta
        decides = []
        for r in range(a.runs):
            res, wall, rss = run_child("decide", ["--corpus", corpus, "--index", index, "--new-start", str(new_start),
                                                  "--decide", str(a.decide), "--run", str(r)], "decide")
            decides.append(res)
            print(f"  decide {r + 1}/{a.runs}: empty {res['empty']['new']['seconds']:.2f} s, "
                  f"loaded {res['loaded']['new']['seconds']:.2f} s (new); empty {res['empty']['repeats']['seconds']:.2f} s, "
                  f"loaded {res['loaded']['repeats']['seconds']:.2f} s (repeats)", file=sys.stderr, flush=True)

        # End to end through the CLI on the DECIDE new documents.
        new_file = os.path.join(work, "new.jsonl.gz")
        write_new_docs(corpus, new_start, a.decide, new_file)
        cli: dict[str, list] = {"with --index": [], "without": []}
        for r in range(a.runs):
            for which in (["with --index", "without"] if r % 2 == 0 else ["without", "with --index"]):
                rep = os.path.join(work, "report.json")
                cmd = [sys.executable, "-m", "dedupe", "scan", new_file, "--report", rep]
                copy = os.path.join(work, "cli-index")
                if which == "with --index":
                    hardlink_copy(index, copy)
                    cmd += ["--index", copy]
                with open(os.devnull, "wb") as devnull:
                    start = time.perf_counter()
                    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=devnull, stdin=subprocess.DEVNULL)
                    _, status, usage = os.wait4(proc.pid, 0)
                    wall = time.perf_counter() - start
                if os.waitstatus_to_exitcode(status) != 0:
                    raise SystemExit(f"failed: {' '.join(cmd)}")
                report = json.loads(Path(rep).read_text())
                cli[which].append((wall, usage.ru_maxrss / 1024, report))
                shutil.rmtree(copy, ignore_errors=True)
    finally:
        if a.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()

    # ---------------------------------------------------------------------------------------- report
    n, d = a.docs, a.delta
    fmt_load = lambda t: ", ".join(f"{x:.2f}" for x in t)  # noqa: E731
    lines = [SECTION, ""]
    lines += [h.replace("; load average at start", "; load average (1, 5, 15 min) at start") for h in header]
    lines[2] = lines[2].replace(f"load average (1, 5, 15 min) at start {fmt_load(load_start)}",
                                f"load average (1, 5, 15 min) at start {fmt_load(load_start)}, at end {fmt_load(load_end)}")
    lines += [f"- disk: {disk}",
              f"- inputs: the first {n + d + a.decide:,} documents of the tiled Reuters+BBC corpus of scale.py "
              f"({corpus}): index = documents 0..{n - 1:,}, checkpoint = the next {d:,}, new = the next {a.decide:,}",
              f"- index built in process: `Deduplicator.run` with default options (word 5-grams, 128 permutations, "
              f"16 bands x 8 rows, exact verification), --workers {a.workers}: {build['build_seconds']:.0f} s "
              f"(features {build['build_feature_seconds']:.0f} s, matching {build['build_match_seconds']:.0f} s); "
              f"{build['links']:,} cluster links",
              f"- times: median (min-max) of {a.runs} runs; total benchmark time {time.perf_counter() - t_all:.0f} s", ""]

    def part(rows: list[dict], key: str) -> float:
        return statistics.median(r.get(key, 0.0) for r in rows)

    full, ck, comp = build["full"], build["checkpoint"], build["compaction"]
    full_bytes = build["full_segment"]["bytes"]
    delta_bytes = build["delta_segment"]["bytes"]
    lines += ["### Save", "",
              "| save | documents written | segment MB | seconds | MB/s | export s (stored hashes / band index / union-find links) "
              "| write s (of which fsync) |",
              "|---|---|---|---|---|---|---|"]
    for label, rows, docs, size in (
            (f"full index, final save (`Checkpointer.save(final=True)`, one segment)", full, n, full_bytes),
            (f"checkpoint of {d:,} new docs onto the {n:,} index (delta segment)", ck, d, delta_bytes),
            (f"compaction: rewrite of all {n + d:,} docs (final save past 32 segments)", comp, n + d,
             comp[0]["bytes"])):
        secs = [r["seconds"] for r in rows]
        mb = size / 1e6
        lines.append(
            f"| {label} | {docs:,} | {mb:,.0f} | {med(secs)} | {mb / statistics.median(secs):,.0f} | "
            f"{part(rows, 'export'):.2f} ({part(rows, 'export.stored'):.2f} / {part(rows, 'export.band'):.2f} / "
            f"{part(rows, 'export.uf_links'):.2f}) | {part(rows, 'write'):.2f} ({part(rows, 'fsync'):.2f}) |")
    pc = statistics.median(p["checksum_seconds"] for p in probe_warm)
    lines += ["", f"Per checkpoint the cost is {statistics.median(r['seconds'] for r in ck) / d * 1e6:.1f} µs per new "
              f"document against {statistics.median(r['seconds'] for r in full) / n * 1e6:.1f} µs per document for "
              f"the full save. xxh3-128 over the {full_bytes / 1e6:,.0f} MB segment alone: {pc:.2f} s "
              f"({full_bytes / 1e9 / pc:.1f} GB/s).", ""]

    lines += ["### Load (`Checkpointer.open` into an empty `Deduplicator`, alone in its process)", "",
              "| index | seconds | read + checksum s | restore s | ids s | stored s | band index s | union-find s "
              "| whole process s | peak RSS (VmHWM) MB | RSS after load MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    names = {"cold": f"{n:,} docs, 1 segment, cold page cache", "warm": f"{n:,} docs, 1 segment, warm page cache",
             "two segments, warm": f"{n + d:,} docs, 2 segments (after the checkpoint), warm",
             "empty index": "empty index (baseline process)"}
    for key, rows in loads.items():
        res = [x[0] for x in rows]
        p = lambda k: statistics.median(r["parts"].get(k, 0.0) for r in res)  # noqa: E731
        lines.append(f"| {names[key]} | {med([r['seconds'] for r in res])} | {p('read+checksum'):.2f} | {p('restore'):.2f} | "
                     f"{p('restore.ids'):.2f} | {p('restore.stored'):.2f} | {p('restore.band'):.2f} | "
                     f"{p('restore.union_find'):.2f} | {med([x[1] for x in rows])} | "
                     f"{statistics.median(r['hwm_mb'] for r in res):,.0f} | {statistics.median(r['rss_after_mb'] for r in res):,.0f} |")
    base_hwm = statistics.median(x[0]["hwm_mb"] for x in loads["empty index"])
    base_rss = statistics.median(x[0]["rss_after_mb"] for x in loads["empty index"])
    hwm = statistics.median(x[0]["hwm_mb"] for x in loads["warm"])
    after = statistics.median(x[0]["rss_after_mb"] for x in loads["warm"])
    maxrss = statistics.median(x[2] for x in loads["warm"])
    pr_cold = statistics.median(p["read_seconds"] for p in probe_cold)
    pr_warm = statistics.median(p["read_seconds"] for p in probe_warm)
    lines += ["",
              f"Peak RSS of the loading process: {hwm:,.0f} MB (ru_maxrss from wait4: {maxrss:,.0f} MB), "
              f"{hwm - base_hwm:,.0f} MB above the same process opening an empty index, that is "
              f"{(hwm - base_hwm) * 2**20 / n:,.0f} bytes per document at the peak and "
              f"{(after - base_rss) * 2**20 / n:,.0f} bytes per document once loaded; the segment is "
              f"{full_bytes / n:,.0f} bytes per document.",
              f"Raw read of the segment file in 16 MB blocks, no parsing: {pr_cold:.2f} s with its pages dropped "
              f"({full_bytes / 1e6 / pr_cold:,.0f} MB/s), {pr_warm:.2f} s from the page cache; posix_fadvise dropped "
              f"{statistics.median(dropped) / 1e6:,.0f} MB of cached pages before each cold load.", ""]
    if profile_lines:
        lines += ["cProfile of one warm load (top functions by own time: ncalls, tottime, percall, cumtime, percall, function):",
                  "", "```", *profile_lines, "```", ""]

    lines += ["### Size on disk", "",
              "| array | full segment bytes | bytes per document | share | delta segment bytes | bytes per new document |",
              "|---|---|---|---|---|---|"]
    groups = [("ids (UTF-8) + id_offsets", ["ids", "id_offsets"]),
              ("stored shingle hashes + stored_offsets", ["stored", "stored_offsets"]),
              ("band_keys + band_positions", ["band_keys", "band_positions"]),
              ("labels", ["labels"]), ("links", ["links"]), ("header + alignment padding", ["header+padding"])]
    fa, da = build["full_segment"]["arrays"], build["delta_segment"]["arrays"]
    detail = []
    for label, keys in groups:
        fb, db = sum(fa.get(k, 0) for k in keys), sum(da.get(k, 0) for k in keys)
        lines.append(f"| {label} | {fb:,} | {fb / n:,.1f} | {fb / full_bytes:.1%} | {db:,} | {db / d:,.1f} |")
        if len(keys) > 1:
            detail.append(", ".join(f"{k} {fa.get(k, 0) / n:,.1f}" for k in keys))
    lines.append(f"| **segment total** | **{full_bytes:,}** | **{full_bytes / n:,.1f}** | 100% | **{delta_bytes:,}** | "
                 f"**{delta_bytes / d:,.1f}** |")
    lines += ["", f"Per document in the full segment: {'; '.join(detail)}. MANIFEST.json: "
              f"{build['manifest_bytes']:,} bytes. {build['links']:,} links of 16 bytes.", ""]

    lines += [f"### Deciding {a.decide:,} new documents: empty index vs the loaded {n:,} index", "",
              f"Features (normalize, shingle, MinHash, band keys) computed beforehand: "
              f"{med([r['feature_seconds']['new'] for r in decides])} s for the new documents (the same with or without "
              f"an index). Matching = `Deduplicator.add_batch` over batches of 256. \"new\": documents "
              f"{new_start:,}..{new_start + a.decide - 1:,} (renamed tiles, no near-duplicate in the index); "
              f"\"repeats\": the first {a.decide:,} indexed documents again under new ids (each one has its original "
              f"in the index), decided after the new ones.", "",
              "| documents | index | matching s | µs per document | LSH candidates | duplicates |",
              "|---|---|---|---|---|---|"]
    for name in ("new", "repeats"):
        for which, label in (("empty", "empty"), ("loaded", f"{n:,} docs, loaded")):
            secs = [r[which][name]["seconds"] for r in decides]
            last = decides[-1][which][name]
            lines.append(f"| {name} | {label} | {med(secs, '.3f')} | {statistics.median(secs) / a.decide * 1e6:,.0f} | "
                         f"{last['candidates']:,} | {last['duplicates']:,} |")
    lines.append("")
    lines += ["End to end, `python -m dedupe scan NEW.jsonl.gz` on the new documents (hard-linked copy of the index "
              "for each run; the run appends a delta segment):", "",
              "| command | wall s | index load s (report) | index save s (report) | peak RSS MB |", "|---|---|---|---|---|"]
    for which, rows in cli.items():
        ls = [r[2]["index"]["load_seconds"] for r in rows] if which == "with --index" else None
        ss = [r[2]["index"]["save_seconds"] for r in rows] if which == "with --index" else None
        lines.append(f"| `dedupe scan NEW` {which} | {med([r[0] for r in rows])} | {med(ls) if ls else '-'} | "
                     f"{med(ss) if ss else '-'} | {statistics.median(r[1] for r in rows):,.0f} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if not a.no_write:
        current = RESULTS.read_text()
        start = current.find("\n" + SECTION + "\n")
        if start >= 0:
            nxt = current.find("\n## ", start + 1)
            current = current[:start] + (current[nxt:] if nxt >= 0 else "\n")
        RESULTS.write_text(current.rstrip("\n") + "\n\n" + text)
        print(f"written to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
