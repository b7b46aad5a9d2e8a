"""Property and fuzz tests (hypothesis): the reader, the pipeline and the CLI on hostile input.

Every failure is reproducible: hypothesis prints the falsifying example and a
``@reproduce_failure`` blob (``print_blob=True``), and keeps it in
``.hypothesis/`` so the next run tries it first.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from dedupe import (DedupeConfig, Deduplicator, InputError, Record, Rejected, ShingleConfig, normalize, read_records,
                    text_shingles)
from dedupe.io.records import ReadStats
from dedupe.core.similarity import jaccard
from dedupe.core.matcher import Match

BOM = b"\xef\xbb\xbf"
ASCII_WS = b" \t\r\n\x0b\x0c"  # what bytes.strip() removes, spelled out
# gzip, zstd, Parquet, and the compressions refused (bz2, xz, lz4, zip): sniffed at the start of an input
MAGICS = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"PAR1", b"BZh", b"\xfd7zXZ\x00", b"\x04\x22\x4d\x18", b"PK\x03\x04")
TRACEBACK_LIKE = re.compile(r"Traceback|File \"|\b[A-Z]\w*(?:Error|Exception)\b|\n")

FUZZ = dict(deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CLI_FUZZ = dict(FUZZ, suppress_health_check=[*FUZZ["suppress_health_check"], HealthCheck.function_scoped_fixture])

# --------------------------------------------------------------------------- input lines and what each must give

RECORD = "record"


@dataclass(frozen=True)
class Line:
    """One physical input line (no newline inside) and the outcomes it may have.

    ``expect`` is a set of reject codes and/or RECORD; None means "anything,
    as long as the invariants hold" (random bytes). For a line that must be a
    record, ``rid`` is the expected id (None: the line number) and ``text`` the
    expected text (None: not checked).
    """

    data: bytes
    expect: frozenset[str] | None = None
    rid: str | None = None
    text: str | None = None


HUGE_RECORD = Line(b'{"id": "huge", "text": "' + b"lorem ipsum dolor sit amet " * 120_000 + b'"}',
                   frozenset({RECORD}), "huge", "lorem ipsum dolor sit amet " * 120_000)  # 3.2 MB
HUGE_GARBAGE = Line(b'{"id": "g", "text": "' + b"x" * 3_000_000, frozenset({"malformed_json"}))  # no closing quote


def _nested(depth: int, rid: str = '"deep"') -> bytes:
    return b'{"id": ' + rid.encode() + b', "text": "deep words", "n": ' + b"[" * depth + b"]" * depth + b"}"


FIXED_LINES = [
    Line(b"[" * 100_000, frozenset({"malformed_json"})),
    Line(b'{"a":' * 50_000, frozenset({"malformed_json"})),
    Line(_nested(3000), frozenset({"malformed_json"})),  # beyond what any parser here follows
    Line(_nested(1000), frozenset({RECORD}), "deep", "deep words"),  # orjson accepts up to 1024 levels
    Line(_nested(1000, "1.5"), frozenset({"bad_id"})),  # a float id is re-read by the exact parser
    Line(_nested(1000, "123456789012345678901234567890"), frozenset({RECORD}), "123456789012345678901234567890"),
    Line(b'{"id": "deep", "text": "x", "dedupe": 1, "n": ' + b"[" * 500 + b"]" * 500 + b"}", frozenset({RECORD}), "deep"),
    HUGE_RECORD,
    HUGE_GARBAGE,
    Line(b"\x00", frozenset({"malformed_json"})),
    Line(b'{"id": "z", "text": "a\x00b"}', frozenset({"malformed_json"})),  # a raw control character
    Line(b'{"id": "z", "text": "a\\u0000b"}', frozenset({RECORD}), "z", "a\x00b"),
    Line(b'{"id": "z", "text": "a\tb"}', frozenset({"malformed_json"})),
    Line(BOM + b'{"id": "b", "text": "bom not at the start"}', frozenset({"malformed_json"})),
    Line(b'{"id": "c", "text": "caf\xe9"}', frozenset({"invalid_utf8"})),  # latin-1
    Line("{\"id\": \"c\", \"text\": \"Ærøskøbing Ünïcødé\"}".encode("latin-1"), frozenset({"invalid_utf8"})),
    Line(b"\xff\xfe\xfd", frozenset({"invalid_utf8"})),
    Line(b'{"id": "s", "text": "lone \\ud800 high"}', frozenset({"invalid_utf8"})),
    Line(b'{"id": "s", "text": "lone \\udfff low"}', frozenset({"invalid_utf8"})),
    Line(b'{"id": "s", "text": "pair \\ud83d\\ude00 ok"}', frozenset({RECORD}), "s", "pair \U0001F600 ok"),
    Line(b'{"id": "\\ud800", "text": "surrogate id"}', frozenset({"invalid_utf8"})),
    Line(b'{"id": "o", "text": "surrogate elsewhere", "x": "\\udc00"}', frozenset({RECORD}), "o"),
    Line(b'{"id": "n", "text": "x", "v": NaN}', frozenset({"malformed_json"})),
    Line(b'{"id": "n", "text": "x", "v": -Infinity}', frozenset({"malformed_json"})),
    Line(b'{"id": "t", "text": "a"} trailing', frozenset({"malformed_json"})),
    Line(b"[1, 2]", frozenset({"not_an_object"})),
    Line(b"42", frozenset({"not_an_object"})),
    Line(b"null", frozenset({"not_an_object"})),
    Line(b'"a string"', frozenset({"not_an_object"})),
    Line(b'{"id": 1, "text": "first", "text": 2}', frozenset({"text_not_string"})),  # the last key wins
    Line(b'{"id": ' + b"9" * 5000 + b', "text": "huge id"}', frozenset({RECORD}), "9" * 5000),
    Line(b'{"id": -' + b"7" * 4500 + b', "text": "huge negative id"}', frozenset({RECORD}), "-" + "7" * 4500),
]

BLANKS = [b"", b" ", b"\t", b"  \t ", b"\x0b\x0c", b"\r"]

ids = st.one_of(
    st.just(("", None, None)),  # missing: the id is the line number
    st.just(("null", None, None)),
    st.integers(-(2**70), 2**70).map(lambda n: (str(n), str(n), None)),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: (repr(f), None, "bad_id")),
    st.sampled_from(["1e400", "-0.0", "2.0", "1E5"]).map(lambda s: (s, None, "bad_id")),
    st.booleans().map(lambda b: (json.dumps(b), None, "bad_id")),
    st.sampled_from(['{"n": 1}', "[1]", "[]", "{}"]).map(lambda s: (s, None, "bad_id")),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12).flatmap(
        lambda s: st.booleans().map(lambda a: (json.dumps(s, ensure_ascii=a), s, None))),
    st.sampled_from(["dup", "dup", "7"]).map(lambda s: (json.dumps(s), s, None)),  # repeated ids are fine
)
texts = st.one_of(
    st.just(("", None, "missing_text")),
    st.sampled_from(["null", "0", "1.5", "[]", '["a"]', '{"t": "x"}', "true"]).map(lambda s: (s, None, "text_not_string")),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40).flatmap(
        lambda s: st.booleans().map(lambda a: (json.dumps(s, ensure_ascii=a), s, None))),
    st.sampled_from(['"a\\ud800"', '"\\udbff x"', '"x \\udc00"']).map(lambda s: (s, None, "invalid_utf8")),
)


@st.composite
def record_lines(draw) -> Line:
    """A JSON object line built by hand, with the outcome the rules of docs/output.md give it."""
    id_json, rid, id_code = draw(ids)
    text_json, text, text_code = draw(texts)
    parts = []
    if id_json:
        parts.append('"id": ' + id_json)
    if text_json:
        parts.append('"text": ' + text_json)
    if draw(st.booleans()):
        parts.append('"extra": ' + draw(st.sampled_from(['{"k": [1, 2.5, null]}', '"\\udc00"', "1e999", '"x"'])))
    if draw(st.booleans()):
        parts.append('"dedupe": {"cluster": "old"}')
    parts = draw(st.permutations(parts))
    data = ("{" + draw(st.sampled_from([", ", ","])).join(parts) + "}").encode("utf-8")
    # The first failing rule decides: parse, object, text field, text, id.
    code = text_code or id_code
    if code is None:
        return Line(data, frozenset({RECORD}), rid, text)
    return Line(data, frozenset({code}))


@st.composite
def truncated_lines(draw) -> Line:
    whole = draw(record_lines()).data
    assume(len(whole) > 2)
    cut = draw(st.integers(1, len(whole) - 1))
    # A cut inside a multi-byte character makes the line invalid UTF-8 first.
    return Line(whole[:cut], frozenset({"malformed_json", "invalid_utf8"}))


no_newline = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b""))
lines = st.one_of(
    no_newline.map(Line),
    st.text(max_size=30).map(lambda s: Line(s.encode("utf-8", "surrogatepass").replace(b"\n", b""))),
    record_lines(),
    record_lines(),
    truncated_lines(),
    st.sampled_from(FIXED_LINES),
    st.sampled_from(BLANKS).map(lambda b: Line(b, frozenset())),
)


@st.composite
def jsonl_inputs(draw, max_lines: int = 12) -> tuple[bytes, list[Line]]:
    """Bytes of a JSONL input: lines, each ending in LF or CRLF (the last maybe in nothing), maybe a BOM."""
    chosen = draw(st.lists(lines, max_size=max_lines))
    # A BOM on line 1 is the input's BOM: a planned line starting with one must not come first without another.
    bom = draw(st.booleans()) or bool(chosen and chosen[0].data.startswith(BOM))
    out = bytearray(BOM if bom else b"")
    for k, line in enumerate(chosen):
        out += line.data
        if k < len(chosen) - 1 or draw(st.booleans()):
            out += draw(st.sampled_from([b"\n", b"\r\n"]))
    return bytes(out), chosen


def physical_lines(data: bytes) -> list[bytes]:
    """The input's lines as the reader must see them: split at LF, BOM removed from the first."""
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()  # the final newline ends the last line; it does not start another
    if pieces and pieces[0].startswith(BOM):
        pieces[0] = pieces[0][len(BOM) :]
    return pieces


