"""dedupe.io.ranges: inputs cut into ranges that read, one after another, exactly as the reader reads the inputs."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import tempfile
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupe.io import ranges as ranges_module
from dedupe.io.ranges import InputRange, count_range, plan_ranges, read_range
from dedupe.io.records import InputError, ReadStats, display_name, read_records

BOM = b"\xef\xbb\xbf"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_planned(plan: list[InputRange], paths: list[str], **kw) -> tuple[list, ReadStats]:
    """Every range of ``plan`` read on its own, one after another, numbered from the counts of the ranges
    before it (as tasks would be): the items, and the stats summed over the ranges."""
    items: list = []
    total = ReadStats()
    number0 = 0
    line0 = [0] * len(paths)
    for r in plan:
        n = count_range(r)
        stats = ReadStats()
        items += read_range(r, display_name(r.path), line0[r.input], number0, "text", "id", stats, **kw)
        assert stats.lines == number0 + n
        total.blank_lines += stats.blank_lines
        line0[r.input] += n
        number0 += n
    total.lines = number0
    return items, total


def read_whole(paths: list[str], **kw) -> tuple[list, ReadStats]:
    stats = ReadStats()
    return list(read_records(paths, stats=stats, **kw)), stats


def fields(item) -> tuple:
    return (type(item).__name__, *(item if isinstance(item, tuple) else vars(item).values()))


def assert_same_reading(plan: list[InputRange], paths: list[str], **kw) -> None:
    got, got_stats = read_planned(plan, paths, **kw)
    want, want_stats = read_whole(paths, **kw)
    assert [fields(x) for x in got] == [fields(x) for x in want]
    assert got_stats.lines == want_stats.lines
    assert got_stats.blank_lines == want_stats.blank_lines


def expected_cuts(data: bytes, split: int) -> list[int]:
    """The cut offsets by the rule, found by looking at every byte."""
    starts = [0] + [k + 1 for k, b in enumerate(data) if b == ord("\n") and k + 1 < len(data)]
    cuts = {next((s for s in starts if s >= m), None) for m in range(split, len(data), split)}
    return sorted(c for c in cuts if c is not None and c > 0)


def assert_covers(plan: list[InputRange], files: list[bytes], split: int) -> None:
    """Each plain file's ranges cover it exactly, in order, each starting at a line start, at the rule's cuts."""
    assert [r.input for r in plan] == sorted(r.input for r in plan)
    for k, data in enumerate(files):
        mine = [r for r in plan if r.input == k]
        if mine[0].kind != "lines":
            assert [(r.kind, r.start, r.stop) for r in mine] == [("whole", 0, -1)]
            continue
        assert mine[0].start == 0 and mine[-1].stop == len(data)
        assert all(a.stop == b.start for a, b in itertools.pairwise(mine))
        assert all(r.start < r.stop for r in mine) or [(r.start, r.stop) for r in mine] == [(0, 0)]
        assert all(r.start == 0 or data[r.start - 1 : r.start] == b"\n" for r in mine)
        assert [r.start for r in mine[1:]] == expected_cuts(data, split)


# --------------------------------------------------------------------------- JSONL inputs

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_ID = st.none() | st.integers(-5, 10**20) | st.text(max_size=4) | st.floats(allow_nan=False) | st.booleans()
_RECORD = st.builds(
    lambda text, rid, with_id, ascii: json.dumps(
        {"id": rid, "text": text} if with_id else {"text": text}, ensure_ascii=ascii
    ).encode(),
    _TEXT,
    _ID,
    st.booleans(),
    st.booleans(),
)
_LINE = st.one_of(
    _RECORD,
    _RECORD.map(lambda raw: b" \t" + raw + b"  "),
    st.integers(150, 400).map(lambda n: orjson.dumps({"text": "long " * (n // 5)})),  # longer than many splits
    st.just(b""),
    st.sampled_from([b" ", b"\t", b"  \t ", b"\x0b", b"\x0c", b"\r", b"\r\r"]),
    st.sampled_from([b"{not json", b'{"text": "a"', b'{"text": "a"} x', b'{"text": "a"}\r{"text": "b"}']),
    st.sampled_from([b'{"text": "caf\xe9"}', b"\xff\xfe", b'{"id": "\xc3", "text": "x"}']),
    st.sampled_from([b"[1, 2]", b"42", b'"s"', b"null", b'{"body": "no text"}', b'{"text": 5}']),
    _RECORD.map(lambda raw: BOM + raw),  # a BOM where only line 1 may have one
)


@st.composite
def jsonl_files(draw) -> bytes:
    lines = draw(st.lists(_LINE, max_size=12))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = b"".join(line + (b"\r\n" if draw(st.booleans()) and ending == b"\r\n" else b"\n") for line in lines)
    if lines and not draw(st.booleans()):
        data = data.rstrip(b"\n")  # no newline after the last line (CRs before it stay)
    if draw(st.booleans()):
        data = BOM + data
    return data


def _compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def _write(directory: str, files: list[bytes], compressions: list[str]) -> list[str]:
    paths = []
    for k, (data, how) in enumerate(zip(files, compressions)):
        path = os.path.join(directory, f"in{k}.jsonl")
        Path(path).write_bytes(_compress(data, how))
        paths.append(path)
    return paths


@SETTINGS
@given(
    files=st.lists(jsonl_files(), min_size=1, max_size=3),
    split=st.integers(1, 200),
    compressions=st.lists(st.sampled_from(["plain", "plain", "plain", "gzip", "zstd"]), min_size=3, max_size=3),
)
def test_ranges_of_jsonl_read_one_after_another_give_what_the_reader_gives(files, split, compressions):
    with tempfile.TemporaryDirectory() as directory:
        paths = _write(directory, files, compressions)
        plan = plan_ranges(paths, split)
        assert_covers(plan, [f if c == "plain" else b"" for f, c in zip(files, compressions)], split)
        assert_same_reading(plan, paths)


@SETTINGS
@given(files=st.lists(jsonl_files(), min_size=1, max_size=3))
def test_without_a_split_size_each_input_is_one_range(files):
    with tempfile.TemporaryDirectory() as directory:
        paths = _write(directory, files, ["plain"] * len(files))
        for split in (0, -1):
            plan = plan_ranges(paths, split)
            assert [(r.input, r.kind, r.start, r.stop) for r in plan] == [
                (k, "lines", 0, len(data)) for k, data in enumerate(files)
            ]
        assert_same_reading(plan, paths)


def test_an_empty_file_is_one_empty_range(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    plan = plan_ranges([str(path)], 10)
    assert plan == [InputRange(0, str(path), "lines", 0, 0)]
    assert count_range(plan[0]) == 0
    assert list(read_range(plan[0], "empty.jsonl", 0, 7, "text", "id", stats := ReadStats())) == []
    assert stats.lines == 7


def test_a_line_longer_than_the_split_size_makes_one_longer_range(tmp_path):
    short, long = b'{"text": "a"}\n', orjson.dumps({"text": "x" * 500}) + b"\n"
    data = short + long + short
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    plan = plan_ranges([str(path)], 10)
    cut = len(short) + len(long)
    assert [(r.start, r.stop) for r in plan] == [(0, len(short)), (len(short), cut), (cut, len(data))]
    assert [count_range(r) for r in plan] == [1, 1, 1]


def test_a_lone_carriage_return_does_not_end_a_line(tmp_path):
    """The reader splits at LF only: CR LF is a line end because the CR is stripped, a lone CR is inside."""
    data = b'{"text": "a"}\r{"text": "b"}\r\n{"text": "c"}\r'
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    plan = plan_ranges([str(path)], 1)
    assert [(r.start, r.stop) for r in plan] == [(0, 29), (29, len(data))]
    assert [count_range(r) for r in plan] == [1, 1]
    items = [x for r, line0 in zip(plan, (0, 1)) for x in read_range(r, "in", line0, line0, "text", "id", ReadStats())]
    assert [(type(x).__name__, x.line) for x in items] == [("Rejected", 1), ("Record", 2)]
    assert items[0].code == "malformed_json"


def test_items_are_named_by_the_source_given_not_the_path(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"text": "a"}\n{"text": 1}\n')
    items = list(read_range(plan_ranges([str(path)], 0)[0], "data/in.jsonl", 0, 0, "text", "id", ReadStats()))
    assert [x.source for x in items] == ["data/in.jsonl", "data/in.jsonl"]


def test_only_line_one_of_an_input_may_carry_a_byte_order_mark(tmp_path):
    data = BOM + b'{"text": "a"}\n' + BOM + b'{"text": "b"}\n'
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    plan = plan_ranges([str(path)], 1)
    assert len(plan) == 2
    first = list(read_range(plan[0], "in", 0, 0, "text", "id", ReadStats()))
    second = list(read_range(plan[1], "in", 1, 1, "text", "id", ReadStats()))
    assert first[0].text == "a"
    assert second[0].code == "malformed_json" and "line 2" in second[0].reason


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_a_compressed_input_is_one_whole_range_with_the_readers_records(tmp_path, how):
    data = b"".join(orjson.dumps({"text": f"t{k}"}) + b"\n" for k in range(500)) + b"\n{bad\n"
    plain, packed = tmp_path / "a.jsonl", tmp_path / f"b.jsonl.{how}"
    plain.write_bytes(data)
    packed.write_bytes(_compress(data, how))
    paths = [str(plain), str(packed)]
    plan = plan_ranges(paths, 100)
    assert [r for r in plan if r.input == 1] == [InputRange(1, str(packed), "whole", 0, -1)]
    assert len(plan) > 2
    assert_same_reading(plan, paths)


def _damaged_gzip(tmp_path: Path) -> Path:
    data = b"".join(orjson.dumps({"text": f"text {k} " * 20}) + b"\n" for k in range(5000))
    packed = gzip.compress(data)
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    return path


def test_a_damaged_gzip_stream_raises_the_readers_error_when_counted_and_read(tmp_path):
    path = _damaged_gzip(tmp_path)
    with pytest.raises(InputError) as reader:
        list(read_records([str(path)]))
    (r,) = plan_ranges([str(path)], 1000)
    with pytest.raises(InputError) as counted:
        count_range(r)
    with pytest.raises(InputError) as read:
        list(read_range(r, display_name(str(path)), 0, 0, "text", "id", ReadStats()))
    assert "after line" in str(reader.value)
    assert str(counted.value) == str(read.value) == str(reader.value)


def test_errors_name_the_source_given(tmp_path):
    path = _damaged_gzip(tmp_path)
    (r,) = plan_ranges([str(path)], 0)
    with pytest.raises(InputError, match=r"^data\.gz: after line \d+: cannot read input: "):
        count_range(r, "data.gz")
    with pytest.raises(InputError, match=r"^data\.gz: after line \d+: cannot read input: "):
        list(read_range(r, "data.gz", 0, 0, "text", "id", ReadStats()))
    gone = InputRange(0, str(tmp_path / "gone.jsonl"), "lines", 0, 10)
    with pytest.raises(InputError, match=r"^cannot open data\.jsonl: "):
        list(read_range(gone, "data.jsonl", 0, 0, "text", "id", ReadStats()))


def test_planning_refuses_what_the_reader_refuses(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        plan_ranges([str(tmp_path / "missing.jsonl")], 10)
    bz2 = tmp_path / "in.jsonl"
    bz2.write_bytes(b"BZh91AY&SY" + b"\0" * 20)
    with pytest.raises(InputError, match="unsupported compression: bz2"):
        plan_ranges([str(bz2)], 10)


def test_standard_input_is_one_whole_range():
    assert plan_ranges(["-"], 10) == [InputRange(0, "-", "whole", 0, -1)]


class _CountingFile(io.FileIO):
    """A file that adds up the bytes read from it."""

    read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        _CountingFile.read_bytes += len(data)
        return data


def test_planning_a_big_file_reads_a_little_around_each_cut(tmp_path, monkeypatch):
    line = orjson.dumps({"text": "word " * 200}) + b"\n"
    data = line * (10_000_000 // len(line))
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    monkeypatch.setattr(ranges_module, "open_file", lambda p, name, buffering=-1: _CountingFile(p, "rb"))
    plan = plan_ranges([str(path)], 1_000_000)
    assert len(plan) == 10
    assert all(r.start % len(line) == 0 for r in plan)  # line starts
    assert [r.start // 1_000_000 for r in plan] == list(range(10))
    assert _CountingFile.read_bytes < 100_000
    assert sum(count_range(r) for r in plan) == len(data) // len(line)


# --------------------------------------------------------------------------- Parquet inputs

_ROW_TEXT = st.one_of(st.none(), _TEXT)


@st.composite
def parquet_tables(draw) -> tuple[pa.Table, int]:
    rows = draw(st.integers(0, 25))
    kind = draw(st.sampled_from(["string", "string", "binary", "int", "absent"]))
    columns = {}
    if kind == "string":
        columns["text"] = pa.array(draw(st.lists(_ROW_TEXT, min_size=rows, max_size=rows)), pa.string())
    elif kind == "binary":
        values = draw(st.lists(st.sampled_from([b"ok", b"caf\xe9", None, b"fine text"]), min_size=rows, max_size=rows))
        columns["text"] = pa.array(values, pa.binary())
    elif kind == "int":
        columns["text"] = pa.array(draw(st.lists(st.integers(0, 9), min_size=rows, max_size=rows)), pa.int64())
    if draw(st.booleans()):
        ids = draw(st.lists(st.none() | st.integers(0, 10**6), min_size=rows, max_size=rows))
        columns["id"] = pa.array(ids, pa.int64())
    columns["n"] = pa.array(range(rows), pa.int64())
    return pa.table(columns), draw(st.integers(1, 7))


@SETTINGS
@given(
    tables=st.lists(parquet_tables(), min_size=1, max_size=3),
    between=st.lists(jsonl_files(), min_size=3, max_size=3),
    split=st.integers(1, 2000),
    batch_rows=st.integers(1, 5),
)
def test_ranges_of_parquet_read_one_after_another_give_what_the_reader_gives(tables, between, split, batch_rows):
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for k, ((table, group_rows), jsonl) in enumerate(zip(tables, between)):
            path = os.path.join(directory, f"in{k}.parquet")
            pq.write_table(table, path, row_group_size=group_rows)
            paths.append(path)
            text = os.path.join(directory, f"between{k}.jsonl")
            Path(text).write_bytes(jsonl)
            paths.append(text)
        plan = plan_ranges(paths, split)
        for k, path in enumerate(paths):
            mine = [r for r in plan if r.input == k]
            if not path.endswith(".parquet"):
                continue
            metadata = pq.ParquetFile(path).metadata
            groups = metadata.num_row_groups
            assert mine[0].start == 0 and mine[-1].stop == groups
            assert all(a.stop == b.start for a, b in itertools.pairwise(mine))
            assert all(r.kind == "parquet" and r.start < r.stop for r in mine) or groups == 0
            sizes = [sum(metadata.row_group(g).total_byte_size for g in range(r.start, r.stop)) for r in mine]
            assert all(size >= split for size in sizes[:-1])
            assert all(size - metadata.row_group(r.stop - 1).total_byte_size < split for r, size in zip(mine, sizes))
        assert_same_reading(plan, paths, parquet_batch_rows=batch_rows)


def test_a_parquet_file_without_row_groups_is_one_empty_range(tmp_path):
    path = tmp_path / "none.parquet"
    pq.ParquetWriter(str(path), pa.schema([("text", pa.string())])).close()
    assert pq.ParquetFile(str(path)).metadata.num_row_groups == 0
    plan = plan_ranges([str(path)], 10)
    assert plan == [InputRange(0, str(path), "parquet", 0, 0)]
    assert count_range(plan[0]) == 0
    assert list(read_range(plan[0], "none.parquet", 0, 0, "text", "id", ReadStats())) == []


def test_parquet_rows_are_numbered_within_the_input_and_errors_say_after_row(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": [f"t{k}" for k in range(10)]}), str(path), row_group_size=3)
    plan = plan_ranges([str(path)], 1)
    assert [(r.start, r.stop) for r in plan] == [(0, 1), (1, 2), (2, 3), (3, 4)]
    items = list(read_range(plan[2], "in.parquet", 6, 16, "text", "id", stats := ReadStats()))
    assert [(x.text, x.line, x.number, x.id) for x in items] == [
        ("t6", 7, 17, "17"),
        ("t7", 8, 18, "18"),
        ("t8", 9, 19, "19"),
    ]
    assert stats.lines == 19
    with pytest.raises(InputError, match=r"^cannot read data\.parquet: not a readable Parquet file"):
        count_range(InputRange(0, str(tmp_path / "gone.parquet"), "parquet", 0, 1), "data.parquet")


def test_row_groups_are_joined_until_they_hold_the_split_size(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": [f"text {k:03d}" for k in range(12)]}), str(path), row_group_size=2)
    metadata = pq.ParquetFile(str(path)).metadata
    sizes = [metadata.row_group(g).total_byte_size for g in range(metadata.num_row_groups)]
    assert len(sizes) == 6
    exactly_one = plan_ranges([str(path)], sizes[0])
    assert (exactly_one[0].start, exactly_one[0].stop) == (0, 1)
    two = plan_ranges([str(path)], sizes[0] + 1)
    assert (two[0].start, two[0].stop) == (0, 2)
    assert plan_ranges([str(path)], 10**9) == [InputRange(0, str(path), "parquet", 0, 6)]
