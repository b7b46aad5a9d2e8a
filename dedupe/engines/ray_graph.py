"""The shuffle stages of the Ray job (:mod:`dedupe.engines.ray`): verify, components and decide, as Ray Data.

Every stage groups rows by a hash partition of one record number (``number % parts``), so each group holds
every row of the numbers it owns, and runs a numpy kernel over the group (``map_groups``). Nothing of the
size of the pairs or of the records in them passes through the driver; it sees counts only.

- **verify**: a join in two shuffles. The pairs ask for the features of both records in the partition of the
  later one; the features are computed by a group per input range (:func:`~dedupe.engines.ray_tasks.gather`)
  and sent to the partitions that asked; each partition verifies its pairs.
- **components**: the large-star / small-star rounds of :mod:`dedupe.core.components` over the pairs at or
  above the threshold, one shuffle per step.
- **decide**: each pair learns its component's root (a join with the final stars), then the pairs are grouped
  by root, so a partition holds whole components, and each partition is decided by the streaming engine's rule
  (:func:`~dedupe.core.decide.decide_pairs`, or :func:`~dedupe.core.keep.select` for a keep policy): the
  decisions of disjoint components do not depend on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from ..core.clusters import cluster_entries
from ..core.components import both_ways, large_star, normalized, roots_of, small_star
from ..core.decide import decide_pairs
from ..core.keep import select
from ..core.outcome import SIMILARITY_BINS, candidate_bin
from ..core.similarity import jaccard, shingle_set
from ..features.minhash import estimate_jaccard
from .ray_cluster import RayJob
from .ray_index import IndexInput, segment_features
from .ray_tasks import Plan, gather

Batch = dict[str, np.ndarray]


def _table(columns: dict[str, Any]) -> Any:
    import pyarrow as pa

    types = {"feat": pa.binary(), "id": pa.string(), "id_i": pa.string(), "id_j": pa.string()}
    types |= {"cluster": pa.string(), "dup": pa.string(), "entry": pa.binary()}
    return pa.table({k: pa.array(v, type=types.get(k)) for k, v in columns.items()})


def parts_for(rows: int, partition_rows: int) -> int:
    """Partitions for a shuffle of ``rows`` rows."""
    return max(1, -(-rows // max(1, partition_rows)))


def tables(ray: Any, refs: list[Any], rows: int, partition_rows: int) -> Any:
    """A dataset of the tables ``refs`` (one per range) in about one block per shuffle partition: a sort-based
    shuffle of N blocks makes N x N pieces, which the driver tracks (about 5 KB each, measured), so the ranges'
    tables are joined into fewer blocks first (without a shuffle)."""
    ds = ray.data.from_arrow_refs(refs)
    blocks = min(len(refs), parts_for(rows, partition_rows))
    return ds.repartition(blocks, shuffle=False) if blocks < len(refs) else ds


def of_kind(kind: int) -> Callable[[Any], Any]:
    """The rows of the decide stage of one kind (see :func:`~dedupe.engines.ray_graph.decided`)."""

    def rows(t: Any) -> Any:
        return t.filter(np.asarray(t.column("kind").to_numpy()) == kind)

    return rows


# --- verify -------------------------------------------------------------------------------------------------


def requests(plan: Plan, parts: int, index: IndexInput | None) -> Callable[[Batch], Batch]:
    """Pairs (i, j) -> requests (range, n, dest): the features of both records, in the partition of i. An
    earlier run's document (numbered below 1) is asked of its index segment: range ``len(plan.placed) + k``."""

    def ask(b: Batch) -> Batch:
        i, j = b["i"].astype(np.int64), b["j"].astype(np.int64)
        n = np.concatenate([i, j])
        dest = np.concatenate([i, i]) % parts
        where = plan.range_of(n)
        if index is not None:
            earlier = n < 1
            where[earlier] = len(plan.placed) + index.segment_of(n[earlier])
        return {"range": where, "n": n, "dest": dest}

    return ask


def gathered(plan: Plan, job: RayJob, kind: str | None, index: IndexInput | None) -> Callable[[Batch], Any]:
    """One range's (or index segment's) requests -> its feature rows (kind = 1, part, a = number, b = -1, feat,
    id, rank), one per distinct (number, partition) asked for."""
    exact = job.config.verify.mode == "exact"

    def answer(b: Batch) -> Any:
        n, dest = b["n"].astype(np.int64), b["dest"].astype(np.int64)
        both = np.unique(np.stack([n, dest], axis=1), axis=0)
        at = int(b["range"][0])
        if at >= len(plan.placed):
            assert index is not None
            rows = segment_features(index, at - len(plan.placed), both[:, 0], both[:, 1], exact)
        else:
            rows = gather(plan.placed[at], job, kind, both[:, 0], both[:, 1])
        return _table({"kind": np.ones(len(both), dtype=np.int8)} | rows)

    return answer


