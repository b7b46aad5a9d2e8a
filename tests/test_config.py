"""dedupe.config: validation of every option and the derived LSH banding."""

from __future__ import annotations

import json

import pytest
from datasketch.lsh import _false_negative_probability, _false_positive_probability, _optimal_param
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import (
    ConfigError,
    DedupeConfig,
    LSHConfig,
    MinHashConfig,
    NormalizeConfig,
    PassageConfig,
    ShingleConfig,
    VerifyConfig,
)
from dedupe.config import optimal_bands_rows

# Thresholds every 0.001 over (0, 1], 1 and 0.999 included: the allowed range, finely.
FINE_THRESHOLDS = [k / 1000 for k in range(1, 1001)]
# The top of the range, where datasketch's own optimum drops to a single band.
HIGH_THRESHOLDS = [0.95 + k / 200 for k in range(10)] + [0.999, 1.0]


def assert_usable_banding(bands: int, rows: int, num_perm: int) -> None:
    assert bands >= 2 and rows >= 1 and bands * rows <= num_perm, (bands, rows, num_perm)


def test_default_banding_at_threshold_08_and_128_permutations_is_datasketchs_optimum():
    expected = _optimal_param(0.8, 128, 0.05, 0.95)
    assert DedupeConfig().bands_rows == expected
    assert LSHConfig().bands_rows(128) == expected
    b, r = expected
    assert b * r <= 128


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.9])
@pytest.mark.parametrize("num_perm", [64, 256])
def test_derived_banding_follows_datasketch_for_other_thresholds(threshold, num_perm):
    cfg = DedupeConfig(minhash=MinHashConfig(num_perm=num_perm), lsh=LSHConfig(threshold=threshold))
    assert cfg.bands_rows == _optimal_param(threshold, num_perm, 0.05, 0.95)


def test_equal_weights_give_datasketchs_default_banding():
    assert LSHConfig(fn_weight=0.5).bands_rows(128) == _optimal_param(0.8, 128, 0.5, 0.5)


def test_overriding_both_bands_and_rows_is_used_verbatim():
    cfg = DedupeConfig(lsh=LSHConfig(bands=32, rows=4))
    assert cfg.bands_rows == (32, 4)
    assert cfg.parameters()["bands"] == 32
    assert cfg.parameters()["rows"] == 4


def test_overriding_only_bands_derives_rows_from_num_perm():
    assert LSHConfig(bands=20).bands_rows(128) == (20, 6)  # 128 // 20 = 6


def test_overriding_only_rows_derives_bands_from_num_perm():
    assert LSHConfig(rows=5).bands_rows(128) == (25, 5)  # 128 // 5 = 25


def test_bands_times_rows_above_num_perm_is_a_config_error_naming_the_fix():
    with pytest.raises(ConfigError) as info:
        DedupeConfig(lsh=LSHConfig(bands=20, rows=8))  # 160 > 128
    message = str(info.value)
    assert "160" in message and "128" in message
    assert "--num-perm" in message
    assert "--bands" in message or "--rows" in message


def test_fewer_than_two_bands_is_a_config_error():
    with pytest.raises(ConfigError, match="2 bands") as info:
        LSHConfig(rows=100).bands_rows(128)
    assert str(info.value).startswith("--rows 100 fits only 1 band in --num-perm 128")
    with pytest.raises(ConfigError, match="--bands must be an integer, 2 or more"):
        LSHConfig(bands=1)


# --------------------------------------------------------------------------- derived banding at every threshold


def test_derived_banding_at_the_default_threshold_is_pinned():
    # The quality benchmarks were measured with these bandings.
    assert optimal_bands_rows(0.8, 128, 0.95) == (16, 8)
    assert optimal_bands_rows(0.8, 128, 0.5) == (9, 13)


@pytest.mark.parametrize("num_perm", [2, 3, 8])
@pytest.mark.parametrize("fn_weight", [0.0, 0.5, 0.95, 1.0])
def test_derived_banding_has_two_bands_and_fits_at_every_threshold(num_perm, fn_weight):
    for threshold in FINE_THRESHOLDS:
        config = DedupeConfig(minhash=MinHashConfig(num_perm=num_perm),
                              lsh=LSHConfig(threshold=threshold, fn_weight=fn_weight))
        assert_usable_banding(*config.bands_rows, num_perm)


