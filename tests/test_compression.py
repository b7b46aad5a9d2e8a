"""The gzip reader (dedupe.io.compression): the bytes ``gzip.decompress`` gives, members and zero padding
included, with isal and with zlib; damage raises after every byte before it was handed on, as ``gzip.GzipFile``."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupe.io import compression
from dedupe.io.compression import decompressing


@pytest.fixture(params=["isal", "zlib"])
def inflater(request, monkeypatch):
    """Run the test with each inflater: isal's (the default) and the standard library's."""
    if request.param == "zlib":
        monkeypatch.setattr(compression, "_inflater", lambda: (zlib, zlib.error))
    return request.param


def _read(data: bytes) -> tuple[bytes, BaseException | None]:
    """Every line the reader hands on (as dedupe reads an input: line by line), and the error that ended it."""
    stream = decompressing(io.BytesIO(data), "test")
    out = bytearray()
    try:
        for line in stream:
            out += line
    except (OSError, EOFError) as exc:
        return bytes(out), exc
    return bytes(out), None


_MEMBERS = st.lists(st.binary(max_size=3000) | st.text(max_size=2000).map(str.encode), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=_MEMBERS, padding=st.integers(0, 3))
def test_members_and_zero_padding_read_as_gzip_decompress_reads_them(inflater, members, padding):
    data = b"".join(gzip.compress(m) + b"\x00" * padding for m in members)
    assert _read(data) == (gzip.decompress(data), None)


def test_a_large_member_reads_whole(inflater):
    text = b"".join(b'{"id": %d, "text": "word %d and more words"}\n' % (k, k * 7) for k in range(60_000))
    assert _read(gzip.compress(text)) == (text, None)


def test_a_truncated_member_hands_on_what_it_holds_then_raises_eoferror(inflater):
    text = b"".join(b"line %d of the input\n" % k for k in range(20_000))
    data = gzip.compress(text)
    out, error = _read(data[: len(data) // 2])
    assert isinstance(error, EOFError)
    assert len(out) > len(text) // 4 and text.startswith(out)  # the lines before the cut, nothing made up


def test_garbage_after_a_member_raises_after_the_whole_member(inflater):
    text = b"".join(b"line %d\n" % k for k in range(5_000))
    out, error = _read(gzip.compress(text) + b"this is not gzip")
    assert out == text  # every line of the member: the error comes after them
    assert isinstance(error, gzip.BadGzipFile) and "Not a gzipped file (b'th')" in str(error)


@pytest.mark.parametrize("where", ["crc", "length", "data"])
def test_damage_inside_a_member_raises_oserror(inflater, where):
    text = b"".join(b"line %d\n" % k for k in range(5_000))
    data = bytearray(gzip.compress(text))
    at = {"crc": len(data) - 8, "length": len(data) - 4, "data": len(data) // 2}[where]
    data[at] ^= 0xFF
    out, error = _read(bytes(data))
    assert isinstance(error, OSError) and not isinstance(error, EOFError), error
    if where != "data":  # a damaged trailer: the data itself inflates right, up to the check that fails
        assert text.startswith(out)
