"""dedupe.core.clusters: union-find whose root is always the smallest member."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import UnionFind


def _components(n: int, pairs: list[tuple[int, int]]) -> list[set[int]]:
    """Connected components by plain graph search (independent of UnionFind)."""
    adjacent: dict[int, set[int]] = {i: set() for i in range(n)}
    for x, y in pairs:
        adjacent[x].add(y)
        adjacent[y].add(x)
    seen: set[int] = set()
    out = []
    for start in range(n):
        if start in seen:
            continue
        comp, stack = set(), [start]
        while stack:
            v = stack.pop()
            if v not in comp:
                comp.add(v)
                stack.extend(adjacent[v] - comp)
        seen |= comp
        out.append(comp)
    return out


@st.composite
def unions(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))
    return n, pairs


@settings(max_examples=300, deadline=None)
@given(unions())
def test_root_is_the_smallest_member_whatever_the_union_order(case):
    n, pairs = case
    uf = UnionFind()
    for i in range(n):
        assert uf.add() == i
    for x, y in pairs:
        uf.union(x, y)
    for comp in _components(n, pairs):
        for x in comp:
            assert uf.find(x) == min(comp)


@settings(max_examples=200, deadline=None)
@given(unions(), st.randoms(use_true_random=False))
def test_groups_do_not_depend_on_union_order(case, rnd):
    n, pairs = case
    first, second = UnionFind(), UnionFind()
    for _ in range(n):
        first.add()
        second.add()
    for x, y in pairs:
        first.union(x, y)
    shuffled = [(y, x) if rnd.random() < 0.5 else (x, y) for x, y in pairs]
    rnd.shuffle(shuffled)
    for x, y in shuffled:
        second.union(x, y)
    assert first.groups() == second.groups()


@settings(max_examples=200, deadline=None)
@given(unions())
def test_groups_list_every_multi_member_set_once_in_ascending_order(case):
    n, pairs = case
    uf = UnionFind()
    for _ in range(n):
        uf.add()
    for x, y in pairs:
        uf.union(x, y)
    expected = {min(c): sorted(c) for c in _components(n, pairs) if len(c) > 1}
    assert uf.groups() == expected


def test_add_returns_consecutive_elements_and_len_counts_them():
    uf = UnionFind()
    assert [uf.add() for _ in range(4)] == [0, 1, 2, 3]
    assert len(uf) == 4


def test_singletons_are_their_own_roots_and_form_no_group():
    uf = UnionFind()
    for _ in range(3):
        uf.add()
    assert [uf.find(i) for i in range(3)] == [0, 1, 2]
    assert uf.groups() == {}


def test_union_of_later_elements_then_earlier_moves_root_down():
    uf = UnionFind()
    for _ in range(5):
        uf.add()
    uf.union(4, 3)
    assert uf.find(4) == 3
    uf.union(3, 1)
    assert uf.find(4) == 1
    uf.union(2, 4)
    assert [uf.find(i) for i in range(5)] == [0, 1, 1, 1, 1]
    assert uf.groups() == {1: [1, 2, 3, 4]}


def test_union_within_a_set_changes_nothing():
    uf = UnionFind()
    for _ in range(3):
        uf.add()
    uf.union(0, 2)
    uf.union(2, 0)
    uf.union(1, 1)
    assert uf.groups() == {0: [0, 2]}