@pytest.mark.parametrize("num_perm", [16, 64, 128, 256])
@pytest.mark.parametrize("fn_weight", [0.5, 0.95])
def test_derived_banding_has_two_bands_and_fits_near_threshold_1(num_perm, fn_weight):
    for threshold in HIGH_THRESHOLDS:
        config = DedupeConfig(minhash=MinHashConfig(num_perm=num_perm),
                              lsh=LSHConfig(threshold=threshold, fn_weight=fn_weight))
        assert_usable_banding(*config.bands_rows, num_perm)


@pytest.mark.parametrize("threshold", [0.999, 1.0])
def test_derived_banding_at_1024_permutations_near_threshold_1(threshold):
    config = DedupeConfig(minhash=MinHashConfig(num_perm=1024), lsh=LSHConfig(threshold=threshold, fn_weight=0.5))
    assert_usable_banding(*config.bands_rows, 1024)


@settings(max_examples=60, deadline=None)
@given(threshold=st.floats(0.0, 1.0, exclude_min=True), num_perm=st.sampled_from([2, 5, 32, 128]),
       fn_weight=st.floats(0.0, 1.0))
def test_derived_banding_is_datasketchs_wherever_that_has_two_bands(threshold, num_perm, fn_weight):
    got = LSHConfig(threshold=threshold, fn_weight=fn_weight).bands_rows(num_perm)
    assert_usable_banding(*got, num_perm)
    theirs = _optimal_param(threshold, num_perm, 1.0 - fn_weight, fn_weight)
    if theirs[0] >= 2 and got != theirs:
        # Only a tie under datasketch's own objective may be broken otherwise (rounding decides it, as at a
        # threshold of 1e-323, where every error is 0 or a subnormal): ours must be as good to 1e-12.
        def error(b: int, r: int) -> float:
            fp = _false_positive_probability(threshold, b, r)
            return fp * (1.0 - fn_weight) + _false_negative_probability(threshold, b, r) * fn_weight

        assert error(*got) <= error(*theirs) + 1e-12, (got, theirs)


@pytest.mark.parametrize("num_perm", [16, 128, 256])
@pytest.mark.parametrize("fn_weight", [0.5, 0.95])
def test_derived_banding_is_datasketchs_on_a_grid(num_perm, fn_weight):
    # Our quadrature (Gauss-Legendre, exact for the S-curve's polynomial) against datasketch's scipy quad.
    for threshold in [k / 20 for k in range(1, 21)]:
        theirs = _optimal_param(threshold, num_perm, 1.0 - fn_weight, fn_weight)
        if theirs[0] >= 2:
            assert optimal_bands_rows(threshold, num_perm, fn_weight) == theirs, threshold


def test_threshold_1_and_0999_build_a_config_with_two_bands_or_more():
    for threshold in (1.0, 0.999):
        b, r = DedupeConfig(lsh=LSHConfig(threshold=threshold)).bands_rows
        assert_usable_banding(b, r, 128)
    assert DedupeConfig(lsh=LSHConfig(threshold=1.0)).bands_rows == (2, 64)


@pytest.mark.parametrize("threshold", HIGH_THRESHOLDS + [0.35, 0.01])
def test_passage_banding_has_two_bands_and_fits_at_high_thresholds(threshold):
    config = PassageConfig(threshold=threshold)
    assert_usable_banding(*config.bands_rows, config.num_perm)
    assert (config.parameters()["bands"], config.parameters()["rows"]) == config.bands_rows


