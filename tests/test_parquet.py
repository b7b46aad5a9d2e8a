"""Parquet input: rows as records, their JSON form, rejects, numbering across inputs, bounded reading, damage."""

from __future__ import annotations

import datetime
import decimal
import gzip
import itertools
import json
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedupe import InputError, Record, Rejected, read_records
from dedupe.io.parquet import row_json
from dedupe.io.records import ReadStats, is_parquet


def write_parquet(path: Path, table: pa.Table, **kw) -> Path:
    pq.write_table(table, path, **kw)
    return path


def read_all(*paths, **kw):
    stats = ReadStats()
    items = list(read_records([str(p) for p in paths], stats=stats, **kw))
    return items, stats


def words(i: int, n: int = 40) -> str:
    return " ".join(f"w{i}x{k}" for k in range(n))


# --------------------------------------------------------------------------- records


def test_each_row_is_a_record_with_its_json_object_as_raw(tmp_path):
    table = pa.table({"id": pa.array(["a", "b"]), "text": ["hello world", "second text"],
                      "n": pa.array([1, 2], pa.int32()), "tags": [["x", "y"], []],
                      "meta": [{"k": 1.5, "ok": True}, None]})
    path = write_parquet(tmp_path / "in.parquet", table)
    items, stats = read_all(path)
    assert [type(r) for r in items] == [Record, Record]
    first, second = items
    assert (first.id, first.text, first.line, first.number, first.source) == ("a", "hello world", 1, 1, str(path))
    assert (second.line, second.number) == (2, 2)
    assert first.raw == b'{"id":"a","text":"hello world","n":1,"tags":["x","y"],"meta":{"k":1.5,"ok":true}}'
    assert json.loads(second.raw) == {"id": "b", "text": "second text", "n": 2, "tags": [], "meta": None}
    assert list(json.loads(first.raw)) == table.schema.names  # columns in schema order
    assert stats.lines == 2 and stats.sources == [str(path)] and stats.starts == [0]
    assert not first.has_annotation


def test_rejects_use_the_jsonl_codes_and_messages(tmp_path):
    table = pa.table({"id": pa.array(["a", "b", "c"]), "text": pa.array(["fine", None, "also fine"])})
    items, _ = read_all(write_parquet(tmp_path / "nulls.parquet", table))
    assert isinstance(items[1], Rejected)
    assert (items[1].code, items[1].line, items[1].number) == ("text_not_string", 2, 2)
    assert "is null" in items[1].reason and "'text'" in items[1].reason
    assert json.loads(items[1].raw) == {"id": "b", "text": None}
    assert isinstance(items[0], Record) and isinstance(items[2], Record)

    numbers = pa.table({"id": ["a"], "text": pa.array([42], pa.int64())})
    (item,), _ = read_all(write_parquet(tmp_path / "int.parquet", numbers))
    assert item.code == "text_not_string" and "is number" in item.reason

    no_text = pa.table({"id": ["a", "b"], "body": ["x", "y"]})
    items, _ = read_all(write_parquet(tmp_path / "body.parquet", no_text))
    assert [r.code for r in items] == ["missing_text", "missing_text"]
    assert "--text-field" in items[0].reason
    items, _ = read_all(tmp_path / "body.parquet", text_field="body")
    assert [r.text for r in items] == ["x", "y"]


@pytest.mark.parametrize("ids, kind", [
    (pa.array([1.5]), "number"),
    (pa.array([True]), "boolean"),
    (pa.array([[1, 2]]), "array"),
    (pa.array([{"k": "v"}]), "object"),
])
def test_ids_that_are_not_strings_or_integers_are_bad_ids(tmp_path, ids, kind):
    table = pa.table({"id": ids, "text": ["some text"]})
    (item,), _ = read_all(write_parquet(tmp_path / "ids.parquet", table))
    assert isinstance(item, Rejected) and item.code == "bad_id" and kind in item.reason