def pair_rows(parts: int) -> Callable[[Batch], Any]:
    """Pairs -> rows of the verify join, in the partition of the later record."""

    def rows(b: Batch) -> Any:
        i, j = b["i"].astype(np.int64), b["j"].astype(np.int64)
        n = len(i)
        return _table(
            {
                "kind": np.zeros(n, dtype=np.int8),
                "part": i % parts,
                "a": i,
                "b": j,
                "feat": [b""] * n,
                "id": [""] * n,
                "rank": np.zeros(n),
            }
        )

    return rows


def verified(exact: bool) -> Callable[[Any], Any]:
    """A partition of the join -> its distinct pairs with their similarity, the ids and ranks of both ends."""

    def verify(t: Any) -> Any:
        b = t.column("b").to_numpy()
        a = t.column("a").to_numpy()
        is_feature = t.column("kind").to_numpy() == 1
        numbers = a[is_feature]
        order = np.argsort(numbers, kind="stable")
        numbers = numbers[order]
        rows = np.flatnonzero(is_feature)[order]
        feats = t.column("feat").to_pylist()
        ids = t.column("id").to_pylist()
        ranks = t.column("rank").to_numpy()
        dtype = np.uint64 if exact else np.uint32
        pi, pj = normalized(a[~is_feature], b[~is_feature])  # (later, earlier), distinct, sorted
        at_i = rows[np.searchsorted(numbers, pi)]
        at_j = rows[np.searchsorted(numbers, pj)]
        sims = np.empty(len(pi))
        for k, (x, y) in enumerate(zip(at_i.tolist(), at_j.tolist())):
            fa, fb = np.frombuffer(feats[x], dtype=dtype), np.frombuffer(feats[y], dtype=dtype)
            # Shingle hashes are multisets (see compute_features): exact verification compares the sets.
            sims[k] = jaccard(shingle_set(fa), shingle_set(fb)) if exact else estimate_jaccard(fa, fb)
        return _table(
            {
                "i": pi,
                "j": pj,
                "sim": sims,
                "id_i": [ids[x] for x in at_i.tolist()],
                "id_j": [ids[y] for y in at_j.tolist()],
                "rank_i": ranks[at_i],
                "rank_j": ranks[at_j],
            }
        )

    return verify


def histogram(b: Batch) -> Batch:
    """Verified pairs -> one row: their count by similarity bin (the report's candidates histogram)."""
    counts = np.zeros(SIMILARITY_BINS, dtype=np.int64)
    for s in b["sim"].tolist():
        counts[candidate_bin(s)] += 1
    return {"counts": counts[None, :]}


# --- components ---------------------------------------------------------------------------------------------


def star_rows(parts: int, large: bool) -> Callable[[Batch], Batch]:
    """Edges (hi, lo) -> the rows a step groups: both ways for large-star, (hi, lo) for small-star."""

    def rows(b: Batch) -> Batch:
        hi, lo = b["hi"].astype(np.int64), b["lo"].astype(np.int64)
        u, v = both_ways(hi, lo) if large else (hi, lo)
        return {"part": u % parts, "u": u, "v": v}

    return rows


def large_step(b: Batch) -> Batch:
    hi, lo, stars = large_star(b["u"], b["v"])
    hi, lo = normalized(hi, lo)
    return {"hi": hi, "lo": lo, "stars": np.full(len(hi), stars)} if len(hi) else _no_edges(stars)


def _no_edges(stars: bool) -> Batch:
    # One row with hi == lo carries the flag of a group that emits no edge; normalized() drops it next step.
    return {"hi": np.array([-1]), "lo": np.array([-1]), "stars": np.array([stars])}


def small_step(b: Batch) -> Batch:
    hi, lo = normalized(*small_star(b["u"], b["v"]))
    return {"hi": hi, "lo": lo}


