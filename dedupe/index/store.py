"""The on-disk index: a directory of immutable segments and one manifest.

Layout of ``--index PATH``::

    PATH/MANIFEST.json       format, parameters, segment list with checksums, last run
    PATH/seg-000001.dseg     the documents of the first run (or checkpoint)
    PATH/seg-000002.dseg     the documents added by the next checkpoint, ...
    PATH/LOCK                while a run writes the index: who holds it (JSON)

A checkpoint writes one new segment holding only what was added since the
previous one (so its cost follows the new documents, not the index size),
then replaces the manifest. Both are written aside, fsynced and renamed into
place (and the directory fsynced), so a process killed at any instant leaves
the previous manifest and the segments it names intact: the last good index.
Files that no manifest names (left by a killed checkpoint) are ignored and
removed by the next save.

One writer at a time: a :class:`Checkpointer` holds the index's lock from
before it loads the index until :meth:`Checkpointer.close`; a second one
fails at once with :class:`IndexLocked`. See :class:`IndexLock` for what is
guaranteed on which filesystem.

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

import contextlib
import json
import os
import time
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import xxhash

from ..config import LEGACY_INDEX_PARAMETERS
from .errors import (
    IndexCorrupt,
    IndexLocked,
    IndexMismatch,
    IndexNotFound,
    IndexStoreError,
    IndexWriteError,
    unit_hash_note,
)
from .lock import LOCK, IndexLock, stale_note
from .segments import read_segment, segment_chunks, write_atomic
from .snapshot import export_arrays, restore_arrays, track_changes

if TYPE_CHECKING:
    from ..core.matcher import Deduplicator

FORMAT = "dedupe-index"
# Version 2 stores each document's shingle hashes as a multiset (in text order, repeats kept; version 1: the
# sorted set). Version 1 indexes are read as they are (a set is a multiset, and verification takes the sets),
# and a save writes version 2; a dedupe that reads version 1 only refuses a version 2 index by name.
VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST = "MANIFEST.json"


class IndexStore:
    """An index directory: its manifest, and appending segments to it.

    Use :meth:`open`; :meth:`load` reads every segment, :meth:`append` adds
    one (a checkpoint), :meth:`rewrite` replaces all of them by one.
    """

    def __init__(self, path: str, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest
        self.notes: list[str] = []  # for the user, about opening it (a stale lock broken)
        self._lock: IndexLock | None = None
        self._token: object | None = None  # this store's claim on the lock (a later opener takes it over)
        self._release: weakref.finalize | None = None
        self._closed = False

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
    def open(cls, path: str, parameters: dict[str, Any], create: bool = True, lock: bool = False) -> IndexStore:
        """Open the index at ``path``, or create an empty one there if nothing exists and ``create``.

        With ``lock`` the store is the index's one writer: it takes the index's
        lock (see :class:`IndexLock`) before it reads the manifest and holds it
        until :meth:`close`. Without it the store reads unlocked (it takes the
        lock only for the moment it creates an index), and its writes are for
        the caller to keep apart from other writers'.

        Raises:
            IndexNotFound: ``create`` is false and there is no index at ``path``
                (nothing is created there).
            IndexLocked: another process holds the lock (with ``lock``, or to create).
            IndexCorrupt: ``path`` exists but is not a readable, intact index.
            IndexMismatch: the index was built with other ``parameters``.
        """
        manifest_path = os.path.join(path, MANIFEST)
        made = False
        if not os.path.exists(path):
            if not create:
                raise IndexNotFound(f"no index at {path}")
            try:
                os.makedirs(path)
                made = True
            except FileExistsError:
                pass  # another run created it meanwhile: the lock decides which one goes on
            except OSError as exc:
                raise IndexStoreError(f"{path}: cannot create the index directory: {exc.strerror or exc}") from exc
        if not os.path.isdir(path):
            raise IndexCorrupt(f"{path}: not a dedupe index (an index is a directory holding {MANIFEST})")
        if not create and not os.path.exists(manifest_path) and not _entries(path):
            raise IndexNotFound(f"no index at {path}")
        if not lock and os.path.exists(manifest_path):
            return cls._read(path, parameters)  # a reader: no lock
        # Locked before the manifest is read or created: a concurrent creator could otherwise write an empty
        # manifest over the first checkpoint of a run that went ahead.
        try:
            held, fresh = IndexLock.acquire(path)
        except BaseException:
            if made:
                with contextlib.suppress(OSError):
                    os.rmdir(path)
            raise
        try:
            if os.path.exists(manifest_path):
                store = cls._read(path, parameters)
            elif _entries(path):
                raise IndexCorrupt(f"{path}: not a dedupe index: the directory has files but no {MANIFEST}")
            elif not create:
                raise IndexNotFound(f"no index at {path}")
            else:
                store = cls._create(path, parameters)
        except BaseException:
            if fresh:
                held.release()
            if made:
                with contextlib.suppress(OSError):
                    os.rmdir(path)  # only if empty: nothing of an index that was never made is left
            raise
        if fresh and held.broken is not None:
            store.notes.append(stale_note(path, held.broken))
        if lock:
            store._hold(held)
        elif fresh:
            held.release()
        return store

    @classmethod
    def _read(cls, path: str, parameters: dict[str, Any]) -> IndexStore:
        store = cls(path, _read_manifest(os.path.join(path, MANIFEST)))
        store._check_parameters(parameters)
        return store

    def _hold(self, held: IndexLock) -> None:
        self._lock, self._token = held, object()
        held.owner = self._token  # in this process, the newest opener writes (see IndexLock)
        # Released by close(), or when the store is dropped, or at interpreter exit, whichever comes first.
        self._release = weakref.finalize(self, held.release_for, self._token)

    def close(self) -> None:
        """Release the index's lock, if this store holds it (idempotent); the store may not write after."""
        self._closed = True
        if self._release is not None:
            self._release()

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_writer(self) -> None:
        if self._closed:
            raise IndexStoreError(f"{self.path}: the index was closed; open it again to write to it")
        if self._lock is not None and self._lock.owner is not self._token:
            raise IndexLocked(
                f"{self.path}: the index was opened again in this process after this opener; "
                "only the newest opener may write it",
                self._lock.info,
                self._lock.lock_path,
            )

    @classmethod
    def _create(cls, path: str, parameters: dict[str, Any]) -> IndexStore:
        store = cls(
            path,
            {
                "format": FORMAT,
                "version": VERSION,
                "parameters": parameters,
                "documents": 0,
                "segments": [],
                "next_segment": 1,
                "last_run": None,
            },
        )
        try:
            store.write_manifest()
        except OSError as exc:
            raise IndexWriteError(f"{path}: cannot create the index: {exc.strerror or exc}") from exc
        return store

    def _check_parameters(self, parameters: dict[str, Any]) -> None:
        # A key added after the index was saved: it was built with the value that key's absence meant.
        stored = {k: v for k, v in LEGACY_INDEX_PARAMETERS.items() if k in parameters} | self.manifest["parameters"]
        differing = [key for key in sorted(set(stored) | set(parameters)) if stored.get(key) != parameters.get(key)]
        diffs = [
            f"{key}={json.dumps(stored.get(key))} (this run: {json.dumps(parameters.get(key))})" for key in differing
        ]
        if diffs:
            raise IndexMismatch(
                f"{self.path}: the index was built with " + ", ".join(diffs) + "; what it holds cannot be compared "
                "with what this run computes. Run with the index's options (--passages included), or use a new "
                "--index path." + unit_hash_note(differing, stored, parameters)
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
        self._check_writer()
        segments = self.segments
        if documents or any(len(a) for name, a in arrays.items() if not name.endswith("offsets")):
            segments.append(self._write_segment(arrays, documents))
        self._commit(segments, self.documents + documents, last_run)

    def rewrite(self, arrays: dict[str, np.ndarray], documents: int, last_run: dict[str, Any] | None = None) -> None:
        """Replace every segment by one holding all ``documents`` (compaction), atomically."""
        self._check_writer()
        self._commit([self._write_segment(arrays, documents)], documents, last_run)

    def _write_segment(self, arrays: dict[str, np.ndarray], documents: int) -> dict[str, Any]:
        number = int(self.manifest["next_segment"])
        self.manifest["next_segment"] = number + 1
        file = f"seg-{number:06d}.dseg"
        meta = {"first": self.documents, "documents": documents}
        size, checksum = write_atomic(os.path.join(self.path, file), segment_chunks(arrays, meta))
        return {"file": file, "bytes": size, "xxh3_128": checksum, "documents": documents}

    def _commit(self, segments: list[dict[str, Any]], documents: int, last_run: dict[str, Any] | None) -> None:
        self.manifest["segments"] = segments
        self.manifest["documents"] = documents
        self.manifest["version"] = VERSION  # a version 1 index holds version 2 segments from its first save on
        if last_run is not None:
            self.manifest["last_run"] = last_run
        self.manifest["saved"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.write_manifest()
        self._remove_strays()

    def write_manifest(self) -> None:
        body = {k: v for k, v in self.manifest.items() if k != "checksum"}
        body["checksum"] = xxhash.xxh3_128_hexdigest(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
        self.manifest = body
        write_atomic(
            os.path.join(self.path, MANIFEST),
            [orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"],
        )

    def _remove_strays(self) -> None:
        # Only names a killed save leaves; the lock file (held while this runs) is never among them.
        named = {seg["file"] for seg in self.manifest["segments"]} | {MANIFEST, LOCK}
        for entry in os.listdir(self.path):
            if entry not in named and (entry.startswith("seg-") or entry.startswith(MANIFEST + ".tmp-")):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.path, entry))

    def nbytes(self) -> int:
        """Bytes on disk (segments and manifest)."""
        segments: int = sum(seg["bytes"] for seg in self.manifest["segments"])
        return segments + os.path.getsize(os.path.join(self.path, MANIFEST))


def _entries(path: str) -> list[str]:
    """What the directory holds besides the lock file (a run creating the index holds it before the manifest)."""
    return [entry for entry in os.listdir(path) if entry != LOCK]


def _read_manifest(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise IndexCorrupt(f"{path}: cannot read: {exc.strerror or exc}") from exc
    damaged = f"{path}: the index manifest is damaged (not the JSON it wrote)"
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise IndexCorrupt(damaged) from exc
    if not isinstance(manifest, dict) or "checksum" not in manifest:  # an array too (list.pop wants a number)
        raise IndexCorrupt(damaged)
    checksum = manifest.pop("checksum")
    if xxhash.xxh3_128_hexdigest(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)) != checksum:
        raise IndexCorrupt(f"{path}: the index manifest fails its checksum (edited or damaged)")
    if manifest.get("format") != FORMAT:
        raise IndexCorrupt(f"{path}: not a dedupe index manifest")
    if manifest.get("version") not in READABLE_VERSIONS:
        raise IndexCorrupt(
            f"{path}: index format version {manifest.get('version')} is not supported "
            f"(this dedupe reads versions {', '.join(map(str, READABLE_VERSIONS))})"
        )
    manifest["checksum"] = checksum
    for seg in manifest.get("segments", []):
        file = seg.get("file", "")
        if not isinstance(file, str) or "/" in file or "\\" in file or not file.startswith("seg-"):
            raise IndexCorrupt(f"{path}: the manifest names an invalid segment file {file!r}")
    return manifest


class Checkpointer:
    """Keeps a :class:`~dedupe.core.matcher.Deduplicator` and an index directory in step.

    :meth:`open` takes the index's lock and loads the saved documents into the
    detector; :meth:`save` appends what was added since the previous save (a
    checkpoint) and records ``last_run``; the final save compacts the index
    once it has many segments; :meth:`close` releases the lock. Use it as a
    context manager to close it on every way out::

        with Checkpointer.open(path, dedup) as index:
            ...
            index.save(last_run, final=True)
    """

    COMPACT_AT = 32  # segments; past this the final save rewrites one segment

    def __init__(self, store: IndexStore, dedup: Deduplicator) -> None:
        self.store = store
        self.dedup = dedup
        self.saved = len(dedup)
        self.checkpoints = 0
        self.load_seconds = 0.0
        self.save_seconds = 0.0
        self.documents_before = len(dedup)
        self.notes: list[str] = store.notes  # for the user: a stale lock broken on the way in

    @classmethod
    def open(cls, path: str, dedup: Deduplicator, create: bool = True) -> Checkpointer:
        """Lock the index at ``path`` (creating it if nothing is there and ``create``) and load it into the
        empty detector ``dedup``.

        The lock is taken before anything is read and held until :meth:`close`
        (or until the checkpointer is dropped, or the interpreter exits): one
        writer at a time (see :class:`IndexLock`).

        Raises:
            IndexLocked: another run holds the index; the message names it and what to do.
            IndexNotFound: ``create`` is false and there is no index at ``path``.
            IndexCorrupt, IndexMismatch, IndexStoreError: see :meth:`IndexStore.open`.
        """
        start = time.perf_counter()
        store = IndexStore.open(path, dedup.config.index_parameters(), create=create, lock=True)
        try:
            segments = store.load()
            try:
                restore_arrays(dedup, segments)
            except (ValueError, KeyError) as exc:
                raise IndexCorrupt(f"{path}: {exc}") from exc
            if len(dedup) != store.documents:
                raise IndexCorrupt(
                    f"{path}: the segments hold {len(dedup):,} documents, the manifest says {store.documents:,}"
                )
            track_changes(dedup)
        except BaseException:
            store.close()
            raise
        self = cls(store, dedup)
        self.load_seconds = time.perf_counter() - start
        return self

    def close(self) -> None:
        """Release the index's lock (idempotent). What was saved stays; no save may follow."""
        self.store.close()

    def __enter__(self) -> Checkpointer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
                self.store.rewrite(export_arrays(self.dedup, 0, all_links=True), count, last_run)
            else:
                self.store.append(export_arrays(self.dedup, self.saved), count - self.saved, last_run)
        except OSError as exc:
            raise IndexWriteError(
                f"cannot write the index {self.store.path}: {exc.strerror or exc}; it keeps its last good "
                f"checkpoint ({kept:,} documents)"
            ) from exc
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
