"""Connected components by large-star / small-star rounds (dedupe.core.components), against a union-find."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.core.components import both_ways, components, large_star, normalized, roots_of, small_star
from dedupe.core.decide import SparseUnionFind
from dedupe.report.build import report_chunks

edges = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=80)


def union_find_roots(pairs: list[tuple[int, int]]) -> dict[int, int]:
    uf = SparseUnionFind()
    for a, b in pairs:
        uf.union(a, b)
    return {x: uf.find(x) for pair in pairs for x in pair}


@settings(max_examples=400, deadline=None)
@given(edges)
def test_rounds_find_the_components_a_union_find_finds(pairs):
    a = np.array([p[0] for p in pairs], dtype=np.int64)
    b = np.array([p[1] for p in pairs], dtype=np.int64)
    leaf, root = components(a, b)
    expected = union_find_roots(pairs)
    nodes = np.array(sorted(expected), dtype=np.int64)
    assert roots_of(nodes, leaf, root).tolist() == [expected[n] for n in nodes.tolist()]
    # the result is a forest of stars around each component's smallest node: leaves only, each once
    assert len(np.unique(leaf)) == len(leaf)
    assert not set(leaf.tolist()) & set(root.tolist())


@settings(max_examples=200, deadline=None)
@given(edges, st.integers(1, 5))
def test_a_step_over_hash_partitions_equals_the_step_over_everything(pairs, parts):
    """What the Ray job relies on: a step run on each partition of the grouping node, concatenated, is the step."""
    hi, lo = normalized(np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64))
    u, v = both_ways(hi, lo)
    whole_hi, whole_lo, whole_stars = large_star(u, v)
    split = [large_star(u[u % parts == k], v[u % parts == k]) for k in range(parts)]
    got = normalized(np.concatenate([s[0] for s in split]), np.concatenate([s[1] for s in split]))
    assert [x.tolist() for x in got] == [x.tolist() for x in normalized(whole_hi, whole_lo)]
    assert all(s[2] for s in split) == whole_stars
    small = [small_star(hi[hi % parts == k], lo[hi % parts == k]) for k in range(parts)]
    got = normalized(np.concatenate([s[0] for s in small]), np.concatenate([s[1] for s in small]))
    assert [x.tolist() for x in got] == [x.tolist() for x in normalized(*small_star(hi, lo))]


def test_a_long_path_converges_in_few_rounds():
    rng = np.random.default_rng(3)
    n = 5000
    perm = rng.permutation(n)
    hi, lo = normalized(perm[1:], perm[:-1])
    rounds = 0
    while True:
        rounds += 1
        nhi, nlo, stars = large_star(*both_ways(hi, lo))
        hi, lo = normalized(nhi, nlo)
        if stars:
            break
        hi, lo = normalized(*small_star(hi, lo))
    assert set(lo.tolist()) == {0} and len(hi) == n - 1
    assert rounds <= 4 * int(np.log2(n))  # O(log n) rounds, not O(n)


def test_stars_are_recognised_and_returned_unchanged():
    hi, lo = np.array([3, 5, 9]), np.array([1, 1, 7])
    nhi, nlo, stars = large_star(*both_ways(hi, lo))
    assert stars and [x.tolist() for x in normalized(nhi, nlo)] == [[3, 5, 9], [1, 1, 7]]
    _, _, stars = large_star(*both_ways(np.array([3, 5]), np.array([1, 3])))  # a path 1-3-5 is no star
    assert not stars


@given(st.lists(st.fixed_dictionaries({"cluster": st.text(max_size=5), "size": st.integers(2, 9),
                                        "members": st.lists(st.text(max_size=4), max_size=3)}), max_size=4))
def test_the_report_written_in_pieces_is_the_report_written_whole(entries):
    report = {"counts": {"clusters": len(entries)}, "clusters": [], "max_chars": None}
    whole = orjson.dumps(report | {"clusters": entries}, option=orjson.OPT_INDENT_2) + b"\n"
    assert b"".join(report_chunks(report, iter(entries))) == whole
