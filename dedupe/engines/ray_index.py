"""``--index DIR`` on Ray: the documents of earlier runs, read from an index the streaming engine built.

The streaming engine numbers an index's documents before this run's records, so they are the earliest members of
every bucket, and decides this run's records against them: a record matching a kept one is its duplicate, one
that was dropped is nobody's ``duplicate_of``, and their clusters go on. The Ray job does the same with numbers
below 1: the index's document d (of B) is number d - B. A task per segment (:func:`segment_rows`) hands on its
band-key rows (for the bucket shuffle), id hashes (for repeated ids), cluster links (for the components) and a
row per document (id, label as written, kept); the verify stage reads the stored features of the earlier
documents it needs from their segments (:func:`segment_features`).

The job reads the index and does not write it: a Ray job's records are decided in parallel, while an index
segment is the state of one matcher after its documents (band index, clusters, kept flags); the streaming engine
adds a run to the index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash

from ..index.segments import read_segment, unpack_strings
from ..index.store import IndexStore


@dataclass(frozen=True)
class IndexInput:
    """An index directory's segments, as the job reads them.

    Attributes:
        path: The index directory.
        segments: The manifest's entries (file, bytes, checksum, documents), in order.
        firsts: The number of each segment's first document (below 1: an earlier run's).
        documents: Documents in the index (B).
        bytes: The segments' bytes on disk.
    """

    path: str
    segments: list[dict[str, Any]]
    firsts: list[int]
    documents: int
    bytes: int

    @classmethod
    def open(cls, path: str, parameters: dict[str, Any]) -> IndexInput:
        """The index at ``path``, checked against this run's parameters (its manifest only is read).

        Raises:
            IndexNotFound, IndexCorrupt, IndexMismatch: as :meth:`IndexStore.open`.
        """
        store = IndexStore.open(path, parameters, create=False)
        try:
            total = store.documents
            firsts, at = [], -total
            for seg in store.segments:
                firsts.append(at)
                at += int(seg["documents"])
            return cls(os.path.abspath(path), store.segments, firsts, total, store.nbytes())
        finally:
            store.close()

    def segment_of(self, numbers: np.ndarray) -> np.ndarray:
        """The segment holding each number (below 1)."""
        return np.searchsorted(np.array(self.firsts, dtype=np.int64), numbers, side="right") - 1

    def read(self, k: int) -> dict[str, np.ndarray]:
        seg = self.segments[k]
        return read_segment(os.path.join(self.path, seg["file"]), seg["bytes"], seg["xxh3_128"])

    def report(self) -> dict[str, Any]:
        """The report's ``index`` section: read, not written (``documents_after`` = ``documents_before``)."""
        return {
            "path": self.path,
            "documents_before": self.documents,
            "documents_after": self.documents,
            "segments": len(self.segments),
            "bytes": self.bytes,
            "checkpoints": 0,
            "load_seconds": 0.0,
            "save_seconds": 0.0,
            "written": False,
        }


def segment_rows(ix: IndexInput, k: int) -> tuple[Any, Any, Any, Any]:
    """Segment ``k``'s band-key rows (key, number), id hashes (h, earlier), cluster links (hi, lo) and document
    rows (number, id, label, kept), numbered as the job numbers earlier documents."""
    import pyarrow as pa

    seg = ix.read(k)
    shift = -ix.documents
    first = ix.firsts[k]
    ids = unpack_strings(seg["ids"], seg["id_offsets"], "ids")
    numbers = np.arange(first, first + len(ids), dtype=np.int64)
    hashes = np.array([xxhash.xxh3_64_intdigest(i.encode("utf-8", "surrogatepass")) for i in ids], dtype=np.uint64)
    labels = seg["labels"].astype(np.int64) + shift
    kept = seg["kept"].astype(bool) if "kept" in seg else labels == numbers
    links = seg["links"].reshape(-1, 2).astype(np.int64) + shift
    keys = pa.table(
        {
            "key": seg["band_keys"].astype(np.uint64),
            "number": np.asarray(seg["band_positions"], dtype=np.int64) + shift,
        }
    )
    return (
        keys,
        pa.table({"h": hashes, "earlier": np.ones(len(ids), dtype=bool)}),
        pa.table({"hi": np.maximum(links[:, 0], links[:, 1]), "lo": np.minimum(links[:, 0], links[:, 1])}),
        pa.table({"number": numbers, "id": pa.array(ids, type=pa.string()), "label": labels, "kept": kept}),
    )


def segment_features(ix: IndexInput, k: int, numbers: np.ndarray, dest: np.ndarray, exact: bool) -> dict[str, Any]:
    """The verify stage's feature rows of earlier documents ``numbers`` (in segment ``k``), as
    :func:`~dedupe.engines.ray_tasks.gather` makes them for this run's records."""
    seg = ix.read(k)
    ids = unpack_strings(seg["ids"], seg["id_offsets"], "ids")
    offsets, stored = seg["stored_offsets"], seg["stored"].astype(np.uint64 if exact else np.uint32, copy=False)
    at = numbers - ix.firsts[k]
    return {
        "part": dest.astype(np.int64),
        "a": numbers.astype(np.int64),
        "b": np.full(len(numbers), -1, dtype=np.int64),
        "feat": [np.ascontiguousarray(stored[offsets[r] : offsets[r + 1]]).tobytes() for r in at.tolist()],
        "id": [ids[r] for r in at.tolist()],
        "rank": np.zeros(len(numbers)),
    }


__all__ = ["IndexInput", "segment_features", "segment_rows"]
