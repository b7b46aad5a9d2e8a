"""The same deduplication as a Ray job (``--engine ray``): one decision per record, equal to the streaming path's.

Stages (docs/scaling.md has the sizes at 1M, 100M and 1B documents); the driver holds counts and references,
never a row per record or per pair:

1. **Count** (a task per input range, :mod:`dedupe.io.ranges`: byte ranges of an uncompressed JSONL input cut at
   line starts, runs of Parquet row groups, a compressed input whole): lines per range, so that every record
   gets its global number (1-based line counted across all inputs: the order key and the default id) before
   any task parses it.
2. **Map** (a task per range): parse, normalize, shingle, MinHash and band keys with the streaming path's own
   :func:`~dedupe.features.batch.compute_features`. Each task hands on a table of (band key, number) rows, one
   of id hashes (repeated ids are counted by a shuffle on them) and a summary; the features are dropped.
3. **Shuffle** (Ray Data ``groupby`` on a hash partition of the key, then ``map_groups``): within a bucket
   (records sharing a band key), each record is paired with the ``bucket_cap`` earliest members before it,
   never with all of them: the bucket cap of :mod:`dedupe.core.lsh`, in its sorted form
   (:func:`~dedupe.core.runs.bucket_pairs`), the rule the streaming index applies incrementally.
4. **Verify**, 5. **Components**, 6. **Decide**: shuffles of the pairs (:mod:`dedupe.engines.ray_graph`): the
   features of both records of each pair are computed again by a group per range and joined in the partition
   of the later record, which verifies it as the streaming path does; the connected components of the pairs at
   or above the threshold are found by large-star / small-star rounds (:mod:`dedupe.core.components`); each
   partition of whole components is decided by the streaming engine's rule, in stream order (or in policy
   order for a ``--keep`` policy).
7. **Write** (a task per range for JSONL shards, whose parts are then joined in order; a task per input for
   Parquet shards): the records are read again and written with their decisions; rejected and dropped lines go
   to files beside the shards, which the driver copies in order.

Every record is accounted for (kept, duplicate or rejected) exactly as in the streaming path, and the output
does not depend on the number of nodes, CPUs, ranges or partitions: everything is ordered by record numbers.

The per-range tasks are in :mod:`dedupe.engines.ray_tasks`; the job's description
(:class:`~dedupe.engines.ray_cluster.RayJob`) and the connection to a cluster in :mod:`dedupe.engines.ray_cluster`.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import orjson

from ..config import ConfigError
from ..core.outcome import MatchCounters, MatchOutcome
from ..core.runs import bucket_pairs
from ..io.ranges import plan_ranges
from ..io.records import InputError, ReadStats
from ..report.build import RunStats
from .ray_cluster import RayJob, RayJobError, connect, quiet_data_context, require_ray
from .ray_graph import (
    EARLIER,
    LEAF,
    LINK,
    PAIR,
    ROOT,
    decided,
    gathered,
    histogram,
    of_kind,
    pair_rows,
    parts_for,
    requests,
    root_rows,
    rooted,
    star_forest,
    tables,
    verified,
)
from .ray_index import segment_rows
from .ray_passages import no_passages, passage_stage
from .ray_tasks import Placed, Plan, count, count_ids, featurize, join_parts, side_path, write_unit

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class RayRun:
    """What a Ray job hands back to :func:`~dedupe.engines.launch.run`.

    Attributes:
        stats, read: The write tasks' statistics, added up.
        outcome: The decisions, as the report reads them (the streaming engine's shape), without the clusters.
        cluster: The cluster the job ran on (nodes, CPUs, inputs, Ray's version).
        stages: Seconds per stage.
        engine: The report's ``engine`` section: name, nodes, CPUs, tasks per stage.
        clusters: The report's clusters (their count, sizes and entries).
        units: The write stage's units (their rejected and dropped lines are read in this order).
    """

    stats: RunStats
    read: ReadStats
    outcome: MatchOutcome
    cluster: dict[str, Any]
    stages: dict[str, float]
    engine: dict[str, Any]
    clusters: Clusters
    units: int


def run(job: RayJob, finish: Callable[[RayRun], T]) -> T:
    """Run ``job`` on Ray: write the shards; return what ``finish`` makes of the result (it runs while the job's
    cluster is still connected: the report's clusters are read from it)."""
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
            return finish(result)
        return finish(_run(ray, job, paths, sources, started))
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
        shutil.rmtree(os.path.dirname(side_path(job, 0, "rejects")), ignore_errors=True)
        if not connected:
            ray.shutdown()


def _run_in_cluster(job: RayJob, paths: list[str], sources: list[str]) -> RayRun:
    import ray

    result = _run(ray, job, paths, sources, time.perf_counter())
    result.clusters.materialize()  # the client cannot read a dataset
    return result


def _run(ray: Any, job: RayJob, paths: list[str], sources: list[str], started: float) -> RayRun:
    import ray.data

    quiet_data_context()
    counters = MatchCounters()
    stages: dict[str, float] = {}
    tasks: dict[str, int] = {}
    nodes = [n for n in ray.nodes() if n["Alive"]]
    cluster = {
        "nodes": len(nodes),
        "cpus": int(sum(n["Resources"].get("CPU", 0) for n in nodes)),
        "inputs": len(paths),
        "version": ray.__version__,
    }
    clock = time.perf_counter
    mark = clock()

    def stage(name: str, count: int) -> None:
        nonlocal mark
        now = clock()
        stages[name] = round(now - mark, 3)
        tasks[name] = count
        mark = now

    # 1. Count: lines per range, so that every record has its global number before any task parses it.
    ranges = plan_ranges(paths, job.split_bytes)
    found = ray.get([ray.remote(count).remote(r, job.keep, job, sources[r.input]) for r in ranges])
    kind = next((k for _, k in found if k is not None), None)  # a field's kind: its first value in input order
    placed, total, before = [], 0, [0] * len(paths)
    for r, (lines, _) in zip(ranges, found):
        placed.append(Placed(r, sources[r.input], before[r.input], total))
        before[r.input] += lines
        total += lines
    plan = Plan(placed)
    stage("count", len(ranges))

    # 2. Map: band keys and id hashes per range.
    remote_featurize = ray.remote(num_returns=4)(featurize)
    refs = [remote_featurize.remote(p, job, kind) for p in placed]
    summaries = ray.get([f for f, *_ in refs])
    for s in summaries:
        counters.truncated += s["truncated"]
        counters.feature_seconds += s["feature_seconds"]
    first_reject = next((s["first_reject"] for s in summaries if s["first_reject"] is not None), None)
    if first_reject is not None and job.stop_at_reject:
        raise RejectedInput(first_reject.message())
    records = sum(s["records"] for s in summaries)
    index = job.index
    # An index's segments: band keys, id hashes, cluster links and documents of earlier runs (numbered below 1).
    segments = (
        [ray.remote(num_returns=4)(segment_rows).remote(index, k) for k in range(len(index.segments))] if index else []
    )
    id_parts = parts_for(records + (index.documents if index else 0), job.partition_rows)
    repeated = 0
    if records:
        ids = tables(ray, [i for _, _, i, _ in refs], records, job.partition_rows).map_batches(
            lambda b: {"h": b["h"], "earlier": np.zeros(len(b["h"]), dtype=bool)}, batch_format="numpy"
        )
        if segments:
            ids = ids.union(ray.data.from_arrow_refs([i for _, i, _, _ in segments]))
        counted = (
            ids.map_batches(
                lambda b: {**b, "part": (b["h"] % np.uint64(id_parts)).astype(np.int64)}, batch_format="numpy"
            )
            .groupby("part")
            .map_groups(_repeated_ids, batch_format="numpy")
        )
        repeated = int(sum(int(b["n"].sum()) for b in counted.iter_batches(batch_format="numpy", batch_size=None)))
    stage("map", len(placed) + len(segments))

    # 3. Shuffle: candidate pairs of each bucket, by the bucket cap.
    rows = sum(s["indexed"] for s in summaries) * job.config.bands_rows[0]
    parts = parts_for(rows + (index.documents * job.config.bands_rows[0] if index else 0), job.partition_rows)
    cap = job.config.lsh.bucket_cap
    pairs = None
    if rows:
        pairs = (
            tables(ray, [t for _, t, _, _ in refs] + [t for t, _, _, _ in segments], rows, job.partition_rows)
            .map_batches(lambda b: {**b, "part": (b["key"] % np.uint64(parts)).astype(np.int64)}, batch_format="numpy")
            .groupby("part")
            .map_groups(lambda b: _this_run(bucket_pairs(b, cap)), batch_format="numpy")
            .materialize()
        )
    found_pairs = pairs.count() if pairs is not None else 0
    stage("shuffle", parts if rows else 0)

    # 4. Verify: the features of both records of each pair, in the partition of the later one.
    verify_parts = parts_for(found_pairs * 2, job.partition_rows)
    checked = None
    if found_pairs:
        assert pairs is not None
        features = (
            pairs.map_batches(requests(plan, verify_parts, index), batch_format="numpy")
            .groupby("range")
            .map_groups(gathered(plan, job, kind, index), batch_format="numpy")
        )
        checked = (
            features.union(pairs.map_batches(pair_rows(verify_parts), batch_format="numpy"))
            .groupby("part")
            .map_groups(verified(job.config.verify.mode == "exact"), batch_format="pyarrow")
            .materialize()
        )
        for b in checked.map_batches(histogram, batch_format="numpy").iter_batches(batch_format="numpy"):
            for counts in b["counts"]:
                for k, n in enumerate(counts.tolist()):
                    counters.similarity_counts[k] += n
        counters.candidates = checked.count()
    stage("verify", verify_parts if found_pairs else 0)

    # 5. Components of the pairs at or above the threshold (large-star / small-star rounds).
    threshold = job.config.lsh.threshold
    at_least = lambda b: {k: v[b["sim"] >= threshold] for k, v in b.items()}  # noqa: E731
    matched = checked.map_batches(at_least, batch_format="numpy").materialize() if checked is not None else None
    edges_count = matched.count() if matched is not None else 0
    links = ray.data.from_arrow_refs([t for _, _, t, _ in segments]).materialize() if segments else None
    links_count = links.count() if links is not None else 0
    edge_parts = parts_for((edges_count + links_count) * 2, job.partition_rows)
    stars, rounds = None, 0
    if matched is not None and edges_count:
        edges = matched.map_batches(_as_edges, batch_format="numpy")
        stars, rounds = star_forest(edges.union(links) if links_count and links is not None else edges, edge_parts)
    stage("components", rounds)

    # 6. Decide: each pair gets its root; each partition of whole components is decided.
    decide_parts = parts_for(edges_count, job.partition_rows)
    decisions = None
    entries = None
    if stars is not None and matched is not None:
        joins = [
            stars.map_batches(root_rows(edge_parts, LEAF), batch_format="numpy"),
            stars.map_batches(root_rows(edge_parts, ROOT), batch_format="numpy"),
        ]
        if links is not None and links_count:
            joins.append(links.map_batches(root_rows(edge_parts, LINK), batch_format="numpy"))
        if segments:
            joins.append(
                ray.data.from_arrow_refs([t for *_, t in segments]).map_batches(
                    root_rows(edge_parts, EARLIER), batch_format="numpy"
                )
            )
        joined = (
            matched.map_batches(root_rows(edge_parts, PAIR), batch_format="numpy")
            .union(*joins)
            .groupby("part")
            .map_groups(rooted(decide_parts), batch_format="numpy")
        )
        out = joined.groupby("part").map_groups(decided(job, plan), batch_format="numpy").materialize()
        decisions = out.map_batches(of_kind(0), batch_format="pyarrow")
        entries = out.map_batches(of_kind(1), batch_format="pyarrow")
        changes = [0, 0]
        for b in out.map_batches(of_kind(2), batch_format="pyarrow").iter_batches(batch_format="numpy"):
            counters.kept_linked += int(b["size"].sum())
            changes[0] += int(b["root"].sum())
            changes[1] += int(b["number"].sum())
        if job.keep.kind != "first":
            counters.policy_changes = (changes[0], changes[1])
    elif job.keep.kind != "first":
        counters.policy_changes = (0, 0)
    stage("decide", decide_parts if decisions is not None else 0)

    # Passages of the kept records (--passages): link components, then a replay per partition of them.
    passages = None
    if job.config.passages is not None and records:
        passages, passage_report, passage_tasks = passage_stage(
            ray, job, plan, kind, [x for *_, x in refs], decisions, records
        )
        stage("passages", passage_tasks)

    # 7. Write: each input read again and written with its decisions (and passages).
    written: list[dict[str, Any]] = []
    to_write = [
        d.map_batches(_for_writing(plan, job.fmt), batch_format="pyarrow")
        for d in (decisions, passages)
        if d is not None
    ]
    if to_write:
        for b in (
            (to_write[0].union(*to_write[1:]) if len(to_write) > 1 else to_write[0])
            .groupby("unit")
            .map_groups(lambda b: _write_group(plan, job, kind, b), batch_format="numpy")
            .iter_batches(batch_format="numpy", batch_size=None)
        ):
            written += [dict(zip(b, values)) for values in zip(*b.values())]
    done_units = {int(w["unit"]) for w in written}
    remote_write = ray.remote(write_unit)
    units = plan.units(job.fmt)
    written += ray.get([remote_write.remote(plan, k, job, kind, None) for k in range(units) if k not in done_units])
    written.sort(key=lambda w: int(w["unit"]))
    if job.fmt == "jsonl":
        ray.get([ray.remote(join_parts).remote(plan, k, job) for k in range(len(paths))])
    stage("write", units)

    stats, read = RunStats(), ReadStats(sources=list(sources))
    stats.started = started
    for w in written:
        stats.merge(pickle.loads(w["stats"]))
        read.lines += int(w["lines"])
        read.blank_lines += int(w["blank"])
    stats.finished = time.perf_counter()
    counters.match_seconds = sum(stages.get(k, 0.0) for k in ("shuffle", "verify", "components", "decide"))
    outcome = MatchOutcome(
        config=job.config,
        max_chars=job.max_chars,
        counters=counters,
        repeated_ids=repeated,
        groups=[],
        id_of=str,
        label_of=int,
        passage_report=passage_report if passages is not None else no_passages(job),
    )
    engine = {"name": "ray", "nodes": cluster["nodes"], "cpus": cluster["cpus"], "tasks": tasks}
    return RayRun(stats, read, outcome, cluster, stages, engine, Clusters(entries), units)


def _for_writing(plan: Plan, fmt: str) -> Callable[[Any], Any]:
    """Decision rows or passage rows -> the write stage's rows: unit, number, cluster, dup, sim, passages."""

    def rows(t: Any) -> Any:
        import pyarrow as pa

        n = t.num_rows
        names = t.column_names
        numbers = t.column("number").to_numpy()
        return pa.table(
            {
                "unit": plan.unit_of(fmt, numbers) if n else np.empty(0, dtype=np.int64),
                "number": t.column("number"),
                "cluster": t.column("cluster") if "cluster" in names else pa.nulls(n, pa.string()),
                "dup": t.column("dup") if "dup" in names else pa.nulls(n, pa.string()),
                "sim": t.column("sim") if "sim" in names else pa.array(np.zeros(n)),
                "passages": t.column("blob") if "blob" in names else pa.nulls(n, pa.binary()),
            }
        )

    return rows


def _this_run(pairs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The candidate pairs whose later record is of this run (an earlier run's documents are decided)."""
    keep = pairs["i"] >= 1
    return {k: v[keep] for k, v in pairs.items()}


def _repeated_ids(b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A partition of id hashes -> the records of this run whose id an earlier record already had."""
    return {"n": np.array([count_ids(b["h"]) - count_ids(b["h"][b["earlier"]])])}


def _as_edges(b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"hi": b["i"], "lo": b["j"]}


def _write_group(plan: Plan, job: RayJob, kind: str | None, b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    w = write_unit(plan, int(b["unit"][0]), job, kind, b)
    return {k: np.array([v], dtype=object if isinstance(v, bytes) else None) for k, v in w.items()}


class Clusters:
    """The report's clusters, computed by the decide stage and held in the object store: their sizes, and their
    entries largest first (ties: the first seen first), read a batch at a time."""

    def __init__(self, entries: Any) -> None:
        self.entries = entries
        self.listed: list[dict[str, Any]] | None = None
        sizes: Counter[int] = Counter()
        self.merged = 0
        if entries is not None:
            for b in entries.iter_batches(batch_format="numpy"):
                sizes.update(b["size"].tolist())
                self.merged += sum(1 for e in b["entry"].tolist() if b'"output_labels"' in e)
        self.sizes = sizes

    def __len__(self) -> int:
        return sum(self.sizes.values())

    def materialize(self) -> None:
        """Read the entries into a list (the Ray Client's driver task hands the clusters back by value)."""
        self.listed = list(self)
        self.entries = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.listed is not None:
            yield from self.listed
            return
        if self.entries is None:
            return
        ordered = self.entries.map_batches(
            lambda b: {"neg": -b["size"], "root": b["root"], "entry": b["entry"]}, batch_format="numpy"
        ).sort(["neg", "root"])
        for b in ordered.iter_batches(batch_format="numpy", batch_size=4096):
            for entry in b["entry"].tolist():
                yield orjson.loads(entry)


class RejectedInput(Exception):
    """A bad input line while no --rejects file was given (nothing is written); the message names it.

    Only a message, so that it survives pickling (from a task to the driver, through Ray Client).
    """


__all__ = ["RayJob", "RayJobError", "RayRun", "RejectedInput", "require_ray", "run"]
