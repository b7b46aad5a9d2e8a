"""--output DIR and --format jsonl|parquet: one shard per input, equal to what stdout gets; Parquet shards."""

from __future__ import annotations

import datetime
import decimal
import gzip
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedupe.io.records import ReadStats, Record
from dedupe.io.shards import InputShards, ShardError, ShardWriter, annotation_type, shard_name


def _split(corpus, tmp_path: Path, gz: bool = True) -> tuple[Path, Path]:
    """The corpus's lines in two inputs, the second gzip-compressed."""
    lines = corpus.lines
    half = len(lines) // 2
    first = tmp_path / "a.jsonl"
    first.write_bytes(b"".join(line + b"\n" for line in lines[:half]))
    second = tmp_path / ("b.jsonl.gz" if gz else "b.jsonl")
    data = b"".join(line + b"\n" for line in lines[half:])
    second.write_bytes(gzip.compress(data) if gz else data)
    return first, second


def _shards(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def _parquet_rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("index, source, fmt, name", [
    (0, "a.jsonl", "jsonl", "00000-a.jsonl"),
    (1, "data/b.jsonl.gz", "jsonl", "00001-b.jsonl"),
    (2, "/x/y/part-7.json.zst", "parquet", "00002-part-7.parquet"),
    (12, "c.parquet", "jsonl", "00012-c.jsonl"),
    (3, "notes.txt", "jsonl", "00003-notes.txt.jsonl"),
    (4, "-", "jsonl", "00004-stdin.jsonl"),
    (5, "<stdin>", "parquet", "00005-stdin.parquet"),
    (123456, "Big.JSONL.GZ", "jsonl", "123456-Big.jsonl"),
])
def test_shard_name(index, source, fmt, name):
    assert shard_name(index, source, fmt) == name


def test_shard_name_refuses_other_formats():
    with pytest.raises(ValueError):
        shard_name(0, "a.jsonl", "csv")


# --------------------------------------------------------------------------- JSONL shards


@pytest.mark.parametrize("mode", ["scan", "filter"])
def test_shards_concatenated_are_the_stdout_of_the_same_run(cli, corpus, tmp_path, mode):
    first, second = _split(corpus, tmp_path)
    out = tmp_path / "out"
    extra = ["--rejects", tmp_path / "rejects.jsonl"]
    sharded = cli([mode, first, second, "--output", out, *extra])
    assert sharded.exit_code == 0, sharded.stderr
    assert sharded.stdout_bytes == b""
    assert [p.name for p in _shards(out)] == ["00000-a.jsonl", "00001-b.jsonl"]
    plain = cli([mode, first, second, *extra])
    shards = [p.read_bytes() for p in _shards(out)]
    assert b"".join(shards) == plain.stdout_bytes
    assert all(shards)
    # Each shard holds its own input's records.
    for shard, source in zip(shards, (first.read_bytes(), gzip.decompress(second.read_bytes()))):
        ids = {str(o.get("id")) for o in map(_object, source.splitlines()) if isinstance(o, dict)}
        assert {json.loads(line)["id"] for line in shard.splitlines()} <= ids


def _object(line: bytes):
    try:
        return json.loads(line)
    except ValueError:
        return None


def test_filter_dropped_rejects_and_report_stay_single_files(cli, corpus, tmp_path):
    first, second = _split(corpus, tmp_path)
    out, dropped, rejects, report = tmp_path / "out", tmp_path / "d.jsonl", tmp_path / "r.jsonl", tmp_path / "rep.json"
    result = cli(["filter", first, second, "-o", out, "--dropped", dropped, "--rejects", rejects, "--report", report])
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in _shards(out)] == ["00000-a.jsonl", "00001-b.jsonl"]
    counts = json.loads(report.read_text())["counts"]
    assert len(dropped.read_bytes().splitlines()) == counts["duplicates"] > 0
    assert len(rejects.read_bytes().splitlines()) == counts["rejected"] == len(corpus.bad_lines)
    assert sum(len(p.read_bytes().splitlines()) for p in _shards(out)) == counts["kept"]
    assert json.loads(report.read_text())["completed"] is True