def test_integer_ids_become_strings_and_null_ids_the_global_number(tmp_path):
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(b'{"id": "x", "text": "one"}\n\n{"text": "two"}\n')  # 3 lines, one blank
    table = pa.table({"id": pa.array([None, 7, None], pa.int64()), "text": ["three", "four", "five"]})
    path = write_parquet(tmp_path / "b.parquet", table)
    items, stats = read_all(jsonl, path)
    assert [r.id for r in items] == ["x", "3", "4", "7", "6"]
    assert [r.number for r in items] == [1, 3, 4, 5, 6]
    assert [r.line for r in items] == [1, 3, 1, 2, 3]
    assert stats.lines == 6 and stats.blank_lines == 1 and stats.starts == [0, 3]
    assert stats.sources == [str(jsonl), str(path)]


def test_skip_passes_over_rows_counted_across_inputs(tmp_path):
    first = write_parquet(tmp_path / "a.parquet", pa.table({"text": [f"t{i}" for i in range(5)]}))
    second = write_parquet(tmp_path / "b.parquet", pa.table({"text": [f"u{i}" for i in range(5)]}),
                           row_group_size=2)
    for skip in (0, 3, 5, 7, 10, 12):
        items, stats = read_all(first, second, skip=skip, parquet_batch_rows=2)
        assert [r.number for r in items] == list(range(skip + 1, 11))
        assert [r.id for r in items] == [str(n) for n in range(skip + 1, 11)]
        assert stats.lines == 10 and stats.skipped_lines == min(skip, 10)


def test_values_json_has_no_type_for_get_a_stable_string_form(tmp_path):
    utc = datetime.timezone.utc
    table = pa.table({
        "text": ["t", "u"],
        "ts": pa.array([datetime.datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=utc), None], pa.timestamp("us", "UTC")),
        "naive": pa.array([datetime.datetime(2024, 5, 1, 12), datetime.datetime(1969, 12, 31, 23, 59, 59)],
                          pa.timestamp("ms")),
        "ns": pa.array([1_714_564_800_000_000_001, -1], pa.timestamp("ns")),
        "day": pa.array([datetime.date(2024, 5, 1), None], pa.date32()),
        "time": pa.array([datetime.time(12, 0, 0, 250000), datetime.time(0, 0)], pa.time64("us")),
        "price": pa.array([decimal.Decimal("12.50"), decimal.Decimal("-0.0000001")], pa.decimal128(10, 7)),
        "blob": pa.array([b"caf\xc3\xa9", b"\xff\x00"], pa.binary()),
        "took": pa.array([90, -1_500_000_000], pa.duration("ns")),
        "m": pa.array([[("a", 1)], []], pa.map_(pa.string(), pa.int64())),
        "f": pa.array([float("nan"), float("inf")]),
    })
    items, _ = read_all(write_parquet(tmp_path / "types.parquet", table))
    rows = [json.loads(r.raw) for r in items]
    assert rows[0] == {"text": "t", "ts": "2024-05-01T12:00:00.500000+00:00", "naive": "2024-05-01T12:00:00",
                       "ns": "2024-05-01T12:00:00.000000001", "day": "2024-05-01", "time": "12:00:00.250000",
                       "price": "12.5000000", "blob": "café", "took": "PT0.00000009S", "m": [["a", 1]], "f": None}
    assert rows[1] == {"text": "u", "ts": None, "naive": "1969-12-31T23:59:59", "ns": "1969-12-31T23:59:59.999999999",
                       "day": None, "time": "00:00:00", "price": "-0.0000001", "blob": "\\xff\x00",
                       "took": "-PT1.5S", "m": [], "f": None}
    # The same row gives the same bytes every time, and row_json is what the reader uses.
    assert items[0].raw == row_json(table.slice(0, 1).to_pylist()[0] | {"ns": rows[0]["ns"], "took": rows[0]["took"]})


def test_text_and_id_are_read_as_the_json_object_holds_them(tmp_path):
    table = pa.table({"id": pa.array([datetime.date(2024, 1, 2), datetime.date(2024, 1, 3)]),
                      "text": pa.array([b"binary text", b"not utf-8 \xff"], pa.binary())})
    first, second = read_all(write_parquet(tmp_path / "b.parquet", table))[0]
    assert isinstance(first, Record) and (first.id, first.text) == ("2024-01-02", "binary text")
    assert isinstance(second, Rejected) and second.code == "invalid_utf8" and "'text'" in second.reason


