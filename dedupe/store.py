"""The on-disk index: a directory of immutable segments and one manifest.

Layout of ``--index PATH``::

    PATH/MANIFEST.json       format, parameters, segment list with checksums, last run
    PATH/seg-000001.dseg     the documents of the first run (or checkpoint)
    PATH/seg-000002.dseg     the documents added by the next checkpoint, ...

A checkpoint writes one new segment holding only what was added since the
previous one (so its cost follows the new documents, not the index size),
then replaces the manifest. Both are written aside, fsynced and renamed into
place (and the directory fsynced), so a process killed at any instant leaves
the previous manifest and the segments it names intact: the last good index.
Files that no manifest names (left by a killed checkpoint) are ignored and
removed by the next save.

A segment is a small binary container, safe to read from an untrusted source
(no pickle, nothing executed): an 8-byte magic, the length of a JSON header,
the header (each array's name, dtype from a fixed list, shape, offset and
size), then the raw little-endian arrays. The manifest records each
segment's size and xxh3-128 checksum; the manifest checksums itself. Any
mismatch, truncation, unknown dtype or out-of-range offset is an
:class:`IndexCorrupt` naming the file; an index is never silently replaced
by an empty one.

Example:
    >>> import tempfile, numpy as np
    >>> d = tempfile.mkdtemp()
    >>> store = IndexStore.open(d + "/idx", {"num_perm": 128})
    >>> store.documents
    0
    >>> store.append({"labels": np.arange(3, dtype=np.int64)}, documents=3)
    >>> again = IndexStore.open(d + "/idx", {"num_perm": 128})
    >>> again.documents, [seg["labels"].tolist() for seg in again.load()]
    (3, [[0, 1, 2]])
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import xxhash

from .config import LEGACY_INDEX_PARAMETERS
from .verify import check_offsets

FORMAT = "dedupe-index"
VERSION = 1
MANIFEST = "MANIFEST.json"
_MAGIC = b"DDUPSEG1"
_ALIGN = 64
# The only dtypes a segment may declare: nothing in a file chooses code to run.
_DTYPES = {"<u8": np.dtype("<u8"), "<i8": np.dtype("<i8"), "<u4": np.dtype("<u4"), "|u1": np.dtype("|u1")}
_READ_BLOCK = 1 << 24


class IndexStoreError(Exception):
    """A problem with ``--index`` a user can fix (base class)."""


class IndexWriteError(IndexStoreError):
    """A checkpoint could not be written (the previous one stays)."""


class IndexCorrupt(IndexStoreError):
    """The index on disk fails a check: truncated, altered, or not an index."""


class IndexMismatch(IndexStoreError):
    """The index was built with parameters that make its signatures incomparable with this run's."""


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: str, chunks: Iterator[bytes] | list[bytes]) -> tuple[int, str]:
    """Write ``chunks`` to ``path`` via a temporary file, fsync and rename; returns (size, xxh3-128 hex)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    digest = xxhash.xxh3_128()
    size = 0
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(os.path.dirname(path) or ".")
    return size, digest.hexdigest()


def _segment_chunks(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Iterator[bytes]:
    entries, offset = [], 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype.str not in _DTYPES:
            raise ValueError(f"array {name!r}: dtype {dtype.str} cannot be saved")
        entries.append({"name": name, "dtype": dtype.str, "shape": list(array.shape), "offset": offset,
                        "nbytes": array.nbytes})
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    header = orjson.dumps({"arrays": entries, **meta})
    start = len(_MAGIC) + 8 + len(header)
    pad_to = -(-start // _ALIGN) * _ALIGN
    yield _MAGIC + len(header).to_bytes(8, "little") + header + b"\0" * (pad_to - start)
    for (name, array), entry in zip(arrays.items(), entries):
        data = np.ascontiguousarray(array, dtype=_DTYPES[entry["dtype"]])
        yield memoryview(data).cast("B") if data.nbytes else b""  # type: ignore[misc]
        yield b"\0" * (-data.nbytes % _ALIGN)


def read_segment(path: str, size: int, checksum: str) -> dict[str, np.ndarray]:
    """Read and check one segment file: its arrays by name.

    Raises:
        IndexCorrupt: wrong size, checksum, magic, header, dtype or layout.
    """
    name = os.path.basename(path)
    try:
        actual = os.path.getsize(path)
        f = open(path, "rb")
    except OSError as exc:
        raise IndexCorrupt(f"{name}: cannot read index segment: {exc.strerror or exc}") from exc
    if actual != size:
        f.close()
        raise IndexCorrupt(f"{name}: index segment is {actual:,} bytes, the manifest says {size:,} (truncated or replaced)")
    digest = xxhash.xxh3_128()
    with f:
        head = f.read(len(_MAGIC) + 8)
        digest.update(head)
        if len(head) < len(_MAGIC) + 8 or head[: len(_MAGIC)] != _MAGIC:
            raise IndexCorrupt(f"{name}: not a dedupe index segment")
        header_len = int.from_bytes(head[len(_MAGIC) :], "little")
        if header_len > min(size, 1 << 26):
            raise IndexCorrupt(f"{name}: segment header length {header_len:,} is impossible")
        raw = f.read(header_len)
        digest.update(raw)
        try:
            header = orjson.loads(raw)
            entries = header["arrays"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"{name}: unreadable segment header") from exc
        start = len(_MAGIC) + 8 + header_len
        data_start = -(-start // _ALIGN) * _ALIGN
        pad = f.read(data_start - start)
        digest.update(pad)
        arrays: dict[str, np.ndarray] = {}
        position = data_start
        for entry in entries:
            array = _read_array(f, entry, name, position, size, digest)
            arrays[entry["name"]] = array
            position += entry["nbytes"]
            gap = f.read(-(-position // _ALIGN) * _ALIGN - position)
            digest.update(gap)
            position += len(gap)
        rest = f.read(_READ_BLOCK)
        digest.update(rest)
    if rest or digest.hexdigest() != checksum:
        raise IndexCorrupt(f"{name}: checksum mismatch: the segment was altered or damaged")
    return arrays


def _read_array(f: Any, entry: Any, name: str, position: int, size: int, digest: Any) -> np.ndarray:
    try:
        dtype = _DTYPES[entry["dtype"]]
        shape = tuple(int(n) for n in entry["shape"])
        nbytes = int(entry["nbytes"])
        label = str(entry["name"])
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexCorrupt(f"{name}: bad array entry in the segment header") from exc
    count = int(np.prod(shape)) if shape else 1
    if any(n < 0 for n in shape) or count * dtype.itemsize != nbytes or position + nbytes > size:
        raise IndexCorrupt(f"{name}: array {label!r} does not fit the segment")
    array = np.empty(count, dtype=dtype)
    view = memoryview(array).cast("B")
    done = 0
    while done < nbytes:
        got = f.readinto(view[done : done + _READ_BLOCK])
        if not got:
            raise IndexCorrupt(f"{name}: segment ends inside array {label!r}")
        digest.update(view[done : done + got])
        done += got
    return array.reshape(shape)


def pack_strings(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 byte array plus offsets (n + 1), the segment form of ids and texts.

    Example:
        >>> blob, offsets = pack_strings(["a", "é", ""])
        >>> offsets.tolist(), unpack_strings(blob, offsets, "ids")
        ([0, 1, 3, 3], ['a', 'é', ''])
    """
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)


