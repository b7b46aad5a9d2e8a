"""Inputs that cannot be read twice (standard input, pipes), copied once to temporary compressed files.

A run that reads its input twice (``--keep`` other than ``first``) reads such an input from its copy both
times. The copies are gzip files (level 1: about as fast as the input arrives) in the temporary directory
(``TMPDIR``), removed when the run ends, whichever way it ends (an error, an interrupt).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from typing import IO, cast

from .records import InputError, display_name

CHUNK = 1 << 20


def rereadable(path: str) -> bool:
    """Whether ``path`` can be read a second time from its start (a regular file); '-' cannot."""
    if path == "-":
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # opening it reports the error, with the input's name


class Spool:
    """The copies of the inputs that cannot be read twice; a context manager that removes them.

    Args:
        inputs: The run's inputs ('-' is standard input).
        stdin: Standard input, when an input is '-'.
        stop: Asked between chunks: True ends the copy early (the run is stopping).

    Example:
        >>> import io
        >>> with Spool(["-"], io.BytesIO(b'{"text": "a"}\\n')) as spool:
        ...     spool.open("-").read()
        b'{"text": "a"}\\n'
    """

    def __init__(
        self, inputs: Iterable[str], stdin: IO[bytes] | None = None, stop: Callable[[], bool] = lambda: False
    ) -> None:
        self.stdin = stdin
        self.stop = stop
        self.files: dict[str, str] = {}
        self._wanted = [p for p in dict.fromkeys(inputs) if not rereadable(p)]

    def __enter__(self) -> Spool:
        try:
            for path in self._wanted:
                self.files[path] = self._copy(path)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove every copy."""
        for copy in self.files.values():
            with contextlib.suppress(OSError):
                os.unlink(copy)
        self.files.clear()

    def open(self, path: str) -> IO[bytes]:
        """The copy of ``path``, decompressed (the bytes as the input sent them)."""
        return cast(IO[bytes], gzip.open(self.files[path], "rb"))

    def _copy(self, path: str) -> str:
        name = "<stdin>" if path == "-" else display_name(path)
        fd, copy = tempfile.mkstemp(prefix="dedupe-spool-", suffix=".gz")
        self.files[path] = copy  # removed by close() from now on, whatever happens below
        try:
            source = (self.stdin or sys.stdin.buffer) if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            os.close(fd)
            raise InputError(f"cannot open {name}: {exc.strerror or exc}") from exc
        try:
            with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as out:
                while not self.stop():
                    chunk = source.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
        except OSError as exc:
            raise OSError(f"cannot copy {name} to a temporary file (for --keep, which reads it twice): {exc}") from exc
        finally:
            if path != "-":
                source.close()
        return copy


__all__ = ["Spool", "rereadable"]
