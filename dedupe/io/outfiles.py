"""Output files: which paths a run may write, and files written whole or not at all.

Every path a run writes (``--report``, ``--rejects``, ``--dropped``, the ``--output``
shards, stdout when it is a file) is checked against every input and every other
output before anything is opened for writing. Two paths are the same file when
they resolve to the same place through symlinks, or when both exist and share a
device and inode (a hard link). A conflict is a :class:`~dedupe.config.ConfigError`
(exit 2) that names both options in the words the user typed.

A report is written by :class:`WholeFile`: created aside under a hidden temporary
name in the target's directory when the run starts (so a path that cannot be
written fails before any input is read), filled at the end, and renamed over the
target. A reader therefore sees the old file, or the whole new one; never half.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from ..config import ConfigError


class OutputError(OSError):
    """An output file cannot be created or written; the message names the option and the path."""


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of what ``path`` names after following symlinks, or None when nothing is there."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _fd_identity(fd: int) -> tuple[int, int] | None:
    """(device, inode) of an open descriptor that is a regular file (a redirect such as ``< file`` or ``> file``)."""
    try:
        info = os.fstat(fd)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _within(path: str, directory: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(directory)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def check_paths(
    inputs: Sequence[str], outputs: Sequence[tuple[str, str]], *, stdout: bool = False, index: str | None = None
) -> None:
    """Refuse an output that would overwrite an input, another output or the index, before anything is written.

    Args:
        inputs: Input paths ('-' is stdin: checked through the file it is redirected from, if any).
        outputs: (option, path) pairs, e.g. ``("--report", "r.json")``; shards as ``("--output", path)``.
        stdout: The run writes data to stdout: when stdout is redirected to a regular file, that file
            must be neither an input nor another output.
        index: An ``--index`` directory: no output may lie inside it.

    Raises:
        ConfigError: an empty path, a directory, or two names for one file; the message says which.
    """
    if inputs.count("-") > 1:
        raise ConfigError("standard input ('-') is given more than once; it can be read only once")
    known: list[tuple[str, str, tuple[int, int] | None, str]] = []  # (what, path, identity, real path)
    for path in inputs:
        if path == "-":
            known.append(("the input", "<stdin>", _fd_identity(0), ""))
        else:
            known.append(("the input", path, _identity(path), os.path.realpath(path)))
    if stdout and (out := _fd_identity(1)) is not None:
        # `dedupe scan a.jsonl >> a.jsonl` would read its own output.
        for what, path, identity, _ in known:
            if identity == out:
                raise ConfigError(f"standard output is redirected to {_name(what, path)}; redirect it to another file")
        known.append(("standard output", "", out, ""))
    for option, path in outputs:
        if not path:
            raise ConfigError(f"{option} needs a file name; got ''")
        if os.path.isdir(path):
            raise ConfigError(
                f"{option} {path} is a directory; give a file name (e.g. {os.path.join(path, 'x')})"
                if option != "--output"
                else f"{option}: {path} is a directory"
            )
        if index is not None and _within(path, index):
            raise ConfigError(f"{option} {path} is inside the --index directory {index}; give a path outside it")
        identity, real = _identity(path), os.path.realpath(path)
        for what, other, other_identity, other_real in known:
            same = (identity is not None and identity == other_identity) or (other_real and real == other_real)
            if same and not _both_devices(path):
                raise ConfigError(
                    f"{option} {path} is {_name(what, other)}{_as_well(what)}; give {option} another file"
                )
        known.append((option, path, identity, real))


def _both_devices(path: str) -> bool:
    """/dev/null (or another device) named twice is harmless: nothing is stored there to destroy. The two names
    are one file, so ``path`` alone tells."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _name(what: str, path: str) -> str:
    if what == "the input":
        return "standard input's file" if path == "<stdin>" else f"the input {path}"
    if what == "standard output":
        return "the file standard output is redirected to"
    return f"also {what} {path}" if what.startswith("--") else f"{what} {path}"


def _as_well(what: str) -> str:
    return " (writing it would destroy the input)" if what == "the input" else " (two outputs in one file)"