def star_forest(edges: Any, parts: int) -> tuple[Any, int]:
    """The connected components of a dataset of edges (hi, lo): the final stars (hi = a node, lo = its
    component's smallest node; the smallest nodes themselves have no row) and the rounds it took."""
    rounds = 0
    while True:
        rounds += 1
        step = (
            edges.map_batches(star_rows(parts, True), batch_format="numpy")
            .groupby("part")
            .map_groups(large_step, batch_format="numpy")
            .materialize()
        )
        flags = step.map_batches(lambda b: {"stars": np.array([bool(b["stars"].all())])}, batch_format="numpy")
        done = all(bool(b["stars"].all()) for b in flags.iter_batches(batch_format="numpy", batch_size=None))
        edges = step.map_batches(lambda b: {"hi": b["hi"], "lo": b["lo"]}, batch_format="numpy")
        if done:
            return edges, rounds
        edges = (
            edges.map_batches(star_rows(parts, False), batch_format="numpy")
            .groupby("part")
            .map_groups(small_step, batch_format="numpy")
            .materialize()
        )


# --- decide -------------------------------------------------------------------------------------------------


PAIR_COLUMNS = ("i", "j", "sim", "id_i", "id_j", "rank_i", "rank_j")
PAIR, LEAF, ROOT, LINK, EARLIER = range(5)  # the rows of the root join (column "kind")


def root_rows(parts: int, what: int) -> Callable[[Batch], Any]:
    """Rows of the join that gives each pair its component's root, in the partition of the number they are
    about: PAIR, a pair at or above the threshold (of its later record i); LEAF and ROOT, a final star (hi, lo):
    i = the leaf and j = its root, or i = the root; LINK, an earlier run's cluster link (hi, lo); EARLIER, an
    earlier run's document (number, id, label as written in j, kept in rank_i)."""

    def rows(b: Batch) -> Any:
        columns: dict[str, Any]
        if what == PAIR:
            columns = {k: b[k] for k in PAIR_COLUMNS}
        elif what == EARLIER:
            n = len(b["number"])
            columns = {
                "i": b["number"],
                "j": b["label"],
                "sim": np.zeros(n),
                "id_i": b["id"],
                "id_j": [""] * n,
                "rank_i": b["kept"].astype(np.float64),
                "rank_j": np.zeros(n),
            }
        else:
            hi, lo = b["hi"].astype(np.int64), b["lo"].astype(np.int64)
            keep = hi != lo
            hi, lo = hi[keep], lo[keep]
            if what == ROOT:
                hi = lo = np.unique(lo)
            n = len(hi)
            columns = {
                "i": hi,
                "j": lo,
                "sim": np.zeros(n),
                "id_i": [""] * n,
                "id_j": [""] * n,
                "rank_i": np.zeros(n),
                "rank_j": np.zeros(n),
            }
        i = np.asarray(columns["i"], dtype=np.int64)
        return _table({"kind": np.full(len(i), what, dtype=np.int8), "part": i % parts} | columns)

    return rows


def rooted(parts: int) -> Callable[[Batch], Any]:
    """A partition of the root join -> its pairs, links and earlier documents with their component's root (an
    earlier document in no component is left out), in the partition of the root."""

    def join(b: Batch) -> Any:
        kind = b["kind"]
        is_leaf = kind == LEAF
        leaf, root = b["i"][is_leaf], b["j"][is_leaf]
        order = np.argsort(leaf, kind="stable")
        leaf, root = leaf[order], root[order]
        roots = np.unique(b["i"][kind == ROOT])
        keep = (kind == PAIR) | (kind == LINK)
        earlier = kind == EARLIER
        numbers = b["i"][earlier]
        keep[earlier] = np.isin(numbers, leaf) | np.isin(numbers, roots)
        rows = {k: b[k][keep] for k in PAIR_COLUMNS}
        found = roots_of(rows["i"].astype(np.int64), leaf, root)
        return _table({"kind": kind[keep]} | rows | {"root": found, "part": found % parts})

    return join