def test_a_dedupe_column_is_replaced_by_the_annotation(tmp_path, cli):
    table = pa.table({"id": ["a"], "text": ["some words here"], "dedupe": ["old"]})
    path = write_parquet(tmp_path / "ann.parquet", table)
    (record,), _ = read_all(path)
    assert record.has_annotation
    out = cli(["scan", path])
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout_bytes) == {"id": "a", "text": "some words here",
                                            "dedupe": {"cluster": "a", "duplicate_of": None, "similarity": None}}


def test_parquet_is_recognised_by_name_or_by_magic(tmp_path):
    table = pa.table({"text": ["x"]})
    named = write_parquet(tmp_path / "data.parquet", table)
    unnamed = tmp_path / "data.bin"
    unnamed.write_bytes(named.read_bytes())
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_bytes(b'{"text": "x"}\n')
    assert is_parquet(str(named)) and is_parquet(str(unnamed)) and is_parquet("missing.PARQUET")
    assert not is_parquet(str(jsonl)) and not is_parquet("-")
    assert [r.text for r in read_all(unnamed)[0]] == ["x"]


# --------------------------------------------------------------------------- mixed with JSONL


def test_mixing_jsonl_and_parquet_gives_the_annotations_of_the_same_records_all_in_jsonl(cli, clean_corpus, tmp_path):
    lines = clean_corpus.lines
    half = len(lines) // 2
    first = tmp_path / "first.jsonl.gz"
    first.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines[:half])))
    rows = [{"id": r["id"], "text": r["text"], "n": r.get("n")} for r in map(json.loads, lines[half:])]
    table = pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.string()), ("text", pa.string()), ("n", pa.int64())]))
    second = write_parquet(tmp_path / "second.parquet", table, row_group_size=17)
    as_jsonl = tmp_path / "second.jsonl"
    as_jsonl.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))

    mixed = cli(["scan", first, second])
    plain = cli(["scan", first, as_jsonl])
    assert mixed.exit_code == plain.exit_code == 0, mixed.stderr
    assert mixed.stdout_bytes == plain.stdout_bytes  # the rows' JSON is the line a JSONL file would hold
    everything = cli(["scan", clean_corpus.path]).stdout_bytes.splitlines()
    got = mixed.stdout_bytes.splitlines()
    assert [json.loads(a)["dedupe"] for a in got] == [json.loads(b)["dedupe"] for b in everything]
    assert any(json.loads(a)["dedupe"]["duplicate_of"] for a in got[half:])  # duplicates across the two inputs
    kept = cli(["filter", first, second])
    assert kept.stdout_bytes == cli(["filter", first, as_jsonl]).stdout_bytes


# --------------------------------------------------------------------------- bounded memory, damage


def _big_file(path: Path, groups: int = 20, rows: int = 2_000, chars: int = 500) -> Path:
    writer = pq.ParquetWriter(path, pa.schema([("id", pa.string()), ("text", pa.string())]))
    for g in range(groups):
        ids = [f"g{g}r{i}" for i in range(rows)]
        writer.write_table(pa.table({"id": ids, "text": [f"{i} " + "x" * chars for i in ids]}))
    writer.close()
    return path


def test_reading_is_lazy_and_holds_at_most_a_row_group_not_the_file(tmp_path):
    path = _big_file(tmp_path / "big.parquet", groups=20, rows=2_000, chars=2_000)
    assert pq.ParquetFile(path).metadata.num_row_groups == 20
    group = 2_000 * 2_000  # bytes of text in a row group; the file holds 20 of them (80 MB)
    before = pa.total_allocated_bytes()
    stats = ReadStats()
    records = read_records([str(path)], stats=stats, parquet_batch_rows=64)
    first = next(records)
    assert first.id == "g0r0" and stats.lines == 1  # one record read, not the file
    held = pa.total_allocated_bytes() - before
    assert held < 2 * group, f"{held:,} bytes of Arrow memory after the first record"
    rest = list(itertools.islice(records, 4_999))  # into the third row group
    assert rest[-1].id == "g2r999" and stats.lines == 5_000
    assert pa.total_allocated_bytes() - before < 2 * group
    records.close()
    assert pa.total_allocated_bytes() - before < group / 10  # closed: nothing held


