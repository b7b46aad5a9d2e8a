"""``--passages`` on Ray: repeated passages of kept records, the streaming engine's answer, in parallel.

The streaming engine matches each kept record's passages, in stream order, against every earlier kept record's
(:class:`~dedupe.passages.matcher.PassageMatcher`). A record can only be affected by records that share a
passage key with it, directly or through others: an exact passage hash, a passage LSH band key, or a quote
window hash (every lookup of the matcher is by one of these). So:

1. **Links** (in the map tasks, :func:`link_rows`): every record's distinct passage keys, as (key, number) rows.
2. **Link components**: a shuffle by key links each record to the earliest record sharing the key
   (:func:`link_edges`), and the large-star / small-star rounds find the connected components, as for the
   documents. Extra links (a hash collision, a passage that is never indexed) only join components, which
   never changes an answer.
3. **Replay**: the kept records' texts are joined with their component's root (a shuffle by number), then
   grouped by a partition of the root, so that a partition holds whole components; each partition runs one
   matcher over its records in stream order (:func:`replayed`). Components that share no key never meet in
   the matcher, so its answers are the streaming engine's; its counters add up, and its most repeated groups
   merge by (occurrences, first seen).

A corpus whose every page carries the same boilerplate is one component: its replay runs in one task, at the
streaming engine's speed (docs/scaling.md).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import numpy as np

from ..core.components import roots_of
from ..io.records import ReadStats, Rejected
from ..passages.matcher import PassageMatcher
from ..passages.packed import PassageBatch
from ..passages.segment import passage_features
from ..passages.stats import PassageStats, passage_report
from .ray_cluster import RayJob
from .ray_graph import of_kind, parts_for, star_forest, tables
from .ray_tasks import BATCH, Placed, Plan, ranked_records, ranker_of

Batch = dict[str, np.ndarray]
TOP = 20  # groups in the report's passages.top


def link_rows(numbers: np.ndarray, found: PassageBatch) -> tuple[np.ndarray, np.ndarray]:
    """(key, number) rows: each record's distinct exact passage hashes, passage band keys and window hashes."""
    keys, owners = [], []
    for k, number in enumerate(numbers.tolist()):
        lo, hi = int(found.passages_at[k]), int(found.passages_at[k + 1])
        w_lo, w_hi = int(found.windows_at[k]), int(found.windows_at[k + 1])
        mine = np.unique(
            np.concatenate(
                [
                    np.asarray(found.exact[lo:hi], dtype=np.uint64),
                    np.asarray(found.keys[lo:hi], dtype=np.uint64).ravel(),
                    np.asarray(found.windows[w_lo:w_hi], dtype=np.uint64),
                ]
            )
        )
        keys.append(mine)
        owners.append(np.full(len(mine), number, dtype=np.int64))
    if not keys:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    return np.concatenate(keys), np.concatenate(owners)


def link_edges(b: Batch) -> Batch:
    """A partition of (key, number) rows -> edges (number, earliest number with the same key), as (hi, lo)."""
    key, number = np.asarray(b["key"], dtype=np.uint64), np.asarray(b["number"], dtype=np.int64)
    order = np.lexsort((number, key))
    key, number = key[order], number[order]
    if not len(key):
        return {"hi": number, "lo": number}
    starts = np.concatenate(([True], key[1:] != key[:-1]))
    first = number[np.maximum.accumulate(np.where(starts, np.arange(len(key)), 0))]
    linked = number != first
    return {"hi": number[linked], "lo": first[linked]}


def text_rows(p: Placed, job: RayJob, kind: str | None, parts: int) -> Any:
    """One range's records as rows of the root join: (part, number, root = -1, dropped = False, id, text)."""
    import pyarrow as pa

    numbers, ids, texts = [], [], []
    for item in ranked_records(p, job, ReadStats(), ranker_of(job, kind)):
        if isinstance(item, Rejected):
            continue
        record = item[0]
        numbers.append(record.number)
        ids.append(record.id)
        texts.append(record.text[: job.max_chars])
    n = np.array(numbers, dtype=np.int64)
    return pa.table(
        {
            "part": n % parts,
            "number": n,
            "root": np.full(len(n), -1, dtype=np.int64),
            "dropped": np.zeros(len(n), dtype=bool),
            "id": pa.array(ids, type=pa.string()),
            "text": pa.array(texts, type=pa.string()),
        }
    )


def marker_rows(parts: int, what: str) -> Callable[[Batch], Any]:
    """Stars (hi = leaf, lo = root) or dropped records' decisions -> rows of the root join."""
    import pyarrow as pa

    def rows(b: Batch) -> Any:
        if what == "stars":
            keep = b["hi"] != b["lo"]
            number, root = b["hi"][keep].astype(np.int64), b["lo"][keep].astype(np.int64)
            dropped = np.zeros(len(number), dtype=bool)
        else:  # decisions: the records with a duplicate_of are dropped
            is_dup = np.array([d is not None for d in b["dup"]], dtype=bool)
            number = b["number"][is_dup].astype(np.int64)
            root, dropped = np.full(len(number), -1, dtype=np.int64), np.ones(len(number), dtype=bool)
        n = len(number)
        return pa.table(
            {
                "part": number % parts,
                "number": number,
                "root": root,
                "dropped": dropped,
                "id": pa.array([""] * n, type=pa.string()),
                "text": pa.array([""] * n, type=pa.string()),
            }
        )

    return rows


