"""`dedupe report` on annotations that are not what `dedupe scan` writes, and on run reports that are not what a
run writes: exit code 3 and one line naming the file (and line) and what is wrong, never a traceback."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SEEDS_JSONL, vocabulary

SITE_JSONL = SEEDS_JSONL.parent / "site.jsonl"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("dedupe: ")]


def refused(result: Any, *needles: str) -> str:
    """Check a CliRunner result of `dedupe report`: exit code 3, one error line holding ``needles``, no crash."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 3, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    (line,) = error_lines(result.stderr)
    for needle in needles:
        assert needle in line, (needle, line)
    return line


@pytest.fixture(scope="module")
def scan_output(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """A `dedupe scan --passages` output with kept records, duplicates and repeated passages, as objects."""
    rng = random.Random(3)
    vocab = vocabulary(400)
    rows = [json.loads(line) for path in (SEEDS_JSONL, SITE_JSONL) for line in path.read_text().splitlines()]
    for k in range(4):
        text = " ".join(rng.choice(vocab) for _ in range(80))
        rows.append({"id": f"base{k}", "text": text})
        rows.append({"id": f"copy{k}", "text": text.replace(text.split()[40], "changed", 1)})
    src = tmp_path_factory.mktemp("scan") / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = subprocess.run([sys.executable, "-m", "dedupe", "scan", "--passages", str(src)], capture_output=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert any(r["dedupe"]["duplicate_of"] for r in out) and any(r["dedupe"].get("passages") for r in out)
    return out


def write_lines(path: Path, rows: list[dict[str, Any]]) -> Path:
    # ensure_ascii: a lone surrogate drawn by hypothesis is written as its escape, as JSON allows
    path.write_text("".join(json.dumps(r, ensure_ascii=True) + "\n" for r in rows))
    return path


NOTE = {"cluster": "a", "duplicate_of": None, "similarity": None}
PASSAGE = {"start": 0, "end": 4, "kind": "exact", "similarity": 1.0, "match": {"id": "z", "start": 0, "end": 4},
           "unit": "passage"}


def with_passage(**changes: Any) -> dict[str, Any]:
    passage = {**PASSAGE, **changes}
    return {**NOTE, "passages": [PASSAGE, {k: v for k, v in passage.items() if v is not ...}]}


@pytest.mark.parametrize("note, needles", [
    ("dedupe", ['it is a string ("dedupe"), not an object']),
    (None, ["it is null, not an object"]),
    ([NOTE], ["it is an array", "not an object"]),
    ({**NOTE, "cluster": [1]}, ['"cluster" is an array ([1]), not a string']),
    ({**NOTE, "cluster": 7}, ['"cluster" is a number (7), not a string']),
    ({"duplicate_of": None, "similarity": None}, ['no "cluster" key']),
    ({**NOTE, "duplicate_of": 5.5, "similarity": 0.9}, ['"duplicate_of" is a number (5.5), not a string or null']),
    ({**NOTE, "duplicate_of": "b", "similarity": "x"}, ['"similarity" is a string ("x"), not a number from 0 to 1']),
    ({**NOTE, "duplicate_of": "b", "similarity": 1.5}, ['"similarity" is a number (1.5)']),
    ({**NOTE, "duplicate_of": "b", "similarity": True}, ['"similarity" is a boolean (true)']),
    ({**NOTE, "cluster": "\ud800"}, ['"cluster" holds a lone surrogate']),
    ({**NOTE, "passages": {"start": 0}}, ['"passages" is an object', "not a list or null"]),
    ({**NOTE, "passages": "abc"}, ['"passages" is a string ("abc"), not a list or null']),
    ({**NOTE, "passages": [PASSAGE, 3]}, ["passage 2 is a number (3), not an object"]),
    (with_passage(match=...), ['passage 2: no "match" key']),
    (with_passage(kind=...), ['passage 2: no "kind" key']),
    (with_passage(start="0"), ['passage 2: "start" is a string ("0"), not a whole number']),
    (with_passage(end=99), ['passage 2: "end" is a number (99), not a whole number from 0 to 12']),
    (with_passage(start=3, end=2), ['passage 2: "end" is a number (2), not a whole number from 3 to 12']),
    (with_passage(kind="copied"), ['passage 2: "kind" is a string ("copied"), not one of exact, near, boilerplate']),
    (with_passage(similarity=None), ['passage 2: "similarity" is null, not a number from 0 to 1']),
    (with_passage(match=[1]), ['passage 2: "match" is an array ([1]), not an object']),
    (with_passage(match={"id": "z", "start": 0}), ['passage 2: "match" has no "end" key']),
    (with_passage(match={"id": 1, "start": 0, "end": 1}),
     ['passage 2: the "id" of "match" is a number (1), not a string']),
    (with_passage(unit="word"), ['passage 2: "unit" is a string ("word"), not one of passage, quote']),
])
def test_a_malformed_annotation_is_refused_naming_the_line_and_what_is_wrong(cli, tmp_path, note, needles):
    good = {"id": "a", "text": "some words here", "dedupe": NOTE}
    path = write_lines(tmp_path / "out.jsonl", [good, {"id": "b", "text": "abcd efgh ij", "dedupe": note}])
    line = refused(cli(["report", path, "-o", tmp_path / "page.html"]), f"{path}:2: ", *needles)
    assert "Error" not in line  # no Python exception name
    assert not (tmp_path / "page.html").exists()


def test_a_malformed_annotation_stops_the_real_command_with_one_line(tmp_path):
    path = write_lines(tmp_path / "out.jsonl", [{"id": "a", "text": "x", "dedupe": {**NOTE, "similarity": "high"}}])
    res = subprocess.run([sys.executable, "-m", "dedupe", "report", str(path), "-o", str(tmp_path / "p.html")],
                         capture_output=True, timeout=120)
    err = res.stderr.decode()
    assert res.returncode == 3 and "Traceback" not in err, err
    assert error_lines(err) == [f'dedupe: error: {path}:1: the "dedupe" annotation is not one \'dedupe scan\' '
                                'writes: "similarity" is a string ("high"), not a number from 0 to 1 or null']


def test_a_number_beyond_a_double_elsewhere_in_the_line_is_no_error(cli, scan_output, tmp_path):
    rows = copy.deepcopy(scan_output)
    path = tmp_path / "out.jsonl"
    write_lines(path, rows)
    with open(path, "ab") as f:  # valid JSON that orjson does not read: the annotation is read all the same
        f.write(b'{"id": "big", "text": "t", "n": 1e400, "dedupe": {"cluster": "big", "duplicate_of": null, '
                b'"similarity": null}}\n')
    res = cli(["report", path, "-o", tmp_path / "page.html"])
    assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize("change, needle", [
    ({"parameters": "x"}, '"parameters" is a string ("x"), not an object'),
    ({"parameters": {"unit": "word"}}, 'no "parameters.ngram"'),
    ({"counts": {"rejected": "many"}}, '"counts.rejected" is a string ("many"), not a whole number'),
    ({"counts": {"rejected_by_reason": {"malformed_json": "2"}}}, '"counts.rejected_by_reason.malformed_json"'),
    ({"timings": {"seconds": 1}}, 'no "timings.feature_seconds"'),
    ({"similarity_histogram": {"candidates": [1, 2]}}, '"similarity_histogram.candidates" is an array ([1, 2]), '
                                                       "not 100 whole numbers"),
    ({"clusters": [{"members": 3}]}, "cluster 1 is an object"),
    ({"clusters": "all"}, '"clusters" is a string ("all"), not a list'),
    ({"inputs": [1]}, "input 1 is a number (1), not a string"),
    ({"passages": {"found": {}}}, 'no "passages.found.exact"'),
])
def test_a_run_report_with_values_a_run_does_not_write_is_refused(cli, scan_output, tmp_path, change, needle):
    out = write_lines(tmp_path / "out.jsonl", scan_output)
    run_report = {"counts": {}}
    for key, value in change.items():
        run_report[key] = {**run_report[key], **value} if key == "counts" else value
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run_report))
    line = refused(cli(["report", out, "--run-report", path, "-o", tmp_path / "page.html"]), needle,
                   "(is it a dedupe JSON report?)")
    assert "Error" not in line
    assert not (tmp_path / "page.html").exists()


