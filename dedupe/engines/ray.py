"""The same deduplication as a Ray job (``--engine ray``): one decision per record, equal to the streaming path's.

Stages (docs/scaling.md has the sizes at 1M, 100M and 1B documents):

1. **Count** (a task per input file): lines (JSONL) or rows (Parquet) per input, so that every record gets
   its global number (1-based line counted across all inputs: the order key and the default id) before any
   task parses it.
2. **Map** (a task per input file): parse, normalize, shingle, MinHash and band keys with the streaming
   path's own :func:`~dedupe.core.matcher.compute_features`. Each task hands on a table of (band key, number) rows
   and a summary (rejects, id hashes); the features themselves are dropped.
3. **Shuffle** (Ray Data ``groupby`` on a hash partition of the key, then ``map_groups``): within a bucket
   (records sharing a band key), each record is paired with the ``bucket_cap`` earliest members before it,
   never with all of them: the rule the streaming index applies (see :class:`~dedupe.core.lsh.BandIndex`).
4. **Verify**: a task per input gathers the records of it that are in a candidate pair (it reads the input
   again and computes their features: a few percent of the records, so nothing of the corpus's size waits in
   the object store), then a task per input of the later record verifies its pairs as the streaming path
   verifies them (exact Jaccard of the shingle sets, or the MinHash estimate).
5. **Cluster** (on the driver): the verified pairs, ordered by the later record, go through a union-find in
   stream order: the cluster each record had when the streaming path decided it, its best match
   (``duplicate_of``, ties to the earliest) and the final clusters of the report.
6. **Write** (a task per input file): the input is read again and every record written to its shard with
   its decision; the tasks' statistics add up to the report.

Every record is accounted for (kept, duplicate or rejected) exactly as in the streaming path, and the output
does not depend on the number of nodes or CPUs: everything is ordered by the records' numbers.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import xxhash

from ..config import ConfigError, DedupeConfig
from ..core.clusters import cluster_entries
from ..core.decide import decide_pairs
from ..core.matcher import Match, Result, compute_features
from ..core.similarity import jaccard
from ..features.minhash import estimate_jaccard
from ..index.segments import pack_strings, unpack_strings
from ..io.records import InputError, ReadStats, Record, Rejected, display_name, is_parquet, open_input, read_records
from ..io.render import write_result
from ..report.build import RunStats

# Rows of (band key, number) per shuffle partition, about: each partition is grouped in one task.
PARTITION_ROWS = 4_000_000
BATCH = 1024  # records per feature batch in a map task

log = logging.getLogger(__name__)


def require_ray() -> Any:
    """The ``ray`` module, or ConfigError saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError(
            "--engine ray needs Ray: pip install 'dedupe[ray]' (or run without --engine ray: the "
            "streaming engine gives the same answer on one machine)"
        ) from None
    return ray


@dataclass
class RayJob:
    """What a Ray run needs from the command line."""

    mode: str
    inputs: list[str]
    config: DedupeConfig
    text_field: str = "text"
    id_field: str = "id"
    max_chars: int | None = None
    output: str = ""
    fmt: str = "jsonl"
    address: str | None = None
    sources: list[str] = field(default_factory=list)  # display names, as the streaming path names inputs
    stop_at_reject: bool = True  # no --rejects file: a bad line ends the run (before anything is written)