def rooted_texts(parts: int) -> Callable[[Batch], Batch]:
    """A partition of the root join -> the kept records' (number, id, text) with the partition of their root."""

    def join(b: Batch) -> Batch:
        is_text = (b["root"] < 0) & ~b["dropped"]
        is_star = b["root"] >= 0
        leaf, root = b["number"][is_star], b["root"][is_star]
        order = np.argsort(leaf, kind="stable")
        leaf, root = leaf[order], root[order]
        dropped = np.sort(b["number"][b["dropped"]])
        number = b["number"][is_text].astype(np.int64)
        keep = ~np.isin(number, dropped)
        number = number[keep]
        roots = roots_of(number, leaf, root)
        return {
            "part": roots % parts,
            "number": number,
            "id": b["id"][is_text][keep],
            "text": b["text"][is_text][keep],
        }

    return join


def replayed(job: RayJob, plan: Plan) -> Callable[[Batch], Any]:
    """A partition of whole link components -> rows (kind, number, input, blob): kind 0, a kept record's passage
    matches (pickled); kind 1, the partition's counters and most repeated groups (pickled)."""
    import pyarrow as pa

    config = job.config.passages
    assert config is not None

    def replay(b: Batch) -> Any:
        order = np.argsort(b["number"], kind="stable")
        numbers = b["number"][order].astype(np.int64)
        ids, texts = b["id"][order].tolist(), b["text"][order].tolist()
        matcher = PassageMatcher(config)
        out_numbers, blobs = [], []
        for at in range(0, len(numbers), BATCH):
            chunk_ids, chunk_texts = ids[at : at + BATCH], texts[at : at + BATCH]
            found = matcher.add_batch(chunk_ids, chunk_texts, passage_features(chunk_texts, config))
            for k, matches in enumerate(found):
                if matches:
                    out_numbers.append(int(numbers[at + k]))
                    blobs.append(pickle.dumps(matches))
        top = [
            (-count, int(numbers[doc]), entry["first"]["start"], entry) for count, doc, entry in matcher.top_groups(TOP)
        ]
        n = np.array(out_numbers, dtype=np.int64)
        return pa.table(
            {
                "kind": np.concatenate([np.zeros(len(n), dtype=np.int8), [1]]).astype(np.int8),
                "number": np.concatenate([n, [0]]).astype(np.int64),
                "input": np.concatenate([plan.input_of(n) if len(n) else n, [-1]]).astype(np.int64),
                "blob": pa.array([*blobs, pickle.dumps((matcher.stats, top))], type=pa.binary()),
            }
        )

    return replay


def merged_report(
    job: RayJob, parts: list[tuple[PassageStats, list[tuple[Any, ...]]]]
) -> Callable[[bool], dict[str, Any]]:
    """The report's passages section from the partitions' counters and top groups."""
    config = job.config.passages
    assert config is not None
    total = PassageStats()
    for stats, _ in parts:
        for f in fields(PassageStats):
            mine, theirs = getattr(total, f.name), getattr(stats, f.name)
            if f.name == "candidates_max":
                setattr(total, f.name, max(mine, theirs))
            else:
                setattr(total, f.name, mine + theirs)
    top = [entry for *_, entry in sorted((t for _, tops in parts for t in tops), key=lambda t: t[:3])[:TOP]]
    return lambda removing: passage_report(config, total, top, removing)


def passage_stage(
    ray: Any, job: RayJob, plan: Plan, kind: str | None, links: list[Any], decisions: Any, records: int
) -> tuple[Any, Callable[[bool], dict[str, Any]], int]:
    """The passage matches of the kept records (rows input, number, blob), the report's passages section, and
    the partitions of the replay."""
    import ray.data

    link_parts = parts_for(sum(ray.get([ray.remote(_rows).remote(t) for t in links])), job.partition_rows)
    edges = (
        tables(ray, links, records * 100, job.partition_rows)
        .map_batches(lambda b: {**b, "part": (b["key"] % np.uint64(link_parts)).astype(np.int64)}, batch_format="numpy")
        .groupby("part")
        .map_groups(link_edges, batch_format="numpy")
        .materialize()
    )
    linked = edges.count()
    # Texts are heavier rows than numbers: a partition holds about 1/100 of the rows of another shuffle's.
    texts_parts = replay_parts = parts_for(records, max(1, job.partition_rows // 100))
    texts = [ray.remote(text_rows).remote(p, job, kind, texts_parts) for p in plan.placed]
    joins = [tables(ray, texts, records, max(1, job.partition_rows // 100))]
    if linked:
        stars, _ = star_forest(edges, parts_for(linked * 2, job.partition_rows))
        joins.append(stars.map_batches(marker_rows(texts_parts, "stars"), batch_format="numpy"))
    if decisions is not None:
        joins.append(decisions.map_batches(marker_rows(texts_parts, "dropped"), batch_format="numpy"))
    out = (
        joins[0]
        .union(*joins[1:])
        .groupby("part")
        .map_groups(rooted_texts(replay_parts), batch_format="numpy")
        .groupby("part")
        .map_groups(replayed(job, plan), batch_format="numpy")
        .materialize()
    )
    parts = [
        pickle.loads(blob)
        for b in out.map_batches(of_kind(1), batch_format="pyarrow").iter_batches(batch_format="numpy")
        for blob in b["blob"].tolist()
    ]
    return out.map_batches(of_kind(0), batch_format="pyarrow"), merged_report(job, parts), replay_parts


def _rows(table: Any) -> int:
    return int(table.num_rows)


def no_passages(job: RayJob) -> Callable[[bool], dict[str, Any]] | None:
    """The passages section of a run with --passages and no record at all."""
    if job.config.passages is None:
        return None
    return merged_report(job, [])


__all__ = [
    "link_edges",
    "link_rows",
    "marker_rows",
    "merged_report",
    "no_passages",
    "passage_stage",
    "replayed",
    "rooted_texts",
    "text_rows",
]