def test_the_run_report_of_a_run_is_accepted(cli, scan_output, tmp_path):
    src = write_lines(tmp_path / "in.jsonl", [{k: v for k, v in r.items() if k != "dedupe"} for r in scan_output])
    run = subprocess.run([sys.executable, "-m", "dedupe", "scan", "--passages", str(src), "--report",
                          str(tmp_path / "run.json")], capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    (tmp_path / "out.jsonl").write_bytes(run.stdout)
    res = cli(["report", tmp_path / "out.jsonl", "--run-report", tmp_path / "run.json", "-o", tmp_path / "page.html"])
    assert res.exit_code == 0, res.stderr
    # A run report written before formulae were counted apart from quotes has no "formula": still accepted.
    report = json.loads((tmp_path / "run.json").read_text())
    assert "formula" in report["passages"]["found"]
    for key in ("found", "chars"):
        del report["passages"][key]["formula"]
    (tmp_path / "old.json").write_text(json.dumps(report))
    res = cli(["report", tmp_path / "out.jsonl", "--run-report", tmp_path / "old.json", "-o", tmp_path / "old.html"])
    assert res.exit_code == 0, res.stderr
    assert "k-formula" in (tmp_path / "old.html").read_text(encoding="utf-8")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6) | st.sampled_from(["a", "exact", "quote", "passage", "near", "0.5"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["cluster", "duplicate_of", "similarity", "passages", "start", "end", "kind", "match",
                         "id", "unit", "x"]), inner, max_size=4),
    max_leaves=8,
)


def slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside an annotation: the paths of the keys and list items, the annotation itself first."""
    out = [path]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        out += slots(child, (*path, key))
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_report_on_randomly_damaged_annotations_succeeds_or_says_which_line(cli, scan_output, tmp_path, data):
    rows = copy.deepcopy(scan_output)
    at = data.draw(st.integers(0, len(rows) - 1), label="line")
    where = data.draw(st.sampled_from(slots(rows[at]["dedupe"])), label="slot")
    delete = bool(where) and data.draw(st.booleans(), label="delete")
    value = None if delete else data.draw(JSON, label="value")
    if not where:
        rows[at]["dedupe"] = value
    else:
        parent = rows[at]["dedupe"]
        for key in where[:-1]:
            parent = parent[key]
        if delete:
            del parent[where[-1]]
        else:
            parent[where[-1]] = value
    path = write_lines(tmp_path / "out.jsonl", rows)
    result = cli(["report", path, "-o", tmp_path / "page.html"])
    if result.exit_code == 0:
        assert result.exception is None and not error_lines(result.stderr)
    else:
        refused(result, f"{path}:{at + 1}: ")
