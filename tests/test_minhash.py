"""dedupe.features.minhash: signatures equal datasketch's affine32 MinHash, batch equals single."""

from __future__ import annotations

import datasketch
import numpy as np
import pytest
from datasketch import LeanMinHash
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dedupe import MinHashConfig, MinHasher, estimate_jaccard
from dedupe.features.minhash import BLOCK

U64 = st.integers(min_value=0, max_value=2**64 - 1)


def datasketch_signature(hashes, num_perm: int, seed: int) -> np.ndarray:
    ref = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda x: int(x) & 0xFFFFFFFF)
    ref.update_batch(list(hashes))
    return ref.hashvalues


def random_docs(rng: np.random.Generator, sizes) -> list[np.ndarray]:
    return [np.unique(rng.integers(0, 2**64, size=n, dtype=np.uint64)) for n in sizes]


@settings(max_examples=60, deadline=None)
@given(
    hashes=hnp.arrays(np.uint64, st.integers(1, 300), elements=U64),
    num_perm=st.sampled_from([2, 16, 128, 200]),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_signature_equals_datasketch_affine32(hashes, num_perm, seed):
    ours = MinHasher(MinHashConfig(num_perm=num_perm, seed=seed)).signature(hashes)
    theirs = datasketch_signature(hashes, num_perm, seed)
    assert ours.dtype == np.uint32
    assert ours.shape == (num_perm,)
    np.testing.assert_array_equal(ours, theirs)


def test_signature_equals_datasketch_for_a_document_larger_than_a_block():
    rng = np.random.default_rng(3)
    (doc,) = random_docs(rng, [3 * BLOCK + 17])
    ours = MinHasher(MinHashConfig(num_perm=128, seed=1)).signature(doc)
    np.testing.assert_array_equal(ours, datasketch_signature(doc, 128, 1))


def test_only_the_low_32_bits_of_a_shingle_hash_matter():
    mh = MinHasher()
    low = np.array([1, 2, 0xDEADBEEF], dtype=np.uint64)
    high = low | np.uint64(0xABCD_0000_0000_0000)
    np.testing.assert_array_equal(mh.signature(low), mh.signature(high))


def test_empty_signature_equals_datasketchs_empty_minhash():
    mh = MinHasher(MinHashConfig(num_perm=64, seed=5))
    empty = mh.signature(np.empty(0, dtype=np.uint64))
    ref = datasketch.MinHash(num_perm=64, seed=5)
    np.testing.assert_array_equal(empty, ref.hashvalues)
    assert np.all(empty == 0xFFFFFFFF)
    np.testing.assert_array_equal(mh.empty(), empty)


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.uint64, st.integers(1, 200), elements=U64), st.randoms(use_true_random=False))
def test_signature_ignores_order_and_repetition(hashes, rnd):
    mh = MinHasher(MinHashConfig(num_perm=32, seed=7))
    shuffled = list(hashes) + list(hashes[: len(hashes) // 2])
    rnd.shuffle(shuffled)
    np.testing.assert_array_equal(mh.signature(hashes), mh.signature(np.array(shuffled, dtype=np.uint64)))


def test_different_seeds_give_different_signatures():
    doc = np.arange(1, 50, dtype=np.uint64)
    a = MinHasher(MinHashConfig(num_perm=64, seed=1)).signature(doc)
    b = MinHasher(MinHashConfig(num_perm=64, seed=2)).signature(doc)
    assert not np.array_equal(a, b)


def test_batch_signatures_equal_single_signatures_including_empty_and_large_docs():
    rng = np.random.default_rng(0)
    sizes = [0, 1, 5, 100, 0, BLOCK - 1, BLOCK, BLOCK + 1, 20_000, 3, 4000, 4500, 5000, 0, 2]
    docs = random_docs(rng, sizes)
    assert any(len(d) > BLOCK for d in docs)
    mh = MinHasher(MinHashConfig(num_perm=128, seed=1))
    batch = mh.signatures(docs)
    assert batch.shape == (len(docs), 128)
    assert batch.dtype == np.uint32
    for i, doc in enumerate(docs):
        np.testing.assert_array_equal(batch[i], mh.signature(doc), err_msg=f"doc {i} ({len(doc)} shingles)")
        np.testing.assert_array_equal(batch[i], datasketch_signature(doc, 128, 1), err_msg=f"doc {i}")


def test_batch_of_no_documents_is_empty():
    assert MinHasher().signatures([]).shape == (0, 128)


def test_batch_of_only_empty_documents_is_all_maximum():
    out = MinHasher(MinHashConfig(num_perm=8)).signatures([np.empty(0, dtype=np.uint64)] * 3)
    assert out.shape == (3, 8)
    assert np.all(out == 0xFFFFFFFF)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=12), st.integers(0, 2**32 - 1))