def test_every_input_gets_a_shard_even_when_nothing_of_it_is_written(cli, tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_bytes(b'{"id": "a", "text": "one two three four five six"}\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.json"
    blank.write_bytes(b"\n\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"not json\n")
    last_empty = tmp_path / "z.jsonl.zst"
    import zstandard

    last_empty.write_bytes(zstandard.ZstdCompressor().compress(b""))
    out = tmp_path / "out"
    result = cli(["scan", empty, a, blank, bad, a, last_empty, "-o", out, "--rejects", tmp_path / "r.jsonl"])
    assert result.exit_code == 0, result.stderr
    names = [p.name for p in _shards(out)]
    assert names == ["00000-empty.jsonl", "00001-a.jsonl", "00002-blank.jsonl", "00003-bad.jsonl", "00004-a.jsonl",
                     "00005-z.jsonl"]
    sizes = [p.stat().st_size for p in _shards(out)]
    assert sizes[0] == sizes[2] == sizes[3] == sizes[5] == 0
    # The same file given twice gets two shards: the second copy's record is the first's duplicate.
    again = json.loads((out / "00004-a.jsonl").read_bytes())
    assert again["dedupe"]["duplicate_of"] == "a"
    assert json.loads((out / "00001-a.jsonl").read_bytes())["dedupe"]["duplicate_of"] is None


def test_stdin_has_its_shard(cli, tmp_path):
    data = b'{"id": "s", "text": "from standard input"}\n'
    out = tmp_path / "out"
    result = cli(["scan", "-o", out], input=data)
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in _shards(out)] == ["00000-stdin.jsonl"]
    assert json.loads((out / "00000-stdin.jsonl").read_bytes())["id"] == "s"


def test_other_files_in_the_directory_are_left_alone_and_shards_replaced(cli, tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_bytes(b'{"id": "a", "text": "some text here"}\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "00000-a.jsonl").write_text("old content that is much longer than the new content will be\n" * 10)
    (out / "00001-old.jsonl").write_text("from another run\n")
    assert cli(["scan", a, "-o", out]).exit_code == 0
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "00001-old.jsonl").read_text() == "from another run\n"
    assert json.loads((out / "00000-a.jsonl").read_bytes())["id"] == "a"


def test_resume_appends_to_the_jsonl_shards(cli, clean_corpus, tmp_path):
    lines = list(clean_corpus.lines)
    half = len(lines) // 2
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(b"".join(line + b"\n" for line in lines[:half]))
    good = lines[half + 5]
    broken = lines[half:]
    broken[5] = b'{"id": "broken", "text": '
    second.write_bytes(b"".join(line + b"\n" for line in broken))
    out, index = tmp_path / "out", tmp_path / "idx"
    stopped = cli(["scan", first, second, "--index", index, "-o", out])
    assert stopped.exit_code == 3
    assert len((out / "00001-b.jsonl").read_bytes().splitlines()) == 5  # the records before the bad line
    broken[5] = good  # mended; the run goes on from there
    second.write_bytes(b"".join(line + b"\n" for line in broken))
    rest = cli(["scan", first, second, "--index", index, "--resume", "-o", out])
    assert rest.exit_code == 0, rest.stderr
    whole = cli(["scan", first, second]).stdout_bytes
    assert b"".join(p.read_bytes() for p in _shards(out)) == whole


# --------------------------------------------------------------------------- errors


def test_format_parquet_needs_output(cli, tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_bytes(b'{"text": "x"}\n')
    result = cli(["scan", a, "--format", "parquet"])
    assert result.exit_code == 2 and "--output" in result.stderr and "Traceback" not in result.stderr
    result = cli(["scan", a, "--format", "csv", "-o", tmp_path / "out"])
    assert result.exit_code == 2 and "jsonl or parquet" in result.stderr
    assert not (tmp_path / "out").exists()


def test_resume_with_parquet_shards_is_a_usage_error(cli, tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_bytes(b'{"text": "x"}\n')
    result = cli(["scan", a, "--format", "parquet", "-o", tmp_path / "out", "--index", tmp_path / "i", "--resume"])
    assert result.exit_code == 2 and "appended" in result.stderr


def test_without_pyarrow_format_parquet_says_how_to_get_it(cli, tmp_path, monkeypatch):
    a = tmp_path / "a.jsonl"
    a.write_bytes(b'{"text": "x"}\n')
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    result = cli(["scan", a, "--format", "parquet", "-o", tmp_path / "out"])
    assert result.exit_code == 2 and "pip install 'dedupe[parquet]'" in result.stderr
    assert cli(["scan", a, "-o", tmp_path / "out"]).exit_code == 0  # JSONL shards need no pyarrow


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_directory_that_cannot_be_created_exits_4_before_reading(cli, tmp_path, fmt):
    a = tmp_path / "a.jsonl"
    a.write_bytes(b'{"text": "x"}\n')
    blocker = tmp_path / "file"
    blocker.write_text("x")
    report = tmp_path / "report.json"
    result = cli(["scan", a, "-o", blocker / "out", "--format", fmt, "--report", report])
    assert result.exit_code == 4, result.stderr
    assert "cannot create the output directory" in result.stderr and "Traceback" not in result.stderr
    result = cli(["scan", a, "-o", blocker, "--format", fmt])
    assert result.exit_code == 4 and "cannot create the output directory" in result.stderr


def test_a_shard_that_would_replace_an_input_is_refused(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = out / "00001-a.jsonl"
    victim.write_bytes(b'{"id": "v", "text": "precious"}\n')
    a = tmp_path / "a.jsonl"
    a.write_bytes(b'{"id": "a", "text": "x"}\n')
    result = cli(["scan", victim, a, "-o", out])
    assert result.exit_code == 2 and "give another --output directory" in result.stderr
    assert victim.read_bytes() == b'{"id": "v", "text": "precious"}\n'


def test_help_shows_the_options_and_examples(cli):
    for mode in ("scan", "filter"):
        text = cli([mode, "--help"]).stdout
        assert "--output" in text and "--format" in text and "--output" in text.split("Examples")[1]


# --------------------------------------------------------------------------- Parquet shards


@pytest.mark.parametrize("mode", ["scan", "filter"])
def test_parquet_shards_hold_the_json_objects_of_the_jsonl_shards(cli, corpus, tmp_path, mode):
    first, second = _split(corpus, tmp_path)
    extra = ["--rejects", tmp_path / "rejects.jsonl"]
    assert cli([mode, first, second, "-o", tmp_path / "j", *extra]).exit_code == 0
    result = cli([mode, first, second, "-o", tmp_path / "p", "--format", "parquet", *extra])
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in _shards(tmp_path / "p")] == ["00000-a.parquet", "00001-b.parquet"]
    for jsonl, parquet in zip(_shards(tmp_path / "j"), _shards(tmp_path / "p")):
        objects = [json.loads(line) for line in jsonl.read_bytes().splitlines()]
        columns = pq.read_schema(parquet).names
        # A field a record lacks is null in its row.
        assert _parquet_rows(parquet) == [{c: o.get(c) for c in columns} for o in objects]
        assert set(columns) == {k for o in objects for k in o}
    if mode == "scan":
        assert pq.read_schema(_shards(tmp_path / "p")[0]).field("dedupe").type == annotation_type(False)


def test_parquet_shards_with_passages_have_a_list_of_passage_structs(cli, seeds_path, tmp_path):
    result = cli(["scan", "--passages", seeds_path, "-o", tmp_path / "p", "--format", "parquet"])
    assert result.exit_code == 0, result.stderr
    plain = cli(["scan", "--passages", seeds_path]).stdout_bytes
    (shard,) = _shards(tmp_path / "p")
    assert pq.read_schema(shard).field("dedupe").type == annotation_type(True)
    assert _parquet_rows(shard) == [json.loads(line) for line in plain.splitlines()]
    assert any(row["dedupe"]["passages"] for row in _parquet_rows(shard))


def test_parquet_input_to_parquet_shards_keeps_the_column_types(cli, tmp_path):
    utc = datetime.timezone.utc
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    table = pa.table({
        "id": pa.array([1, 2, 3], pa.int32()),
        "text": [text, text, "something else entirely different words here"],
        "score": pa.array([0.5, None, 1.25], pa.float32()),
        "at": pa.array([datetime.datetime(2024, 5, 1, 12, tzinfo=utc), None,
                        datetime.datetime(2024, 5, 2, 0, 0, 0, 1, tzinfo=utc)], pa.timestamp("us", "UTC")),
        "ns": pa.array([1, 2_000, None], pa.timestamp("ns")),
        "day": pa.array([datetime.date(2024, 5, 1)] * 3, pa.date32()),
        "price": pa.array([decimal.Decimal("1.10"), decimal.Decimal("2.00"), None], pa.decimal128(5, 2)),
        "blob": pa.array([b"abc", None, b"xyz"], pa.binary()),
        "tags": pa.array([["a"], [], None], pa.list_(pa.string())),
        "m": pa.array([[("k", 1)], [], None], pa.map_(pa.string(), pa.int16())),
        "nested": pa.array([{"u": 1, "v": "x"}, None, {"u": None, "v": "y"}],
                           pa.struct([("u", pa.int8()), ("v", pa.string())])),
    })
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    for mode in ("scan", "filter"):
        out = tmp_path / mode
        result = cli([mode, path, "-o", out, "--format", "parquet"])
        assert result.exit_code == 0, result.stderr
        (shard,) = _shards(out)
        written = pq.read_table(shard)
        expected = table if mode == "scan" else table.filter(pa.array([True, False, True]))
        for field in table.schema:
            assert written.schema.field(field.name).type == field.type, field.name
            assert written.column(field.name).to_pylist() == expected.column(field.name).to_pylist(), field.name
        if mode == "scan":
            assert written.column("dedupe").to_pylist()[1] == {"cluster": "1", "duplicate_of": "1", "similarity": 1.0}


def test_an_empty_input_gets_a_parquet_file_with_zero_rows(cli, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    no_rows = tmp_path / "none.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.int64()), "text": pa.array([], pa.string())}), no_rows)
    a = tmp_path / "a.jsonl"
    a.write_bytes(b'{"id": "a", "text": "x y z"}\n')
    result = cli(["scan", empty, no_rows, a, "-o", tmp_path / "out", "--format", "parquet"])
    assert result.exit_code == 0, result.stderr
    first, second, third = _shards(tmp_path / "out")
    assert [p.name for p in (first, second, third)] == ["00000-empty.parquet", "00001-none.parquet", "00002-a.parquet"]
    assert pq.read_table(first).num_rows == 0 and pq.read_schema(first).names == ["dedupe"]
    assert pq.read_table(second).num_rows == 0
    assert pq.read_schema(second).names == ["id", "text", "dedupe"]
    assert pq.read_schema(second).field("id").type == pa.int64()
    assert pq.read_table(third).num_rows == 1
    result = cli(["filter", empty, "-o", tmp_path / "f", "--format", "parquet"])
    (shard,) = _shards(tmp_path / "f")
    assert result.exit_code == 0 and pq.read_table(shard).num_rows == 0 and pq.read_schema(shard).names == []


def test_a_field_whose_type_changes_stops_the_run_with_exit_4_naming_the_line(cli, tmp_path):
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(b'{"id": "a", "text": "one", "n": 1}\n{"id": "b", "text": "two", "n": 2}\n'
                      b'{"id": "c", "text": "three", "n": "three"}\n')
    report = tmp_path / "report.json"
    result = cli(["scan", mixed, "-o", tmp_path / "out", "--format", "parquet", "--report", report])
    assert result.exit_code == 4
    assert "mixed.jsonl:3" in result.stderr and "'n'" in result.stderr and "--format jsonl" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(report.read_text())["completed"] is False
    (shard,) = _shards(tmp_path / "out")
    assert [row["id"] for row in _parquet_rows(shard)] == ["a", "b"]  # the rows before it
    assert cli(["scan", mixed, "-o", tmp_path / "j"]).exit_code == 0


# --------------------------------------------------------------------------- ShardWriter alone


def _lines(*objects: dict) -> list[bytes]:
    return [json.dumps(o).encode() + b"\n" for o in objects]


def test_shard_writer_writes_one_shard_for_another_process(tmp_path):
    with ShardWriter(str(tmp_path / "o"), "parquet", rows_per_group=2) as writer:
        path = writer.open(7, "data/part.jsonl.gz")
        for line in _lines(*({"id": str(i), "text": "t", "dedupe": {"cluster": "0", "duplicate_of": None,
                                                                     "similarity": None}} for i in range(5))):
            writer.write(line)
    assert path.endswith("00007-part.parquet")
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups == 3 and parquet.metadata.num_rows == 5
    assert parquet.schema_arrow.field("dedupe").type == annotation_type(False)  # fixed even when all null
    with ShardWriter(str(tmp_path / "o"), "jsonl") as writer:
        writer.open(0, "-")
        writer.write(b'{"a":1}\n')
    assert (tmp_path / "o" / "00000-stdin.jsonl").read_bytes() == b'{"a":1}\n'


def test_later_row_groups_are_unified_with_the_first(tmp_path):
    with ShardWriter(str(tmp_path), "parquet", rows_per_group=2) as writer:
        path = writer.open(0, "x.jsonl")
        rows = [{"n": 1, "f": 1.5, "s": None, "o": {"a": 1}, "l": [1]},
                {"n": 2, "f": 2.5, "s": "x", "o": {"a": 2}, "l": []},
                {"n": 3, "f": 3, "o": {"a": None}, "l": None},  # an integer in the float column, a missing field
                {"n": None, "f": None, "s": None, "o": None, "l": [2, 3]},
                {"n": 4.0, "f": 1, "s": "y", "o": {}, "l": [None]}]
        for line in _lines(*rows):
            writer.write(line)
    table = pq.read_table(path)
    assert table.schema == pa.schema([("n", pa.int64()), ("f", pa.float64()), ("s", pa.string()),
                                      ("o", pa.struct([("a", pa.int64())])), ("l", pa.list_(pa.int64()))])
    assert table.to_pylist() == [{"n": 1, "f": 1.5, "s": None, "o": {"a": 1}, "l": [1]},
                                 {"n": 2, "f": 2.5, "s": "x", "o": {"a": 2}, "l": []},
                                 {"n": 3, "f": 3.0, "s": None, "o": {"a": None}, "l": None},
                                 {"n": None, "f": None, "s": None, "o": None, "l": [2, 3]},
                                 {"n": 4, "f": 1.0, "s": "y", "o": {"a": None}, "l": [None]}]


@pytest.mark.parametrize("later, words", [
    ({"n": 1.5}, "does not fit its column's type (int64)"),
    ({"n": "3"}, "does not fit"),
    ({"n": 1, "new": True}, "field 'new' first appears after the first row group"),
    ({"n": 1, "empty": "now a value"}, "null in every row of the first row group"),
    ({"n": 1, "o": {"a": 1, "b": 2}}, "field 'o'"),
    ({"n": 2 ** 70}, "field 'n'"),
])
def test_a_later_row_that_does_not_fit_raises_shard_error_after_the_rows_before_it(tmp_path, later, words):
    writer = ShardWriter(str(tmp_path), "parquet", rows_per_group=2)
    path = writer.open(0, "in.jsonl")
    first = [{"n": 1, "empty": None, "o": {"a": 1}}, {"n": 2, "empty": None, "o": {"a": 2}}]
    for k, line in enumerate(_lines(*first, {"n": 3}, later, {"n": 5}), start=1):
        try:
            writer.write(line, at=10 + k)
        except ShardError as exc:
            error = exc
            break
    else:
        writer.close()
        pytest.fail("no ShardError")
    assert isinstance(error, OSError)
    assert "in.jsonl:14" in str(error) and words in str(error) and "--format jsonl" in str(error)
    writer.close()
    assert [row["n"] for row in _parquet_rows(Path(path))] == [1, 2, 3]


def test_input_shards_choose_the_input_by_the_records_number(tmp_path):
    read = ReadStats(starts=[0, 0, 4, 9, 9], lines=12)  # inputs 0 and 3 are empty
    shards = InputShards(str(tmp_path), "jsonl", ["a", "b", "c", "d", "e"], read, "scan")
    for number in (1, 4, 5, 9, 10, 12):
        shards.select(Record(str(number), "t", line=1, number=number))
        shards.write(f"{number}\n".encode())
    shards.complete()
    assert [p.read_text().split() for p in _shards(tmp_path)] == [[], ["1", "4"], ["5", "9"], [], ["10", "12"]]