def expected_nonblank(data: bytes) -> list[tuple[int, bytes]]:
    """(1-based line number, stripped bytes) of every line that is not blank after stripping ASCII whitespace."""
    return [(k, p.strip(ASCII_WS)) for k, p in enumerate(physical_lines(data), 1) if p.strip(ASCII_WS)]


def check_items(items: list[Record | Rejected], data: bytes, source: str, planned: list[Line] | None = None) -> None:
    """Invariants of the reader's output for one input (and, with ``planned``, each line's outcome)."""
    nonblank = expected_nonblank(data)
    assert len(items) == len(nonblank), (len(items), len(nonblank))
    for item, (number, raw) in zip(items, nonblank):
        assert type(item) in (Record, Rejected)
        assert (item.line, item.source, item.raw) == (number, source, raw)
        if isinstance(item, Rejected):
            assert item.code in {"malformed_json", "invalid_utf8", "not_an_object", "missing_text", "text_not_string",
                                 "bad_id"}
            assert item.reason and not TRACEBACK_LIKE.search(item.reason), item.reason
            assert item.message().startswith(f"{source}:{number}: "), item.message()
            assert "\n" not in item.message()
            json.loads(item.to_json())  # the --rejects line is valid JSON, whatever the raw bytes were
        else:
            assert isinstance(item.id, str) and isinstance(item.text, str)
            item.id.encode("utf-8")
            item.text.encode("utf-8")
    if planned is None:
        return
    by_number = {item.line: item for item in items}
    for number, line in enumerate(planned, 1):  # planned lines are physical lines 1..n
        if line.expect is None:
            continue
        item = by_number.get(number)
        if not line.expect:  # blank
            assert item is None
            continue
        got = RECORD if isinstance(item, Record) else item.code
        assert got in line.expect, (number, line.data[:200], got, getattr(item, "reason", None))
        if isinstance(item, Record):
            assert item.id == (line.rid if line.rid is not None else str(number))
            if line.text is not None:
                assert item.text == line.text


