"""A plain-Python statement of what a deduplication run decides: the reference the engines are compared with.

Features come from dedupe's own functions (normalization and shingling, MinHash, band keys), so that both
sides hash alike; everything after them (candidates, verification, clusters, labels) is written here again,
as directly as the rule reads, with no index structure, no batching and no numpy:

- Records are decided one at a time, in input order; record i sees only records 0..i-1.
- A record with no shingles (empty text, punctuation only) matches nothing, is never indexed and never a
  candidate: its match is ``Match(own id)``.
- Every other record is indexed under each of its band keys once it is decided (an exact copy of an earlier
  record too).
- The candidates of record i: for each of its band keys k, the earlier indexed records stored under k, only
  the ``bucket_cap`` smallest positions of them (all of them when the cap is 0 or there are fewer); the union
  over its band keys, without repeats, in ascending position.
- Each candidate is verified: exact Jaccard of the two shingle sets (or, with ``verify.mode == "estimate"``,
  the fraction of equal MinHash values). Record i is joined with every candidate at or above the threshold;
  ``duplicate_of`` is the *kept* candidate (one whose own ``duplicate_of`` is None) at or above the
  threshold with the highest similarity, the earliest on a tie; when there is none, record i is kept.
- Clusters are connected components; a cluster is named by its smallest position. ``cluster`` is the name of
  record i's cluster right after record i is decided (later merges do not change what was written).
"""

from __future__ import annotations

from collections.abc import Sequence

from dedupe import DedupeConfig, MinHasher, band_keys, text_shingles
from dedupe.core.matcher import Match


def reference_matches(texts: Sequence[str], ids: Sequence[str], config: DedupeConfig | None = None) -> list[Match]:
    """The decision for every record of a stream, by the rule in the module docstring.

    Example:
        >>> text = "the quick brown fox jumps over the lazy dog " * 3
        >>> [m.duplicate_of for m in reference_matches([text, "", text], ["a", "b", "c"])]
        [None, None, 'a']
    """
    config = config if config is not None else DedupeConfig()
    if len(texts) != len(ids):
        raise ValueError("texts and ids must have the same length")
    bands, rows = config.bands_rows
    cap = config.lsh.bucket_cap
    threshold = config.lsh.threshold
    exact = config.verify.mode == "exact"
    hasher = MinHasher(config.minhash)

    shingle_sets: list[set[int]] = []
    signatures: list[list[int]] = []
    record_keys: list[list[int]] = []
    for text in texts:
        hashes = text_shingles(text, config.shingle, config.normalize)
        signature = hasher.signature(hashes)
        shingle_sets.append({int(h) for h in hashes})
        signatures.append([int(v) for v in signature])
        record_keys.append([int(k) for k in band_keys(signature[None, :], bands, rows)[0]])

    def similarity(i: int, j: int) -> float:
        if exact:
            a, b = shingle_sets[i], shingle_sets[j]
            return len(a & b) / len(a | b)
        equal = sum(1 for x, y in zip(signatures[i], signatures[j]) if x == y)
        return equal / len(signatures[i])

    parent = list(range(len(texts)))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    def join(x: int, y: int) -> None:
        rx, ry = root(x), root(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)  # the smallest position names the cluster

    bucket: dict[int, list[int]] = {}  # band key -> positions of the indexed records under it, ascending
    out: list[Match] = []
    for i in range(len(texts)):
        if not shingle_sets[i]:
            out.append(Match(ids[i]))
            continue
        candidates: set[int] = set()
        for key in record_keys[i]:
            members = bucket.get(key, [])
            candidates.update(members[:cap] if cap else members)
        best, best_sim = -1, -1.0
        for j in sorted(candidates):
            sim = similarity(i, j)
            if sim >= threshold:
                join(i, j)
                if sim > best_sim and out[j].duplicate_of is None:
                    best, best_sim = j, sim
        for key in dict.fromkeys(record_keys[i]):
            bucket.setdefault(key, []).append(i)
        cluster = ids[root(i)]
        out.append(Match(cluster, ids[best], round(best_sim, 6)) if best >= 0 else Match(cluster))
    return out
