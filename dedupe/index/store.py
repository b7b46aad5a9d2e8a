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
fails at once with :class:`IndexLocked`. See :class:`_IndexLock` for what is
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
import errno
import itertools
import json
import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import orjson
import xxhash

from ..config import LEGACY_INDEX_PARAMETERS
from ..core.similarity import check_offsets

FORMAT = "dedupe-index"
VERSION = 1
MANIFEST = "MANIFEST.json"
LOCK = "LOCK"
_MAGIC = b"DDUPSEG1"
_ALIGN = 64
# The only dtypes a segment may declare: nothing in a file chooses code to run.
_DTYPES: dict[str, np.dtype[Any]] = {
    "<u8": np.dtype("<u8"),
    "<i8": np.dtype("<i8"),
    "<u4": np.dtype("<u4"),
    "|u1": np.dtype("|u1"),
}
_READ_BLOCK = 1 << 24


class IndexStoreError(Exception):
    """A problem with ``--index`` a user can fix (base class)."""


class IndexWriteError(IndexStoreError):
    """A checkpoint could not be written (the previous one stays)."""


class IndexCorrupt(IndexStoreError):
    """The index on disk fails a check: truncated, altered, or not an index."""


class IndexMismatch(IndexStoreError):
    """The index was built with parameters that make its signatures incomparable with this run's."""


class IndexNotFound(IndexStoreError):
    """``create=False`` and there is no index at the path (nothing was created there)."""


class IndexLocked(IndexStoreError):
    """Another writer holds the index's lock (its message names the holder and what to do).

    Attributes:
        holder: what the lock file says about its holder (pid, host, started,
            command), or None when it cannot be read.
        lock_path: the lock file.
    """

    def __init__(self, message: str, holder: dict[str, Any] | None = None, lock_path: str = "") -> None:
        super().__init__(message)
        self.holder = holder
        self.lock_path = lock_path


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: str, chunks: Iterable[bytes | memoryview]) -> tuple[int, str]:
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
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(os.path.dirname(path) or ".")
    return size, digest.hexdigest()


