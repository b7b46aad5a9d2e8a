"""The index backend interface: the matcher decides against any IndexBackend the same way.

``ListBackend`` is a plain-Python backend written from the interface's docstrings alone. Two matchers sharing it
must decide exactly as two matchers sharing a real Redis index do, batch by batch: so the matcher does not
depend on where the shared index lives, and the Redis backend does what the interface says.
"""

from __future__ import annotations

import contextlib
import random

import pytest

from dedupe import DedupeConfig, LSHConfig, Record
from dedupe.core.backend import InMemory
from dedupe.core.matcher import Deduplicator
from dedupe.features.batch import compute_features


class ListBackend:
    """Documents in a list, numbered in order of addition; band key -> numbers."""

    def __init__(self, store: dict) -> None:
        self.store = store  # shared by the processes' backends: {"docs": [...], "keys": {key: [numbers]}}
        self.own: set[int] = set()

    def lock(self):
        return contextlib.nullcontext()

    def candidates(self, keys, cap):
        out = []
        for row in keys.tolist():
            found = set()
            for key in row:
                numbers = self.store["keys"].get(key, [])
                found.update(numbers[:cap] if cap else numbers)
            out.append([self.store["docs"][n] for n in sorted(found - self.own)])
        return out

    def add(self, documents):
        for rid, cluster, row, payload, kept in documents():
            number = len(self.store["docs"])
            self.store["docs"].append((rid, cluster, payload, kept))
            self.own.add(number)
            for key in row.tolist():
                self.store["keys"].setdefault(key, []).append(number)

    def about(self):
        return {"documents": len(self.store["docs"])}


def _corpus(seed: int, n: int) -> list[Record]:
    rng = random.Random(seed)
    bases = [" ".join(rng.choice("abcdefghij") + str(rng.randrange(30)) for _ in range(40)) for _ in range(12)]
    out = []
    for k in range(n):
        words = rng.choice(bases).split()
        for _ in range(rng.randrange(4)):
            words[rng.randrange(len(words))] = "edit" + str(rng.randrange(1000))
        out.append(Record(f"r{k}", " ".join(words) if k % 17 else ""))
    return out


def _interleaved(first: Deduplicator, second: Deduplicator, records: list[Record], batch: int = 8) -> list:
    """Batches go to the two matchers in turn, as two processes taking turns at a shared index's lock."""
    config = first.config
    decided = []
    for turn, start in enumerate(range(0, len(records), batch)):
        chunk = records[start : start + batch]
        hashes, signatures, keys, _ = compute_features([r.text for r in chunk], config)
        dd = first if turn % 2 == 0 else second
        decided += [m.as_dict() for m in dd.add_batch([r.id for r in chunk], hashes, signatures, keys)]
    return decided


@pytest.mark.parametrize("cap", [0, 2])
def test_two_matchers_sharing_a_backend_find_each_others_documents(cap):
    config = DedupeConfig(lsh=LSHConfig(threshold=0.5, bucket_cap=cap))
    store: dict = {"docs": [], "keys": {}}
    first, second = Deduplicator(config, backend=ListBackend(store)), Deduplicator(config, backend=ListBackend(store))
    decided = _interleaved(first, second, _corpus(3, 120))
    # The second matcher's first batch (records 8..15) names documents only the first matcher holds (0..7).
    assert any(d["duplicate_of"] and int(d["duplicate_of"][1:]) < 8 for d in decided[8:16])
    assert len(store["docs"]) == sum(1 for r in _corpus(3, 120) if r.text)  # every record with shingles, once


def test_the_default_backend_is_in_memory_and_adds_nothing():
    records = _corpus(4, 60)
    config = DedupeConfig(lsh=LSHConfig(threshold=0.5))
    default = [r.match for r in Deduplicator(config).run(records)]
    explicit = Deduplicator(config, backend=InMemory())
    assert [r.match for r in explicit.run(records)] == default
    assert explicit.backend.about() is None


@pytest.mark.parametrize("cap", [0, 2])
def test_redis_and_a_plain_backend_give_the_same_decisions(redis_url, cap):
    from dedupe import RedisIndex
    from dedupe.index.shared import RedisBackend

    config = DedupeConfig(lsh=LSHConfig(threshold=0.5, bucket_cap=cap))
    records = _corpus(5, 160)
    store: dict = {"docs": [], "keys": {}}
    plain = _interleaved(
        Deduplicator(config, backend=ListBackend(store)), Deduplicator(config, backend=ListBackend(store)), records
    )
    indexes = [RedisIndex(redis_url), RedisIndex(redis_url)]
    try:
        indexes[0].clear()
        backends = [RedisBackend(index) for index in indexes]
        redis = _interleaved(Deduplicator(config, backend=backends[0]), Deduplicator(config, backend=backends[1]), records)
        assert backends[0].about()["documents_after"] == len(store["docs"])
    finally:
        indexes[0].clear()
        for index in indexes:
            index.close()
    assert redis == plain
    assert sum(d["duplicate_of"] is not None for d in plain) > 40
