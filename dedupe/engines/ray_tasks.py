"""The per-range and per-input work of the Ray job (:mod:`dedupe.engines.ray`): count, map, gather and write.

Each is a plain function run as a Ray task or inside a Ray Data ``map_groups``: it reads its part of an input
itself (an :class:`~dedupe.io.ranges.InputRange`, numbered from the lines before it), and computes features with
the streaming engine's own :func:`~dedupe.features.batch.compute_features`.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash

from ..core.keep import KeepPolicy, Ranker
from ..core.matcher import Match, Result
from ..features.batch import compute_features
from ..io.ranges import InputRange, count_range, read_range
from ..io.records import ReadStats, Record, Rejected
from ..io.render import write_result
from ..report.build import RunStats
from .ray_cluster import RayJob

BATCH = 1024  # records per feature batch in a map task


@dataclass(frozen=True)
class Placed:
    """An input range and where its lines sit: ``line0`` lines of its input and ``number0`` lines of all inputs
    come before it; ``source`` is the input's name as the user gave it."""

    range: InputRange
    source: str
    line0: int
    number0: int


@dataclass
class Plan:
    """The job's ranges, placed, and what every task needs to find a record's range and input."""

    placed: list[Placed]
    starts: np.ndarray = field(init=False)  # number0 + 1 of each range: the first number it can hold

    def __post_init__(self) -> None:
        self.starts = np.array([p.number0 + 1 for p in self.placed], dtype=np.int64)

    def range_of(self, numbers: np.ndarray) -> np.ndarray:
        """The index of the range holding each record number."""
        return np.searchsorted(self.starts, numbers, side="right") - 1

    def input_of(self, numbers: np.ndarray) -> np.ndarray:
        """The input index of each record number."""
        inputs = np.array([p.range.input for p in self.placed], dtype=np.int64)
        found: np.ndarray = inputs[self.range_of(numbers)]
        return found

    def of_input(self, k: int) -> list[Placed]:
        """The ranges of input ``k``, in order."""
        return [p for p in self.placed if p.range.input == k]

    def units(self, fmt: str) -> int:
        """The write stage's units: every range for JSONL shards (written as parts, then joined), every input
        for Parquet shards (one writer each)."""
        return len(self.placed) if fmt == "jsonl" else 1 + max((p.range.input for p in self.placed), default=-1)

    def unit_of(self, fmt: str, numbers: np.ndarray) -> np.ndarray:
        """The write unit of each record number."""
        return self.range_of(numbers) if fmt == "jsonl" else self.input_of(numbers)

    def ranges_of_unit(self, fmt: str, unit: int) -> list[Placed]:
        """The ranges a write unit writes, in order."""
        return [self.placed[unit]] if fmt == "jsonl" else self.of_input(unit)


def count(r: InputRange, policy: KeepPolicy, job: RayJob, source: str) -> tuple[int, str | None]:
    """Lines (or rows) of a range; with ``--keep field:NAME``, also the kind of its first field value."""
    lines = count_range(r, source)
    if policy.kind != "field":
        return lines, None
    ranker = policy.ranker(job.text_field)
    for item in read_range(r, source, 0, 0, job.text_field, job.id_field, ReadStats()):
        if isinstance(item, Record):
            ranker(item)
            if ranker.kind is not None:
                break
    return lines, ranker.kind


def ranked_records(
    p: Placed, job: RayJob, read: ReadStats, ranker: Ranker
) -> Iterator[tuple[Record, float] | Rejected]:
    """The range's records with their rank, and its rejects (the ranker's too), in order."""
    for item in read_range(p.range, p.source, p.line0, p.number0, job.text_field, job.id_field, read):
        if isinstance(item, Rejected):
            yield item
            continue
        rank = ranker(item)
        yield rank if isinstance(rank, Rejected) else (item, rank)


def ranker_of(job: RayJob, kind: str | None) -> Ranker:
    """A ranker for the job's policy, knowing the kind of field value the whole run holds."""
    ranker = job.keep.ranker(job.text_field)
    ranker.kind = kind
    return ranker


def _batches(
    p: Placed, job: RayJob, read: ReadStats, kind: str | None, wanted: np.ndarray | None = None
) -> Iterator[tuple[list[Record], list[float], Any] | Rejected]:
    """The range's rejects, and its records in batches with their ranks and features (of the records
    numbered in ``wanted`` only, when given)."""
    batch: list[Record] = []
    ranks: list[float] = []

    def features() -> Any:
        return compute_features([r.text[: job.max_chars] for r in batch], job.config)

    for item in ranked_records(p, job, read, ranker_of(job, kind)):
        if isinstance(item, Rejected):
            yield item
            continue
        record, rank = item
        if wanted is not None:
            at = np.searchsorted(wanted, record.number)
            if at == len(wanted) or wanted[at] != record.number:
                continue
        batch.append(record)
        ranks.append(rank)
        if len(batch) >= BATCH:
            yield batch, ranks, features()
            batch, ranks = [], []
    if batch:
        yield batch, ranks, features()