def count_lines(path: str, source: str | None = None) -> int:
    """Lines of a JSONL input as the reader counts them (a last line without newline counts), or Parquet rows."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    stream, name = open_input(path)
    name = source or name
    lines = 0
    try:
        for _ in stream:  # lines exactly as the reader splits them (and where it stops on a damaged stream)
            lines += 1
    except (OSError, EOFError, zlib.error) as exc:  # as the reader says it (records.read_records)
        raise InputError(f"{name}: after line {lines}: cannot read input: {exc}") from exc
    finally:
        stream.close()
    return lines


def _records(
    path: str, source: str, base: int, text_field: str, id_field: str, read: ReadStats
) -> Iterator[Record | Rejected]:
    """The input's records numbered from ``base + 1``, named ``source`` (the driver's name for the input)."""
    read.lines = base
    try:
        for item in read_records([path], text_field, id_field, read):
            yield replace(item, source=source)
    except InputError as exc:  # named as the user named the input, not by the absolute path the task opened
        raise InputError(str(exc).replace(display_name(path), source, 1)) from exc


def _features(
    path: str, source: str, base: int, job: RayJob, read: ReadStats, wanted: np.ndarray | None = None
) -> Iterator[tuple[list[Record], Any] | Rejected]:
    """The input's rejects, and its records in batches with their features (of the records numbered in
    ``wanted`` only, when given)."""
    batch: list[Record] = []
    for item in _records(path, source, base, job.text_field, job.id_field, read):
        if isinstance(item, Rejected):
            yield item
            continue
        if wanted is not None:
            at = np.searchsorted(wanted, item.number)
            if at == len(wanted) or wanted[at] != item.number:
                continue
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch, compute_features([r.text[: job.max_chars] for r in batch], job.config)
            batch = []
    if batch:
        yield batch, compute_features([r.text[: job.max_chars] for r in batch], job.config)


def featurize(path: str, source: str, base: int, job: RayJob) -> tuple[dict[str, Any], Any]:
    """Map stage for one input: a summary for the driver, and the (band key, number) rows of its records.

    The features themselves are not kept: the verify stage computes them again for the few records that are
    in a candidate pair (:func:`gather`), so nothing of the size of the corpus waits in the object store.
    """
    import pyarrow as pa

    read = ReadStats()
    numbers: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    indexed: list[np.ndarray] = []
    id_hashes: list[int] = []
    rejects: list[Rejected] = []
    truncated = 0
    seconds = 0.0
    for found in _features(path, source, base, job, read):
        if isinstance(found, Rejected):
            rejects.append(found)
            continue
        batch, (hashes, _, band, took) = found
        seconds += took
        numbers.append(np.fromiter((r.number for r in batch), dtype=np.int64, count=len(batch)))
        keys.append(band)
        # An empty shingle set is never indexed and never matches (as in the streaming path).
        indexed.append(np.diff(np.asarray(hashes.offsets)) > 0)
        id_hashes += [xxhash.xxh3_64_intdigest(r.id.encode("utf-8", "surrogatepass")) for r in batch]
        if job.max_chars is not None:
            truncated += sum(len(r.text) > job.max_chars for r in batch)
    bands = job.config.bands_rows[0]
    number = np.concatenate(numbers) if numbers else np.empty(0, dtype=np.int64)
    band = np.concatenate(keys) if keys else np.empty((0, bands), dtype=np.uint64)
    mask = np.concatenate(indexed) if indexed else np.empty(0, dtype=bool)
    summary = {
        "first_reject": rejects[0] if rejects else None,
        "rejects": len(rejects),
        "truncated": truncated,
        "feature_seconds": seconds,
        "id_hashes": np.array(id_hashes, dtype=np.uint64),
        "indexed": int(np.count_nonzero(mask)),
    }
    table = pa.table({"key": band[mask].ravel(), "number": np.repeat(number[mask], bands)})
    return summary, table


def bucket_pairs(batch: dict[str, np.ndarray], cap: int) -> dict[str, np.ndarray]:
    """Candidate pairs (i later, j earlier) of the buckets in ``batch`` (columns key, number).

    Each record is paired with the ``cap`` earliest members of its bucket that come before it (every earlier
    member with ``cap`` 0): at most ``cap`` pairs per record and bucket, however large the bucket.

    Example:
        >>> import numpy as np
        >>> out = bucket_pairs({"key": np.array([7, 7, 7, 9], dtype=np.uint64),
        ...                     "number": np.array([5, 2, 8, 1])}, cap=1)
        >>> out["i"].tolist(), out["j"].tolist()
        ([5, 8], [2, 2])
    """
    key = np.asarray(batch["key"], dtype=np.uint64)
    number = np.asarray(batch["number"], dtype=np.int64)
    order = np.lexsort((number, key))
    key, number = key[order], number[order]
    n = len(key)
    starts = np.ones(n, dtype=bool)
    starts[1:] = key[1:] != key[:-1]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0)) if n else np.empty(0, dtype=np.int64)
    rank = np.arange(n) - group_start
    deepest = int(rank.max()) if n else 0
    limit = deepest if cap == 0 else min(cap, deepest)
    found_i, found_j = [], []
    for t in range(limit):
        later = np.flatnonzero(rank > t)
        found_i.append(number[later])
        found_j.append(number[group_start[later] + t])
    if not found_i:
        return {"i": np.empty(0, dtype=np.int64), "j": np.empty(0, dtype=np.int64)}
    return {"i": np.concatenate(found_i), "j": np.concatenate(found_j)}


def gather(path: str, source: str, base: int, job: RayJob, wanted: np.ndarray) -> dict[str, Any]:
    """What verification and the output need of one input's records numbered ``wanted`` (sorted): their
    stored features (shingle hashes, or signatures with the estimate) and ids, computed again from the input."""
    exact = job.config.verify.mode == "exact"
    numbers: list[int] = []
    ids: list[str] = []
    stored: list[np.ndarray] = []
    for found in _features(path, source, base, job, ReadStats(), wanted):
        if isinstance(found, Rejected):
            continue
        batch, (hashes, signatures, _, _) = found
        for k, record in enumerate(batch):
            numbers.append(record.number)
            ids.append(record.id)
            stored.append(hashes[k] if exact else signatures[k])
    lengths = np.fromiter(map(len, stored), dtype=np.int64, count=len(stored))
    blob, id_offsets = pack_strings(ids)
    return {
        "numbers": np.array(numbers, dtype=np.int64),
        "stored": np.concatenate(stored) if stored else np.empty(0, dtype=np.uint64 if exact else np.uint32),
        "offsets": np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        "ids": blob,
        "id_offsets": id_offsets,
    }


def verify(pairs_i: np.ndarray, pairs_j: np.ndarray, exact: bool, *subsets: dict[str, Any]) -> np.ndarray:
    """Similarity of each candidate pair, as the streaming path computes it."""
    numbers = np.concatenate([s["numbers"] for s in subsets])
    which = np.concatenate([np.full(len(s["numbers"]), k) for k, s in enumerate(subsets)])
    order = np.argsort(numbers, kind="stable")
    numbers, which = numbers[order], which[order]
    rows = order - np.concatenate(([0], np.cumsum([len(s["numbers"]) for s in subsets])))[which]

    def get(number: int) -> np.ndarray:
        p = int(np.searchsorted(numbers, number))
        s = subsets[which[p]]
        r = rows[p]
        stored: np.ndarray = s["stored"][s["offsets"][r] : s["offsets"][r + 1]]
        return stored

    sims = np.empty(len(pairs_i), dtype=np.float64)
    for k, (i, j) in enumerate(zip(pairs_i.tolist(), pairs_j.tolist())):
        a, b = get(i), get(j)
        sims[k] = jaccard(a, b) if exact else estimate_jaccard(a, b)
    return sims


class _Lines:
    """A list taking written lines (the dropped records, gathered on the driver)."""

    def __init__(self, lines: list[bytes]) -> None:
        self.write = lines.append


class _AtLine:
    """A shard writer taking lines of one input line (Parquet errors name it)."""

    def __init__(self, writer: Any, line: int) -> None:
        self.writer, self.line = writer, line

    def write(self, data: bytes) -> None:
        self.writer.write(data, self.line)


def write_shard(
    path: str,
    source: str,
    base: int,
    index: int,
    job: RayJob,
    decisions: dict[int, tuple[str, str | None, float | None]],
) -> dict[str, Any]:
    """Write stage for one input: every record with its decision, to its shard; the shard's statistics."""
    from ..io.shards import ShardWriter, output_schema

    read = ReadStats()
    stats = RunStats()
    rejects: list[bytes] = []
    dropped: list[bytes] = []

    def results() -> Iterator[Result | Rejected]:
        for item in _records(path, source, base, job.text_field, job.id_field, read):
            if isinstance(item, Rejected):
                yield item
                continue
            decided = decisions.get(item.number)
            yield Result(item, Match(*decided) if decided is not None else Match(item.id))

    writer = ShardWriter(job.output, job.fmt)
    writer.open(index, source, output_schema(path, job.mode) if job.fmt == "parquet" else None)
    side = _Lines(dropped)
    try:
        for item in stats.watch(results()):
            if isinstance(item, Rejected):
                rejects.append(item.to_json())
            else:  # rendered by the rule the streaming engine writes with
                write_result(job.mode, job.text_field, _AtLine(writer, item.record.line), side, item)
    finally:
        writer.close()
    return {"stats": stats, "read": read, "rejects": b"".join(rejects), "dropped": b"".join(dropped)}


