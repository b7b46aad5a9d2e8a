"""dedupe.io.records: reading JSONL (plain, gzip, zstd, stdin), rejects, annotated output."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
import zstandard

from dedupe import InputError, Record, Rejected, read_records
from dedupe.io.records import ReadStats, parse_line
from dedupe.io.render import annotated, open_output, original

GOOD = b'{"id": "first", "text": "hello world"}'


def write(tmp_path: Path, data: bytes, name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(path, **kw):
    stats = ReadStats()
    items = list(read_records([str(path)], stats=stats, **kw))
    return items, stats


def pairs_hook(pairs):
    """json object hook that keeps duplicate keys visible."""
    return pairs


# --------------------------------------------------------------------------- rejects


@pytest.mark.parametrize(
    "bad, code",
    [
        (b"{not json", "malformed_json"),
        (b'{"id": "x", "text": "unterminated}', "malformed_json"),
        (b'{"id": "x", "text": "a"} trailing', "malformed_json"),
        (b'{"id": "x", "body": "no text field"}', "missing_text"),
        (b'{"id": "x", "text": 5}', "text_not_string"),
        (b'{"id": "x", "text": null}', "text_not_string"),
        (b'{"id": "x", "text": ["a", "b"]}', "text_not_string"),
        (b'{"id": "x", "text": {"a": 1}}', "text_not_string"),
        (b'{"id": "x", "text": "caf\xe9"}', "invalid_utf8"),
        (b"\xff\xfe\xfd", "invalid_utf8"),
        (b'{"id": "x", "text": "lone \\ud800 surrogate"}', "invalid_utf8"),
        (b"[1, 2, 3]", "not_an_object"),
        (b'[{"id": "x", "text": "inside an array"}]', "not_an_object"),
        (b'"just a string"', "not_an_object"),
        (b"42", "not_an_object"),
        (b"null", "not_an_object"),
        (b'{"id": 1.5, "text": "x"}', "bad_id"),
        (b'{"id": [1], "text": "x"}', "bad_id"),
        (b'{"id": true, "text": "x"}', "bad_id"),
        (b'{"id": false, "text": "x"}', "bad_id"),
        (b'{"id": {"n": 1}, "text": "x"}', "bad_id"),
    ],
)
def test_bad_line_becomes_a_rejected_with_its_code_and_line_number(tmp_path, bad, code):
    # Line 1 is good, line 2 blank, line 3 bad, line 4 good.
    path = write(tmp_path, GOOD + b"\n\n" + bad + b"\n" + b'{"id": "last", "text": "bye"}\n')
    items, _ = read_all(path)
    assert [type(i) for i in items] == [Record, Rejected, Record]
    rej = items[1]
    assert rej.code == code
    assert rej.line == 3
    assert rej.source == str(path)
    assert rej.raw == bad
    assert rej.reason
    assert items[2].id == "last" and items[2].line == 4


def test_rejected_message_names_source_and_line():
    rej = parse_line(b"{oops", 7, "corpus.jsonl", 7, "text", "id")
    assert isinstance(rej, Rejected)
    assert rej.message().startswith("corpus.jsonl:7: ")
    assert "\n" not in rej.message()


def test_rejected_json_line_has_source_line_code_reason_raw():
    rej = parse_line(b'{"id": "x", "text": "caf\xe9"}', 2, "in.jsonl", 2, "text", "id")
    line = rej.to_json()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    obj = json.loads(line)
    assert obj["source"] == "in.jsonl"
    assert obj["line"] == 2
    assert obj["code"] == "invalid_utf8"
    assert obj["reason"] == rej.reason
    assert obj["raw"] == '{"id": "x", "text": "caf\\xe9"}'  # the bad byte spelled out


def test_text_field_and_id_field_are_configurable(tmp_path):
    path = write(tmp_path, b'{"doc": "d1", "body": "some words", "text": 3}\n{"doc": "d2", "text": "no body"}\n')
    items, _ = read_all(path, text_field="body", id_field="doc")
    assert isinstance(items[0], Record)
    assert (items[0].id, items[0].text) == ("d1", "some words")
    assert isinstance(items[1], Rejected) and items[1].code == "missing_text"
    assert "body" in items[1].reason


# --------------------------------------------------------------------------- lines, ids, encodings


def test_blank_lines_are_skipped_and_counted(tmp_path):
    path = write(tmp_path, b"\n" + GOOD + b"\n   \n\t\n" + GOOD.replace(b"first", b"second") + b"\n\n")
    items, stats = read_all(path)
    assert [i.id for i in items] == ["first", "second"]
    assert [i.line for i in items] == [2, 5]
    assert stats.blank_lines == 4
    assert stats.lines == 6
    assert stats.sources == [str(path)]


def test_bom_on_first_line_and_crlf_endings_are_accepted(tmp_path):
    data = b"\xef\xbb\xbf" + b'{"id": "a", "text": "x y"}\r\n{"id": "b", "text": "z"}\r\n'
    items, _ = read_all(write(tmp_path, data))
    assert all(isinstance(i, Record) for i in items)
    assert [(i.id, i.text, i.line) for i in items] == [("a", "x y", 1), ("b", "z", 2)]
    assert items[0].raw == b'{"id": "a", "text": "x y"}'
    assert items[1].raw == b'{"id": "b", "text": "z"}'


def test_file_without_final_newline_reads_its_last_line(tmp_path):
    items, _ = read_all(write(tmp_path, GOOD + b"\n" + b'{"id": "z", "text": "end"}'))
    assert [i.id for i in items] == ["first", "z"]


def test_missing_or_null_id_becomes_the_line_number(tmp_path):
    data = b'{"text": "one"}\n\n{"text": "three", "id": null}\n{"id": "x", "text": "four"}\n{"text": "five"}\n'
    items, _ = read_all(write(tmp_path, data))
    assert [i.id for i in items] == ["1", "3", "x", "5"]


def test_integer_id_becomes_its_decimal_string(tmp_path):
    data = b'{"id": 42, "text": "a"}\n{"id": -7, "text": "b"}\n{"id": 0, "text": "c"}\n'
    data += b'{"id": 18446744073709551615, "text": "d"}\n{"id": -9223372036854775808, "text": "e"}\n'
    items, _ = read_all(write(tmp_path, data))
    assert [i.id for i in items] == ["42", "-7", "0", str(2**64 - 1), str(-(2**63))]


def test_string_id_is_kept_verbatim(tmp_path):
    items, _ = read_all(write(tmp_path, '{"id": " Ünï 01 ", "text": "a"}\n'.encode()))
    assert items[0].id == " Ünï 01 "


def test_unicode_text_is_decoded(tmp_path):
    items, _ = read_all(write(tmp_path, '{"id": 1, "text": "naïve café \\u00e9 😀"}\n'.encode()))
    assert items[0].text == "naïve café é 😀"


def test_record_remembers_source_line_and_raw_bytes(tmp_path):
    path = write(tmp_path, b"  " + GOOD + b"  \n")
    (rec,), _ = read_all(path)
    assert rec.source == str(path)
    assert rec.line == 1
    assert rec.raw == GOOD


def _sample_lines() -> bytes:
    return b"".join(
        [
            b'{"id": "a", "text": "alpha beta"}\n',
            b"\n",
            b'{"text": "no id here"}\n',
            b"{broken\n",
            b'{"id": 5, "text": "gamma"}\n',
        ]
    )


def _summary(items):
    return [
        (type(i).__name__, i.line, getattr(i, "id", None), getattr(i, "text", None), getattr(i, "code", None), i.raw)
        for i in items
    ]


def test_gzip_input_reads_the_same_as_plain(tmp_path):
    plain = write(tmp_path, _sample_lines())
    gz = tmp_path / "in.jsonl.gz"
    with gzip.open(gz, "wb") as fh:
        fh.write(_sample_lines())
    items_plain, stats_plain = read_all(plain)
    items_gz, stats_gz = read_all(gz)
    assert _summary(items_gz) == _summary(items_plain)
    assert len(items_gz) == 4
    assert stats_gz.blank_lines == stats_plain.blank_lines == 1


def test_compression_is_detected_by_content_not_name(tmp_path):
    gz = tmp_path / "misleading.jsonl"
    gz.write_bytes(gzip.compress(_sample_lines()))
    assert _summary(read_all(gz)[0]) == _summary(read_all(write(tmp_path, _sample_lines()))[0])


def test_zstd_input_reads_the_same_as_plain(tmp_path):
    plain = write(tmp_path, _sample_lines())
    zst = tmp_path / "in.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(_sample_lines()))
    assert _summary(read_all(zst)[0]) == _summary(read_all(plain)[0])


def test_multi_member_gzip_and_multi_frame_zstd_are_read_completely(tmp_path):
    a, b = b'{"id": "a", "text": "one"}\n', b'{"id": "b", "text": "two"}\n'
    gz = write(tmp_path, gzip.compress(a) + gzip.compress(b), "multi.gz")
    zc = zstandard.ZstdCompressor()
    zst = write(tmp_path, zc.compress(a) + zc.compress(b), "multi.zst")
    assert [i.id for i in read_all(gz)[0]] == ["a", "b"]
    assert [i.id for i in read_all(zst)[0]] == ["a", "b"]


def test_stdin_is_read_with_dash(tmp_path):
    items = list(read_records(["-"], stdin=io.BytesIO(_sample_lines())))
    assert _summary(items) == _summary(read_all(write(tmp_path, _sample_lines()))[0])
    assert all(i.source == "<stdin>" for i in items)


def test_gzip_on_stdin_is_decompressed():
    items = list(read_records(["-"], stdin=io.BytesIO(gzip.compress(_sample_lines()))))
    assert [getattr(i, "id", None) for i in items] == ["a", "3", None, "5"]


def test_several_inputs_are_read_in_order_with_per_file_lines_and_global_default_ids(tmp_path):
    first = write(tmp_path, b'{"text": "a"}\n{"text": "b"}\n', "1.jsonl")
    second = write(tmp_path, b'{"text": "c"}\n', "2.jsonl")
    stats = ReadStats()
    items = list(read_records([str(first), str(second)], stats=stats))
    assert [(i.source, i.line, i.text) for i in items] == [(str(first), 1, "a"), (str(first), 2, "b"), (str(second), 1, "c")]
    ids = [i.id for i in items]
    assert len(set(ids)) == 3  # default ids never collide across inputs
    assert ids == ["1", "2", "3"]
    assert stats.sources == [str(first), str(second)]


def test_missing_file_is_an_input_error_naming_it(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(InputError, match="nope.jsonl"):
        list(read_records([str(missing)]))


def test_corrupt_gzip_is_an_input_error(tmp_path):
    good = gzip.compress(_sample_lines() * 50)
    path = write(tmp_path, good[: len(good) // 2] + b"\x00garbage" * 10, "bad.gz")
    with pytest.raises(InputError, match="bad.gz"):
        list(read_records([str(path)]))


# --------------------------------------------------------------------------- output


def test_annotated_keeps_input_bytes_and_adds_a_dedupe_key():
    raw = b'{"id": 1,   "text":"x",\t"extra" : [1, 2]}'
    rec = parse_line(raw, 1, "s", 1, "text", "id")
    ann = {"cluster": "1", "duplicate_of": None, "similarity": None}
    out = annotated(rec, ann)
    assert out.endswith(b"}\n") and out.count(b"\n") == 1
    assert out.startswith(raw[:-1])  # everything before the closing brace, byte for byte
    assert json.loads(out) == {**json.loads(raw), "dedupe": ann}
    assert list(json.loads(out))[-1] == "dedupe"


def test_annotated_handles_space_before_the_closing_brace():
    raw = b'{"id": "a", "text": "x" }'
    out = annotated(parse_line(raw, 1, "s", 1, "text", "id"), {"k": 1})
    assert json.loads(out) == {"id": "a", "text": "x", "dedupe": {"k": 1}}
    assert out.startswith(b'{"id": "a", "text": "x"')


def test_existing_dedupe_key_is_replaced_not_duplicated():
    raw = b'{"id": "a", "dedupe": {"cluster": "old"}, "text": "x"}'
    out = annotated(parse_line(raw, 1, "s", 1, "text", "id"), {"cluster": "new"})
    pairs = json.loads(out, object_pairs_hook=pairs_hook)
    keys = [k for k, _ in pairs]
    assert keys.count("dedupe") == 1
    assert dict(pairs)["dedupe"] == [("cluster", "new")]
    assert dict(pairs)["id"] == "a" and dict(pairs)["text"] == "x"


def test_integers_beyond_64_bits_survive_annotation():
    big, neg = 123456789012345678901234567890, -98765432109876543210987
    raw = f'{{"id": 1, "text": "x", "big": {big}, "neg": {neg}, "f": 1.5}}'.encode()
    out = annotated(parse_line(raw, 1, "s", 1, "text", "id"), {"k": 1})
    obj = json.loads(out)
    assert obj["big"] == big and obj["neg"] == neg and obj["f"] == 1.5
    assert str(big).encode() in out


def test_integers_beyond_64_bits_survive_when_the_dedupe_key_is_replaced():
    big = 2**70 + 3
    raw = f'{{"id": 1, "text": "x", "big": {big}, "dedupe": "stale"}}'.encode()
    out = annotated(parse_line(raw, 1, "s", 1, "text", "id"), {"k": 1})
    obj = json.loads(out)
    assert obj == {"id": 1, "text": "x", "big": big, "dedupe": {"k": 1}}


def test_record_built_in_code_is_written_as_id_and_text():
    rec = Record("r1", "some text")
    assert json.loads(annotated(rec, {"k": 1})) == {"id": "r1", "text": "some text", "dedupe": {"k": 1}}
    assert json.loads(original(rec)) == {"id": "r1", "text": "some text"}


def test_original_is_the_input_line_unchanged():
    raw = b'{"id": 1,   "text":"x",  "z": 1e5}'
    assert original(parse_line(raw, 1, "s", 1, "text", "id")) == raw + b"\n"


def test_open_output_gzips_files_ending_in_gz(tmp_path):
    with open_output(str(tmp_path / "o.jsonl.gz")) as fh:
        fh.write(b"abc\n")
    with open_output(str(tmp_path / "o.jsonl")) as fh:
        fh.write(b"abc\n")
    assert gzip.decompress((tmp_path / "o.jsonl.gz").read_bytes()) == b"abc\n"
    assert (tmp_path / "o.jsonl").read_bytes() == b"abc\n"


# --------------------------------------------------------------------------- known bugs


@pytest.mark.parametrize("big", [2**64, 123456789012345678901234567890, -(10**25)])
def test_integer_id_beyond_64_bits_becomes_its_decimal_string(tmp_path, big):
    items, _ = read_all(write(tmp_path, f'{{"id": {big}, "text": "a"}}\n'.encode()))
    assert isinstance(items[0], Record)
    assert items[0].id == str(big)


@pytest.mark.parametrize("big", [-(2**63) - 1, -(10**19) + 1])
def test_negative_19_digit_integer_id_beyond_64_bits_becomes_its_decimal_string(tmp_path, big):
    items, _ = read_all(write(tmp_path, f'{{"id": {big}, "text": "a"}}\n'.encode()))
    assert isinstance(items[0], Record)
    assert items[0].id == str(big)


def test_negative_19_digit_integer_survives_when_the_dedupe_key_is_replaced():
    big = -(2**63) - 1
    raw = f'{{"id": 1, "text": "x", "n": {big}, "dedupe": "stale"}}'.encode()
    assert json.loads(annotated(parse_line(raw, 1, "s", 1, "text", "id"), {"k": 1}))["n"] == big


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_number_literals_are_rejected_as_malformed(token):
    item = parse_line(b'{"id": 1, "text": "x", "score": ' + token + b"}", 1, "s", 1, "text", "id")
    assert isinstance(item, Rejected)
    assert item.code == "malformed_json"


def test_huge_integer_in_another_field_does_not_crash_the_reader(tmp_path):
    digits = "7" * 5000
    path = write(tmp_path, f'{{"id": 1, "text": "x", "n": {digits}}}\n'.encode())
    items, _ = read_all(path)  # valid JSON: must be a Record, or at worst a Rejected
    assert len(items) == 1
    assert isinstance(items[0], Record)
    assert digits.encode() in annotated(items[0], {"k": 1})


def test_existing_dedupe_key_spelled_with_an_escape_is_not_duplicated():
    raw = b'{"id": 1, "text": "x", "dedup\\u0065": "stale"}'
    out = annotated(parse_line(raw, 1, "s", 1, "text", "id"), {"k": 1})
    keys = [k for k, _ in json.loads(out, object_pairs_hook=pairs_hook)]
    assert keys.count("dedupe") == 1


def test_record_mentioning_dedupe_as_a_value_keeps_its_bytes():
    raw = b'{"id": 1,  "text": "x",  "tool": "dedupe"}'
    out = annotated(parse_line(raw, 1, "s", 1, "text", "id"), {"k": 1})
    assert json.loads(out) == {"id": 1, "text": "x", "tool": "dedupe", "dedupe": {"k": 1}}
    assert out.startswith(raw[:-1])


# --------------------------------------------------------------------------- inputs that are not JSONL text


def _zip(data: bytes) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("in.jsonl", data)
    return buffer.getvalue()


def _lz4_frame(data: bytes) -> bytes:
    # A frame header (magic, flags, block size, header checksum) and one uncompressed block: the magic is
    # what matters here, and no lz4 package is needed to write it.
    import struct

    return b"\x04\x22\x4d\x18" + b"\x60\x40\x82" + struct.pack("<I", len(data) | 1 << 31) + data + b"\0\0\0\0"


@pytest.mark.parametrize("compress, kind, command", [
    (lambda d: __import__("bz2").compress(d), "bz2", "bunzip2 -c FILE"),
    (lambda d: __import__("lzma").compress(d), "xz", "xz -dc FILE"),
    (_lz4_frame, "lz4", "lz4 -dc FILE"),
    (_zip, "zip", "unzip -p FILE"),
])
def test_unsupported_compression_is_named_instead_of_read_as_lines(tmp_path, compress, kind, command):
    data = compress(_sample_lines())
    path = write(tmp_path, data, "in.jsonl")
    expected = (f"{path}: unsupported compression: {kind} (decompress it first, e.g. {command} | dedupe scan)")
    with pytest.raises(InputError) as caught:
        list(read_records([str(path)]))
    assert str(caught.value) == expected
    with pytest.raises(InputError, match=f"^<stdin>: unsupported compression: {kind} "):
        list(read_records(["-"], stdin=io.BytesIO(data)))


def test_a_text_that_begins_like_a_magic_number_is_still_read_as_lines(tmp_path):
    items, _ = read_all(write(tmp_path, b'{"id": "BZh", "text": "PK"}\nBZh91AY\n'))
    assert isinstance(items[0], Record) and isinstance(items[1], Rejected)
    assert items[1].code == "malformed_json"


@pytest.mark.parametrize("line, column", [
    (b'{"id": 1, "text": "a\x00b"}', 21),  # inside a string
    (b'{"id": 1,\x00"text": "ab"}', 10),  # where a key should be
    (b'{"id": 1, "text": "ab"}\x00', 24),  # after the object
    (b'{"id": 1, "text": "ab" \x00}', 24),  # where a comma should be
    (b"\x00", 1),
])
def test_a_nul_byte_is_rejected_naming_its_column(tmp_path, line, column):
    (item,), _ = read_all(write(tmp_path, line + b"\n"))
    assert isinstance(item, Rejected) and item.code == "malformed_json"
    assert item.reason == f"a raw NUL byte at column {column} (not allowed in JSON; escape it as \\u0000)"
    assert json.loads(item.to_json())["raw"] == line.decode()  # the reject line is valid JSON, the NUL escaped


def test_a_control_character_in_a_string_is_named_with_its_escape():
    item = parse_line(b'{"id": 1, "text": "a\tb"}', 1, "s", 1, "text", "id")
    assert item.reason == ("a raw control character (U+0009) at column 21 inside a string (not allowed in JSON; "
                           "escape it as \\u0009)")
    outside = parse_line(b'{"id": 1,\x01"text": "ab"}', 1, "s", 1, "text", "id")
    assert outside.reason == "a raw control character (U+0001) at column 10 (not allowed in JSON outside a string)"


def test_an_unterminated_string_message_ends_with_its_column():
    item = parse_line(b'{"id": 1, "text": "ab}', 1, "s", 1, "text", "id")
    assert item.reason == "malformed JSON: Unterminated string starting at column 19"


def test_a_bom_after_the_first_line_is_rejected_as_concatenated_files(tmp_path):
    bom = b"\xef\xbb\xbf"
    data = bom + GOOD + b"\n" + bom + b'{"id": "b", "text": "x"}\n' + b'{"id": "c", "text": "y"' + bom + b"}\n"
    items, _ = read_all(write(tmp_path, data))
    assert isinstance(items[0], Record) and items[0].raw == GOOD  # the first line's BOM is dropped silently
    second, third = items[1:]
    assert (second.code, second.line) == ("malformed_json", 2)
    assert second.reason == ("a byte-order mark (U+FEFF) at the start of line 2: only the first line of a file may "
                             "carry one (files concatenated with BOMs?)")
    assert json.loads(second.to_json())["raw"] == '\ufeff{"id": "b", "text": "x"}'
    assert third.code == "malformed_json"
    assert third.reason == "a byte-order mark (U+FEFF) at column 24 (not allowed in JSON outside a string)"


def test_each_input_may_begin_with_a_bom(tmp_path):
    bom = b"\xef\xbb\xbf"
    first = write(tmp_path, bom + GOOD + b"\n", "a.jsonl")
    second = write(tmp_path, bom + b'{"id": "b", "text": "x"}\n', "b.jsonl")
    items = list(read_records([str(first), str(second)]))
    assert [(type(i), i.line) for i in items] == [(Record, 1), (Record, 1)]
    twice = write(tmp_path, bom + bom + GOOD + b"\n", "c.jsonl")
    (item,), _ = read_all(twice)
    assert item.code == "malformed_json" and "second byte-order mark" in item.reason


# --------------------------------------------------------------------------- a misspelt --id-field


def _rows(n: int, **extra: object) -> bytes:
    return b"".join(json.dumps({"id": f"r{k}", "text": f"text {k}", **extra}).encode() + b"\n" for k in range(n))


def test_an_id_field_absent_from_the_first_thousand_records_is_reported_once_as_soon_as_known():
    warnings: list[str] = []
    stats = ReadStats()
    seen_when_warned: list[int] = []

    def warn(message: str) -> None:
        warnings.append(message)
        seen_when_warned.append(stats.lines)

    items = list(read_records(["-"], id_field="uid", stats=stats, stdin=io.BytesIO(_rows(1500, title="t")),
                              warn=warn))
    assert [i.id for i in items[:3]] == ["1", "2", "3"]  # line numbers, as documented
    assert warnings == ["--id-field 'uid' is absent from the first 1,000 records: ids are line numbers "
                        "(fields seen: id, text, title)"]
    assert seen_when_warned == [1000]  # not at the end of the stream
    assert stats.id_field_missing == ["id", "text", "title"] and stats.id_field_checked == 1000


def test_an_id_field_absent_from_every_record_of_a_short_stream_is_reported_at_its_end():
    warnings: list[str] = []
    stats = ReadStats()
    list(read_records(["-"], id_field="uid", stats=stats, stdin=io.BytesIO(_rows(3) + b"{broken\n"),
                      warn=warnings.append))
    assert warnings == ["--id-field 'uid' is absent from all 3 records: ids are line numbers "
                        "(fields seen: id, text)"]
    assert stats.id_field_missing == ["id", "text"]


@pytest.mark.parametrize("data, id_field", [
    (_rows(5), "id"),  # the default id field: missing ids are normal
    (b'{"text": "a"}\n' * 5, "id"),
    (_rows(5)[:-1] + b'\n{"uid": "z", "text": "b"}\n', "uid"),  # present in one record
    (b'{"uid": null, "text": "a"}\n' * 5, "uid"),  # present, null: the line number is documented
    (b'{"uid": 1, "text": "a"}\n{"uid": 2, "text": "b"}\n', "uid"),  # ids equal to the line numbers
    (b'{"uid": 1.5, "text": "a"}\n', "uid"),  # present with a bad value: rejected, not missing
    (b"", "uid"),
])
def test_an_id_field_that_is_there_or_the_default_gives_no_warning(data, id_field):
    warnings: list[str] = []
    stats = ReadStats()
    list(read_records(["-"], id_field=id_field, stats=stats, stdin=io.BytesIO(data), warn=warnings.append))
    assert warnings == [] and stats.id_field_missing is None


def test_a_missing_id_field_warning_lists_few_field_names_and_escapes_odd_ones():
    row = {"a, b": 1} | {f"f{k}": k for k in range(14)} | {"text": "x"}
    stats = ReadStats()
    list(read_records(["-"], id_field="uid", stats=stats, stdin=io.BytesIO(json.dumps(row).encode())))
    from dedupe.io.idfield import id_field_warning

    message = id_field_warning("uid", stats)
    assert message.startswith("--id-field 'uid' is absent from the only record: ids are line numbers (fields seen: "
                              "'a, b', f0, f1,")
    assert message.endswith("f10, and 4 more)")
    assert len(stats.id_field_missing) == 16