def open_stream(option: str, path: str, append: bool = False) -> io.BufferedIOBase:
    """Open a side output (``--rejects``, ``--dropped``) for writing (``append``: add to it, as ``--resume`` does).

    A name ending in .gz is gzip-compressed (appending adds a gzip member, which readers join).

    Raises:
        OutputError: the file cannot be created; the message names the option.
    """
    mode: Literal["ab", "wb"] = "ab" if append else "wb"
    try:
        if path.endswith(".gz"):
            return gzip.open(path, mode)
        return open(path, mode)
    except OSError as exc:
        raise OutputError(f"{option} {path}: {_where(path, exc)}") from None


def _where(path: str, exc: OSError) -> str:
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        return f"no such directory {parent} (create it first)"
    return _describe(exc)


class BatchWriter:
    """Lines gathered in memory and handed to ``stream`` in one write at each :meth:`flush`.

    The streaming engine writes standard output through it and flushes after each batch: one system call per
    batch rather than one per record (standard output may be unbuffered, as under ``python -u``), and output
    still appears batch by batch. Nothing is closed when it is dropped.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._lines: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._lines.append(data)

    def flush(self) -> None:
        if self._lines:
            view, self._lines = memoryview(b"".join(self._lines)), []
            # An unbuffered stream (``python -u``) may take part of a write and say so (at a file size limit,
            # say): the rest is written again, so that the next write reports the error instead of data
            # going missing silently.
            while len(view):
                written = self.stream.write(view)
                if written is None:  # a non-blocking stream that took nothing: not one we are given
                    raise OSError("standard output would block")
                view = view[written:]
        self.stream.flush()


class WholeFile:
    """A file written whole at :meth:`commit`, or not at all.

    The temporary file is created in the target's directory at once (so a bad path
    fails early); :meth:`commit` writes the bytes, syncs them and renames the file
    over ``path``; :meth:`discard` (also on ``with`` exit without a commit) removes it.
    A target that exists and is not a regular file (``/dev/null``, a pipe) is written
    directly: there is nothing to replace.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> with WholeFile("--report", os.path.join(d, "r.json")) as f:
        ...     f.commit(b"{}\\n")
        >>> open(os.path.join(d, "r.json"), "rb").read()
        b'{}\\n'
    """

    def __init__(self, option: str, path: str) -> None:
        self.option, self.path = option, path
        self._tmp: str | None = None
        self._fd: int | None = None
        try:
            if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
                self._fd = os.open(path, os.O_WRONLY)
                return
            directory, name = os.path.split(path)
            self._fd, self._tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory or ".")
            os.fchmod(self._fd, 0o666 & ~_umask())
        except OSError as exc:
            raise OutputError(f"{option} {path}: {_where(path, exc)}") from None

    def commit(self, data: bytes) -> None:
        """Write ``data`` as the whole file (gzip-compressed when the name ends in .gz) and put it in place.

        Raises:
            OutputError: the write or the rename failed; the target is unchanged.
        """
        self.commit_chunks([data])

    def commit_chunks(self, chunks: Iterable[bytes]) -> None:
        """:meth:`commit` for data given in pieces (never joined in memory): the same bytes in the same file.

        Raises:
            OutputError: the write or the rename failed; the target is unchanged.
        """
        if self._fd is None:
            raise OutputError(f"{self.option} {self.path}: already written")
        fd, self._fd = self._fd, None
        try:
            with os.fdopen(fd, "wb") as f:
                out: Any = gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") if self.path.endswith(".gz") else f
                for chunk in chunks:
                    out.write(chunk)
                if out is not f:
                    out.close()
                f.flush()
                if self._tmp is not None:
                    os.fsync(f.fileno())
            if self._tmp is not None:
                os.replace(self._tmp, self.path)
                self._tmp = None
        except OSError as exc:
            self.discard()
            raise OutputError(f"{self.option} {self.path}: {_describe(exc)}") from None

    def discard(self) -> None:
        """Remove the temporary file (the target stays as it was)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None

    def __enter__(self) -> WholeFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _umask() -> int:
    # The only portable way to read the umask is to set it; the process is single-threaded here.
    mask = os.umask(0)
    os.umask(mask)
    return mask