def read_all(data: bytes, **kw) -> tuple[list[Record | Rejected], ReadStats]:
    stats = ReadStats()
    return list(read_records(["-"], stats=stats, stdin=io.BytesIO(data), **kw)), stats


# --------------------------------------------------------------------------- the reader


@settings(max_examples=400, **FUZZ)
@given(jsonl_inputs())
def test_reader_never_raises_and_gives_one_item_per_nonblank_line_with_the_planned_outcome(case):
    data, planned = case
    assume(not data.startswith(MAGICS))  # those are read as compressed streams (next tests)
    items, stats = read_all(data)
    check_items(items, data, "<stdin>", planned)
    assert stats.lines == len(physical_lines(data))
    assert stats.blank_lines == stats.lines - len(items)


@settings(max_examples=150, **FUZZ)
@given(st.binary(max_size=3000))
def test_reader_on_arbitrary_bytes_never_raises_and_counts_lines(data):
    assume(not data.startswith(MAGICS))
    check_items(read_all(data)[0], data, "<stdin>")


@settings(max_examples=25, **FUZZ)
@given(st.lists(jsonl_inputs(max_lines=6), min_size=1, max_size=3))
def test_reader_on_several_files_numbers_lines_per_file_and_ids_across_files(inputs):
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k, (data, _) in enumerate(inputs):
            assume(not data.startswith(MAGICS))
            path = Path(tmp) / f"in{k}.jsonl"
            path.write_bytes(data)
            paths.append(str(path))
        stats = ReadStats()
        items = list(read_records(paths, stats=stats))
    offset, start = 0, 0
    for path, (data, planned) in zip(paths, inputs):
        mine = [i for i in items if i.source == path]
        assert items[start : start + len(mine)] == mine  # inputs are read in order, one after another
        start += len(mine)
        check_items(mine, data, path)
        # A missing or null id is the line number counted across all inputs (blank lines included).
        by_line = {i.line: i for i in mine}
        for number, plan in enumerate(planned, 1):
            if plan.expect == frozenset({RECORD}) and plan.rid is None:
                assert by_line[number].id == str(offset + number)
        offset += len(physical_lines(data))
    assert start == len(items)
    assert stats.lines == offset and stats.sources == paths


