"""dedupe.core.similarity: exact Jaccard and containment of sorted unique hash arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import containment, jaccard

# Mix small values (so sets overlap often) with the whole uint64 range (edges included).
VALUES = st.one_of(
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=2**64 - 5, max_value=2**64 - 1),
    st.integers(min_value=0, max_value=2**64 - 1),
)
SETS = st.sets(VALUES, max_size=60)


def arr(values) -> np.ndarray:
    return np.array(sorted(values), dtype=np.uint64)


@settings(max_examples=500, deadline=None)
@given(SETS, SETS)
def test_jaccard_equals_set_arithmetic(a, b):
    expected = len(a & b) / len(a | b) if (a | b) else 0.0
    assert jaccard(arr(a), arr(b)) == pytest.approx(expected, abs=1e-15)


@settings(max_examples=500, deadline=None)
@given(SETS, SETS)
def test_containment_equals_set_arithmetic(a, b):
    expected = len(a & b) / len(a) if a else 0.0
    assert containment(arr(a), arr(b)) == pytest.approx(expected, abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(SETS, SETS)
def test_jaccard_is_symmetric_and_bounded(a, b):
    x, y = arr(a), arr(b)
    assert jaccard(x, y) == jaccard(y, x)
    assert 0.0 <= jaccard(x, y) <= 1.0


def test_docstring_example():
    assert jaccard(arr([1, 2, 3]), arr([2, 3, 4])) == 0.5


def test_identical_non_empty_sets_have_similarity_one():
    a = arr([0, 7, 2**63, 2**64 - 1])
    assert jaccard(a, a.copy()) == 1.0
    assert containment(a, a.copy()) == 1.0


def test_two_empty_sets_have_similarity_zero():
    empty = np.empty(0, dtype=np.uint64)
    assert jaccard(empty, empty) == 0.0
    assert containment(empty, empty) == 0.0


def test_containment_is_directional():
    small = arr([1, 2])
    big = arr([1, 2, 3, 4, 5, 6, 7, 8])
    assert containment(small, big) == 1.0
    assert containment(big, small) == 2 / 8
    assert containment(small, np.empty(0, dtype=np.uint64)) == 0.0


def test_elements_past_the_end_of_the_other_set_do_not_match():
    # Every element of a sorts after all of b: the binary search falls off the end.
    a = arr([100, 200])
    b = arr([1, 2, 3])
    assert jaccard(a, b) == 0.0
    assert containment(a, b) == 0.0


def test_array_store_returns_what_was_put_across_chunks():
    from dedupe.core.similarity import ArrayStore

    store = ArrayStore(np.uint64)
    rng = np.random.default_rng(1)
    big = rng.integers(0, 2**63, size=(1 << 22) + 5, dtype=np.uint64)  # longer than a chunk
    arrays = {0: np.arange(5, dtype=np.uint64), 2: np.empty(0, dtype=np.uint64), 3: big,
              7: np.arange(3_000_000, dtype=np.uint64), 8: np.arange(2_000_000, dtype=np.uint64)}
    for pos, values in arrays.items():
        store.put(pos, values)
    for pos, values in arrays.items():
        assert np.array_equal(store.get(pos), values)
    for absent in (1, 4, 5, 6):
        with pytest.raises(KeyError):
            store.get(absent)


def test_export_then_extend_round_trips_with_gaps_and_chunk_boundaries(monkeypatch):
    import random

    import dedupe.core.similarity as verify

    monkeypatch.setattr(verify, "_CHUNK_BITS", 4)  # 16 values per chunk: many boundaries, and oversized arrays
    rng = random.Random(5)
    store = verify.ArrayStore(np.uint64)
    expected = {}
    for position in range(200):
        if rng.random() < 0.2:
            continue  # absent
        values = np.array(sorted(rng.sample(range(10**6), rng.randint(0, 40))), dtype=np.uint64)
        store.put(position, values)
        expected[position] = values
    for first, stop in [(0, 200), (37, 150), (199, 205)]:
        values, offsets = store.export(first, stop)
        copy = verify.ArrayStore(np.uint64)
        copy.extend(values, offsets)
        assert len(copy) == stop - first
        for k in range(stop - first):
            want = expected.get(first + k, np.empty(0, dtype=np.uint64))
            assert copy.get(k).tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=1, max_size=30), min_size=1, max_size=5), st.data())
def test_a_batch_s_pairs_get_the_exact_jaccard_of_their_sets(multisets, data):
    """Deduplicator._verify against jaccard() of the sets: exact copies (the same multiset, taken without a set),
    the same set in another order or with other repeats, and anything else."""
    from dedupe import Deduplicator
    from dedupe.core.similarity import shingle_set

    earlier = [np.array(m, dtype=np.uint64) for m in multisets]
    batch = [
        data.draw(st.sampled_from(earlier)).copy(),  # an exact copy
        np.array(data.draw(st.permutations(multisets[0])), dtype=np.uint64),  # the same set, maybe reordered
        np.array(data.draw(st.lists(st.integers(0, 12), min_size=1, max_size=30)), dtype=np.uint64),
    ]
    dedup = Deduplicator()
    dedup.docs.stored.extend(np.concatenate(earlier), np.concatenate(([0], np.cumsum([len(m) for m in earlier]))))
    first = len(earlier)
    rows = np.repeat(np.arange(len(batch)), first)
    positions = np.tile(np.arange(first), len(batch))
    bounds = [k * first for k in range(len(batch) + 1)]
    sims = dedup._verify(rows, positions, bounds, batch, np.zeros((len(batch), 1), dtype=np.uint32), first)
    expected = [jaccard(shingle_set(batch[r]), shingle_set(earlier[j])) for r, j in zip(rows, positions)]
    assert sims == expected


@settings(max_examples=200)
@given(st.sets(st.integers(0, 40), max_size=30), st.lists(st.sets(st.integers(0, 40), max_size=30), min_size=1,
                                                           max_size=6))
def test_jaccard_many_gives_jaccard_of_each_pair(a, others):
    from dedupe.core.similarity import jaccard_many

    sets = [arr(o) for o in others]
    assert jaccard_many(arr(a), sets) == [jaccard(arr(a), b) for b in sets]