def _segment_chunks(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Iterator[bytes | memoryview]:
    entries: list[dict[str, Any]] = []
    offset = 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype.str not in _DTYPES:
            raise ValueError(f"array {name!r}: dtype {dtype.str} cannot be saved")
        entries.append(
            {"name": name, "dtype": dtype.str, "shape": list(array.shape), "offset": offset, "nbytes": array.nbytes}
        )
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    header = orjson.dumps({"arrays": entries, **meta})
    start = len(_MAGIC) + 8 + len(header)
    pad_to = -(-start // _ALIGN) * _ALIGN
    yield _MAGIC + len(header).to_bytes(8, "little") + header + b"\0" * (pad_to - start)
    for array, entry in zip(arrays.values(), entries):
        data = np.ascontiguousarray(array, dtype=_DTYPES[entry["dtype"]])
        yield data.data.cast("B") if data.nbytes else b""
        yield b"\0" * (-data.nbytes % _ALIGN)


def read_segment(path: str, size: int, checksum: str) -> dict[str, np.ndarray]:
    """Read and check one segment file: its arrays by name.

    Raises:
        IndexCorrupt: wrong size, checksum, magic, header, dtype or layout.
    """
    name = os.path.basename(path)
    try:
        actual = os.path.getsize(path)
        f = open(path, "rb")  # noqa: SIM115 -- closed below by `with f`, or before the size error
    except OSError as exc:
        raise IndexCorrupt(f"{name}: cannot read index segment: {exc.strerror or exc}") from exc
    if actual != size:
        f.close()
        raise IndexCorrupt(
            f"{name}: index segment is {actual:,} bytes, the manifest says {size:,} (truncated or replaced)"
        )
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
    view = array.data.cast("B")
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
        return [data[a:b].decode("utf-8", "surrogatepass") for a, b in itertools.pairwise(bounds)]
    except UnicodeDecodeError:
        raise ValueError(f"{what} are not UTF-8") from None


# --------------------------------------------------------------------------- the writer's lock

try:
    import fcntl
except ImportError:  # no flock here: the O_EXCL lock file alone, never broken automatically
    _HAVE_FLOCK = False
else:
    _HAVE_FLOCK = True

# How long a lock file that cannot be read yet, or whose flock another process holds for a moment, is
# watched before the verdict: its creator writes it right after creating it, a breaker lets go at once.
_SETTLE_SECONDS = 3.0
_POLL_SECONDS = 0.05
# flock errors meaning "no working flock on this filesystem" (some FUSE and NFS mounts without lockd).
_NO_FLOCK = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOLCK, errno.ENOSYS, errno.EINVAL, errno.EBADF}
_HELD: dict[tuple[int, int], _IndexLock] = {}  # this process's locks, by the index directory's (device, inode)
# Reentrant: a store dropped in a garbage collection that runs while this thread takes a lock releases its own.
_HELD_GUARD = threading.RLock()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _boot_id() -> str | None:
    """This boot of this machine (Linux); with the hostname it tells whether a pid can be checked here."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip() or None
    except (OSError, ValueError):
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of ``pid`` from /proc; None when it cannot be read.

    Raises:
        ProcessLookupError: /proc exists and has no such process.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            raise ProcessLookupError(pid) from None
        return None
    except OSError:
        return None
    try:
        fields = raw[raw.rindex(b")") + 2 :].split()  # the command name may hold spaces and parentheses
        return fields[0].decode("ascii"), int(fields[19])  # fields 3 (state) and 22 (starttime)
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def _pid_alive(pid: int, started_ticks: Any) -> bool:
    """Whether ``pid`` on this machine is still the process that took a lock (unsure counts as alive)."""
    if pid == os.getpid():
        return False  # not a lock this process holds (those are in _HELD): a predecessor's with the same pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, run by another user
    except OSError:
        return True
    try:
        stat = _proc_stat(pid)
    except ProcessLookupError:
        return False
    if stat is None:
        return True
    state, ticks = stat
    if state in ("Z", "X"):
        return False  # exited, not yet reaped: it holds no files any more
    # The pid was reused by a process started later than the holder.
    return not (isinstance(started_ticks, int) and ticks != started_ticks)


def _printable(value: Any, limit: int = 160) -> str:
    """A lock file's field for a one-line message (the file may come from anywhere)."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _command() -> str:
    argv = list(sys.argv) or ["?"]
    name = os.path.basename(argv[0])
    if name == "__main__.py":  # python -m dedupe
        name = os.path.basename(os.path.dirname(argv[0])) or name
    return " ".join([name, *argv[1:]])


def _describe(holder: dict[str, Any]) -> str:
    who = (
        f"pid {holder['pid']} on host {_printable(holder['host'], 80)}, "
        f"started {_printable(holder.get('started', '?'), 40)}"
    )
    if holder.get("command"):
        who += f" (`{_printable(holder['command'])}`)"
    return who


def _same_file(path: str, fd: int) -> bool:
    """Whether the name ``path`` still refers to the file open as ``fd``."""
    try:
        named, held = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _try_flock(fd: int) -> str:
    """``"ours"`` (the exclusive flock is taken), ``"busy"`` (another open file has it), or ``"none"``
    (no flock on this filesystem)."""
    if not _HAVE_FLOCK:
        return "none"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return "busy"
    except OSError as exc:
        if exc.errno in _NO_FLOCK:
            return "none"
        raise
    return "ours"


def _read_holder(fd: int) -> dict[str, Any] | None:
    try:
        holder = orjson.loads(os.pread(fd, 1 << 16, 0))
    except (OSError, orjson.JSONDecodeError):
        return None
    if (
        not isinstance(holder, dict)
        or not isinstance(holder.get("pid"), int)
        or holder["pid"] <= 0
        or not isinstance(holder.get("host"), str)
    ):
        return None  # being written, or not a lock this code wrote
    return holder


def _judge(holder: dict[str, Any]) -> str:
    """``"alive"``, ``"dead"``, or why the holder cannot be checked: ``"other-host"``, ``"other-boot"``."""
    if holder["host"] != socket.gethostname():
        return "other-host"
    boot = _boot_id()
    if boot is not None and holder.get("boot_id") not in (None, boot):
        # A restart since, or another machine with the same name sharing the directory: a pid means
        # nothing here, and breaking a live lock is the one mistake this lock must not make.
        return "other-boot"
    return "alive" if _pid_alive(holder["pid"], holder.get("process_start")) else "dead"


def _locked_message(directory: str, lock_path: str, holder: dict[str, Any] | None, verdict: str, state: str) -> str:
    remove = f"if you are sure no process uses the index, remove the lock file {lock_path}"
    if holder is None:
        return f"{directory}: the index's lock file cannot be read (empty or damaged); {remove}"
    who = _describe(holder)
    if verdict == "alive":
        return f"{directory}: another run is writing this index: {who}. Wait for it to finish; {remove}"
    if verdict == "other-host":
        return (
            f"{directory}: the index is locked by {who}; a process on another host cannot be checked from "
            f"here. Wait for that run to finish; {remove}"
        )
    if verdict == "other-boot":
        return (
            f"{directory}: the index is locked by {who}, under an earlier boot of this host (or on another "
            f"machine of the same name), so that process cannot be checked. Wait for that run to finish; {remove}"
        )
    if state == "busy":
        return (
            f"{directory}: the index is locked by {who}, which is no longer running, but its file lock is still "
            f"held (by a process it started?). Wait for that process to end; {remove}"
        )
    return (
        f"{directory}: the index is locked by {who}, which is no longer running, but this filesystem has no "
        f"working file locks to break its lock safely; {remove}"
    )


def _look_at(directory: str, lock_path: str) -> dict[str, Any] | None:
    """Judge the lock file another process created: the holder of a stale lock it removed, None when
    the file went away meanwhile (take the lock again).

    Raises:
        IndexLocked: the lock is held, or cannot be shown to be stale.
    """
    deadline = time.monotonic() + _SETTLE_SECONDS
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)  # NFS grants an exclusive flock to a writable file only
        except FileNotFoundError:
            return None
        except PermissionError:  # another user's lock file: judged all the same (NFS has no flock for it: kept)
            try:
                fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return None
            except OSError:
                raise IndexLocked(_locked_message(directory, lock_path, None, "", ""), None, lock_path) from None
        except OSError as exc:
            raise IndexStoreError(f"{directory}: cannot read the lock file {lock_path}: {exc.strerror or exc}") from exc
        try:
            state = _try_flock(fd)
            if state == "ours" and not _same_file(lock_path, fd):
                return None  # removed or replaced since it was opened
            holder = _read_holder(fd)
            verdict = "unreadable" if holder is None else _judge(holder)
            if verdict == "dead" and state == "ours":
                # Under the file's flock, its name checked above: any other breaker waits for the flock, then
                # finds the name gone or naming a new lock. The holder is gone, so nothing else removes it.
                os.unlink(lock_path)
                return holder
            settling = verdict == "unreadable" or (verdict == "dead" and state == "busy")
            if not settling or time.monotonic() >= deadline:
                raise IndexLocked(_locked_message(directory, lock_path, holder, verdict, state), holder, lock_path)
        finally:
            os.close(fd)  # lets go of the flock, if taken
        time.sleep(_POLL_SECONDS)