def featurize(p: Placed, job: RayJob, kind: str | None) -> tuple[dict[str, Any], Any, Any, Any]:
    """Map stage for one range: a summary for the driver, its (band key, number) rows, its id hashes and, with
    ``--passages``, its passage link rows (:func:`~dedupe.engines.ray_passages.link_rows`).

    The features themselves are not kept: the verify stage computes them again for the few records that are
    in a candidate pair (:func:`gather`), so nothing of the size of the corpus waits in the object store.
    """
    import pyarrow as pa

    from ..passages.segment import passage_features
    from .ray_passages import link_rows

    read = ReadStats()
    numbers: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    indexed: list[np.ndarray] = []
    id_hashes: list[int] = []
    links: list[tuple[np.ndarray, np.ndarray]] = []
    first_reject: Rejected | None = None
    truncated = 0
    seconds = 0.0
    for found in _batches(p, job, read, kind):
        if isinstance(found, Rejected):
            first_reject = first_reject or found
            continue
        batch, _, (hashes, _, band, took) = found
        seconds += took
        numbers.append(np.fromiter((r.number for r in batch), dtype=np.int64, count=len(batch)))
        keys.append(band)
        # An empty shingle set is never indexed and never matches (as in the streaming path).
        indexed.append(np.diff(np.asarray(hashes.offsets)) > 0)
        id_hashes += [xxhash.xxh3_64_intdigest(r.id.encode("utf-8", "surrogatepass")) for r in batch]
        if job.max_chars is not None:
            truncated += sum(len(r.text) > job.max_chars for r in batch)
        if job.config.passages is not None:
            texts = [r.text[: job.max_chars] for r in batch]
            links.append(link_rows(numbers[-1], passage_features(texts, job.config.passages)))
    bands = job.config.bands_rows[0]
    number = np.concatenate(numbers) if numbers else np.empty(0, dtype=np.int64)
    band = np.concatenate(keys) if keys else np.empty((0, bands), dtype=np.uint64)
    mask = np.concatenate(indexed) if indexed else np.empty(0, dtype=bool)
    summary = {
        "first_reject": first_reject,
        "truncated": truncated,
        "feature_seconds": seconds,
        "indexed": int(np.count_nonzero(mask)),
        "records": len(number),
    }
    keys_table = pa.table({"key": band[mask].ravel(), "number": np.repeat(number[mask], bands)})
    ids_table = pa.table({"h": np.array(id_hashes, dtype=np.uint64)})
    links_table = pa.table(
        {
            "key": np.concatenate([k for k, _ in links]) if links else np.empty(0, dtype=np.uint64),
            "number": np.concatenate([n for _, n in links]) if links else np.empty(0, dtype=np.int64),
        }
    )
    return summary, keys_table, ids_table, links_table


def gather(p: Placed, job: RayJob, kind: str | None, numbers: np.ndarray, dest: np.ndarray) -> dict[str, Any]:
    """The features of the range's records ``numbers`` (with the partition ``dest`` each is wanted in; a number
    may repeat with other partitions), computed again from the input: rows (part, a = number, b = -1, feat =
    stored features as bytes, id, rank) for the verify stage."""
    exact = job.config.verify.mode == "exact"
    wanted = np.unique(numbers)
    stored: dict[int, tuple[bytes, str, float]] = {}
    for found in _batches(p, job, ReadStats(), kind, wanted):
        if isinstance(found, Rejected):
            continue
        batch, ranks, (hashes, signatures, _, _) = found
        for k, record in enumerate(batch):
            features = hashes[k] if exact else signatures[k]
            stored[record.number] = (np.ascontiguousarray(features).tobytes(), record.id, ranks[k])
    rows = [(int(d), n) for n, d in zip(numbers.tolist(), dest.tolist())]
    return {
        "part": np.array([d for d, _ in rows], dtype=np.int64),
        "a": np.array([n for _, n in rows], dtype=np.int64),
        "b": np.full(len(rows), -1, dtype=np.int64),
        "feat": np.array([stored[n][0] for _, n in rows], dtype=object),
        "id": np.array([stored[n][1] for _, n in rows], dtype=object),
        "rank": np.array([stored[n][2] for _, n in rows], dtype=np.float64),
    }


class _Lines:
    """A binary file taking written lines (the dropped records, or the rejects)."""

    def __init__(self, handle: Any) -> None:
        self.write = handle.write