@pytest.mark.parametrize("threshold", ["1", "0.999"])
def test_scan_at_threshold_near_1_runs_and_finds_exact_copies(cli, tmp_path, threshold):
    words = " ".join(f"word{i}" for i in range(40))
    records = [{"id": "a", "text": words}, {"id": "b", "text": "other text entirely, nothing shared here"},
               {"id": "c", "text": words}, {"id": "d", "text": words.replace("word7 ", "changed ")},
               {"id": "e", "text": words.upper() + "!"}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = cli(["scan", path, "-t", threshold])
    assert result.exit_code == 0, result.stderr
    decided = {json.loads(line)["id"]: json.loads(line)["dedupe"] for line in result.stdout_bytes.splitlines()}
    assert {k: v["duplicate_of"] for k, v in decided.items()} == {"a": None, "b": None, "c": "a", "d": None, "e": "a"}
    assert decided["c"]["similarity"] == decided["e"]["similarity"] == 1.0


def test_banding_is_checked_when_the_config_is_built_not_later():
    # LSHConfig alone cannot know num_perm; DedupeConfig must fail at once.
    lsh = LSHConfig(bands=16, rows=8)
    assert DedupeConfig(lsh=lsh).bands_rows == (16, 8)
    with pytest.raises(ConfigError):
        DedupeConfig(minhash=MinHashConfig(num_perm=64), lsh=lsh)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(
    "build",
    [
        lambda: LSHConfig(threshold=0.0),
        lambda: LSHConfig(threshold=1.5),
        lambda: LSHConfig(threshold=-0.1),
        lambda: LSHConfig(threshold=float("nan")),
        lambda: LSHConfig(fn_weight=1.2),
        lambda: LSHConfig(bands=0),
        lambda: LSHConfig(bands=1),
        lambda: LSHConfig(rows=-3),
        lambda: LSHConfig(bands=2.5),
        lambda: ShingleConfig(unit="foo"),
        lambda: ShingleConfig(ngram=0),
        lambda: ShingleConfig(ngram=65),
        lambda: ShingleConfig(ngram=2.0),
        lambda: MinHashConfig(num_perm=1),
        lambda: MinHashConfig(num_perm=2048),
        lambda: MinHashConfig(seed=-1),
        lambda: MinHashConfig(seed=2**32),
        lambda: VerifyConfig(mode="approximate"),
        lambda: NormalizeConfig(unicode_form="NFX"),
    ],
    ids=[
        "threshold-0", "threshold-1.5", "threshold-negative", "threshold-nan", "fn-weight-1.2", "bands-0", "bands-1",
        "rows-negative", "bands-float", "unit-foo", "ngram-0", "ngram-65", "ngram-float", "num-perm-1",
        "num-perm-2048", "seed-negative", "seed-2**32", "verify-mode", "unicode-form",
    ],
)
def test_out_of_range_option_is_a_config_error(build):
    with pytest.raises(ConfigError):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: LSHConfig(threshold=1.0),
        lambda: LSHConfig(threshold=0.01),
        lambda: ShingleConfig(unit="char", ngram=1),
        lambda: ShingleConfig(ngram=64),
        lambda: MinHashConfig(num_perm=2, seed=0),
        lambda: MinHashConfig(num_perm=1024, seed=2**32 - 1),
        lambda: VerifyConfig(mode="estimate"),
        lambda: NormalizeConfig(unicode_form=""),
    ],
)
def test_boundary_option_values_are_accepted(build):
    build()


def test_config_messages_name_the_rule_and_the_bad_value():
    with pytest.raises(ConfigError) as info:
        ShingleConfig(unit="foo")
    assert "word" in str(info.value) and "char" in str(info.value) and "foo" in str(info.value)
    with pytest.raises(ConfigError) as info:
        LSHConfig(threshold=1.5)
    assert "1.5" in str(info.value)


def test_parameters_report_every_matching_parameter():
    cfg = DedupeConfig(
        shingle=ShingleConfig(unit="char", ngram=7),
        minhash=MinHashConfig(num_perm=64, seed=99),
        lsh=LSHConfig(threshold=0.6, bands=8, rows=8),
        verify=VerifyConfig(mode="estimate"),
        normalize=NormalizeConfig(casefold=False),
    )
    p = cfg.parameters()
    assert p["unit"] == "char"
    assert p["ngram"] == 7
    assert p["num_perm"] == 64
    assert p["seed"] == 99
    assert p["threshold"] == 0.6
    assert (p["bands"], p["rows"]) == (8, 8)
    assert p["verify"] == "estimate"
    assert p["scheme"] == "affine32"
    assert p["normalize"]["casefold"] is False
    assert p["normalize"]["unicode_form"] == "NFKC"


def test_configs_are_frozen():
    cfg = LSHConfig()
    with pytest.raises(AttributeError):
        cfg.threshold = 0.5  # type: ignore[misc]
