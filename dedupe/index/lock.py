"""One writer per index directory: the lock file ``LOCK`` (O_EXCL create plus flock), and stale locks.

See :class:`IndexLock` for what holds where (local filesystems, NFS) and when a lock is broken.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sys
import threading
import time
from typing import Any

import orjson

from .errors import IndexLocked, IndexStoreError, IndexWriteError

LOCK = "LOCK"

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
_HELD: dict[tuple[int, int], IndexLock] = {}  # this process's locks, by the index directory's (device, inode)
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


def try_flock(fd: int) -> str:
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
            state = try_flock(fd)
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


class IndexLock:
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
    def acquire(cls, directory: str) -> tuple[IndexLock, bool]:
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
    def _take(cls, directory: str, key: tuple[int, int]) -> IndexLock:
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
        while (state := try_flock(fd)) == "busy":  # a process judging the new file: it lets go at once
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


def stale_note(directory: str, holder: dict[str, Any]) -> str:
    return (
        f"broke a stale lock on {directory} left by pid {holder['pid']} on this host "
        f"(started {_printable(holder.get('started', '?'), 40)}), which is no longer running"
    )
