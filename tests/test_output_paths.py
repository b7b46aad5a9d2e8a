"""No output may overwrite an input or another output: every path is checked before anything is written.

Paths are the same file when they resolve to one place through symlinks or share a
device and inode (hard links). A refusal is exit 2 with one ``dedupe: error:`` line
naming the options, and no input byte changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import generate_corpus
from test_faults import dedupe, error_line, in_process


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return generate_corpus(tmp_path / "inp.jsonl", seed=7, bases=40, exact=8, edited=8, with_rejects=False).path


@pytest.mark.parametrize("option, mode", [("--report", "scan"), ("--rejects", "scan"), ("--dropped", "filter"),
                                          ("--report", "filter")])
@pytest.mark.parametrize("alias", ["same", "symlink", "hardlink", "relative"])
def test_an_output_naming_an_input_is_refused_and_the_input_kept(cli, corpus, tmp_path, option, mode, alias):
    before = corpus.read_bytes()
    target = {"same": corpus, "symlink": tmp_path / "link.jsonl", "hardlink": tmp_path / "hard.jsonl",
              "relative": Path(os.path.relpath(corpus))}[alias]
    if alias == "symlink":
        target.symlink_to(corpus)
    elif alias == "hardlink":
        os.link(corpus, target)
    result = cli([mode, corpus, option, target])
    in_process(result, 2, option, "is the input", "destroy")
    assert corpus.read_bytes() == before
    assert result.stdout_bytes == b""


def test_an_output_naming_the_file_stdin_reads_is_refused(corpus):
    before = corpus.read_bytes()
    with open(corpus, "rb") as stdin:
        proc = dedupe(["scan", "--report", corpus], stdin=stdin)
    error_line(proc.stderr, 2, proc.returncode, "--report", "standard input")
    assert corpus.read_bytes() == before


def test_stdout_redirected_onto_an_input_is_refused(corpus):
    before = corpus.read_bytes()
    with open(corpus, "ab") as out:  # `dedupe scan inp.jsonl >> inp.jsonl`
        proc = dedupe(["scan", corpus], stdout=out)
    error_line(proc.stderr, 2, proc.returncode, "standard output", "the input")
    assert corpus.read_bytes() == before


def test_an_output_naming_the_file_stdout_goes_to_is_refused(corpus, tmp_path):
    out_path = tmp_path / "out.jsonl"
    with open(out_path, "wb") as out:
        proc = dedupe(["scan", corpus, "--report", out_path], stdout=out)
    error_line(proc.stderr, 2, proc.returncode, "--report", "standard output")


@pytest.mark.parametrize("first, second", [("--report", "--rejects"), ("--rejects", "--dropped"),
                                           ("--report", "--dropped")])
def test_two_outputs_in_one_file_are_refused(cli, corpus, tmp_path, first, second):
    target = tmp_path / "side.jsonl"
    result = cli(["filter", corpus, first, target, second, target])
    in_process(result, 2, first, second, "two outputs in one file")
    assert not target.exists()


def test_two_outputs_through_a_symlinked_directory_are_refused(cli, corpus, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    result = cli(["filter", corpus, "--rejects", tmp_path / "real" / "x.jsonl",
                  "--dropped", tmp_path / "alias" / "x.jsonl"])
    in_process(result, 2, "--rejects", "--dropped")


def test_a_side_output_naming_a_shard_is_refused(cli, corpus, tmp_path):
    out = tmp_path / "out"
    result = cli(["scan", corpus, "--output", out, "--report", out / "00000-inp.jsonl"])
    in_process(result, 2, "--report", "--output")


def test_an_output_inside_the_index_is_refused(cli, corpus, tmp_path):
    index = tmp_path / "idx"
    assert cli(["scan", corpus, "--index", index]).exit_code == 0
    manifest = (index / "MANIFEST.json").read_bytes()
    result = cli(["scan", corpus, "--index", index, "--report", index / "MANIFEST.json"])
    in_process(result, 2, "--report", "inside the --index directory")
    assert (index / "MANIFEST.json").read_bytes() == manifest


@pytest.mark.parametrize("option", ["--output", "-o", "--index", "--report", "--rejects"])
def test_an_empty_path_is_a_bad_option(cli, corpus, option):
    in_process(cli(["scan", corpus, option, ""]), 2, "''")


def test_stdin_given_twice_is_refused(cli):
    in_process(cli(["scan", "-", "-"], input=b'{"id": 1, "text": "a b c"}\n'), 2, "more than once")


def test_the_same_file_twice_is_still_two_inputs(cli, corpus):
    result = cli(["scan", corpus, corpus])
    assert result.exit_code == 0, result.stderr
    assert "dedupe: error" not in result.stderr


def test_report_page_naming_its_input_is_refused(cli, corpus, tmp_path):
    annotated = tmp_path / "annotated.jsonl"
    annotated.write_bytes(cli(["scan", corpus]).stdout_bytes)
    before = annotated.read_bytes()
    in_process(cli(["report", annotated, "-o", annotated]), 2, "--output", "is the input")
    assert annotated.read_bytes() == before


def test_dev_null_as_report_and_rejects_is_allowed(cli, corpus):
    result = cli(["scan", corpus, "--report", os.devnull, "--rejects", os.devnull])
    assert result.exit_code == 0, result.stderr
    assert Path(os.devnull).exists() and not Path(os.devnull).is_file()  # written through, never replaced


# --------------------------------------------------------------------------- random combinations

# Names a path may take in a drawn command; a, la (symlink) and ha (hard link) are one file.
_NAMES = ["a", "b", "la", "ha", "dir", "new1", "new2", "dir/new3", "lnew"]
_SAME = {"a": "a", "la": "a", "ha": "a", "lnew": "new1"}


def _file_of(name: str) -> str:
    return _SAME.get(name, name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["scan", "filter"]),
       inputs=st.lists(st.sampled_from(["a", "b", "la", "ha"]), min_size=1, max_size=3),
       report=st.sampled_from([None, *_NAMES]),
       rejects=st.sampled_from([None, *_NAMES]),
       dropped=st.sampled_from([None, *_NAMES]))
def test_no_combination_of_inputs_and_outputs_changes_an_input_byte(cli, tmp_path_factory, mode, inputs, report,
                                                                     rejects, dropped):
    base = tmp_path_factory.mktemp("combo")
    data = generate_corpus(base / "a", seed=3, bases=12, exact=3, edited=3, with_rejects=False).path.read_bytes()
    lines = data.splitlines(keepends=True)
    (base / "b").write_bytes(b"".join(lines[: len(lines) // 2]))
    (base / "dir").mkdir()
    (base / "la").symlink_to(base / "a")
    os.link(base / "a", base / "ha")
    (base / "lnew").symlink_to(base / "new1")  # a dangling link: writing it creates new1
    originals = {name: (base / name).read_bytes() for name in ("a", "b")}
    outputs = [(opt, name) for opt, name in (("--report", report), ("--rejects", rejects), ("--dropped", dropped))
               if name is not None and (opt != "--dropped" or mode == "filter")]
    args = [mode, *(base / name for name in inputs)]
    for opt, name in outputs:
        args += [opt, base / name]

    files = [_file_of(name) for _, name in outputs]
    conflict = (any(name == "dir" for _, name in outputs)
                or any(f in {_file_of(i) for i in inputs} for f in files)
                or len(set(files)) < len(files))
    result = cli(args)
    if conflict:
        in_process(result, 2)
        assert result.stdout_bytes == b""
    else:
        assert result.exit_code == 0, result.stderr
    for name in {_file_of(i) for i in inputs}:  # a file that is not an input may be written over
        assert (base / name).read_bytes() == originals[name]
    shutil.rmtree(base)


def test_python_dash_m_dedupe_refuses_like_the_console_script(corpus):
    proc = subprocess.run([sys.executable, "-m", "dedupe", "scan", str(corpus), "--rejects", str(corpus)],
                          capture_output=True, timeout=120)
    error_line(proc.stderr, 2, proc.returncode, "--rejects")
