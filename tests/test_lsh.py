"""dedupe.core.lsh: banded candidate lookup over signatures."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch.lsh import _optimal_param
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import BandIndex, DatasketchIndex, DedupeConfig, Deduplicator, LSHConfig, MinHashConfig, band_keys


class SignatureBandIndex:
    """BandIndex behind the signature interface of DatasketchIndex (optionally flushing to runs)."""

    def __init__(self, bands: int, rows: int, flush_every: int | None = None) -> None:
        self.index = BandIndex(bands)
        self.bands, self.rows, self.flush_every = bands, rows, flush_every

    def _keys(self, sig: np.ndarray) -> list[int]:
        return band_keys(sig[None, :], self.bands, self.rows)[0].tolist()

    def insert(self, key: int, sig: np.ndarray) -> None:
        self.index.insert(key, self._keys(sig))
        if self.flush_every and len(self.index) % self.flush_every == 0:
            self.index.flush()

    def query(self, sig: np.ndarray) -> list[int]:
        return self.index.query(self._keys(sig))

    def __len__(self) -> int:
        return len(self.index)


KINDS = ["datasketch", "band", "band-flushed"]


def make_index(kind: str, num_perm: int = 8, bands: int = 4, rows: int = 2):
    if kind == "datasketch":
        return DatasketchIndex(num_perm=num_perm, bands=bands, rows=rows, seed=1)
    return SignatureBandIndex(bands, rows, flush_every=1 if kind == "band-flushed" else None)


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def _index(kind):
    return lambda: make_index(kind)


def test_identical_signature_is_a_candidate(_index):
    index = _index()
    sig = np.arange(8, dtype=np.uint32)
    index.insert(0, sig)
    assert index.query(sig.copy()) == [0]


def test_sharing_one_whole_band_is_enough_to_be_a_candidate(_index):
    index = _index()
    base = np.arange(8, dtype=np.uint32)
    index.insert(0, base)
    other = base.copy()
    other[2:] += 100  # only band 0 (positions 0 and 1) still equal
    assert index.query(other) == [0]
    last = base.copy()
    last[:6] += 100  # only band 3 (positions 6 and 7) still equal
    assert index.query(last) == [0]


def test_one_difference_in_every_band_is_not_a_candidate(_index):
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


def test_values_beyond_the_bands_are_ignored(kind):
    # 3 bands x 2 rows use positions 0..5 of an 8-long signature.
    index = make_index(kind, bands=3, rows=2)
    base = np.arange(8, dtype=np.uint32)
    index.insert(0, base)
    other = base.copy()
    other[[0, 2, 4]] += 1
    other[6:] = base[6:]  # equal only in the unused tail
    assert index.query(other) == []


def test_query_returns_keys_in_ascending_order(_index):
    index = _index()
    sig = np.arange(8, dtype=np.uint32)
    for key in (5, 2, 9, 0):
        index.insert(key, sig)
    assert index.query(sig) == [0, 2, 5, 9]
    assert len(index) == 4


def test_empty_index_has_no_candidates(_index):
    index = _index()
    assert len(index) == 0
    assert index.query(np.arange(8, dtype=np.uint32)) == []


def test_deduplicator_index_uses_the_configured_banding():
    dd = Deduplicator()
    assert (dd.bands, dd.rows, dd.index.bands) == (*_optimal_param(0.8, 128, 0.05, 0.95), dd.bands)
    cfg = DedupeConfig(minhash=MinHashConfig(num_perm=64, seed=3), lsh=LSHConfig(bands=16, rows=4))
    dd = Deduplicator(cfg)
    assert (dd.bands, dd.rows, dd.index.bands) == (16, 4, 16)


@pytest.mark.parametrize("flush_every", [None, 1, 7, 50])
def test_band_index_returns_the_same_candidates_as_datasketch(flush_every):
    # Values from a tiny alphabet so that many bands collide, some whole signatures repeat.
    rng = np.random.default_rng(flush_every or 0)
    sigs = rng.integers(0, 3, size=(400, 12), dtype=np.uint32)
    reference = DatasketchIndex(num_perm=12, bands=4, rows=3, seed=1)
    ours = SignatureBandIndex(4, 3, flush_every)
    nonempty = 0
    for key, sig in enumerate(sigs):
        expected = reference.query(sig)
        assert ours.query(sig) == expected, key
        nonempty += bool(expected)
        reference.insert(key, sig)
        ours.insert(key, sig)
    assert nonempty > 300  # the comparison really exercised shared buckets


def test_batched_run_queries_equal_single_queries():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 50, size=(300, 4)).astype(np.uint64)
    index = BandIndex(4)
    for pos in range(200):
        index.insert(pos, keys[pos].tolist())
        if pos % 64 == 63:
            index.flush()
    batch = index.query_runs(keys[200:])
    for row, found in zip(keys[200:], batch):
        assert sorted(set(found) | set(index.query_recent(row.tolist()))) == index.query(row.tolist())


def test_band_keys_differ_between_bands_with_equal_rows():
    sig = np.zeros((1, 8), dtype=np.uint32)  # every band holds the same rows
    keys = band_keys(sig, 4, 2)[0]
    assert len(set(keys.tolist())) == 4


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(0, 2**64 - 1), max_size=300), others=st.lists(st.integers(0, 2**64 - 1), max_size=50))
def test_a_run_filter_never_rules_out_a_key_the_run_holds(keys, others):
    from dedupe.core.keyfilter import KeyFilter

    held = np.sort(np.array(keys, dtype=np.uint64))
    key_filter = KeyFilter(held)
    assert key_filter.may_hold(held).all()
    queries = np.array(others, dtype=np.uint64)
    # What it lets through is a superset of what the run holds (the binary search decides the rest).
    assert set(queries[np.isin(queries, held)].tolist()) <= set(queries[key_filter.may_hold(queries)].tolist())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=300), st.sampled_from([None, 0, 1]))
def test_a_run_filter_sets_exactly_the_bits_of_its_keys_top_bits(keys, packed_block):
    # Both ways of building it (bincount for small runs; booleans packed a block at a time for large ones, here
    # forced on small runs with blocks of 64 bits and of the whole filter) give the plain form's bytes.
    import dedupe.core.keyfilter as kf

    held = np.sort(np.array(keys, dtype=np.uint64))
    bits = max(6, (8 * len(keys) - 1).bit_length())
    expected = bytearray(1 << (bits - 3))
    for key in keys:  # the plain form: bit (top % 8) of byte (top // 8), top = the key's first `bits` bits
        top = key >> (64 - bits)
        expected[top >> 3] |= 1 << (top & 7)
    saved = kf._PACKED_FROM, kf._BLOCK_BITS
    try:
        if packed_block is not None:
            kf._PACKED_FROM, kf._BLOCK_BITS = 0, (64 if packed_block == 0 else 1 << 40)
        assert kf.KeyFilter(held)._bytes.tobytes() == bytes(expected)
    finally:
        kf._PACKED_FROM, kf._BLOCK_BITS = saved


def test_a_run_filter_rules_out_most_keys_a_large_run_does_not_hold():
    from dedupe.core.keyfilter import KeyFilter

    rng = np.random.default_rng(7)
    held = np.sort(rng.integers(0, 2**64 - 1, 100_000, dtype=np.uint64))
    others = rng.integers(0, 2**64 - 1, 100_000, dtype=np.uint64)
    assert KeyFilter(held).may_hold(others).mean() < 0.13  # 8 to 16 bits per key: about 6% to 12% pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=40), st.lists(st.integers(0, 6), max_size=40), st.booleans())
def test_merged_runs_equal_a_stable_sort_of_both(a, b, placed):
    # Keys repeat (ties across and within runs); both ways of merging give the stable sort's order.
    import dedupe.core.runs as runs

    k1, k2 = np.array(sorted(a), dtype=np.uint64), np.array(sorted(b), dtype=np.uint64)
    p1, p2 = np.arange(len(a), dtype=np.int64), np.arange(100, 100 + len(b), dtype=np.int64)
    keys = np.concatenate([k1, k2])
    order = np.argsort(keys, kind="stable")
    threshold = runs._SORT_MERGE_ENTRIES
    try:
        runs._SORT_MERGE_ENTRIES = -1 if placed else 1 << 30
        got_k, got_p = runs.merged_runs(k1, p1, k2, p2)
    finally:
        runs._SORT_MERGE_ENTRIES = threshold
    assert got_k.tolist() == keys[order].tolist()
    assert got_p.tolist() == np.concatenate([p1, p2])[order].tolist()


def test_an_index_without_filters_finds_what_a_filtered_one_finds():
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 40, size=(300, 4)).astype(np.uint64)
    filtered, plain = BandIndex(4, batched=True), BandIndex(4, batched=True, filtered=False)
    for lo in range(0, 300, 50):  # several runs, merged as they grow
        got = [index.match_batch(keys[lo : lo + 50], lo, np.ones(50, dtype=bool)) for index in (filtered, plain)]
        assert [a.tolist() for a in got[0]] == [a.tolist() for a in got[1]]
    assert plain.nbytes() < filtered.nbytes()


def test_a_narrow_index_finds_what_a_wide_one_finds_and_saves_32_bits():
    rng = np.random.default_rng(9)
    keys = rng.integers(0, 30, size=(200, 3)).astype(np.uint64)
    wide, narrow = BandIndex(3), BandIndex(3, narrow=True)
    for index in (wide, narrow):
        for lo in range(0, 200, 40):
            index.add_run(np.arange(lo, lo + 40), keys[lo : lo + 40])
    for q in rng.integers(0, 32, size=(20, 3)).astype(np.uint64):
        assert wide.query(q.tolist()) == narrow.query(q.tolist())
    saved = narrow.export()
    assert saved[1].dtype == np.int32 and [a.tolist() for a in saved] == [a.tolist() for a in wide.export()]
    loaded = BandIndex(3, narrow=True)
    loaded.load(saved[0], saved[1].astype(np.int64))  # an index saved with 64-bit positions loads as well
    assert all(loaded.query(q.tolist()) == wide.query(q.tolist()) for q in keys[:20])
    assert narrow.nbytes() < wide.nbytes()
    with pytest.raises(OverflowError, match="2\\^31"):
        BandIndex(1, narrow=True).add_run(np.array([2**31]), np.array([[5]], dtype=np.uint64))
