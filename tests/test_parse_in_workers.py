"""The streaming engine parses JSONL lines where it computes features (in its feature workers): the records, the
rejects and the decisions are exactly those of parsing in the reader."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import vocabulary
from dedupe import DedupeConfig, Deduplicator
from dedupe.features.batch import all_features, parse_and_featurize
from dedupe.io.idfield import IdFieldCheck
from dedupe.io.records import Line, ReadStats, Record, Rejected, parse_line, read_lines, read_records

WORDS = vocabulary(40, seed=3)


def _lines(draw_texts: list[str], bad: list[int]) -> bytes:
    """JSONL: one record per text, with a bad line of each kind in turn where ``bad`` says."""
    kinds = [b"not json", b"[1, 2]", b'{"id": "x"}', b'{"text": 5}', b'{"id": [1], "text": "a b"}', b"\xff\xfe"]
    out = []
    for k, text in enumerate(draw_texts):
        if k in bad:
            out.append(kinds[k % len(kinds)])
        out.append(b'{"id": "r%d", "text": "%s", "n": %d}' % (k, text.encode(), k))
    return b"\n".join(out) + b"\n"


def _feature_arrays(features):
    (hashes, signatures, keys, _), passages = features
    return [hashes[k].tolist() for k in range(len(hashes))], signatures.tolist(), keys.tolist(), passages


def test_parse_and_featurize_is_parse_line_then_all_features():
    raws = [b'{"id": 7, "text": "one two three four five six"}', b"oops", b'{"text": "seven eight nine ten"}']
    entries: list[bytes | str] = [raws[0], "a text given as such, read already", raws[1], raws[2]]
    meta = ([1, 2, 3], ["in.jsonl"] * 3, [1, 2, 3])
    config = DedupeConfig()
    parsed, features = parse_and_featurize(entries, meta, ("text", "id"), config, None)
    expected = [parse_line(raw, k + 1, "in.jsonl", k + 1, "text", "id") for k, raw in enumerate(raws)]
    assert parsed[0] == ("7", expected[0].text, False)
    assert parsed[1] is None
    assert isinstance(parsed[2], Rejected) and parsed[2] == expected[1]
    assert parsed[3] == ("3", expected[2].text, False)  # no id field: the line number across inputs
    texts = [expected[0].text, entries[1], expected[2].text]
    got, want = _feature_arrays(features), _feature_arrays(all_features(texts, config))
    assert got[:3] == want[:3]


def test_parse_and_featurize_cuts_texts_at_max_chars_for_the_features_only():
    raw = b'{"text": "' + b" ".join(w.encode() for w in WORDS) + b'"}'
    parsed, features = parse_and_featurize([raw], ([1], ["x"], [1]), ("text", "id"), DedupeConfig(), 20)
    assert parsed[0][1] == " ".join(WORDS)  # the record keeps its whole text
    cut = all_features([" ".join(WORDS)[:20]], DedupeConfig())
    assert _feature_arrays(features)[:3] == _feature_arrays(cut)[:3]


def test_read_lines_leaves_lines_unparsed_and_counts_as_read_records_does():
    data = b'\xef\xbb\xbf{"id": 1, "text": "a"}\n\n  \nnot json\n{"text": "b"}\r\n'
    stats, lines_stats = ReadStats(), ReadStats()
    lines = list(read_lines(["-"], "text", "id", lines_stats, stdin=io.BytesIO(data)))
    records = list(read_records(["-"], "text", "id", stats, stdin=io.BytesIO(data)))
    assert all(isinstance(line, Line) for line in lines)
    assert [parse_line(x.raw, x.line, x.source, x.number, "text", "id") for x in lines] == records
    assert (lines_stats.lines, lines_stats.blank_lines) == (stats.lines, stats.blank_lines) == (5, 2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join), min_size=1, max_size=40),
    bad=st.sets(st.integers(0, 39), max_size=6),
    batch_size=st.integers(1, 9),
)
@pytest.mark.parametrize("workers", [1, 2])
def test_lines_parsed_in_the_helpers_decide_as_records_parsed_in_the_reader(workers, texts, bad, batch_size):
    data = _lines(texts, sorted(bad))
    config = DedupeConfig()
    read = list(read_records(["-"], stdin=io.BytesIO(data)))
    expected = list(Deduplicator(config).run(read, workers=workers, batch_size=batch_size))
    lines = read_lines(["-"], "text", "id", ReadStats(), stdin=io.BytesIO(data))
    got = list(Deduplicator(config).run(lines, workers=workers, batch_size=batch_size, fields=("text", "id")))
    assert got == expected
    assert sum(isinstance(item, Rejected) for item in got) == len(bad & set(range(len(texts))))


def test_a_run_may_mix_lines_and_records():
    lines = list(read_lines(["-"], "text", "id", ReadStats(), stdin=io.BytesIO(b'{"id": "a", "text": "x y z w v"}\n')))
    items = [Record("r", "x y z w v"), *lines, Rejected(9, "p", "missing_text", "no text", b"{}", 9)]
    out = list(Deduplicator(DedupeConfig()).run(items, workers=1))
    assert [type(x).__name__ for x in out] == ["Result", "Result", "Rejected"]
    assert out[1].record.id == "a" and out[1].match.duplicate_of == "r"


def test_the_id_field_check_watches_decided_records():
    data = b"".join(b'{"uid_typo": %d, "text": "t %d"}\n' % (k, k) for k in range(5))
    warnings: list[str] = []
    stats = ReadStats()
    check = IdFieldCheck("uid", stats, warnings.append)
    lines = read_lines(["-"], "text", "uid", stats, stdin=io.BytesIO(data))
    out = list(check.watch(Deduplicator(DedupeConfig()).run(lines, fields=("text", "uid"))))
    assert len(out) == 5 and stats.id_field_missing == ["uid_typo", "text"]
    assert warnings == ["--id-field 'uid' is absent from all 5 records: ids are line numbers (fields seen: uid_typo, text)"]


def test_records_parsed_in_a_worker_process_keep_their_line_bytes_and_numbers():
    data = _lines([" ".join(WORDS[k : k + 8]) for k in range(20)], [3, 11])
    lines = list(read_lines(["-"], "text", "id", ReadStats(), stdin=io.BytesIO(data)))
    one = list(Deduplicator(DedupeConfig()).run(iter(lines), workers=1, batch_size=4))
    two = list(Deduplicator(DedupeConfig()).run(iter(lines), workers=2, batch_size=4))
    assert one == two
    by_number = {line.number: line for line in lines}
    for item in two:
        record = item if isinstance(item, Rejected) else item.record
        line = by_number[record.number]
        assert (record.raw, record.line, record.source) == (line.raw, line.line, line.source)
