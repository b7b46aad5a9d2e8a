"""The per-input tasks of the Ray job (:mod:`dedupe.engines.ray`): count, map, gather, verify and write.

Each is a plain function of one input (or of one input's candidate pairs), run as a Ray task: it reads the
input itself, numbers its records from the input's base (the records of the inputs before it), and computes
features with the streaming path's own :func:`~dedupe.features.batch.compute_features`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import xxhash

from ..core.matcher import Match, Result
from ..core.similarity import jaccard, shingle_set
from ..features.batch import compute_features
from ..features.minhash import estimate_jaccard
from ..index.segments import pack_strings
from ..io.records import InputError, ReadStats, Record, Rejected, display_name, is_parquet, open_input, read_records
from ..io.render import write_result
from ..report.build import RunStats
from .ray_cluster import RayJob

BATCH = 1024  # records per feature batch in a map task


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
            yield item._replace(source=source) if isinstance(item, Record) else replace(item, source=source)
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
        # Shingle hashes are multisets (see compute_features): exact verification compares the sets.
        sims[k] = jaccard(shingle_set(a), shingle_set(b)) if exact else estimate_jaccard(a, b)
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


__all__ = ["BATCH", "count_lines", "featurize", "gather", "verify", "write_shard"]
