"""Every record is accounted for on every CLI path: input = kept + duplicates + rejected, in the report and the summary."""

from __future__ import annotations

import json
import re

import pytest


def _nonblank(path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def _check(result, report_path, expected_input: int | None) -> dict:
    report = json.loads(report_path.read_text())
    c = report["counts"]
    assert c["input"] == c["kept"] + c["duplicates"] + c["rejected"]
    if expected_input is not None:
        assert c["input"] == expected_input
    m = re.search(r"([\d,]+) input records? .*: ([\d,]+) kept, ([\d,]+) duplicates? .* ([\d,]+) rejected", result.stderr)
    assert m, result.stderr
    assert [int(x.replace(",", "")) for x in m.groups()] == [c["input"], c["kept"], c["duplicates"], c["rejected"]]
    return report


@pytest.mark.parametrize("args", [
    ["scan"],
    ["filter"],
    ["filter", "--dropped", "{tmp}/dropped.jsonl"],
    ["scan", "--passages"],
    ["filter", "--passages"],
    ["scan", "-w", "2"],
    ["scan", "--index", "{tmp}/idx"],
    ["filter", "--index", "{tmp}/idx", "--checkpoint-every", "10"],
    ["scan", "--max-chars", "50"],
    ["scan", "--verify", "estimate", "--unit", "char"],
], ids=lambda a: " ".join(a).replace("{tmp}/", ""))
def test_every_record_is_kept_marked_or_rejected(cli, corpus, tmp_path, args):
    report_path = tmp_path / "report.json"
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = cli([*args, corpus.path, "--rejects", tmp_path / "rejects.jsonl", "--report", report_path])
    assert result.exit_code == 0, result.stderr
    report = _check(result, report_path, _nonblank(corpus.path))
    out = len(result.stdout_bytes.splitlines())
    rejects = len((tmp_path / "rejects.jsonl").read_bytes().splitlines())
    assert rejects == report["counts"]["rejected"] == len(corpus.bad_lines)
    if args[0] == "scan":
        assert out == report["counts"]["kept"] + report["counts"]["duplicates"]
    else:
        assert out == report["counts"]["kept"]
        if "--dropped" in args:
            dropped = len((tmp_path / "dropped.jsonl").read_bytes().splitlines())
            assert dropped == report["counts"]["duplicates"]


def test_a_run_stopped_by_a_bad_line_accounts_for_the_lines_before_it(cli, corpus, tmp_path):
    report_path = tmp_path / "report.json"
    result = cli(["scan", corpus.path, "--report", report_path])
    assert result.exit_code == 3
    first_bad = corpus.bad_lines[0]
    blank_before = sum(1 for line in corpus.lines[:first_bad] if not line.strip())
    report = _check(result, report_path, first_bad - blank_before)
    assert report["completed"] is False and report["counts"]["rejected"] == 1


def test_a_second_run_on_an_index_accounts_for_its_own_records(cli, corpus, tmp_path):
    for k in range(2):
        report_path = tmp_path / f"r{k}.json"
        result = cli(["scan", corpus.path, "--index", tmp_path / "idx", "--rejects", tmp_path / "rj",
                      "--report", report_path])
        assert result.exit_code == 0
        _check(result, report_path, _nonblank(corpus.path))
