"""dedupe.report.build: stream statistics, the JSON report and the stderr summary line."""

from __future__ import annotations

import io
import re

import orjson

from dedupe import Deduplicator, Record, Rejected
from dedupe.io.records import ReadStats
from dedupe.report.build import RunStats, build_report, progress, summary


class Clock:
    """A fake clock advancing by ``step`` seconds per reading."""

    def __init__(self, step: float = 0.5) -> None:
        self.now = 100.0
        self.step = step

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        return value


def _run(items, clock=None, mode="scan", rejects_file=None):
    stats = RunStats(clock=clock or Clock())
    dd = Deduplicator()
    read = ReadStats(lines=len(items) + 1, blank_lines=1, sources=["in.jsonl"])
    out = list(stats.watch(dd.run(items)))
    return out, stats, build_report(stats, dd.outcome(), read, mode, rejects_file)


TEXT = "alpha beta gamma delta epsilon zeta eta theta"


def _items():
    return [
        Record("a", TEXT),
        Record("b", TEXT),  # exact copy of a
        Rejected(3, "in.jsonl", "malformed_json", "bad", b"{"),
        Record("c", "something else entirely different here"),
        Record("d", ""),
        Rejected(6, "in.jsonl", "bad_id", "bad id", b'{"id": 1.5}'),
        Rejected(7, "in.jsonl", "malformed_json", "bad", b"]"),
        Record("e", TEXT),  # another copy of a
    ]


def test_watch_passes_items_through_unchanged():
    items = _items()
    out, _, _ = _run(items)
    assert len(out) == len(items)
    for before, after in zip(items, out):
        if isinstance(before, Rejected):
            assert after is before
        else:
            assert after.record is before


def test_counts_add_up_input_equals_kept_plus_duplicates_plus_rejected():
    _, stats, report = _run(_items())
    c = report["counts"]
    assert (c["input"], c["kept"], c["duplicates"], c["rejected"]) == (8, 3, 2, 3)
    assert c["input"] == c["kept"] + c["duplicates"] + c["rejected"]
    assert stats.inputs == 8
    assert stats.records == 5


def test_rejected_are_counted_by_reason():
    _, _, report = _run(_items())
    assert report["counts"]["rejected_by_reason"] == {"bad_id": 1, "malformed_json": 2}
    assert list(report["counts"]["rejected_by_reason"]) == ["bad_id", "malformed_json"]


def test_report_lists_clusters_with_sizes_and_members():
    _, _, report = _run(_items())
    assert report["counts"]["clusters"] == 1
    assert report["clusters"] == [{"cluster": "a", "size": 3, "members": ["a", "b", "e"]}]
    assert report["counts"]["clusters_merged_after_output"] == 0


def test_report_carries_mode_inputs_parameters_and_blank_lines():
    _, _, report = _run(_items(), mode="filter", rejects_file="bad.jsonl")
    assert report["mode"] == "filter"
    assert report["inputs"] == ["in.jsonl"]
    assert report["rejects_file"] == "bad.jsonl"
    assert report["counts"]["blank_lines_skipped"] == 1
    p = report["parameters"]
    assert (p["unit"], p["ngram"], p["num_perm"], p["threshold"], p["seed"]) == ("word", 5, 128, 0.8, 1)
    assert p["bands"] * p["rows"] <= p["num_perm"]


def test_timings_come_from_the_clock():
    # RunStats reads the clock at creation and when the stream ends: 100.0 then 100.5.
    _, stats, report = _run(_items(), clock=Clock(step=0.5))
    t = report["timings"]
    assert t["seconds"] == 0.5
    assert t["docs_per_second"] == 10.0  # 5 records / 0.5 s
    text_bytes = 3 * len(TEXT) + len("something else entirely different here")
    assert t["text_megabytes"] == round(text_bytes / 1e6, 3)
    assert stats.text_bytes == text_bytes
    for key in ("feature_seconds", "match_seconds", "megabytes_per_second"):
        assert isinstance(t[key], float) and t[key] >= 0.0


def test_report_is_json_serializable():
    _, _, report = _run(_items())
    assert orjson.loads(orjson.dumps(report)) == report


def test_summary_is_one_line_with_records_kept_duplicates_rejected():
    _, _, report = _run(_items(), rejects_file="bad.jsonl")
    line = summary(report)
    assert "\n" not in line
    assert re.search(r"\b8 (?:\w+ )?records\b", line), line
    assert re.search(r"\b3 kept\b", line)
    assert re.search(r"\b2 duplicates\b", line)
    assert re.search(r"\b1 cluster", line)
    assert re.search(r"\b3 rejected\b", line)
    assert "bad.jsonl" in line
    assert line.startswith("dedupe scan")


def test_summary_of_an_empty_run_still_says_records_and_kept():
    _, _, report = _run([])
    line = summary(report)
    assert re.search(r"\b0 (?:\w+ )?records\b", line), line
    assert re.search(r"\b0 kept\b", line)


def test_zero_elapsed_time_gives_no_rate_instead_of_dividing_by_zero():
    _, _, report = _run(_items(), clock=Clock(step=0.0))
    assert report["timings"]["seconds"] == 0.0
    assert report["timings"]["docs_per_second"] is None
    assert report["timings"]["megabytes_per_second"] is None
    line = summary(report)
    assert "records" in line and "kept" in line and "docs/s" not in line


def test_summary_does_not_name_a_rejects_file_when_nothing_was_rejected():
    _, _, report = _run([Record("a", TEXT)], rejects_file="bad.jsonl")
    assert "bad.jsonl" not in summary(report)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    stats = RunStats(clock=Clock())
    assert list(progress(iter([1, 2, 3]), stats, stream=stream, every=0.0)) == [1, 2, 3]
    assert stream.getvalue() == ""


def test_progress_on_a_terminal_redraws_one_line_and_clears_it():
    stream = FakeTTY()
    stats = RunStats(clock=Clock(step=1.0))
    assert list(progress(iter(range(4)), stats, stream=stream, every=0.5)) == [0, 1, 2, 3]
    text = stream.getvalue()
    assert "records" in text and "\r" in text and "\n" not in text
    assert text.endswith("\r")  # the indicator is wiped at the end
