"""The index's files: immutable segments (a small binary container, no pickle) and atomic writes.

A segment is an 8-byte magic, the length of a JSON header, the header (each array's name, dtype from a
fixed list, shape, offset and size), then the raw little-endian arrays; see :mod:`dedupe.index.store`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import orjson
import xxhash

from ..core.similarity import check_offsets
from .errors import IndexCorrupt

_MAGIC = b"DDUPSEG1"
_ALIGN = 64
# The only dtypes a segment may declare: nothing in a file chooses code to run.
_DTYPES: dict[str, np.dtype[Any]] = {
    "<u8": np.dtype("<u8"),
    "<i8": np.dtype("<i8"),
    "<i4": np.dtype("<i4"),
    "<u4": np.dtype("<u4"),
    "|u1": np.dtype("|u1"),
}
_READ_BLOCK = 1 << 24


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str, chunks: Iterable[bytes | memoryview]) -> tuple[int, str]:
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
    fsync_dir(os.path.dirname(path) or ".")
    return size, digest.hexdigest()


def segment_chunks(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Iterator[bytes | memoryview]:
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
