"""The snapshot codec: a matcher's documents as the named arrays of an index segment, and back.

:func:`export_arrays` turns the documents a :class:`~dedupe.core.matcher.Deduplicator` decided from some
number on into arrays (what :class:`~dedupe.index.store.IndexStore` writes as one segment);
:func:`restore_arrays` loads saved segments, in order, into an empty matcher. With ``--passages``, the passage
matcher's arrays travel in the same segments.

Arrays: ``ids`` (UTF-8 bytes) and ``id_offsets``, ``labels``, ``kept`` (1 per document kept, 0 per
duplicate), ``stored`` and ``stored_offsets`` (what verification reads), ``band_keys`` and ``band_positions``,
``links`` (pairs of documents in one cluster). A segment written before ``kept`` existed, when a record was a
duplicate exactly when it matched an earlier one, has its documents kept where their label is their own number.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core.clusters import UnionFind
from .segments import pack_strings, unpack_strings

if TYPE_CHECKING:
    from ..core.matcher import Deduplicator


def track_changes(dedup: Deduplicator) -> None:
    """Record cluster links (and changed passage groups) from now on, for :func:`export_arrays`."""
    dedup.docs.links = array("q")
    if dedup.passages is not None:
        dedup.passages.track()


def export_arrays(dedup: Deduplicator, first: int, all_links: bool = False) -> dict[str, np.ndarray]:
    """The documents from number ``first`` on, and the cluster links made since the previous export (every
    document's link to its cluster's root with ``all_links``, for a rewrite of the whole index)."""
    docs = dedup.docs
    stop = len(docs)
    ids, id_offsets = pack_strings(docs.ids[first:stop])
    stored, stored_offsets = docs.stored.export(first, stop)
    keys, positions = dedup.index.export(first)
    if all_links:
        links = docs.clusters.links()
    else:
        links = np.frombuffer(docs.links or array("q"), dtype=np.int64).reshape(-1, 2).copy()
    if docs.links is not None:
        docs.links = array("q")
    passages = dedup.passages.export() if dedup.passages is not None else {}
    return passages | {
        "ids": ids,
        "id_offsets": id_offsets,
        "labels": np.frombuffer(docs.labels, dtype=np.int64)[first:stop].copy(),
        "kept": np.frombuffer(docs.kept, dtype=np.uint8)[first:stop].copy(),
        "stored": stored,
        "stored_offsets": stored_offsets,
        "band_keys": keys,
        "band_positions": positions,
        "links": links,
    }


def restore_arrays(dedup: Deduplicator, segments: Sequence[dict[str, np.ndarray]]) -> None:
    """Load segments written from :func:`export_arrays` (in order) into an empty matcher; later records
    match them, and this run's documents are numbered after them (``dedup.base``).

    Raises:
        ValueError: the matcher is not empty, or a segment's arrays are inconsistent (a damaged index).
    """
    docs = dedup.docs
    if len(docs):
        raise ValueError("restore needs an empty Deduplicator")
    all_links = []
    for seg in segments:
        first = len(docs)
        ids = unpack_strings(seg["ids"], seg["id_offsets"], "ids")
        count = len(ids)
        labels, stored_offsets = seg["labels"], seg["stored_offsets"]
        keys, positions = seg["band_keys"], seg["band_positions"]
        links = seg["links"].reshape(-1, 2)
        stop = first + count
        kept = seg["kept"] if "kept" in seg else labels == np.arange(first, stop)
        if (
            len(labels) != count
            or len(kept) != count
            or len(stored_offsets) != count + 1
            or len(keys) != len(positions)
            or len(keys) % dedup.index.bands
            or (count and (labels.min() < 0 or labels.max() >= stop))
            or (len(positions) and (positions.min() < first or positions.max() >= stop))
            or (len(links) and (links.min() < 0 or links.max() >= stop))
        ):
            raise ValueError(f"inconsistent index segment (documents {first:,}..{stop:,})")
        docs.ids.extend(ids)
        docs.labels.frombytes(labels.astype(np.int64).tobytes())
        docs.kept.extend(kept.astype(bool).astype(np.uint8).tobytes())
        docs.stored.extend(seg["stored"].astype(docs.stored.dtype, copy=False), stored_offsets)
        dedup.index.load(keys, positions)
        all_links.append(links)
        if dedup.passages is not None:
            dedup.passages.restore(seg)
    docs.clusters = UnionFind.from_links(len(docs), np.concatenate(all_links) if all_links else np.empty((0, 2)))
    dedup.base = len(docs)