def test_batch_equals_single_for_any_mix_of_document_sizes(sizes, seed):
    rng = np.random.default_rng(seed)
    docs = random_docs(rng, sizes)
    mh = MinHasher(MinHashConfig(num_perm=16, seed=3))
    batch = mh.signatures(docs)
    for i, doc in enumerate(docs):
        np.testing.assert_array_equal(batch[i], mh.signature(doc))


def _overlapping_pair(rng, n: int, shared: int):
    pool = np.unique(rng.integers(0, 2**64, size=2 * n, dtype=np.uint64))
    a = np.sort(pool[:n])
    b = np.sort(np.concatenate([pool[:shared], pool[n : 2 * n - shared]]))
    return a, b


def test_lean_wraps_a_signature_as_a_datasketch_lean_minhash():
    rng = np.random.default_rng(1)
    a, b = _overlapping_pair(rng, 400, 300)
    mh = MinHasher(MinHashConfig(num_perm=128, seed=9))
    sa, sb = mh.signature(a), mh.signature(b)
    la, lb = mh.lean(sa), mh.lean(sb)
    assert isinstance(la, LeanMinHash)
    assert la.seed == 9
    np.testing.assert_array_equal(la.hashvalues, sa)
    est = estimate_jaccard(sa, sb)
    assert 0.0 < est < 1.0  # a non-trivial estimate, so equality below means something
    assert la.jaccard(lb) == pytest.approx(est, abs=1e-12)


def test_lean_jaccard_equals_jaccard_of_datasketchs_own_minhashes():
    rng = np.random.default_rng(2)
    a, b = _overlapping_pair(rng, 300, 200)
    mh = MinHasher(MinHashConfig(num_perm=64, seed=4))
    ra = datasketch.MinHash(num_perm=64, seed=4, hashfunc=lambda x: int(x) & 0xFFFFFFFF)
    rb = datasketch.MinHash(num_perm=64, seed=4, hashfunc=lambda x: int(x) & 0xFFFFFFFF)
    ra.update_batch(list(a))
    rb.update_batch(list(b))
    assert mh.lean(mh.signature(a)).jaccard(mh.lean(mh.signature(b))) == ra.jaccard(rb)


def test_estimate_jaccard_is_the_fraction_of_equal_positions():
    a = np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=np.uint32)
    b = np.array([1, 0, 3, 0, 5, 0, 0, 0], dtype=np.uint32)
    assert estimate_jaccard(a, b) == 3 / 8
    assert estimate_jaccard(a, a) == 1.0


def test_estimate_is_close_to_the_true_jaccard_with_many_permutations():
    rng = np.random.default_rng(4)
    a, b = _overlapping_pair(rng, 600, 400)  # J = 400 / 800 = 0.5
    mh = MinHasher(MinHashConfig(num_perm=1024, seed=1))
    assert estimate_jaccard(mh.signature(a), mh.signature(b)) == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("num_perm", [2, 128, 1024])
@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1])
def test_permutations_are_datasketchs(num_perm, seed):
    from dedupe.features.minhash import permutations

    a, b = permutations(num_perm, seed)
    theirs = datasketch.MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    np.testing.assert_array_equal(a, theirs[0])
    np.testing.assert_array_equal(b, theirs[1])
    assert a.dtype == b.dtype == np.uint32