@settings(max_examples=60, **FUZZ)
@given(st.sampled_from(MAGICS), st.binary(max_size=400))
def test_garbage_after_a_compression_magic_raises_only_input_error(magic, tail):
    try:
        items, _ = read_all(magic + tail)
    except InputError as exc:
        assert str(exc).startswith("<stdin>: ") and "\n" not in str(exc)
    else:  # it happened to decompress (e.g. an empty zstd frame): the usual invariants hold
        assert all(isinstance(i, (Record, Rejected)) for i in items)


def _compress(kind: str, data: bytes) -> bytes:
    return gzip.compress(data) if kind == "gzip" else zstandard.ZstdCompressor().compress(data)


@settings(max_examples=40, **FUZZ)
@given(jsonl_inputs(max_lines=8), st.sampled_from(["gzip", "zstd"]))
def test_compressed_input_reads_exactly_like_plain_input(case, kind):
    data, _ = case
    assume(not data.startswith(MAGICS))
    plain, _ = read_all(data)
    packed, _ = read_all(_compress(kind, data))
    assert packed == plain


@settings(max_examples=60, **FUZZ)
@given(jsonl_inputs(max_lines=8), st.sampled_from(["gzip", "zstd"]), st.data())
def test_truncated_compressed_input_yields_a_prefix_then_input_error(case, kind, draw):
    data, _ = case
    assume(not data.startswith(MAGICS))
    assume(b"huge" not in data)  # keep the streams small
    packed = _compress(kind, data)
    magic = len(MAGICS[0] if kind == "gzip" else MAGICS[1])
    cut = draw.draw(st.integers(magic, len(packed) - 1), label="cut")
    plain, _ = read_all(data)
    got: list = []
    with pytest.raises(InputError, match=r"^<stdin>: after line \d+: cannot read input: "):
        for item in read_records(["-"], stdin=io.BytesIO(packed[:cut])):
            got.append(item)
    assert got == plain[: len(got)]  # never a wrong record, only fewer