def _damaged(tmp_path: Path) -> Path:
    """A file of three row groups of 1,000 rows whose third group's first page header is destroyed."""
    path = _big_file(tmp_path / "whole.parquet", groups=3, rows=1_000, chars=20)
    column = pq.ParquetFile(path).metadata.row_group(2).column(1)
    data = bytearray(path.read_bytes())
    data[column.data_page_offset : column.data_page_offset + 16] = b"\xff" * 16
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(bytes(data))
    return damaged


def test_a_damaged_file_raises_input_error_after_the_rows_before_the_damage(tmp_path):
    damaged = _damaged(tmp_path)
    got = []
    with pytest.raises(InputError, match=r"damaged\.parquet: after row 2000: cannot read input"):
        for record in read_records([str(damaged)], parquet_batch_rows=100):
            got.append(record.id)
    assert len(got) == 2_000 and got[-1] == "g1r999"


def test_a_file_that_is_not_parquet_inside_raises_input_error_naming_it(tmp_path):
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b'{"text": "I am JSON"}\n')
    with pytest.raises(InputError, match=r"cannot read .*fake\.parquet: not a readable Parquet file"):
        list(read_records([str(fake)]))


def test_the_cli_exits_3_on_damage_after_writing_the_records_before_it(cli, tmp_path):
    damaged = _damaged(tmp_path)
    result = cli(["scan", damaged])
    assert result.exit_code == 3
    assert "damaged.parquet: after row" in result.stderr and "Traceback" not in result.stderr
    written = result.stdout_bytes.splitlines()
    assert written and json.loads(written[0])["id"] == "g0r0"
    assert len(written) < 3_000


# --------------------------------------------------------------------------- stdin, pyarrow missing


def test_parquet_on_stdin_is_refused_clearly(cli, tmp_path):
    path = write_parquet(tmp_path / "in.parquet", pa.table({"text": ["x"]}))
    with pytest.raises(InputError, match="standard input"):
        list(read_records(["-"], stdin=__import__("io").BytesIO(path.read_bytes())))
    result = cli(["scan", "-"], input=path.read_bytes())
    assert result.exit_code == 3
    assert "<stdin>" in result.stderr and "Parquet" in result.stderr and "give the file's path" in result.stderr


def test_without_pyarrow_a_parquet_input_says_how_to_get_it(cli, tmp_path, monkeypatch):
    path = write_parquet(tmp_path / "in.parquet", pa.table({"text": ["x"]}))
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(InputError, match=r"pip install 'dedupe\[parquet\]'"):
        list(read_records([str(path)]))
    result = cli(["scan", path])
    assert result.exit_code == 3 and "pip install 'dedupe[parquet]'" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- Parquet output of what Arrow cannot hold


@pytest.mark.parametrize("rows, line, problem", [
    ([{"id": 1, "title": "a\ud800b"}], 1, "field 'title' holds a lone surrogate (\\ud800), which Parquet strings "
                                          "cannot store"),
    ([{"id": 1, "title": "ok"}, {"id": 2, "title": "a\ud800b"}], 2,
     "field 'title' holds a lone surrogate (\\ud800), which Parquet strings cannot store"),
    ([{"id": 1, "meta": {"tags": ["x", "\udc80"]}}], 1,
     "field 'meta' holds a lone surrogate (\\udc80), which Parquet strings cannot store"),
    ([{"id": 1, "meta": {"k\udbff": 1}}], 1,
     "field 'meta' holds a lone surrogate (\\udbff), which Parquet strings cannot store"),
    ([{"id": 1, "ti\ud800tle": "x"}], 1,
     "field name 'ti\\ud800tle' holds a lone surrogate (\\ud800), which Parquet column names cannot store"),
])
def test_a_lone_surrogate_in_a_parquet_shard_is_named_as_such(tmp_path, rows, line, problem):
    from dedupe.io.shards import ShardError, ShardWriter

    writer = ShardWriter(str(tmp_path / "out"), "parquet")
    writer.open(0, "in.jsonl")
    with pytest.raises(ShardError) as caught:
        for k, row in enumerate(rows, 1):
            # the escaped form, as a JSONL line spells a lone surrogate
            writer.write(json.dumps(row, ensure_ascii=True).encode() + b"\n", k)
        writer.close()
    assert str(caught.value) == (f"cannot write {tmp_path / 'out' / '00000-in.parquet'}: in.jsonl:{line}: "
                                 f"{problem}; write this output with --format jsonl")
    writer.close()