class RayOutcome:
    """The decisions of a Ray run in the shape :func:`~dedupe.report.build.build_report` reads from a Deduplicator."""

    passages = None
    base = 0

    def __init__(self, config: DedupeConfig, max_chars: int | None) -> None:
        self.config = config
        self.max_chars = max_chars
        self.candidates = 0
        self.similarity_counts = [0] * 101
        self.feature_seconds = 0.0
        self.match_seconds = 0.0
        self.truncated = 0
        self.id_hashes = np.empty(0, dtype=np.uint64)
        self.ids: dict[int, str] = {}
        self.groups: list[tuple[int, list[int]]] = []
        self.labels: dict[int, int] = {}
        self.stages: dict[str, float] = {}
        self.cluster: dict[str, Any] = {}

    def repeated_ids(self) -> int:
        """Records whose id an earlier record already had."""
        return int(len(self.id_hashes) - len(np.unique(self.id_hashes)))

    def id_of(self, number: int) -> str:
        return self.ids[number]

    def cluster_groups(self) -> list[tuple[int, list[int]]]:
        return self.groups

    def clusters(self) -> list[dict[str, Any]]:
        """As :meth:`~dedupe.core.matcher.Deduplicator.clusters`."""
        return cluster_entries(self.groups, self.ids.__getitem__, lambda m: self.labels.get(m, m))


