"""The same deduplication as a Ray job (``--engine ray``): one decision per record, equal to the streaming path's.

Stages (docs/scaling.md has the sizes at 1M, 100M and 1B documents):

1. **Count** (a task per input file): lines (JSONL) or rows (Parquet) per input, so that every record gets
   its global number (1-based line counted across all inputs: the order key and the default id) before any
   task parses it.
2. **Map** (a task per input file): parse, normalize, shingle, MinHash and band keys with the streaming
   path's own :func:`~dedupe.features.batch.compute_features`. Each task hands on a table of (band key, number) rows
   and a summary (rejects, id hashes); the features themselves are dropped.
3. **Shuffle** (Ray Data ``groupby`` on a hash partition of the key, then ``map_groups``): within a bucket
   (records sharing a band key), each record is paired with the ``bucket_cap`` earliest members before it,
   never with all of them: the bucket cap of :mod:`dedupe.core.lsh`, in its sorted form
   (:func:`~dedupe.core.runs.bucket_pairs`), the rule the streaming index applies incrementally.
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

The per-input tasks (count, map, gather, verify, write) are in :mod:`dedupe.engines.ray_tasks`; the job's
description (:class:`~dedupe.engines.ray_cluster.RayJob`) and the connection to a cluster in
:mod:`dedupe.engines.ray_cluster`.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import ConfigError
from ..core.decide import decide_pairs
from ..core.outcome import MatchCounters, MatchOutcome, candidate_bin
from ..core.runs import bucket_pairs
from ..index.segments import unpack_strings
from ..io.records import InputError, ReadStats
from ..report.build import RunStats
from .ray_cluster import RayJob, RayJobError, connect, quiet_data_context, require_ray
from .ray_tasks import count_lines, featurize, gather, verify, write_shard

# Rows of (band key, number) per shuffle partition, about: each partition is grouped in one task.
PARTITION_ROWS = 4_000_000

log = logging.getLogger(__name__)


@dataclass
class RayRun:
    """What a Ray job hands back to :func:`~dedupe.engines.launch.run`.

    Attributes:
        stats, read: The write tasks' statistics, added up.
        outcome: The decisions, as the report reads them (the streaming engine's shape).
        rejects, dropped: The rejected and the dropped lines, one bytes object per input, in input order.
        cluster: The cluster the job ran on (nodes, CPUs, inputs, Ray's version).
        stages: Seconds per stage.
    """

    stats: RunStats
    read: ReadStats
    outcome: MatchOutcome
    rejects: list[bytes]
    dropped: list[bytes]
    cluster: dict[str, Any]
    stages: dict[str, float]


def run(job: RayJob) -> RayRun:
    """Run ``job`` on Ray: write the shards; return what the report needs plus the rejects and dropped lines."""
    ray = require_ray()
    started = time.perf_counter()
    address = job.address or os.environ.get("RAY_ADDRESS") or None
    paths = [os.path.abspath(p) for p in job.inputs]
    sources = job.sources or list(job.inputs)
    connected = ray.is_initialized()  # a caller (a notebook, a test) connected already: use it, leave it on
    if not connected:
        connect(ray, address)
    try:
        if ray.util.client.ray.is_connected():
            # Ray Client (ray://): Ray Data cannot run its executor in a client, so the job's driver code runs
            # in a task on the cluster (no CPU reserved: it mostly waits), and only the results come back.
            driver = ray.remote(num_cpus=0, max_retries=0)(_run_in_cluster)
            result: RayRun = ray.get(driver.remote(job, paths, sources))
            result.stats.started, result.stats.finished = started, time.perf_counter()
            return result
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


def _run_in_cluster(job: RayJob, paths: list[str], sources: list[str]) -> RayRun:
    import ray

    return _run(ray, job, paths, sources, time.perf_counter())


def _run(ray: Any, job: RayJob, paths: list[str], sources: list[str], started: float) -> RayRun:
    import ray.data

    counters = MatchCounters()
    stages: dict[str, float] = {}
    nodes = [n for n in ray.nodes() if n["Alive"]]
    cluster = {
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
        stages[name] = round(now - mark, 3)
        mark = now

    counts = ray.get([ray.remote(count_lines).remote(p, s) for p, s in zip(paths, sources)])
    bases = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    stage("count")
    remote_featurize = ray.remote(num_returns=2)(featurize)
    refs = [remote_featurize.remote(p, s, int(b), job) for p, s, b in zip(paths, sources, bases)]
    summaries = ray.get([f for f, _ in refs])
    stage("map")
    for s in summaries:
        counters.truncated += s["truncated"]
        counters.feature_seconds += s["feature_seconds"]
    id_hashes = np.concatenate([s["id_hashes"] for s in summaries]) if summaries else np.empty(0, dtype=np.uint64)
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
        quiet_data_context()
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
    counters.candidates = len(pi)
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
        counters.similarity_counts[candidate_bin(s)] += 1
    stage("verify")

    labels, best, groups = decide_pairs(pi, pj, sims, job.config.lsh.threshold)
    id_of: dict[int, str] = {}
    named = sorted(set(labels.values()) | {j for j, _ in best.values() if j >= 0} | {m for _, ms in groups for m in ms})
    wanted = np.array(named, dtype=np.int64)
    for subset in ray.get(list(subsets.values())):
        named_here = np.isin(subset["numbers"], wanted)
        ids = unpack_strings(subset["ids"], subset["id_offsets"], "ids")
        for number, rid, keep in zip(subset["numbers"].tolist(), ids, named_here.tolist()):
            if keep:
                id_of[number] = rid
    decisions: list[dict[int, tuple[str, str | None, float | None]]] = [{} for _ in paths]
    decided = np.fromiter(labels, dtype=np.int64, count=len(labels))
    for i, k in zip(decided.tolist(), shard_of(decided).tolist()):
        j, s = best[i]
        decisions[k][i] = (id_of[labels[i]], id_of[j], round(s, 6)) if j >= 0 else (id_of[labels[i]], None, None)
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
    counters.kept_linked = sum(1 for j, _ in best.values() if j < 0)
    counters.match_seconds = sum(stages.get(k, 0.0) for k in ("shuffle", "verify", "cluster"))
    outcome = MatchOutcome(
        config=job.config,
        max_chars=job.max_chars,
        counters=counters,
        repeated_ids=int(len(id_hashes) - len(np.unique(id_hashes))),
        groups=groups,
        id_of=id_of.__getitem__,
        label_of=lambda m: labels.get(m, m),
    )
    return RayRun(
        stats, read, outcome, [w["rejects"] for w in written], [w["dropped"] for w in written], cluster, stages
    )


class RejectedInput(Exception):
    """A bad input line while no --rejects file was given (nothing is written); the message names it.

    Only a message, so that it survives pickling (from a task to the driver, through Ray Client).
    """


__all__ = ["RayJob", "RayJobError", "RayRun", "RejectedInput", "require_ray", "run"]