class _AtLine:
    """A shard writer taking lines of one input line (Parquet errors name it)."""

    def __init__(self, writer: Any, line: int) -> None:
        self.writer, self.line = writer, line

    def write(self, data: bytes) -> None:
        self.writer.write(data, self.line)


def side_path(job: RayJob, unit: int, what: str) -> str:
    """Where the write task of ``unit`` (see :meth:`Plan.units`) puts its rejected (``what`` = "rejects") or
    dropped lines, or its part of a JSONL shard (``what`` = "part")."""
    return os.path.join(job.output, f".dedupe-{job.run_id}", f"{unit}.{what}")


class _Part:
    """A write unit's part of a JSONL shard: a plain file taking lines (the shard is the parts concatenated)."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 -- closed by close()

    def write(self, data: bytes, line: int = 0) -> None:
        self.file.write(data)

    def close(self) -> None:
        self.file.close()


def write_unit(
    plan: Plan, unit: int, job: RayJob, kind: str | None, decided: dict[str, np.ndarray] | None
) -> dict[str, Any]:
    """Write stage for one unit of :meth:`Plan.units`: every record of its ranges with its decision (and passage
    matches), to its part of a JSONL shard (a range) or to its Parquet shard (an input).

    ``decided`` holds rows (number, cluster, dup, sim, passages) for the records that are not simply kept alone;
    a row has a decision (cluster set) or passage matches (passages set, pickled). The rejected and dropped lines
    go to :func:`side_path` files; returns the unit's statistics (pickled)."""
    from ..io.shards import ShardWriter, output_schema

    decisions: dict[int, Match] = {}
    passages: dict[int, Any] = {}
    if decided is not None:
        for number, cluster, dup, sim, blob in zip(
            decided["number"].tolist(), decided["cluster"], decided["dup"], decided["sim"].tolist(), decided["passages"]
        ):
            if cluster is not None:
                decisions[number] = Match(str(cluster)) if dup is None else Match(str(cluster), str(dup), round(sim, 6))
            if blob is not None:
                passages[number] = blob
    with_passages = job.config.passages is not None
    stats = RunStats()
    reads: list[ReadStats] = []
    ranker = ranker_of(job, kind)
    ranges = plan.ranges_of_unit(job.fmt, unit)

    def results() -> Iterator[Result | Rejected]:
        for p in ranges:
            read = ReadStats()
            reads.append(read)
            for item in ranked_records(p, job, read, ranker):
                if isinstance(item, Rejected):
                    yield item
                    continue
                record = item[0]
                match = decisions.get(record.number) or Match(record.id)
                found = None
                if with_passages and match.duplicate_of is None:
                    blob = passages.get(record.number)
                    found = pickle.loads(blob) if blob is not None else []
                yield Result(record, match, found)

    os.makedirs(os.path.dirname(side_path(job, unit, "rejects")), exist_ok=True)
    writer: Any
    if job.fmt == "parquet":
        writer = ShardWriter(job.output, job.fmt)
        writer.open(ranges[0].range.input, ranges[0].source, output_schema(ranges[0].range.path, job.mode))
    else:
        writer = _Part(side_path(job, unit, "part"))
    with open(side_path(job, unit, "rejects"), "wb") as rejects, open(side_path(job, unit, "dropped"), "wb") as out:
        side = _Lines(out)
        try:
            for item in stats.watch(results()):
                if isinstance(item, Rejected):
                    rejects.write(item.to_json())
                else:  # rendered by the rule the streaming engine writes with
                    write_result(job.mode, job.text_field, _AtLine(writer, item.record.line), side, item)
        finally:
            writer.close()
    lines = sum(r.lines - p.number0 for r, p in zip(reads, ranges))
    blank = sum(r.blank_lines for r in reads)
    return {"unit": unit, "stats": pickle.dumps(stats), "lines": lines, "blank": blank}


def join_parts(plan: Plan, k: int, job: RayJob) -> None:
    """A JSONL shard from its ranges' parts, in order (the same bytes as one writer would have written)."""
    import shutil

    from ..io.shards import shard_name

    placed = plan.of_input(k)
    with open(os.path.join(job.output, shard_name(k, placed[0].source, job.fmt)), "wb") as shard:
        for p in placed:
            with open(side_path(job, plan.placed.index(p), "part"), "rb") as part:
                shutil.copyfileobj(part, shard, 1 << 20)


def count_ids(hashes: np.ndarray) -> int:
    """Records whose id hash an earlier record of the same partition already had."""
    return int(len(hashes) - len(np.unique(hashes)))


__all__ = [
    "BATCH",
    "Placed",
    "Plan",
    "count",
    "count_ids",
    "featurize",
    "gather",
    "join_parts",
    "ranked_records",
    "ranker_of",
    "side_path",
    "write_unit",
]
