"""The features of a batch of texts: shingle hashes, MinHash signatures and LSH band keys (plus passage features).

A pure function of the texts and the configuration, so it may run in a worker process
(:mod:`dedupe.features.pool`); both engines compute features here.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from ..config import DedupeConfig
from ..core.lsh import band_keys
from ..io.records import Record, Rejected, parse_line
from ..passages.packed import PassageBatch
from ..passages.segment import passage_features
from .minhash import MinHasher
from .normalize import normalize, prepare_batch_utf8
from .shingles import shingle_batch


class PackedHashes:
    """The shingle hashes of a batch in one array plus offsets: one buffer to
    send between processes instead of one pickled array per text (which cost
    more than the matching itself).

    Example:
        >>> import numpy as np
        >>> packed = PackedHashes([np.array([1, 2], dtype=np.uint64), np.array([], dtype=np.uint64)])
        >>> len(packed), packed[0].tolist(), packed[1].tolist()
        (2, [1, 2], [])
    """

    def __init__(self, arrays: list[np.ndarray]) -> None:
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        self.offsets = np.concatenate(([0], np.cumsum(lengths))).tolist()
        self.values = np.concatenate(arrays) if arrays else np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> np.ndarray:
        """The number of hashes of each text."""
        return np.diff(np.asarray(self.offsets, dtype=np.int64))

    def __getitem__(self, k: int) -> np.ndarray:
        return self.values[self.offsets[k] : self.offsets[k + 1]]


class HashRows(Protocol):
    """The shingle hashes of a batch, one array per text: a list of arrays or a :class:`PackedHashes`."""

    def __len__(self) -> int: ...

    def __getitem__(self, k: int, /) -> np.ndarray: ...


# Per batch: shingle hashes per text (multisets: in text order, repeats kept), signatures (n, num_perm),
# band keys (n, bands), seconds spent.
Features = tuple[PackedHashes, np.ndarray, np.ndarray, float]

# Per process: the MinHasher of the last configuration seen (building one draws its permutations).
_WORKER_STATE: dict[str, Any] = {}


def compute_features(texts: list[str], config: DedupeConfig) -> Features:
    """Shingle hashes, signatures and LSH band keys of a batch of texts.

    A pure function of the texts and the configuration, so it may run in a
    worker process.
    """
    start = time.perf_counter()
    hasher = _WORKER_STATE.get("hasher")
    if hasher is None or hasher.config != config.minhash:
        hasher = _WORKER_STATE["hasher"] = MinHasher(config.minhash)
    # Word shingles only need the words, which prepare() already separates.
    if config.shingle.unit == "word":
        cleaned: list[str] | list[bytes] = prepare_batch_utf8(texts, config.normalize)
    else:
        cleaned = [normalize(t, config.normalize) for t in texts]
    # The shingle multisets (unsorted, repeats kept): signatures are the same, and verification takes the sets.
    hashes = shingle_batch(cleaned, config.shingle, unique=False)
    signatures = hasher.signatures(hashes)
    keys = band_keys(signatures, *config.bands_rows)
    return PackedHashes(hashes), signatures, keys, time.perf_counter() - start


def all_features(
    texts: list[str], config: DedupeConfig, documents: bool = True
) -> tuple[Features, PassageBatch | None]:
    """:func:`compute_features`, and the passage features too when ``config.passages`` is set.

    With ``documents`` False the document features are left out (empty rows of the right count: the second pass
    of two, whose decisions are made, needs only the passages)."""
    if documents:
        features = compute_features(texts, config)
    else:
        n = len(texts)
        empty = PackedHashes([np.empty(0, dtype=np.uint64)] * n)
        features = (empty, np.empty((n, 0), dtype=np.uint32), np.empty((n, 0), dtype=np.uint64), 0.0)
    if config.passages is None:
        return features, None
    start = time.perf_counter()
    found = passage_features(texts, config.passages)
    hashes, signatures, keys, seconds = features
    return (hashes, signatures, keys, seconds + time.perf_counter() - start), found


# What parse_and_featurize makes of each entry: (id, text, has_annotation) for a line read as a record, the
# Rejected of a line that is not one, None for a text given as such.
Parsed = tuple[str, str, bool] | Rejected | None
# The lines of a batch, beside their bytes: line numbers, sources and numbers across inputs.
LineMeta = tuple[list[int], list[str], list[int]]


def parse_and_featurize(
    entries: list[bytes | str],
    meta: LineMeta,
    fields: tuple[str, str],
    config: DedupeConfig,
    max_chars: int | None,
    documents: bool = True,
) -> tuple[list[Parsed], tuple[Features, PassageBatch | None]]:
    """Parse a batch's JSONL lines, then :func:`all_features` of its records' texts (cut at ``max_chars``;
    ``documents`` as there).

    What a feature worker does for the streaming engine, so that the main process only decides and writes.

    Args:
        entries: In input order, a JSONL line (bytes; parsed with :func:`~dedupe.io.records.parse_line`) or the
            text of a record read already (str).
        meta: For the lines, in order: their line numbers, sources and numbers across inputs.
        fields: The text field and the id field.
        config: The matching configuration.
        max_chars: Texts are cut at this many characters for the features (None: whole).

    Returns:
        What each entry is (see :data:`Parsed`), and the features of the records, in order.
    """
    lines, sources, numbers = meta
    text_field, id_field = fields
    parsed: list[Parsed] = []
    texts: list[str] = []
    m = 0
    for entry in entries:
        if isinstance(entry, str):
            parsed.append(None)
            texts.append(entry)
            continue
        item = parse_line(entry, lines[m], sources[m], numbers[m], text_field, id_field)
        m += 1
        if isinstance(item, Record):
            parsed.append((item.id, item.text, item.has_annotation))
            texts.append(item.text)
        else:
            parsed.append(item)
    if max_chars is not None:
        texts = [t[:max_chars] for t in texts]
    return parsed, all_features(texts, config, documents)