class _IndexLock:
    """The lock file ``PATH/LOCK`` that makes one process at a time the writer of an index.

    Taking it: create the file with ``O_CREAT | O_EXCL`` (atomic on local
    filesystems and on NFSv3 and later: of two processes, one creates it, the
    other gets EEXIST), ``flock`` it for as long as it is held, and write who
    holds it: pid, host, boot id, the process's start time, the time, the
    command. The flock is the second guard: the kernel drops it when its
    process dies, so a breaker that takes it knows no process on this machine
    (and, on NFS where Linux maps flock to NFS locks, on any client not
    mounted with ``local_lock``/``nolock``) holds the lock.

    A lock left behind (SIGKILL, power loss) is broken by the next writer
    only when all of these hold: the file names this host (same hostname and
    boot id), its pid is not running (or is now another process: another
    start time, or a zombie), and the breaker holds the file's flock and has
    checked that the name still refers to that file. It removes the name
    under that flock, so of two processes breaking the same stale lock one
    removes it and the other finds the name gone or naming the winner's new,
    live lock. A lock of another host or boot (its process cannot be
    checked from here), or on a filesystem without working flock, is never
    broken automatically: the message says which file to remove.

    Within one process the lock is taken once per index directory: opening
    the index again hands the right to write to the newest opener, and the
    earlier one's writes fail with :class:`IndexLocked`. A forked worker
    drops its copy of the descriptor, so it never keeps the index locked
    after its parent is gone.
    """

    def __init__(self, directory: str, lock_path: str, fd: int, key: tuple[int, int], info: dict[str, Any]) -> None:
        self.directory = directory
        self.lock_path = lock_path
        self.fd = fd
        self.key = key
        self.info = info
        self.pid = os.getpid()
        self.owner: object | None = None  # the store allowed to write (see IndexStore._check_writer)
        self.released = False
        self.broken: dict[str, Any] | None = None  # the holder of the stale lock this one replaced

    @classmethod
    def acquire(cls, directory: str) -> tuple[_IndexLock, bool]:
        """The lock of the index ``directory`` (which exists), and whether it was taken now (False: this
        process already held it).

        Raises:
            IndexLocked: another process holds it (or held it and cannot be shown to be gone).
            IndexStoreError: the lock file cannot be created or written.
        """
        try:
            st = os.stat(directory)
        except OSError as exc:
            raise IndexStoreError(f"{directory}: cannot open the index directory: {exc.strerror or exc}") from exc
        key = (st.st_dev, st.st_ino)
        with _HELD_GUARD:
            held = _HELD.get(key)
            if held is not None and not held.released:
                if _same_file(os.path.join(directory, LOCK), held.fd):
                    return held, False
                # Its directory was removed (and the inode reused), or its file removed by hand: not this lock.
                del _HELD[key]
            lock = cls._take(directory, key)
            _HELD[key] = lock
            return lock, True

    @classmethod
    def _take(cls, directory: str, key: tuple[int, int]) -> _IndexLock:
        lock_path = os.path.join(os.path.abspath(directory), LOCK)
        broken: dict[str, Any] | None = None
        for _ in range(20):  # each turn: the file went away, or a stale lock was broken, under our eyes
            try:
                fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                broken = _look_at(directory, lock_path) or broken
                continue
            except OSError as exc:
                raise IndexStoreError(
                    f"{directory}: cannot create the index's lock file {lock_path}: {exc.strerror or exc}"
                ) from exc
            try:
                info = cls._claim(fd, lock_path, directory)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(lock_path)
                os.close(fd)
                raise
            lock = cls(directory, lock_path, fd, key, info)
            lock.broken = broken
            return lock
        raise IndexLocked(
            f"{directory}: the index's lock changed hands too often to be taken; try again", None, lock_path
        )

    @staticmethod
    def _claim(fd: int, lock_path: str, directory: str) -> dict[str, Any]:
        """flock the new lock file and write who holds it."""
        deadline = time.monotonic() + _SETTLE_SECONDS
        while (state := _try_flock(fd)) == "busy":  # a process judging the new file: it lets go at once
            if time.monotonic() >= deadline:
                raise IndexLocked(
                    f"{directory}: another process keeps the index's new lock file locked; "
                    f"try again, or remove {lock_path} if no process uses the index",
                    None,
                    lock_path,
                )
            time.sleep(_POLL_SECONDS / 5)
        try:
            stat = _proc_stat(os.getpid())
        except ProcessLookupError:
            stat = None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "boot_id": _boot_id(),
            "process_start": stat[1] if stat else None,
            "started": _now(),
            "command": _command(),
            "flock": state == "ours",
        }
        data = orjson.dumps(info) + b"\n"
        try:
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)  # other NFS clients read what the server holds
        except OSError as exc:
            raise IndexWriteError(
                f"{directory}: cannot write the index's lock file {lock_path}: {exc.strerror or exc}"
            ) from exc
        return info

    def release_for(self, owner: object) -> None:
        """:meth:`release`, if ``owner`` still holds the right to write (not handed to a later opener)."""
        if self.owner is owner:
            self.release()

    def release(self) -> None:
        """Remove the lock file and drop the flock (idempotent)."""
        with _HELD_GUARD:
            if self.released:
                return
            self.released = True
            if _HELD.get(self.key) is self:
                del _HELD[self.key]
        if os.getpid() != self.pid:
            return  # a forked child: its copy was closed at the fork
        try:
            # Not if the name now refers to another lock (removed by hand, then taken by another run).
            if _same_file(self.lock_path, self.fd):
                os.unlink(self.lock_path)
        except OSError:
            pass  # a read-only directory now: the next run finds the pid gone and breaks it
        finally:
            os.close(self.fd)  # removed first, then unlocked: no moment with an unlocked file naming a live pid