def unpack_strings(blob: np.ndarray, offsets: np.ndarray, what: str) -> list[str]:
    """The inverse of :func:`pack_strings`.

    Raises:
        ValueError: inconsistent offsets or bytes that are not UTF-8 (a damaged index).
    """
    check_offsets(offsets, len(blob), what)
    data = blob.tobytes()
    bounds = offsets.tolist()
    try:
        return [data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(bounds, bounds[1:])]
    except UnicodeDecodeError:
        raise ValueError(f"{what} are not UTF-8") from None


class IndexStore:
    """An index directory: its manifest, and appending segments to it.

    Use :meth:`open`; :meth:`load` reads every segment, :meth:`append` adds
    one (a checkpoint), :meth:`rewrite` replaces all of them by one.
    """

    def __init__(self, path: str, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest

    @property
    def documents(self) -> int:
        """Documents held (the sum over segments)."""
        return int(self.manifest["documents"])

    @property
    def segments(self) -> list[dict[str, Any]]:
        return list(self.manifest["segments"])

    @property
    def last_run(self) -> dict[str, Any] | None:
        """What the last run that saved recorded: inputs, progress, whether it completed."""
        return self.manifest.get("last_run")

    @classmethod
    def open(cls, path: str, parameters: dict[str, Any], create: bool = True) -> IndexStore:
        """Open the index at ``path``, or create an empty one there if nothing exists.

        Raises:
            IndexCorrupt: ``path`` exists but is not a readable, intact index.
            IndexMismatch: the index was built with other ``parameters``.
        """
        manifest_path = os.path.join(path, MANIFEST)
        if not os.path.exists(path):
            if not create:
                raise IndexCorrupt(f"{path}: no such index")
            try:
                os.makedirs(path)
            except OSError as exc:
                raise IndexStoreError(f"{path}: cannot create the index directory: {exc.strerror or exc}") from exc
            return cls._create(path, parameters)
        if not os.path.isdir(path):
            raise IndexCorrupt(f"{path}: not a dedupe index (an index is a directory holding {MANIFEST})")
        if not os.path.exists(manifest_path):
            if os.listdir(path):
                raise IndexCorrupt(f"{path}: not a dedupe index: the directory has files but no {MANIFEST}")
            return cls._create(path, parameters)
        store = cls(path, _read_manifest(manifest_path))
        store._check_parameters(parameters)
        return store

    @classmethod
    def _create(cls, path: str, parameters: dict[str, Any]) -> IndexStore:
        store = cls(path, {"format": FORMAT, "version": VERSION, "parameters": parameters, "documents": 0,
                           "segments": [], "next_segment": 1, "last_run": None})
        try:
            store._write_manifest()
        except OSError as exc:
            raise IndexWriteError(f"{path}: cannot create the index: {exc.strerror or exc}") from exc
        return store

    def _check_parameters(self, parameters: dict[str, Any]) -> None:
        # A key added after the index was saved: it was built with the value that key's absence meant.
        stored = {k: v for k, v in LEGACY_INDEX_PARAMETERS.items() if k in parameters} | self.manifest["parameters"]
        diffs = [
            f"{key}={json.dumps(stored.get(key))} (this run: {json.dumps(parameters.get(key))})"
            for key in sorted(set(stored) | set(parameters))
            if stored.get(key) != parameters.get(key)
        ]
        if diffs:
            raise IndexMismatch(
                f"{self.path}: the index was built with " + ", ".join(diffs) + "; what it holds cannot be compared "
                "with what this run computes. Run with the index's options (--passages included), or use a new "
                "--index path."
            )

    def load(self) -> list[dict[str, np.ndarray]]:
        """Every segment's arrays, in order (each checked against the manifest)."""
        out = []
        for seg in self.manifest["segments"]:
            arrays = read_segment(os.path.join(self.path, seg["file"]), seg["bytes"], seg["xxh3_128"])
            out.append(arrays)
        return out

    def append(self, arrays: dict[str, np.ndarray], documents: int, last_run: dict[str, Any] | None = None) -> None:
        """Add a segment of ``documents`` new documents and record ``last_run``, atomically."""
        segments = self.segments
        if documents or any(len(a) for name, a in arrays.items() if not name.endswith("offsets")):
            segments.append(self._write_segment(arrays, documents))
        self._commit(segments, self.documents + documents, last_run)

    def rewrite(self, arrays: dict[str, np.ndarray], documents: int, last_run: dict[str, Any] | None = None) -> None:
        """Replace every segment by one holding all ``documents`` (compaction), atomically."""
        self._commit([self._write_segment(arrays, documents)], documents, last_run)

    def _write_segment(self, arrays: dict[str, np.ndarray], documents: int) -> dict[str, Any]:
        number = int(self.manifest["next_segment"])
        self.manifest["next_segment"] = number + 1
        file = f"seg-{number:06d}.dseg"
        meta = {"first": self.documents, "documents": documents}
        size, checksum = _write_atomic(os.path.join(self.path, file), _segment_chunks(arrays, meta))
        return {"file": file, "bytes": size, "xxh3_128": checksum, "documents": documents}

    def _commit(self, segments: list[dict[str, Any]], documents: int, last_run: dict[str, Any] | None) -> None:
        self.manifest["segments"] = segments
        self.manifest["documents"] = documents
        if last_run is not None:
            self.manifest["last_run"] = last_run
        self.manifest["saved"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._write_manifest()
        self._remove_strays()

    def _write_manifest(self) -> None:
        body = {k: v for k, v in self.manifest.items() if k != "checksum"}
        body["checksum"] = xxhash.xxh3_128_hexdigest(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
        self.manifest = body
        _write_atomic(os.path.join(self.path, MANIFEST), [orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"])

    def _remove_strays(self) -> None:
        named = {seg["file"] for seg in self.manifest["segments"]} | {MANIFEST}
        for entry in os.listdir(self.path):
            if entry not in named and (entry.startswith("seg-") or entry.startswith(MANIFEST + ".tmp-")):
                try:
                    os.unlink(os.path.join(self.path, entry))
                except OSError:
                    pass

    def nbytes(self) -> int:
        """Bytes on disk (segments and manifest)."""
        return sum(seg["bytes"] for seg in self.manifest["segments"]) + os.path.getsize(
            os.path.join(self.path, MANIFEST))


def _read_manifest(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise IndexCorrupt(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        manifest = orjson.loads(raw)
        checksum = manifest.pop("checksum")
    except (orjson.JSONDecodeError, AttributeError, KeyError) as exc:
        raise IndexCorrupt(f"{path}: the index manifest is damaged (not the JSON it wrote)") from exc
    if xxhash.xxh3_128_hexdigest(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)) != checksum:
        raise IndexCorrupt(f"{path}: the index manifest fails its checksum (edited or damaged)")
    if manifest.get("format") != FORMAT:
        raise IndexCorrupt(f"{path}: not a dedupe index manifest")
    if manifest.get("version") != VERSION:
        raise IndexCorrupt(f"{path}: index format version {manifest.get('version')} is not supported "
                           f"(this dedupe reads version {VERSION})")
    manifest["checksum"] = checksum
    for seg in manifest.get("segments", []):
        file = seg.get("file", "")
        if not isinstance(file, str) or "/" in file or "\\" in file or not file.startswith("seg-"):
            raise IndexCorrupt(f"{path}: the manifest names an invalid segment file {file!r}")
    return manifest


class Checkpointer:
    """Keeps a :class:`~dedupe.pipeline.Deduplicator` and an index directory in step.

    :meth:`open` loads the saved documents into the detector; :meth:`save`
    appends what was added since the previous save (a checkpoint) and records
    ``last_run``; the final save compacts the index once it has many segments.
    """

    COMPACT_AT = 32  # segments; past this the final save rewrites one segment

    def __init__(self, store: IndexStore, dedup: Any) -> None:
        self.store = store
        self.dedup = dedup
        self.saved = len(dedup)
        self.checkpoints = 0
        self.load_seconds = 0.0
        self.save_seconds = 0.0
        self.documents_before = len(dedup)

    @classmethod
    def open(cls, path: str, dedup: Any) -> Checkpointer:
        """Open (or create) the index at ``path`` and load it into the empty detector ``dedup``.

        Raises:
            IndexCorrupt, IndexMismatch, IndexStoreError: see :meth:`IndexStore.open`.
        """
        start = time.perf_counter()
        store = IndexStore.open(path, dedup.config.index_parameters())
        segments = store.load()
        try:
            dedup.restore(segments)
        except (ValueError, KeyError) as exc:
            raise IndexCorrupt(f"{path}: {exc}") from exc
        if len(dedup) != store.documents:
            raise IndexCorrupt(f"{path}: the segments hold {len(dedup):,} documents, the manifest says {store.documents:,}")
        dedup.keep_links()
        self = cls(store, dedup)
        self.load_seconds = time.perf_counter() - start
        return self

    def save(self, last_run: dict[str, Any], final: bool = False) -> None:
        """Write a checkpoint holding every document decided so far (atomic; see the module docs).

        Raises:
            IndexWriteError: the disk refused (full, read-only, quota); the index on
                disk is still the previous checkpoint.
        """
        start = time.perf_counter()
        count = len(self.dedup)
        kept = self.store.documents
        try:
            if final and len(self.store.segments) + 1 > self.COMPACT_AT:
                self.store.rewrite(self.dedup.export(0, all_links=True), count, last_run)
            else:
                self.store.append(self.dedup.export(self.saved), count - self.saved, last_run)
        except OSError as exc:
            raise IndexWriteError(
                f"cannot write the index {self.store.path}: {exc.strerror or exc}; it keeps its last good "
                f"checkpoint ({kept:,} documents)") from exc
        self.saved = count
        self.checkpoints += 1
        self.save_seconds += time.perf_counter() - start

    def report(self) -> dict[str, Any]:
        """The index part of the run report."""
        return {
            "path": self.store.path,
            "documents_before": self.documents_before,
            "documents_after": self.store.documents,
            "segments": len(self.store.segments),
            "bytes": self.store.nbytes(),
            "checkpoints": self.checkpoints,
            "load_seconds": round(self.load_seconds, 3),
            "save_seconds": round(self.save_seconds, 3),
        }