def decided(job: RayJob, plan: Plan) -> Callable[[Batch], Any]:
    """A partition of whole components -> rows of three kinds: 0, a record's decision (number, input, cluster,
    dup, sim); 1, a cluster entry of the report (size, root, entry as JSON); 2, the partition's counters
    (size = kept records that matched only dropped ones, root and number = records the policy kept that first
    would drop, and the reverse)."""
    threshold = job.config.lsh.threshold
    policy = job.keep

    def decide(rows: Batch) -> Any:
        kind = rows["kind"]
        b = {k: v[kind == PAIR] for k, v in rows.items()}
        pi, pj, ps = b["i"].astype(np.int64), b["j"].astype(np.int64), b["sim"].astype(np.float64)
        nodes, where = np.unique(np.concatenate([pi, pj]), return_index=True)
        ids_all = np.concatenate([b["id_i"], b["id_j"]])
        ranks_all = np.concatenate([b["rank_i"], b["rank_j"]])
        roots_all = np.concatenate([b["root"], b["root"]]).astype(np.int64)
        ids = ids_all[where].tolist()
        names = dict(zip(nodes.tolist(), ids))
        is_link, is_earlier = kind == LINK, kind == EARLIER
        links = (rows["i"][is_link].astype(np.int64), rows["j"][is_link].astype(np.int64))
        earlier = rows["i"][is_earlier].astype(np.int64).tolist()
        names.update(zip(earlier, rows["id_i"][is_earlier].tolist()))
        fixed = dict(zip(earlier, (rows["rank_i"][is_earlier] > 0).tolist()))
        written = dict(zip(earlier, rows["j"][is_earlier].astype(np.int64).tolist()))  # labels as written
        id_of = names.__getitem__
        out: dict[str, list[Any]] = {k: [] for k in ("kind", "number", "cluster", "dup", "sim", "size", "root")}
        out["entry"] = []

        def row(kind: int, number: int, cluster: str | None, dup: str | None, sim: float, size: int, root: int,
                entry: bytes) -> None:  # fmt: skip
            for k, v in zip(out, (kind, number, cluster, dup, sim, size, root, entry)):
                out[k].append(v)

        changes = (0, 0)
        if policy.kind == "first":
            labels, best, groups = decide_pairs(
                pi, pj, ps, threshold, links if len(links[0]) else None, fixed if fixed else None
            )
            linked = 0
            for i, label in labels.items():
                j, s = best[i]
                matched = s >= 0  # (-1, -1.0): kept (-1 itself can be an earlier run's document)
                linked += not matched
                row(0, i, id_of(label), id_of(j) if matched else None, round(s, 6) if matched else 0.0, 0, 0, b"")
            label_of: Callable[[int], int] = lambda m: labels[m] if m in labels else written.get(m, m)  # noqa: E731
        else:
            li, lj = np.searchsorted(nodes, pi), np.searchsorted(nodes, pj)
            node_roots = roots_all[where]
            chosen = select(0, ranks_all[where], li, lj, ps, threshold, lambda j: True)
            first = select(0, np.zeros(len(nodes)), li, lj, ps, threshold, lambda j: True)
            kept, kept_first = chosen.best < 0, first.best < 0
            changes = (int((kept & ~kept_first).sum()), int((~kept & kept_first).sum()))
            linked = chosen.linked
            for k, n in enumerate(nodes.tolist()):
                j = int(chosen.best[k])
                dup, s = (ids[j], round(float(chosen.similarity[k]), 6)) if j >= 0 else (None, 0.0)
                row(0, n, id_of(int(node_roots[k])), dup, s, 0, 0, b"")
            members: dict[int, list[int]] = {}
            for n, r in zip(nodes.tolist(), node_roots.tolist()):
                members.setdefault(r, []).append(n)
            groups = [(r, m) for r, m in members.items() if len(m) > 1]
            label_of = lambda m: int(node_roots[np.searchsorted(nodes, m)])  # noqa: E731
        base = 1 if job.index is not None and job.index.documents else 0  # earlier runs' documents: below 1
        for (root, members_), entry in zip(groups, cluster_entries(groups, id_of, label_of, base)):
            row(1, 0, None, None, 0.0, len(members_), root, orjson.dumps(entry))
        row(2, changes[1], None, None, 0.0, linked, changes[0], b"")
        numbers = np.array(out["number"], dtype=np.int64)
        return _table(
            {
                "kind": np.array(out["kind"], dtype=np.int8),
                "number": numbers,
                "input": plan.input_of(np.maximum(numbers, 1)) if len(numbers) else numbers,
                "cluster": out["cluster"],
                "dup": out["dup"],
                "sim": np.array(out["sim"], dtype=np.float64),
                "size": np.array(out["size"], dtype=np.int64),
                "root": np.array(out["root"], dtype=np.int64),
                "entry": out["entry"],
            }
        )

    return decide


__all__ = [
    "EARLIER",
    "LEAF",
    "LINK",
    "PAIR",
    "ROOT",
    "decided",
    "gathered",
    "histogram",
    "large_step",
    "of_kind",
    "pair_rows",
    "parts_for",
    "requests",
    "root_rows",
    "rooted",
    "small_step",
    "star_forest",
    "star_rows",
    "tables",
    "verified",
]