class RayJobError(Exception):
    """The Ray job could not run: the cluster is unreachable, or a task failed for a reason other than its input
    (a node lost for good, retries exhausted)."""


def _reachable(address: str) -> None:
    """Fail at once, not after minutes of Ray's own retries, when nothing listens at ``host:port``."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", "local" or a form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise RayJobError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}): start one "
            "(ray start --head) or fix --ray-address / RAY_ADDRESS; without either, --engine ray "
            "starts a local Ray"
        ) from None


def _init(ray: Any, address: str | None) -> None:
    import ray.data

    kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address:
        _reachable(address)
        kwargs["address"] = address
    else:  # "local": a new Ray for this run, never a cluster some earlier `ray start` left on this machine
        kwargs |= {"address": "local", "include_dashboard": False}
    for attempt in range(3):
        try:
            ray.init(**kwargs)
            return
        except (ConnectionError, RuntimeError) as exc:
            # Ray Client's server starts a process per client, which now and then fails to come up: try again.
            if attempt == 2 or not str(address).startswith("ray://"):
                raise RayJobError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
            time.sleep(2)


def _quiet_data_context() -> None:
    import ray.data
    from ray.data.context import ShuffleStrategy

    logging.getLogger("ray.data").setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    # Sort-based shuffle runs as plain tasks; the hash shuffle starts aggregator actors first, which cost
    # seconds per job on a small cluster (measured: 0.2 s against 2.5-4.8 s for the same grouping).
    context.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED


def run(job: RayJob) -> tuple[RunStats, RayOutcome, ReadStats, list[bytes], list[bytes]]:
    """Run ``job`` on Ray: write the shards; return what the report needs plus the rejects and dropped lines
    (one bytes object per input, in input order)."""
    ray = require_ray()
    started = time.perf_counter()
    address = job.address or os.environ.get("RAY_ADDRESS") or None
    paths = [os.path.abspath(p) for p in job.inputs]
    sources = job.sources or list(job.inputs)
    connected = ray.is_initialized()  # a caller (a notebook, a test) connected already: use it, leave it on
    if not connected:
        _init(ray, address)
    try:
        if ray.util.client.ray.is_connected():
            # Ray Client (ray://): Ray Data cannot run its executor in a client, so the job's driver code runs
            # in a task on the cluster (no CPU reserved: it mostly waits), and only the results come back.
            driver = ray.remote(num_cpus=0, max_retries=0)(_run_in_cluster)
            stats, *rest = ray.get(driver.remote(job, paths, sources))
            stats.started, stats.finished = started, time.perf_counter()
            return (stats, *rest)
        return _run(ray, job, paths, sources, started)
    except ray.exceptions.RayTaskError as exc:  # a task's own error (bad input, a shard that cannot be written)
        cause: BaseException | None = exc
        while isinstance(cause, ray.exceptions.RayTaskError):  # a task in the Ray Client driver task
            cause = cause.cause
        if isinstance(cause, (InputError, OSError, RejectedInput, ConfigError)):
            raise cause from None
        raise RayJobError(f"a task failed: {cause!r}") from None
    except ray.exceptions.RayError as exc:  # a worker or node lost beyond Ray's retries, the object store full
        raise RayJobError(f"{type(exc).__name__}: {exc}") from None
    finally:
        if not connected:
            ray.shutdown()


def _run_in_cluster(
    job: RayJob, paths: list[str], sources: list[str]
) -> tuple[RunStats, RayOutcome, ReadStats, list[bytes], list[bytes]]:
    import ray

    return _run(ray, job, paths, sources, time.perf_counter())


def _run(
    ray: Any, job: RayJob, paths: list[str], sources: list[str], started: float
) -> tuple[RunStats, RayOutcome, ReadStats, list[bytes], list[bytes]]:
    import ray.data

    outcome = RayOutcome(job.config, job.max_chars)
    nodes = [n for n in ray.nodes() if n["Alive"]]
    outcome.cluster = {
        "nodes": len(nodes),
        "cpus": int(sum(n["Resources"].get("CPU", 0) for n in nodes)),
        "inputs": len(paths),
        "version": ray.__version__,
    }
    clock = time.perf_counter
    mark = clock()

    def stage(name: str) -> None:
        nonlocal mark
        now = clock()
        outcome.stages[name] = round(now - mark, 3)
        mark = now

    counts = ray.get([ray.remote(count_lines).remote(p, s) for p, s in zip(paths, sources)])
    bases = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    stage("count")
    remote_featurize = ray.remote(num_returns=2)(featurize)
    refs = [remote_featurize.remote(p, s, int(b), job) for p, s, b in zip(paths, sources, bases)]
    summaries = ray.get([f for f, _ in refs])
    stage("map")
    for s in summaries:
        outcome.truncated += s["truncated"]
        outcome.feature_seconds += s["feature_seconds"]
    outcome.id_hashes = np.concatenate([s["id_hashes"] for s in summaries]) if summaries else outcome.id_hashes
    first_reject = next((s["first_reject"] for s in summaries if s["first_reject"] is not None), None)
    if first_reject is not None and job.stop_at_reject:
        raise RejectedInput(first_reject.message())

    rows = sum(s["indexed"] for s in summaries) * job.config.bands_rows[0]
    parts = max(1, -(-rows // PARTITION_ROWS))
    cap = job.config.lsh.bucket_cap

    def partition(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**batch, "part": (batch["key"] % np.uint64(parts)).astype(np.int64)}

    found = []
    if rows:
        _quiet_data_context()
        pairs_ds = (
            ray.data.from_arrow_refs([t for _, t in refs])
            .map_batches(partition, batch_format="numpy")
            .groupby("part")
            .map_groups(lambda b: bucket_pairs(b, cap), batch_format="numpy")
        )
        found = [b for b in pairs_ds.iter_batches(batch_format="numpy", batch_size=None) if len(b["i"])]
    pi = np.concatenate([b["i"] for b in found]) if found else np.empty(0, dtype=np.int64)
    pj = np.concatenate([b["j"] for b in found]) if found else np.empty(0, dtype=np.int64)
    if len(pi):
        order = np.lexsort((pj, pi))
        pi, pj = pi[order], pj[order]
        distinct = np.ones(len(pi), dtype=bool)
        distinct[1:] = (pi[1:] != pi[:-1]) | (pj[1:] != pj[:-1])
        pi, pj = pi[distinct], pj[distinct]
    outcome.candidates = len(pi)
    stage("shuffle")

    # Verify: each shard's records in a pair are gathered once; a task per shard of the later record.
    shard_of = lambda numbers: np.searchsorted(bases, numbers, side="left") - 1  # noqa: E731
    involved = np.unique(np.concatenate([pi, pj]))
    owner = shard_of(involved)
    remote_gather = ray.remote(gather)
    subsets = {}
    for k in np.unique(owner).tolist():
        subsets[k] = remote_gather.remote(paths[k], sources[k], int(bases[k]), job, involved[owner == k])
    remote_verify = ray.remote(verify)
    exact = job.config.verify.mode == "exact"
    later = shard_of(pi)
    tasks = []
    for k in np.unique(later).tolist():
        mine = np.flatnonzero(later == k)
        needed = np.unique(np.concatenate(([k], shard_of(pj[mine])))).tolist()
        tasks.append((mine, remote_verify.remote(pi[mine], pj[mine], exact, *[subsets[t] for t in needed])))
    sims = np.empty(len(pi), dtype=np.float64)
    for mine, ref in tasks:
        sims[mine] = ray.get(ref)
    for s in sims.tolist():
        outcome.similarity_counts[int(s * 100 + 1e-9)] += 1
    stage("verify")

    labels, best, groups = decide_pairs(pi, pj, sims, job.config.lsh.threshold)
    outcome.labels, outcome.groups = labels, groups
    named = sorted(set(labels.values()) | {j for j, _ in best.values()} | {m for _, ms in groups for m in ms})
    wanted = np.array(named, dtype=np.int64)
    for subset in ray.get(list(subsets.values())):
        named_here = np.isin(subset["numbers"], wanted)
        ids = unpack_strings(subset["ids"], subset["id_offsets"], "ids")
        for number, rid, keep in zip(subset["numbers"].tolist(), ids, named_here.tolist()):
            if keep:
                outcome.ids[number] = rid
    decisions: list[dict[int, tuple[str, str | None, float | None]]] = [{} for _ in paths]
    decided = np.fromiter(labels, dtype=np.int64, count=len(labels))
    for i, k in zip(decided.tolist(), shard_of(decided).tolist()):
        j, s = best[i]
        decisions[k][i] = (outcome.ids[labels[i]], outcome.ids[j], round(s, 6))
    stage("cluster")

    remote_write = ray.remote(write_shard)
    written = ray.get(
        [
            remote_write.remote(p, s, int(b), k, job, d)
            for k, (p, s, b, d) in enumerate(zip(paths, sources, bases, decisions))
        ]
    )
    stage("write")
    stats, read = RunStats(), ReadStats(sources=list(sources))
    stats.started = started
    for w, base in zip(written, bases.tolist()):
        part, r = w["stats"], w["read"]
        stats.merge(part)
        read.lines += r.lines - base
        read.blank_lines += r.blank_lines
    stats.finished = time.perf_counter()
    outcome.match_seconds = sum(outcome.stages.get(k, 0.0) for k in ("shuffle", "verify", "cluster"))
    return stats, outcome, read, [w["rejects"] for w in written], [w["dropped"] for w in written]


class RejectedInput(Exception):
    """A bad input line while no --rejects file was given (nothing is written); the message names it.

    Only a message, so that it survives pickling (from a task to the driver, through Ray Client).
    """


__all__ = ["RayJob", "RayJobError", "RayOutcome", "RejectedInput", "bucket_pairs", "require_ray", "run"]
