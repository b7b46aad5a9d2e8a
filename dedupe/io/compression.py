"""Opening an input's bytes: the compression its magic bytes name (gzip, zstd), or why it is refused.

gzip and zstd are decompressed as they are read (gzip by ISA-L through the isal package, about 3x zlib's speed,
or by zlib where isal is missing). bz2, xz, lz4 and zip are refused with a message saying what
the input is, and so is Parquet here: it is read from its end (by :mod:`.parquet`), not as a stream. Used by
:func:`.records.open_input`.
"""

from __future__ import annotations

import gzip
import io
from typing import IO, Any, cast

from .records import PARQUET_MAGIC, InputError

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Compressions recognised only to say so: (magic bytes, name, how to decompress to stdout).
_UNSUPPORTED = (
    (b"BZh", "bz2", "bunzip2 -c FILE"),
    (b"\xfd7zXZ\x00", "xz", "xz -dc FILE"),
    (b"\x04\x22\x4d\x18", "lz4", "lz4 -dc FILE"),
    (b"PK\x03\x04", "zip", "unzip -p FILE"),
)

_ZSTD_STEP = 1 << 14  # compressed bytes decompressed at a time (bounds the output held at once)
_GZIP_STEP = 1 << 17  # compressed bytes read at a time


def _inflater() -> tuple[Any, type[Exception]]:
    """The zlib-compatible module that inflates gzip members (isal's when installed), and its error type."""
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency; zlib does the same, slower
        import zlib

        return zlib, zlib.error
    return isal_zlib, cast("type[Exception]", isal_zlib.error)  # its stub declares the class as an instance


class _GzipMembers(io.RawIOBase):
    """The decompressed bytes of one or more gzip members, one after another, as ``gzip.GzipFile`` reads them.

    Zero bytes between members are skipped, other bytes after a member raise ``BadGzipFile``, a member cut short
    raises EOFError and corrupt data (or a wrong CRC or length) OSError. Output comes at most a caller's buffer
    at a time, so an error is raised only after every byte before it was handed on.
    """

    def __init__(self, source: IO[bytes], closefd: bool) -> None:
        super().__init__()
        self._source = source
        self._closefd = closefd
        self._zlib, self._error = _inflater()
        self._member: Any = None  # the decompressor of the member being read, while inside one
        self._input = b""  # compressed bytes not yet decompressed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._member is None and not self._next_member():
                return 0
            if not self._input:
                self._input = self._source.read(_GZIP_STEP)
                if not self._input:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            try:
                out = self._member.decompress(self._input, len(buffer))
            except self._error as exc:
                raise OSError(f"corrupt gzip data: {exc}") from exc
            if self._member.eof:
                self._input, self._member = self._member.unused_data, None
            else:
                self._input = self._member.unconsumed_tail
            if out:
                buffer[: len(out)] = out
                return len(out)

    def _next_member(self) -> bool:
        """Start the next member; False at the end of the input (after zero padding, if any)."""
        while not self._input.lstrip(b"\x00"):
            self._input = self._source.read(_GZIP_STEP)
            if not self._input:
                return False
        self._input = self._input.lstrip(b"\x00")
        if len(self._input) < 2:
            self._input += self._source.read(_GZIP_STEP)
        if not self._input.startswith(_GZIP_MAGIC):
            raise gzip.BadGzipFile(f"Not a gzipped file ({self._input[:2]!r})")
        self._member = self._zlib.decompressobj(31)  # 16 + 15: a gzip header and trailer (CRC, length) checked
        return True

    def close(self) -> None:
        if not self.closed and self._closefd:
            self._source.close()
        super().close()


class _ZstdFrames(io.RawIOBase):
    """The decompressed bytes of one or more zstd frames, one after another.

    zstandard's ``stream_reader`` ends quietly when its input stops inside a
    frame, so a truncated file would read as complete (and short). Here that
    raises EOFError, and corrupt data or trailing garbage raise OSError, as
    the gzip reader does.
    """

    def __init__(self, source: IO[bytes], zstandard: Any, closefd: bool) -> None:
        super().__init__()
        self._source = source
        self._closefd = closefd
        self._decompressor = zstandard.ZstdDecompressor()
        self._error = zstandard.ZstdError
        self._frame: Any = None  # the decompressor of the frame being read, while inside one
        self._input = b""  # compressed bytes not yet decompressed
        self._output = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._output:
            if not self._step():
                return 0
        n = min(len(buffer), len(self._output))
        buffer[:n] = self._output[:n]
        self._output = self._output[n:]
        return n

    def _step(self) -> bool:
        """Decompress some more input; False at the end of the input, after a whole frame."""
        if not self._input:
            self._input = self._source.read(_ZSTD_STEP)
            if not self._input:
                if self._frame is not None:
                    raise EOFError("Compressed file ended before the end of its last zstd frame")
                return False
        if self._frame is None:
            self._frame = self._decompressor.decompressobj()
        data, self._input = self._input, b""
        try:
            self._output = memoryview(self._frame.decompress(data))
        except self._error as exc:
            raise OSError(f"corrupt zstd data: {exc}") from exc
        if self._frame.eof:  # the next bytes, if any, must start another frame
            self._input = self._frame.unused_data
            self._frame = None
        return True

    def close(self) -> None:
        if not self.closed and self._closefd:
            self._source.close()
        super().close()


def decompressing(stream: IO[bytes], name: str, closefd: bool = True) -> io.BufferedIOBase:
    # typing.IO declares no readinto, which BufferedReader wants of its raw stream; every stream given here is
    # an io object that has it (a file, standard input's buffer, a BytesIO).
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[type-var]
    head = buffered.peek(6)[:6]
    for magic, kind, command in _UNSUPPORTED:
        # Read as text, such input fails line by line as invalid UTF-8 or JSON: say what it is instead.
        if head.startswith(magic):
            raise InputError(
                f"{name}: unsupported compression: {kind} (decompress it first, e.g. {command} | dedupe scan)"
            )
    if head.startswith(PARQUET_MAGIC):  # a Parquet file is read from its end: only a regular file will do
        if name == "<stdin>":
            raise InputError(
                "<stdin>: this is Parquet, which cannot be read from standard input (a Parquet file "
                "is read from its end): give the file's path instead"
            )
        raise InputError(
            f"{name}: this is Parquet, which must be read from a regular file, not a pipe or device "
            "(a Parquet file is read from its end)"
        )
    if head.startswith(_GZIP_MAGIC):
        return io.BufferedReader(_GzipMembers(buffered, closefd))
    if head.startswith(_ZSTD_MAGIC):
        try:
            import zstandard
        except ImportError:
            raise InputError(
                f"{name}: zstd-compressed input needs the zstandard package: pip install 'dedupe[zstd]'"
            ) from None
        return io.BufferedReader(_ZstdFrames(buffered, zstandard, closefd))
    return buffered
