"""Passage matching a batch at a time (dedupe.passages.bulk) against the per-passage reference path."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupe.config import PassageConfig
from dedupe.core.lsh import BandIndex
from dedupe.core.similarity import ArrayStore, jaccard, jaccard_flat
from dedupe.passages import bulk
from dedupe.passages.bulk import below_threshold, exact_repeats, sketch
from dedupe.passages.matcher import PassageMatcher
from dedupe.passages.ragged import flat
from dedupe.passages.segment import passage_features

WORDS = (
    "armenian forces fired at the jabrayil region minutes after truce took effect ministry said "
    "pakistan stands with azerbaijan quest resolve issue shares rose sharply in early trading company "
    "profit fell pct mln dlrs quarter Lincoln Savings Bank Taunton Acme Corp Mr Brown Gordon April"
).split()


@st.composite
def sentences(draw: st.DrawFn) -> str:
    n = draw(st.integers(3, 14))
    words = draw(st.lists(st.sampled_from(WORDS), min_size=n, max_size=n))
    if draw(st.booleans()):
        words.append(str(draw(st.integers(0, 30))))
    return " ".join([words[0].capitalize()] + words[1:]) + "."


@st.composite
def corpora(draw: st.DrawFn) -> list[str]:
    """Documents drawn from a small pool of sentences, some repeated exactly, some with a word changed, so that
    exact, near, boilerplate and quote matches, and candidates inside a batch, all occur."""
    pool = draw(st.lists(sentences(), min_size=2, max_size=10))
    docs = []
    for _ in range(draw(st.integers(1, 14))):
        parts = []
        for _ in range(draw(st.integers(1, 6))):
            s = draw(st.sampled_from(pool))
            if draw(st.integers(0, 3)) == 0:  # a near repeat: one word changed
                words = s.split()
                words[draw(st.integers(0, len(words) - 1))] = draw(st.sampled_from(WORDS))
                s = " ".join(words)
            parts.append(s)
        docs.append(" ".join(parts))
    return docs


CONFIGS = st.builds(
    PassageConfig,
    min_words=st.integers(2, 6),
    threshold=st.sampled_from([0.2, 0.35, 0.6, 0.9]),
    max_candidates=st.integers(1, 6),
    index_below=st.sampled_from([0.0, 0.8, 1.01]),
    boilerplate_docs=st.integers(2, 3),
    num_perm=st.sampled_from([32, 128]),
)


def run(docs: list[str], config: PassageConfig, bulk_path: bool, batch: int, split: int | None = None):
    pm = PassageMatcher(config, bulk=bulk_path)
    out = []
    for k in range(0, len(docs), batch):
        if split is not None and k >= split and k - batch < split:  # an index saved and loaded mid-way
            pm.track()
            saved = pm.export()
            pm = PassageMatcher(config, bulk=bulk_path)
            pm.restore(saved)
        texts = docs[k : k + batch]
        out.append(pm.add_batch([str(k + i) for i in range(len(texts))], texts, passage_features(texts, config)))
    stats = {k: v for k, v in vars(pm.stats).items() if k != "seconds"}
    return out, stats, pm.top_passages()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), CONFIGS, st.integers(1, 6))
def test_bulk_matches_the_per_passage_path(docs: list[str], config: PassageConfig, batch: int) -> None:
    bulk = run(docs, config, True, batch)
    assert bulk == run(docs, config, False, batch)
    # Batches change nothing: a document at a time (what add() does) gives the same matches and counts.
    one = run(docs, config, True, 1)
    assert [m for b in one[0] for m in b] == [m for b in bulk[0] for m in b] and one[1:] == bulk[1:]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), CONFIGS, st.integers(1, 4), st.integers(0, 8))
def test_bulk_after_an_index_is_loaded(docs: list[str], config: PassageConfig, batch: int, split: int) -> None:
    # The sketches are made again from the loaded shingles: the bound still holds for earlier runs' passages.
    # (A loaded matcher counts this run only: the counters are left out.)
    loaded, _, top = run(docs, config, True, batch, split)
    whole, _, top_whole = run(docs, config, False, batch)
    assert (loaded, top) == (whole, top_whole)


def test_a_batch_beyond_the_pair_limit_takes_the_per_passage_path(monkeypatch) -> None:
    docs = ["Shares rose sharply in early trading on the news today. " * 2 + f"Item {k} here." for k in range(30)]
    config = PassageConfig(min_words=3, index_below=1.01)
    monkeypatch.setattr(bulk, "MAX_BATCH_PAIRS", 5)
    assert run(docs, config, True, 30) == run(docs, config, False, 30)


set_of = st.lists(st.integers(0, 2**64 - 1), max_size=60, unique=True).map(
    lambda v: np.array(sorted(v), dtype=np.uint64)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(set_of, min_size=2, max_size=6), st.sampled_from([0.05, 0.2, 0.35, 0.5, 0.9]), st.data())
def test_the_bound_never_drops_a_pair_at_the_threshold(sets, threshold, data) -> None:
    # Sets that overlap a lot and sets in few buckets (small values) both occur.
    shared = data.draw(set_of)
    sets = [np.union1d(s, shared) if data.draw(st.booleans()) else s for s in sets]
    counts, clipped = sketch(*flat(sets))
    sizes = np.array([len(s) for s in sets])
    a = np.repeat(np.arange(len(sets)), len(sets))
    b = np.tile(np.arange(len(sets)), len(sets))
    low = below_threshold(threshold, counts[a], sizes[a], clipped[a], counts[b], sizes[b], clipped[b])
    for i, j, dropped in zip(a.tolist(), b.tolist(), low.tolist()):
        exact = jaccard(sets[i], sets[j])
        if dropped:
            assert exact < threshold
    # Equal non-empty sets are never dropped.
    assert not low[(a == b) & (sizes[a] > 0)].any()


def test_a_clipped_sketch_proves_nothing() -> None:
    many = np.arange(0, 300 * bulk.SKETCH_BUCKETS, bulk.SKETCH_BUCKETS, dtype=np.uint64)  # 300 in bucket 0
    counts, clipped = sketch(*flat([many, many[:10]]))
    assert clipped.tolist() == [True, False] and counts[0, 0] == 255
    sizes = np.array([300, 10])
    assert not below_threshold(0.9, counts[[0]], sizes[[0]], clipped[[0]], counts[[1]], sizes[[1]], clipped[[1]])[0]


def test_jaccard_flat_equals_jaccard() -> None:
    rng = np.random.default_rng(3)
    query = np.unique(rng.integers(0, 50, 20).astype(np.uint64))
    others = [np.unique(rng.integers(0, 50, n).astype(np.uint64)) for n in (0, 5, 20, 40)]
    sims = jaccard_flat(query, np.concatenate(others), np.array([len(o) for o in others]))
    assert sims.tolist() == [jaccard(query, o) if len(o) else 0.0 for o in others]


def test_exact_repeats_inside_and_before_the_batch() -> None:
    assert exact_repeats([5, 6, 5, 7, 6], {7: 0}).tolist() == [False, False, True, True, True]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 99), max_size=8), max_size=12), st.data())
def test_get_many_equals_get(arrays, data) -> None:
    store = ArrayStore(np.uint64)
    for k, values in enumerate(arrays):
        if values:
            store.put(k, np.array(values, dtype=np.uint64))
    if not len(store):  # positions never reached are not asked for (get() refuses them too)
        return
    positions = np.array(data.draw(st.lists(st.integers(0, len(store) - 1), max_size=20)), dtype=np.int64)
    values, offsets = store.get_many(positions)
    for n, p in enumerate(positions.tolist()):
        expected = arrays[p] if arrays[p] else []
        assert values[offsets[n] : offsets[n + 1]].tolist() == expected
    assert store.lengths(positions).tolist() == [len(arrays[p]) for p in positions.tolist()]


def test_get_many_across_chunks(monkeypatch) -> None:
    import dedupe.core.similarity as sim

    monkeypatch.setattr(sim, "_CHUNK_BITS", 2)  # 4 values per chunk
    store = ArrayStore(np.uint64)
    arrays = [[1, 2, 3], [4, 5], [6], [7, 8, 9, 10, 11], [12]]
    for k, values in enumerate(arrays):
        store.put(k, np.array(values, dtype=np.uint64))
    values, offsets = store.get_many(np.array([4, 0, 3, 1]))
    assert values.tolist() == [12, 1, 2, 3, 7, 8, 9, 10, 11, 4, 5] and offsets.tolist() == [0, 1, 4, 9, 11]


def test_add_run_is_found_like_inserts() -> None:
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 6, size=(20, 3)).astype(np.uint64)
    one, other = BandIndex(3), BandIndex(3)
    for p in range(10):
        one.insert(p, keys[p].tolist())
    one.flush()
    other.add_run(np.arange(10), keys[:10])
    assert len(one) == len(other) == 10
    for q in keys[10:]:
        assert one.query(q.tolist()) == other.query(q.tolist())


def test_jaccard_flat_with_empty_sets_last_and_an_empty_set_first() -> None:
    query = np.array([1, 2, 3], dtype=np.uint64)
    others = np.array([2, 3, 9], dtype=np.uint64)
    assert jaccard_flat(query, others, np.array([3, 0, 0])).tolist() == [0.5, 0.0, 0.0]
    assert jaccard_flat(np.array([], dtype=np.uint64), others, np.array([3, 0])).tolist() == [0.0, 0.0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 99), max_size=6), max_size=10), st.lists(st.booleans(), min_size=10, max_size=10),
       st.integers(0, 3))
def test_put_many_equals_put(arrays, present, before) -> None:
    # Positions after what a store holds, some absent: one put_many gives what a put each gives.
    one, many = ArrayStore(np.uint64), ArrayStore(np.uint64)
    for store in (one, many):
        for k in range(before):
            store.put(k, np.array([k], dtype=np.uint64))
    positions = [before + k for k, keep in zip(range(len(arrays)), present) if keep]
    values = [np.array(arrays[p - before], dtype=np.uint64) for p in positions]
    for p, v in zip(positions, values):
        one.put(p, v)
    many.put_many(positions, *flat(values))
    assert len(one) == len(many)
    every = np.arange(len(one))
    assert one.lengths(every).tolist() == many.lengths(every).tolist()
    for p in every.tolist():
        if one.lengths(np.array([p]))[0]:
            assert one.get(p).tolist() == many.get(p).tolist()
    many.put(len(many), np.array([7], dtype=np.uint64))  # a put after put_many starts a new chunk
    assert many.get(len(many) - 1).tolist() == [7]


def test_add_sorted_run_equals_add_run_and_refuses_unsorted_entries() -> None:
    import pytest

    rng = np.random.default_rng(2)
    keys = rng.integers(0, 5, size=(12, 2)).astype(np.uint64)
    one, other = BandIndex(2), BandIndex(2)
    one.add_run(np.arange(12), keys)
    flat = keys.ravel()
    order = np.argsort(flat, kind="stable")
    other.add_sorted_run(flat[order], order // 2)
    assert len(one) == len(other) == 12
    for q in rng.integers(0, 6, size=(10, 2)).astype(np.uint64):
        assert one.query(q.tolist()) == other.query(q.tolist())
    with pytest.raises(ValueError, match="sorted"):
        BandIndex(2).add_sorted_run(np.array([3, 1], dtype=np.uint64), np.array([0, 0]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), CONFIGS, st.integers(1, 4))
def test_bulk_matches_with_shingles_on_disk(docs: list[str], config: PassageConfig, batch: int) -> None:
    # With a 64-byte RAM budget nearly every passage's shingle hashes are read back from the spill file.
    import dedupe.core.spill as spill

    saved = spill.SPILL_AFTER_BYTES
    spill.SPILL_AFTER_BYTES = 64
    try:
        on_disk = run(docs, config, True, batch), run(docs, config, False, batch)
    finally:
        spill.SPILL_AFTER_BYTES = saved
    assert on_disk[0] == on_disk[1] == run(docs, config, True, batch)


def test_the_shingle_store_reads_what_was_put_from_ram_and_disk() -> None:
    from dedupe.passages.store import ShingleStore

    store = ShingleStore(ram_bytes=24)  # three values in RAM, the rest on disk
    arrays = {0: [1, 2], 2: [3, 4, 5], 3: [], 5: [6]}
    for p, v in arrays.items():
        store.put(p, np.array(v, dtype=np.uint64))
    assert store.get(2).tolist() == [3, 4, 5]  # held until the batch is settled
    store.settle(6)
    store.settle_many(9, np.array([6, 8]), np.array([7, 8, 9], dtype=np.uint64), np.array([0, 2, 3]))
    expected = {**arrays, 6: [7, 8], 8: [9]}
    every = np.arange(9)
    assert store.lengths(every).tolist() == [len(expected.get(p, [])) for p in range(9)]
    asked = np.array([8, 0, 2, 8, 5])
    values, offsets = store.get_many(asked)
    assert [values[offsets[k] : offsets[k + 1]].tolist() for k in range(len(asked))] == [expected[p] for p in asked]
    assert store.disk_bytes() > 0
    store.close()


def test_quote_windows_keep_32_bits_and_refuse_what_does_not_fit() -> None:
    from array import array

    import pytest

    from dedupe.passages.quotes import QuoteWindows, _append

    target = array("i")
    _append(target, np.array([0, 2**31 - 1]))
    assert target.tolist() == [0, 2**31 - 1]
    with pytest.raises(OverflowError, match="32 bits"):
        _append(target, np.array([2**31]))
    windows = QuoteWindows(8, 3)
    windows.restore(
        {
            "pm_windows": np.array([[3, 4, 10, 50]], dtype=np.int64),
            "pm_window_keys": np.array([7], dtype=np.uint64),
            "pm_window_positions": np.array([0], dtype=np.int64),
        }
    )
    saved = windows.export(0)
    # Saved in 32 bits (an index saved with 64-bit windows, as above, loads as well).
    assert saved["pm_windows"].dtype == np.int32 and saved["pm_windows"].tolist() == [[3, 4, 10, 50]]
    assert saved["pm_window_positions"].dtype == np.int32


def test_a_damaged_passage_state_is_refused() -> None:
    import pytest

    config = PassageConfig(min_words=2)
    pm = PassageMatcher(config)
    pm.track()
    texts = ["Shares rose sharply in early trading today.", "Shares rose sharply in early trading on Monday."]
    pm.add_batch(["a", "b"], texts, passage_features(texts, config))
    saved = pm.export()
    assert PassageMatcher(config).restore(saved) is None  # whole: loads
    for name in ("pm_shingle_offsets", "pm_number_offsets"):
        damaged = dict(saved, **{name: saved[name][:-1]})  # one passage short
        with pytest.raises(ValueError):
            PassageMatcher(config).restore(damaged)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 40), max_size=12), min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 5), st.lists(st.integers(0, 40), max_size=12)), max_size=20),
)
def test_pair_sims_equal_jaccard_flat_pair_by_pair(mine_sets: list[list[int]], pairs: list) -> None:
    mine = flat([np.unique(np.array(m, dtype=np.uint64)) for m in mine_sets])
    pairs = sorted((r % len(mine_sets), other) for r, other in pairs)
    rows = np.array([r for r, _ in pairs], dtype=np.int64)
    values, offsets = flat([np.unique(np.array(o, dtype=np.uint64)) for _, o in pairs])
    got = bulk._pair_sims(rows, values, offsets, mine)
    for k, (r, _) in enumerate(pairs):
        a = mine[0][mine[1][r] : mine[1][r + 1]]
        b = values[offsets[k] : offsets[k + 1]]
        assert got[k] == jaccard_flat(a, b, np.array([len(b)]))[0] == jaccard(a, b)