# --------------------------------------------------------------------------- the pipeline

VOCAB = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "Straße", "STRASSE", "naïve", "nai\u0308ve", "e\u0301t\u00e9",
         "日本語", "😀👍", "ﬁne", "fine", "ΣΊΣΥΦΟΣ", "a\x00b", "x"]
SEPARATORS = [" ", "  ", "\t", "\n", ", ", ". ", "\u00a0", "\u3000", "\x00", " — ", "!!"]


@st.composite
def texts_from_vocab(draw) -> str:
    words = draw(st.lists(st.sampled_from(VOCAB), max_size=12))
    out = ""
    for w in words:
        out += w + draw(st.sampled_from(SEPARATORS))
    return draw(st.sampled_from(["", "", " ", "...", "\x00"])) + out


@st.composite
def corpora(draw, max_size: int = 24) -> list[str]:
    """Texts where copies (exact, re-cased, re-spaced, one word changed) of earlier texts are common."""
    out: list[str] = []
    for _ in range(draw(st.integers(0, max_size))):
        if out and draw(st.integers(0, 2)) == 0:
            src = draw(st.sampled_from(out))
            how = draw(st.sampled_from(["same", "same", "upper", "spaces", "edit"]))
            if how == "upper":
                src = src.upper()
            elif how == "spaces":
                src = "  " + src.replace(" ", "\t ") + " "
            elif how == "edit":
                src = src.replace(draw(st.sampled_from(VOCAB)), "changed", 1)
            out.append(src)
        else:
            out.append(draw(st.one_of(texts_from_vocab(), st.sampled_from(["", " ", "!!!", "\x00\x00", "🙂"]))))
    return out


configs = st.sampled_from([
    DedupeConfig(),
    DedupeConfig(shingle=ShingleConfig(unit="char", ngram=3)),
    DedupeConfig(shingle=ShingleConfig(ngram=2)),
])


def _decisions(results) -> list[tuple]:
    return [(r.record.id, r.match.cluster, r.match.duplicate_of, r.match.similarity) if not isinstance(r, Rejected)
            else ("rejected", r.line, r.code) for r in results]


@settings(max_examples=200, **FUZZ)
@given(corpora(), configs, st.integers(1, 6), st.lists(st.sampled_from([b"{bad", b"[1]", b'{"id": 1}']), max_size=3),
       st.booleans())
