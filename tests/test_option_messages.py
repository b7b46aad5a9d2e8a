"""Configuration errors name the option as the user typed it (and, for library users, the keyword argument).

Every check runs the real command (``scan`` and ``explain``) and reads stderr: exit code 2, one line
``dedupe: error: --OPTION ...``. Settings without a command-line option are named as the keyword argument of
their config class.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dedupe import ConfigError, LSHConfig, MinHashConfig, NormalizeConfig, PassageConfig, VerifyConfig

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_d3a659f08dc455c3.txt"

# (bad option values, the option the message must start with). --bucket-cap is scan's and filter's only.
BAD_OPTIONS = [
    (["--threshold", "1.5"], "--threshold"),
    (["--threshold", "0"], "--threshold"),
    (["--num-perm", "1"], "--num-perm"),
    (["--num-perm", "2048"], "--num-perm"),
    (["--fn-weight", "1.5"], "--fn-weight"),
    (["--ngram", "0"], "--ngram"),
    (["--unit", "syllable"], "--unit"),
    (["--seed", "-1"], "--seed"),
    (["--bands", "1"], "--bands"),
    (["--bands", "0"], "--bands"),
    (["--rows", "0"], "--rows"),
    (["--verify", "maybe"], "--verify"),
    (["--passage-unit", "word"], "--passage-unit"),
    (["--passage-min-words", "0"], "--passage-min-words"),
    (["--passage-threshold", "0"], "--passage-threshold"),
    (["--passage-window", "1"], "--passage-window"),
    (["--boilerplate-docs", "1"], "--boilerplate-docs"),
    (["--passage-max-candidates", "0"], "--passage-max-candidates"),
]
IDS = [" ".join(args) for args, _ in BAD_OPTIONS]


def error_line(result) -> str:
    """The one error line of a command refused with exit code 2, without the ``dedupe: error: `` prefix."""
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stdout_bytes == b"" and "Traceback" not in result.stderr
    assert result.stderr.startswith("dedupe: error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr.removeprefix("dedupe: error: ").rstrip("\n")


def has_a_lone_zero(message: str) -> bool:
    """A 0 standing alone (not part of 200 or 0.5): what a derived bands or rows of 0 would show as."""
    return re.search(r"(?<![\d.])0(?![\d.])", message) is not None


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": "one two three four five six"}\n')
    return path


@pytest.mark.parametrize("args, option", BAD_OPTIONS, ids=IDS)
def test_scan_names_the_option_it_refuses(cli, jsonl, args, option):
    message = error_line(cli(["scan", jsonl, *args]))
    assert message.startswith(option + " "), message
    assert args[1] in message  # the value given


@pytest.mark.parametrize("args, option", BAD_OPTIONS, ids=IDS)
def test_explain_names_the_option_it_refuses(cli, args, option):
    message = error_line(cli(["explain", *args, SEED, SEED]))
    assert message.startswith(option + " "), message


def test_scan_names_bucket_cap_as_typed(cli, jsonl):
    message = error_line(cli(["scan", jsonl, "--bucket-cap", "-1"]))
    assert message.startswith("--bucket-cap "), message
    assert "0 = no cap" in message


# --------------------------------------------------------------------------- bands and rows that do not fit


@pytest.mark.parametrize("command", ["scan", "explain"])
def test_too_many_bands_names_the_bands_given_and_never_a_derived_row_count_of_0(cli, jsonl, command):
    inputs = [jsonl] if command == "scan" else [SEED, SEED]
    message = error_line(cli([command, "--bands", "200", *inputs]))
    assert message.startswith("--bands 200 exceeds --num-perm 128"), message
    assert "--rows" not in message and not has_a_lone_zero(message), message
    assert "give --bands 128 or less, or raise --num-perm to 200 or more" in message
    message = error_line(cli([command, "--bands", "100", "--num-perm", "64", *inputs]))
    assert message.startswith("--bands 100 exceeds --num-perm 64"), message


@pytest.mark.parametrize("command", ["scan", "explain"])
def test_too_many_rows_names_the_rows_given_and_never_a_derived_band_count_of_0(cli, jsonl, command):
    inputs = [jsonl] if command == "scan" else [SEED, SEED]
    message = error_line(cli([command, "--rows", "200", *inputs]))
    assert message.startswith("--rows 200 exceeds --num-perm 128"), message
    assert "--bands" not in message and not has_a_lone_zero(message), message
    assert "at least 2 bands" in message and "give --rows 64 or less, or raise --num-perm to 400 or more" in message


def test_rows_that_leave_one_band_say_so(cli, jsonl):
    message = error_line(cli(["scan", jsonl, "--rows", "100"]))
    assert message.startswith("--rows 100 fits only 1 band in --num-perm 128; at least 2 bands"), message
    assert "give --rows 64 or less, or raise --num-perm to 200 or more" in message


def test_raising_num_perm_is_suggested_only_when_the_range_allows_it(cli, jsonl):
    message = error_line(cli(["scan", jsonl, "--rows", "600"]))  # 2 bands of 600 rows need 1200 > 1024
    assert "give --rows 64 or less" in message and "raise --num-perm" not in message, message
    message = error_line(cli(["scan", jsonl, "--bands", "600", "--rows", "2"]))
    assert message.startswith("--bands 600 x --rows 2 = 1200 exceeds --num-perm 128"), message
    assert "raise --num-perm" not in message


def test_bands_times_rows_names_both_options_and_the_product(cli, jsonl):
    message = error_line(cli(["scan", jsonl, "--bands", "20", "--rows", "8"]))
    assert message == ("--bands 20 x --rows 8 = 160 exceeds --num-perm 128 (each band takes --rows permutations): "
                       "lower --bands or --rows, or raise --num-perm to 160 or more")


# --------------------------------------------------------------------------- library users


@pytest.mark.parametrize("build, start", [
    (lambda: MinHashConfig(num_perm=1), "--num-perm (num_perm) must be"),
    (lambda: LSHConfig(fn_weight=2.0), "--fn-weight (fn_weight) must be"),
    (lambda: LSHConfig(bucket_cap=-1), "--bucket-cap (bucket_cap) must be"),
    (lambda: VerifyConfig(mode="maybe"), "--verify (mode) must be"),  # type: ignore[arg-type]
    (lambda: PassageConfig(min_words=0), "--passage-min-words (min_words) must be"),
    (lambda: PassageConfig(boilerplate_docs=1), "--boilerplate-docs (boilerplate_docs) must be"),
    (lambda: PassageConfig(max_candidates=0), "--passage-max-candidates (max_candidates) must be"),
    (lambda: PassageConfig(threshold=0.0), "--passage-threshold (threshold) must be"),
    (lambda: LSHConfig(threshold=0.0), "--threshold must be"),
], ids=["num_perm", "fn_weight", "bucket_cap", "verify", "min_words", "boilerplate_docs", "max_candidates",
        "passage threshold", "threshold"])
def test_a_keyword_spelled_unlike_its_option_is_named_too(build, start):
    with pytest.raises(ConfigError) as info:
        build()
    assert str(info.value).startswith(start), str(info.value)


@pytest.mark.parametrize("build, start", [
    (lambda: PassageConfig(shingle="syllable"), "PassageConfig.shingle must be 'word' or 'char'; got 'syllable'"),
    (lambda: PassageConfig(ngram=0), "PassageConfig.ngram must be an integer from 1 to 64; got 0"),
    (lambda: PassageConfig(num_perm=1), "PassageConfig.num_perm must be an integer from 2 to 1024; got 1"),
    (lambda: PassageConfig(fn_weight=1.5), "PassageConfig.fn_weight must be in [0, 1]; got 1.5"),
    (lambda: PassageConfig(index_below=2.0), "PassageConfig.index_below must be in [0, 1.01]; got 2.0"),
    (lambda: NormalizeConfig(unicode_form="NFX"), "NormalizeConfig.unicode_form must be one of"),
], ids=["shingle", "ngram", "num_perm", "fn_weight", "index_below", "unicode_form"])
def test_a_setting_without_an_option_is_named_by_its_class_and_field(build, start):
    with pytest.raises(ConfigError) as info:
        build()
    assert str(info.value).startswith(start), str(info.value)
