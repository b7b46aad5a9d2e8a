"""The bounded-bucket rule (LSHConfig.bucket_cap, --bucket-cap): each band key gives a record at most the
``cap`` earliest indexed records under it as candidates.

The rule is stated once, in plain Python, by ``reference.reference_matches``; the Deduplicator (with its
sorted runs, recent dict, batches and a restored index) must decide every record exactly as it does. The
package defines it in ``dedupe.core.lsh`` in two forms, the incremental ``BandIndex`` (the streaming engine)
and the sorted ``bucket_pairs`` (the Ray engine's shuffle), which must give the same candidate pairs.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupe import (
    BandIndex,
    ConfigError,
    DedupeConfig,
    Deduplicator,
    LSHConfig,
    MinHashConfig,
    Record,
    ShingleConfig,
    VerifyConfig,
)
from dedupe.core.runs import bucket_pairs
from dedupe.index.snapshot import export_arrays, restore_arrays
from dedupe.index.store import IndexStore
from reference import reference_matches

# --------------------------------------------------------------------------- BandIndex


def _expected(inserted: list[tuple[int, list[int]]], keys: list[int], cap: int) -> list[int]:
    """The rule, by brute force: per key the ``cap`` smallest positions stored under it, united."""
    found: set[int] = set()
    for key in keys:
        under = sorted(position for position, row in inserted if key in row)
        found.update(under[:cap] if cap else under)
    return sorted(found)


def test_a_capped_query_gives_the_smallest_positions_of_each_key():
    index = BandIndex(bands=2, cap=3)
    for position in range(10):
        index.insert(position, [7, 100 + position])
    assert index.query([7, 0]) == [0, 1, 2]
    assert index.query([7, 105]) == [0, 1, 2, 5]
    assert index.query([1, 2]) == []
    assert BandIndex(bands=2, cap=0).query([7, 0]) == []


@pytest.mark.parametrize("cap", [1, 2, 3, 5])
def test_the_cap_holds_across_runs_then_recent_entries(cap):
    index = BandIndex(bands=2, cap=cap)
    inserted = []
    with mock.patch("dedupe.core.lsh.MAX_RUN_ENTRIES", 4):  # runs stay apart
        for position in range(12):
            row = [5, 1000 + position % 3]
            index.insert(position, row)
            inserted.append((position, row))
            if position in (1, 2, 6):  # runs of 2, 1 and 4 documents, then the dict
                index.flush()
    assert len(index._runs) == 3 and index.recent
    for keys in ([5, 1000], [5, 0], [0, 1001], [1002, 5]):
        assert index.query(keys) == _expected(inserted, keys, cap), keys


def test_query_runs_sparse_reports_what_each_band_took_for_the_dict_part():
    index = BandIndex(bands=2, cap=2)
    for position in range(3):
        index.insert(position, [5, 10 + position])
    index.flush()
    index.insert(3, [5, 10])
    taken: dict[int, list[int]] = {}
    found = index.query_runs_sparse(np.array([[5, 10], [6, 6], [10, 5]], dtype=np.uint64), taken)
    assert {row: sorted(positions) for row, positions in found.items()} == {0: [0, 0, 1], 2: [0, 0, 1]}
    assert taken == {0: [2, 1], 2: [1, 2]}
    # Key 5 is full after the runs; key 10 may take one more from the dict (position 3).
    assert index.query_recent([5, 10], taken[0]) == [3]
    assert index.query_recent([5, 10]) == [3, 3]  # nothing taken from the runs: each key may take its cap


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    cap=st.integers(0, 4),
    bands=st.integers(1, 3),
)
def test_band_index_with_a_cap_matches_brute_force(data, cap, bands):
    keyspace = data.draw(st.integers(bands - 1, 6))  # keys 0..keyspace, distinct within a row
    rows = data.draw(st.lists(st.lists(st.integers(0, keyspace), min_size=bands, max_size=bands, unique=True),
                              min_size=1, max_size=40))
    flushes = data.draw(st.sets(st.integers(0, 39)))
    with mock.patch("dedupe.core.lsh.MAX_RUN_ENTRIES", data.draw(st.sampled_from([4, 16, 1 << 23]))):
        index = BandIndex(bands=bands, cap=cap)
        inserted: list[tuple[int, list[int]]] = []
        for position, row in enumerate(rows):
            assert index.query(row) == _expected(inserted, row, cap)
            index.insert(position, row)
            inserted.append((position, row))
            if position in flushes:
                index.flush()
        queries = np.array(rows, dtype=np.uint64)
        taken: dict[int, list[int]] = {}
        from_runs = index.query_runs_sparse(queries, taken)
        for k, row in enumerate(rows):
            both = set(from_runs.get(k, [])) | set(index.query_recent(row, taken.get(k)))
            assert sorted(both) == _expected(inserted, row, cap)


@pytest.mark.parametrize("cap", [1, 2, 4])
def test_a_loaded_index_keeps_the_cap_before_new_entries(cap):
    rng = random.Random(cap)
    rows = [[rng.randrange(4), 10 + rng.randrange(4)] for _ in range(30)]
    first = BandIndex(bands=2, cap=cap)
    for position, row in enumerate(rows[:20]):
        first.insert(position, row)
        if position == 9:
            first.flush()
    loaded = BandIndex(bands=2, cap=cap)
    keys, positions = first.export()
    order = np.random.default_rng(cap).permutation(len(keys))  # load sorts what was saved out of order
    loaded.load(keys[order], positions[order])
    for position, row in enumerate(rows[20:], 20):
        loaded.insert(position, row)
    inserted = list(enumerate(rows))
    for row in rows + [[0, 10], [3, 13]]:
        assert loaded.query(row) == _expected(inserted, row, cap)


def test_a_huge_bucket_costs_a_capped_query_little():
    index = BandIndex(bands=2, cap=4)
    n = 200_000
    index.load(np.full(2 * n, 9, dtype=np.uint64) + np.tile(np.array([0, 1], dtype=np.uint64), n),
               np.repeat(np.arange(n, dtype=np.int64), 2))
    for position in range(n, n + 1000):
        index.insert(position, [9, 10])
    start = time.perf_counter()
    for _ in range(200):
        assert index.query([9, 10]) == [0, 1, 2, 3]
    assert time.perf_counter() - start < 2.0  # uncapped, each query would return 201,000 positions


# --------------------------------------------------------------------------- bucket_pairs: the sorted form


def brute_pairs(keys: list[int], numbers: list[int], cap: int) -> list[tuple[int, int]]:
    groups: dict[int, list[int]] = {}
    for k, n in zip(keys, numbers):
        groups.setdefault(k, []).append(n)
    out = []
    for members in groups.values():
        members.sort()
        for r, i in enumerate(members):
            for t, j in enumerate(members[:r]):
                if cap == 0 or t < cap:
                    out.append((i, j))
    return sorted(out)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 40)), max_size=60, unique_by=lambda t: t),
       st.sampled_from([0, 1, 2, 3]))
def test_bucket_pairs_are_each_member_with_the_cap_earliest_before_it(rows, cap):
    keys = [k for k, _ in rows]
    numbers = [n for _, n in rows]
    out = bucket_pairs({"key": np.array(keys, dtype=np.uint64), "number": np.array(numbers, dtype=np.int64)}, cap)
    found = sorted(zip(out["i"].tolist(), out["j"].tolist()))
    assert found == brute_pairs(keys, numbers, cap)  # a pair twice when two buckets hold it


def _incremental_pairs(rows: np.ndarray, indexed: list[bool], cap: int, cuts: list[int]) -> Counter:
    """The candidate pairs (i, j) of the incremental form (what the batched form must give): per batch, the runs
    once (query_runs_sparse), then record by record the recent entries
    (query_recent, less what the runs gave) before it is inserted; runs are flushed between batches only."""
    index = BandIndex(bands=rows.shape[1], cap=cap)
    pairs: Counter = Counter()
    for lo, hi in zip([0, *cuts], [*cuts, len(rows)]):
        keys = rows[lo:hi]
        taken: dict[int, list[int]] = {}
        from_runs = index.query_runs_sparse(keys, taken)
        key_lists = keys.tolist()
        for k, i in enumerate(range(lo, hi)):
            if not indexed[i]:  # an empty shingle set: never queried, never indexed
                continue
            pairs.update((i, j) for j in from_runs.get(k, []) + index.query_recent(key_lists[k], taken.get(k)))
            index.insert(i, key_lists[k], keys[k])
        index.maybe_flush()
    return pairs


def _sorted_pairs(rows: np.ndarray, indexed: list[bool], cap: int, parts: int, seed: int) -> Counter:
    """The candidate pairs (i, j) of the sorted form, as the Ray engine's shuffle makes them: the (key, number)
    rows of the indexed records (numbers 1-based), shuffled, grouped into ``parts`` partitions by key."""
    mask = np.array(indexed, dtype=bool)
    number = np.repeat(np.flatnonzero(mask).astype(np.int64) + 1, rows.shape[1])
    key = rows[mask].ravel()
    order = np.random.default_rng(seed).permutation(len(key))
    key, number = key[order], number[order]
    pairs: Counter = Counter()
    for part in range(parts):
        mine = key % np.uint64(parts) == part
        out = bucket_pairs({"key": key[mine], "number": number[mine]}, cap)
        pairs.update(zip((out["i"] - 1).tolist(), (out["j"] - 1).tolist()))
    return pairs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cap=st.integers(0, 4), bands=st.integers(1, 4), n=st.integers(1, 60))
def test_the_incremental_and_the_sorted_form_give_the_same_pairs(data, cap, bands, n):
    alphabet = data.draw(st.integers(bands, bands + 4), label="alphabet")  # few keys: buckets collide and fill
    rows = np.array(data.draw(st.lists(st.lists(st.integers(0, alphabet - 1), min_size=bands, max_size=bands,
                                                 unique=True), min_size=n, max_size=n), label="rows"),
                    dtype=np.uint64)
    indexed = data.draw(st.lists(st.integers(0, 5).map(bool), min_size=n, max_size=n), label="indexed")
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1)), label="batch ends")) if n > 1 else []
    flush_at = data.draw(st.integers(1, 2 * alphabet), label="flush at")  # recent keys before a flush
    max_run = data.draw(st.sampled_from([4, 16, 1 << 23]), label="max run")
    with mock.patch("dedupe.core.lsh.FLUSH_ENTRIES", flush_at), mock.patch("dedupe.core.lsh.MAX_RUN_ENTRIES", max_run):
        incremental = _incremental_pairs(rows, indexed, cap, cuts)
    # Each (record, key) gives each of its pairs once in both forms, so they agree as multisets, not only as sets.
    assert incremental == _sorted_pairs(rows, indexed, cap, data.draw(st.integers(1, 3), label="parts"),
                                        data.draw(st.integers(0, 9), label="seed"))


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, None])
def test_a_bad_bucket_cap_is_refused_with_the_rule_and_the_fix(bad):
    with pytest.raises(ConfigError, match=r"^--bucket-cap \(bucket_cap\) must be a whole number, 0 or more .*0 = no cap.*--bucket-cap N"):
        LSHConfig(bucket_cap=bad)


def test_the_cap_is_a_reported_and_an_index_parameter():
    config = DedupeConfig(lsh=LSHConfig(bucket_cap=7))
    assert config.parameters()["bucket_cap"] == 7
    assert config.index_parameters()["bucket_cap"] == 7
    assert DedupeConfig().parameters()["bucket_cap"] == LSHConfig().bucket_cap > 0
    assert Deduplicator(config).index.cap == 7


# --------------------------------------------------------------------------- Deduplicator against the reference


def _texts(draw, n_max: int = 40) -> list[str]:
    vocab = [f"w{k}" for k in range(draw(st.integers(2, 7)))]
    texts: list[str] = []
    for _ in range(draw(st.integers(1, n_max))):
        choice = draw(st.integers(0, 9))
        if texts and choice < 3:  # an exact copy of an earlier text: fills the buckets
            texts.append(draw(st.sampled_from(texts)))
        elif choice == 3:
            texts.append(draw(st.sampled_from(["", "!!", " "])))
        else:
            texts.append(" ".join(draw(st.lists(st.sampled_from(vocab), min_size=1, max_size=8))))
    return texts


@st.composite
def cases(draw):
    texts = _texts(draw)
    bands = draw(st.integers(2, 6))
    rows = draw(st.integers(1, 2))
    config = DedupeConfig(
        shingle=ShingleConfig(ngram=draw(st.integers(1, 3))),
        minhash=MinHashConfig(num_perm=bands * rows + draw(st.integers(0, 2)), seed=draw(st.integers(1, 3))),
        lsh=LSHConfig(threshold=draw(st.sampled_from([0.2, 0.5, 0.8, 1.0])), bands=bands, rows=rows,
                      bucket_cap=draw(st.integers(0, 3))),
        verify=VerifyConfig(mode=draw(st.sampled_from(["exact", "exact", "estimate"]))),
    )
    return texts, config


def _run(texts: list[str], ids: list[str], config: DedupeConfig, batch_size: int):
    dd = Deduplicator(config)
    return dd, [r.match for r in dd.run([Record(i, t) for i, t in zip(ids, texts)], batch_size=batch_size)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), batch_size=st.integers(1, 9), flush_at=st.integers(1, 30), max_run=st.sampled_from([8, 1 << 23]))
def test_the_deduplicator_decides_as_the_reference(case, batch_size, flush_at, max_run):
    texts, config = case
    ids = [f"r{k}" for k in range(len(texts))]
    # Small flush and merge sizes: candidates come from several runs and the dict at once.
    with mock.patch("dedupe.core.lsh.FLUSH_ENTRIES", flush_at), mock.patch("dedupe.core.lsh.MAX_RUN_ENTRIES", max_run):
        _, matches = _run(texts, ids, config, batch_size)
    assert matches == reference_matches(texts, ids, config)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), data=st.data())
def test_a_restored_index_decides_as_the_reference(case, data):
    texts, config = case
    ids = [f"r{k}" for k in range(len(texts))]
    cut = data.draw(st.integers(0, len(texts)))
    with mock.patch("dedupe.core.lsh.FLUSH_ENTRIES", data.draw(st.integers(1, 20))):
        first, head = _run(texts[:cut], ids[:cut], config, data.draw(st.integers(1, 5)))
        second = Deduplicator(config)
        restore_arrays(second, [export_arrays(first, 0, all_links=True)])
        tail = [r.match for r in second.run([Record(i, t) for i, t in zip(ids[cut:], texts[cut:])], batch_size=3)]
    assert head + tail == reference_matches(texts, ids, config)


def test_the_reference_itself_on_a_hand_made_bucket():
    # Five copies and an edit share every bucket; with cap 2 the last two see only the first two copies.
    text = " ".join(f"word{i}" for i in range(30))
    texts = [text] * 5 + [text + " more", ""]
    ids = list("abcdefg")
    capped = reference_matches(texts, ids, DedupeConfig(lsh=LSHConfig(bucket_cap=2)))
    assert [m.duplicate_of for m in capped] == [None, "a", "a", "a", "a", "a", None]
    assert [m.cluster for m in capped] == ["a"] * 6 + ["g"]


def test_a_giant_bucket_is_verified_cap_times_per_record_not_once_per_pair():
    text = "same short page"
    n, cap = 3000, 5
    dd = Deduplicator(DedupeConfig(lsh=LSHConfig(bucket_cap=cap)))
    matches = [r.match for r in dd.run(Record(str(k), text) for k in range(n))]
    assert all(m.duplicate_of == "0" and m.cluster == "0" for m in matches[1:])
    assert dd.counters.candidates == sum(min(k, cap) for k in range(n))  # every band holds the same bucket
    assert len(dd.index) == n


def test_a_shared_index_caps_the_buckets_of_other_processes_too(redis_url):
    from dedupe import RedisBackend, RedisIndex

    text = "same short page"
    config = DedupeConfig(lsh=LSHConfig(bucket_cap=3))
    shared = [RedisIndex(redis_url), RedisIndex(redis_url)]
    backends = [RedisBackend(shared[0]), RedisBackend(shared[1])]
    first, second = Deduplicator(config, backend=backends[0]), Deduplicator(config, backend=backends[1])
    try:
        list(first.run(Record(f"a{k}", text) for k in range(600)))
        matches = [r.match for r in second.run(Record(f"b{k}", text) for k in range(50))]
    finally:
        for index in shared:
            index.close()
    assert len(backends[0].own) == 600 and backends[0].candidates_seen == 0
    assert all(m.duplicate_of == "a0" and m.cluster == "a0" for m in matches)
    assert backends[1].candidates_seen == 50 * 3  # the 3 smallest numbers of the one bucket, all of the first process


# --------------------------------------------------------------------------- CLI and the saved index


def _corpus(tmp_path, n: int = 60):
    rng = random.Random(5)
    lines = []
    for k in range(n):
        text = "breaking news update" if k % 3 else " ".join(rng.choice(["a", "b", "c", "d"]) for _ in range(12))
        lines.append(json.dumps({"id": f"d{k}", "text": text}))
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_scan_reports_the_cap_and_decides_as_the_reference(cli, tmp_path):
    path = _corpus(tmp_path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for cap in (0, 2):
        result = cli(["scan", path, "--bucket-cap", cap, "--report", tmp_path / "r.json"])
        assert result.exit_code == 0, result.stderr
        report = json.loads((tmp_path / "r.json").read_text())
        assert report["parameters"]["bucket_cap"] == cap
        got = [json.loads(line)["dedupe"] for line in result.stdout_bytes.splitlines()]
        want = reference_matches([r["text"] for r in records], [r["id"] for r in records],
                                 DedupeConfig(lsh=LSHConfig(bucket_cap=cap)))
        assert got == [m.as_dict() for m in want]


def test_a_bad_bucket_cap_exits_2(cli, tmp_path):
    result = cli(["filter", _corpus(tmp_path), "--bucket-cap", "-3"])
    assert result.exit_code == 2 and "--bucket-cap (bucket_cap) must be a whole number" in result.stderr


def test_an_index_built_with_another_cap_is_refused(cli, tmp_path):
    path, index = _corpus(tmp_path), tmp_path / "idx"
    assert cli(["scan", path, "--index", index, "--bucket-cap", "8"]).exit_code == 0
    result = cli(["scan", path, "--index", index, "--bucket-cap", "4"])
    assert result.exit_code == 5 and "bucket_cap=8 (this run: 4)" in result.stderr
    assert cli(["scan", path, "--index", index, "--bucket-cap", "8"]).exit_code == 0


def test_an_index_saved_before_the_cap_existed_is_used_only_without_a_cap(cli, tmp_path):
    path, index = _corpus(tmp_path), tmp_path / "idx"
    assert cli(["scan", path, "--index", index, "--bucket-cap", "0"]).exit_code == 0
    store = IndexStore.open(str(index), DedupeConfig(lsh=LSHConfig(bucket_cap=0)).index_parameters())
    del store.manifest["parameters"]["bucket_cap"]  # as written before the key existed
    store.write_manifest()
    result = cli(["scan", path, "--index", index])
    assert result.exit_code == 5
    assert f"bucket_cap=0 (this run: {LSHConfig().bucket_cap})" in result.stderr
    assert cli(["scan", path, "--index", index, "--bucket-cap", "0"]).exit_code == 0


def _batched_pairs(rows: np.ndarray, indexed: list[bool], cap: int, cuts: list[int]) -> tuple[Counter, set]:
    """The candidate pairs of :meth:`BandIndex.match_pairs` (the numpy table; a batch queried and inserted at
    once; a pair once per key that gives it) and of :meth:`BandIndex.match_batch` (each pair once, sorted), with
    the same batches and flushes as :func:`_incremental_pairs`."""
    index = BandIndex(bands=rows.shape[1], cap=cap, batched=True)
    unique = BandIndex(bands=rows.shape[1], cap=cap, batched=True)
    pairs: Counter = Counter()
    once: list[tuple[int, int]] = []
    for lo, hi in zip([0, *cuts], [*cuts, len(rows)]):
        mask = np.array(indexed[lo:hi], dtype=bool)
        found_rows, found_positions = index.match_pairs(rows[lo:hi], lo, mask)
        pairs.update(zip((lo + found_rows).tolist(), found_positions.tolist()))
        batch_rows, batch_positions = unique.match_batch(rows[lo:hi], lo, mask)
        batch = list(zip(batch_rows.tolist(), batch_positions.tolist()))
        assert batch == sorted(set(batch))  # each pair once, by row then position
        once.extend((lo + r, j) for r, j in batch)
        index.maybe_flush()
        unique.maybe_flush()
    return pairs, set(once)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cap=st.integers(0, 4), bands=st.integers(1, 4), n=st.integers(1, 60))
def test_the_batched_form_gives_the_incremental_forms_pairs(data, cap, bands, n):
    alphabet = data.draw(st.integers(1, bands + 4), label="alphabet")  # few keys: buckets collide and fill
    # Keys may repeat within a row here (two bands with one key), which the incremental form inserts twice.
    rows = np.array(data.draw(st.lists(st.lists(st.integers(0, alphabet - 1), min_size=bands, max_size=bands),
                                       min_size=n, max_size=n), label="rows"), dtype=np.uint64)
    indexed = data.draw(st.lists(st.integers(0, 5).map(bool), min_size=n, max_size=n), label="indexed")
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1)), label="batch ends")) if n > 1 else []
    flush_at = data.draw(st.integers(1, 2 * alphabet + 2), label="flush at")
    max_run = data.draw(st.sampled_from([4, 16, 1 << 23]), label="max run")
    with mock.patch("dedupe.core.lsh.FLUSH_ENTRIES", flush_at), mock.patch("dedupe.core.lsh.MAX_RUN_ENTRIES", max_run):
        expected = _incremental_pairs(rows, indexed, cap, cuts)
        pairs, once = _batched_pairs(rows, indexed, cap, cuts)
        assert pairs == expected
        assert once == set(expected)


def test_a_batched_index_takes_whole_batches_only():
    index = BandIndex(bands=2, batched=True)
    with pytest.raises(ValueError, match="match_batch"):
        index.insert(0, [1, 2])
    rows, positions = index.match_batch(np.array([[1, 2], [1, 3]], dtype=np.uint64), 0, np.array([True, True]))
    assert list(zip(rows.tolist(), positions.tolist())) == [(1, 0)]  # the second shares key 1 with the first
    rows, positions = index.match_batch(np.array([[5, 3]], dtype=np.uint64), 2, np.array([True]))
    assert list(zip(rows.tolist(), positions.tolist())) == [(0, 1)]  # key 3 of position 1, now in a sorted run