def test_pipeline_on_reader_output_decides_each_record_once_in_order_against_earlier_ones(texts, config, batch, bad,
                                                                                          ascii_only):
    lines = [json.dumps({"id": f"r{k}", "text": t}, ensure_ascii=ascii_only).encode() for k, t in enumerate(texts)]
    for k, b in enumerate(bad):  # rejects in between pass through in place
        lines.insert((k * 7) % (len(lines) + 1), b)
    data = b"\n".join(lines) + b"\n"
    items, _ = read_all(data)
    assert len(items) == len(lines)
    results = list(Deduplicator(config).run(items))
    assert len(results) == len(items)
    position: dict[str, int] = {}
    shingles: dict[str, object] = {}
    first_with_set: dict[bytes, str] = {}
    decided: dict[str, Match] = {}
    for k, (item, res) in enumerate(zip(items, results)):
        if isinstance(item, Rejected):
            assert res is item
            continue
        assert res.record is item  # input order
        rid, m = item.id, res.match
        sh = text_shingles(item.text, config.shingle, config.normalize)
        if m.duplicate_of is None:
            assert m.similarity is None
            assert m.cluster == rid or position[m.cluster] < k  # its own, or (the end of a chain) an earlier one's
        else:
            event("a duplicate")
            assert m.duplicate_of in position  # an earlier record
            assert decided[m.duplicate_of].duplicate_of is None  # that was kept
            assert m.similarity >= config.lsh.threshold
            assert m.similarity == round(jaccard(sh, shingles[m.duplicate_of]), 6)  # exact verification
            assert position[m.cluster] <= position[m.duplicate_of]  # the cluster's first-seen member
        if len(sh) == 0:  # an empty (normalized) text is never a duplicate and never has one
            assert m.duplicate_of is None
        else:
            key = sh.tobytes()
            if key in first_with_set:  # the same shingle set as an earlier record: always found
                event("a record with the shingle set of an earlier one")
                first = first_with_set[key]
                if decided[first].duplicate_of is None:
                    assert (m.duplicate_of, m.similarity) == (first, 1.0), (item.text, m)
                else:  # that one was dropped: this one too, for a kept record at least as similar
                    assert m.duplicate_of is not None and m.similarity >= decided[first].similarity, (item.text, m)
            else:
                first_with_set[key] = rid
        decided[rid] = m
        position[rid] = k
        shingles[rid] = sh
    for res in results:
        if not isinstance(res, Rejected) and res.match.duplicate_of is not None:
            assert len(shingles[res.match.duplicate_of])  # nothing duplicates an empty text
    # The same input gives the same output, whatever the batch size.
    again = list(Deduplicator(config).run(read_all(data)[0], batch_size=batch))
    assert _decisions(again) == _decisions(results)


@settings(max_examples=120, **FUZZ)
@given(st.lists(texts_from_vocab(), min_size=1, max_size=8), st.data())
def test_identical_texts_with_at_least_ngram_words_are_always_duplicates_of_the_first(base, draw):
    order = draw.draw(st.lists(st.integers(0, len(base) - 1), min_size=2, max_size=16), label="order")
    records = [Record(f"d{k}", base[i]) for k, i in enumerate(order)]
    results = list(Deduplicator().run(records, batch_size=draw.draw(st.integers(1, 300), label="batch")))
    position = {rec.id: k for k, rec in enumerate(records)}
    first: dict[str, int] = {}
    for k, (rec, res) in enumerate(zip(records, results)):
        if rec.text in first and len(normalize(rec.text).split()) >= 5:  # ngram is 5
            event("an identical text of 5 words or more")
            assert res.match.duplicate_of is not None, (rec.text, res.match)
            assert res.match.similarity == 1.0
            # the first record with this shingle set: at or before the first copy of this very text
            assert position[res.match.duplicate_of] <= first[rec.text]
        first.setdefault(rec.text, k)


# --------------------------------------------------------------------------- the CLI

GOOD_TEXTS = st.lists(texts_from_vocab(), min_size=1, max_size=4)
BAD_LINES = [line.data for line in FIXED_LINES if line.expect and RECORD not in line.expect and len(line.data) < 10_000]
BAD_LINES += [b"{not json", b"[1, 2]", b'{"id": "r", "body": "no text"}', b'{"id": 1.5, "text": "x"}', b'{"text": 5}',
              b"\xff\xfe", b"[" * 100_000]


