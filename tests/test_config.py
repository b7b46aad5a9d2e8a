"""dedupe.config: validation of every option and the derived LSH banding."""

from __future__ import annotations

import pytest
from datasketch.lsh import _optimal_param

from dedupe import (
    ConfigError,
    DedupeConfig,
    LSHConfig,
    MinHashConfig,
    NormalizeConfig,
    ShingleConfig,
    VerifyConfig,
)


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
    with pytest.raises(ConfigError, match="2 bands"):
        LSHConfig(rows=100).bands_rows(128)


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
        "threshold-0", "threshold-1.5", "threshold-negative", "threshold-nan", "fn-weight-1.2", "bands-0",
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