def _after_fork_in_child() -> None:
    # A forked worker shares the lock's open file. Closing its descriptor releases nothing while the parent
    # holds its own, and keeps the worker from holding the flock after the parent is gone.
    global _HELD_GUARD
    _HELD_GUARD = threading.RLock()  # another thread may have held it at the fork
    for lock in _HELD.values():
        lock.released = True
        with contextlib.suppress(OSError):
            os.close(lock.fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _stale_note(directory: str, holder: dict[str, Any]) -> str:
    return (
        f"broke a stale lock on {directory} left by pid {holder['pid']} on this host "
        f"(started {_printable(holder.get('started', '?'), 40)}), which is no longer running"
    )


class IndexStore:
    """An index directory: its manifest, and appending segments to it.

    Use :meth:`open`; :meth:`load` reads every segment, :meth:`append` adds
    one (a checkpoint), :meth:`rewrite` replaces all of them by one.
    """

    def __init__(self, path: str, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest
        self.notes: list[str] = []  # for the user, about opening it (a stale lock broken)
        self._lock: _IndexLock | None = None
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
        lock (see :class:`_IndexLock`) before it reads the manifest and holds it
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
            held, fresh = _IndexLock.acquire(path)
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
            store.notes.append(_stale_note(path, held.broken))
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

    def _hold(self, held: _IndexLock) -> None:
        self._lock, self._token = held, object()
        held.owner = self._token  # in this process, the newest opener writes (see _IndexLock)
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
        _write_atomic(
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
    if manifest.get("version") != VERSION:
        raise IndexCorrupt(
            f"{path}: index format version {manifest.get('version')} is not supported "
            f"(this dedupe reads version {VERSION})"
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

    def __init__(self, store: IndexStore, dedup: Any) -> None:
        self.store = store
        self.dedup = dedup
        self.saved = len(dedup)
        self.checkpoints = 0
        self.load_seconds = 0.0
        self.save_seconds = 0.0
        self.documents_before = len(dedup)
        self.notes: list[str] = store.notes  # for the user: a stale lock broken on the way in

    @classmethod
    def open(cls, path: str, dedup: Any, create: bool = True) -> Checkpointer:
        """Lock the index at ``path`` (creating it if nothing is there and ``create``) and load it into the
        empty detector ``dedup``.

        The lock is taken before anything is read and held until :meth:`close`
        (or until the checkpointer is dropped, or the interpreter exits): one
        writer at a time (see :class:`_IndexLock`).

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
                dedup.restore(segments)
            except (ValueError, KeyError) as exc:
                raise IndexCorrupt(f"{path}: {exc}") from exc
            if len(dedup) != store.documents:
                raise IndexCorrupt(
                    f"{path}: the segments hold {len(dedup):,} documents, the manifest says {store.documents:,}"
                )
            dedup.keep_links()
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
                self.store.rewrite(self.dedup.export(0, all_links=True), count, last_run)
            else:
                self.store.append(self.dedup.export(self.saved), count - self.saved, last_run)
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