@st.composite
def cli_inputs(draw) -> tuple[bytes, list[bytes]]:
    """A mixture of good lines (with copies), bad lines and blank lines; returns (bytes, physical lines)."""
    base = draw(GOOD_TEXTS)
    out: list[bytes] = []
    for k in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(["good", "good", "good", "bad", "blank"]))
        if kind == "good":
            rec = {"id": draw(st.sampled_from([f"g{k}", k, None])), "text": draw(st.sampled_from(base))}
            if rec["id"] is None:
                del rec["id"]
            out.append(json.dumps(rec, ensure_ascii=draw(st.booleans())).encode())
        elif kind == "bad":
            out.append(draw(st.sampled_from(BAD_LINES)))
        else:
            out.append(draw(st.sampled_from(BLANKS)))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = (BOM if draw(st.booleans()) else b"") + ending.join(out) + (ending if out and draw(st.booleans()) else b"")
    return data, out


def _check_cli_run(mode: str, data: bytes, stdout: bytes, rejects: Path, report_path: Path, dropped: Path | None):
    nonblank = len(expected_nonblank(data))
    blank = len(physical_lines(data)) - nonblank
    out_lines = stdout.count(b"\n")
    assert stdout == b"" or stdout.endswith(b"\n")
    rejected = rejects.read_bytes().count(b"\n")
    dropped_lines = dropped.read_bytes().count(b"\n") if dropped is not None else 0
    assert nonblank == out_lines + rejected + dropped_lines
    for row in rejects.read_bytes().splitlines():
        r = json.loads(row)
        assert r["code"] and r["reason"] and not TRACEBACK_LIKE.search(r["reason"])
    for line in stdout.split(b"\n")[:-1]:
        obj = json.loads(line)
        assert isinstance(obj, dict)
        if mode == "scan":
            assert set(obj["dedupe"]) >= {"cluster", "duplicate_of", "similarity"}
    c = json.loads(report_path.read_text())["counts"]
    assert c["input"] == c["kept"] + c["duplicates"] + c["rejected"] == nonblank
    assert c["rejected"] == rejected
    assert c["blank_lines_skipped"] == blank
    if mode == "filter":
        assert c["kept"] == out_lines and c["duplicates"] == dropped_lines


@settings(max_examples=100, **CLI_FUZZ)
@given(cli_inputs(), st.sampled_from(["scan", "filter"]), st.booleans())
def test_cli_accounts_for_every_nonblank_line_in_stdout_or_rejects(cli, case, mode, via_stdin):
    data, _ = case
    assume(not data.startswith(MAGICS))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inp, rejects, report, dropped = tmp / "in.jsonl", tmp / "rejects.jsonl", tmp / "report.json", tmp / "dropped.jsonl"
        inp.write_bytes(data)
        args = [mode, "--rejects", rejects, "--report", report] + ([] if via_stdin else [inp])
        if mode == "filter":
            args += ["--dropped", dropped]
        result = cli(args, input=data if via_stdin else b"")
        assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.stderr
        _check_cli_run(mode, data, result.stdout_bytes, rejects, report, dropped if mode == "filter" else None)


@settings(max_examples=6, **CLI_FUZZ)
@given(cli_inputs(), st.sampled_from(["scan", "filter"]))
def test_cli_subprocess_accounts_for_every_nonblank_line_and_never_shows_a_traceback(run_dedupe, case, mode):
    data, _ = case
    assume(not data.startswith(MAGICS))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rejects, report, dropped = tmp / "rejects.jsonl", tmp / "report.json", tmp / "dropped.jsonl"
        args = [mode, "-", "--rejects", rejects, "--report", report] + (["--dropped", dropped] if mode == "filter" else [])
        proc = run_dedupe(args, stdin=data)
        assert proc.returncode == 0, proc.stderr
        assert b"Traceback" not in proc.stderr and b"Exception ignored" not in proc.stderr
        _check_cli_run(mode, data, proc.stdout, rejects, report, dropped if mode == "filter" else None)
