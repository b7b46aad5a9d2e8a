"""dedupe.lsh: banded candidate lookup over signatures."""

from __future__ import annotations

import numpy as np
from datasketch.lsh import _optimal_param

from dedupe import DedupeConfig, Deduplicator, LSHConfig, LSHIndex, MinHashConfig


def _index() -> LSHIndex:
    return LSHIndex(num_perm=8, bands=4, rows=2, seed=1)


def test_identical_signature_is_a_candidate():
    index = _index()
    sig = np.arange(8, dtype=np.uint32)
    index.insert(0, sig)
    assert index.query(sig.copy()) == [0]


def test_sharing_one_whole_band_is_enough_to_be_a_candidate():
    index = _index()
    base = np.arange(8, dtype=np.uint32)
    index.insert(0, base)
    other = base.copy()
    other[2:] += 100  # only band 0 (positions 0 and 1) still equal
    assert index.query(other) == [0]
    last = base.copy()
    last[:6] += 100  # only band 3 (positions 6 and 7) still equal
    assert index.query(last) == [0]


def test_one_difference_in_every_band_is_not_a_candidate():
    index = _index()
    base = np.arange(8, dtype=np.uint32)
    index.insert(0, base)
    other = base.copy()
    other[[0, 3, 4, 7]] += 100  # each band of 2 rows has one differing row
    assert index.query(other) == []
    assert np.count_nonzero(other == base) == 4  # half the rows equal, yet no whole band
    spread = base.copy()
    spread[[1, 2, 5, 6]] += 7
    assert index.query(spread) == []


def test_values_beyond_the_bands_are_ignored():
    # 3 bands x 2 rows use positions 0..5 of an 8-long signature.
    index = LSHIndex(num_perm=8, bands=3, rows=2, seed=1)
    base = np.arange(8, dtype=np.uint32)
    index.insert(0, base)
    other = base.copy()
    other[[0, 2, 4]] += 1
    other[6:] = base[6:]  # equal only in the unused tail
    assert index.query(other) == []


def test_query_returns_keys_in_ascending_order():
    index = _index()
    sig = np.arange(8, dtype=np.uint32)
    for key in (5, 2, 9, 0):
        index.insert(key, sig)
    assert index.query(sig) == [0, 2, 5, 9]
    assert len(index) == 4


def test_empty_index_has_no_candidates():
    index = _index()
    assert len(index) == 0
    assert index.query(np.arange(8, dtype=np.uint32)) == []


def test_deduplicator_index_uses_the_configured_banding():
    dd = Deduplicator()
    assert (dd.index.bands, dd.index.rows) == _optimal_param(0.8, 128, 0.05, 0.95)
    cfg = DedupeConfig(minhash=MinHashConfig(num_perm=64, seed=3), lsh=LSHConfig(bands=16, rows=4))
    dd = Deduplicator(cfg)
    assert (dd.index.bands, dd.index.rows, dd.index.num_perm, dd.index.seed) == (16, 4, 64, 3)
