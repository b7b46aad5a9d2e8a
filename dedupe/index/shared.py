"""The shared Redis index as the matcher's backend (see :class:`~dedupe.core.backend.IndexBackend`).

A :class:`RedisBackend` answers a batch's band keys with the documents other processes added to the
:class:`~dedupe.index.redis.RedisIndex` (never this process's own: the matcher already holds those), and adds
the documents this process indexes, so that later batches of every process find them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ..core.backend import Added, Held
from .redis import RedisIndex


class RedisBackend:
    """Decide against a :class:`RedisIndex` too; each batch under the index's lock.

    Attributes:
        index: The shared index.
        candidates_seen: Candidates found in the shared index (other processes' documents).
        own: The numbers of this process's documents in the shared index.
    """

    def __init__(self, index: RedisIndex) -> None:
        self.index = index
        self.candidates_seen = 0
        self.own: set[int] = set()

    def lock(self) -> AbstractContextManager[object]:
        return self.index.lock()

    def candidates(self, keys: np.ndarray, cap: int) -> list[list[Held]]:
        found = [[ref for ref in refs if ref not in self.own] for refs in self.index.query(keys, cap)]
        docs = self.index.fetch(sorted({ref for refs in found for ref in refs}))
        self.candidates_seen += sum(map(len, found))
        return [[docs[ref] for ref in refs] for refs in found]  # refs ascend: the earliest document first

    def add(self, documents: Callable[[], list[Added]]) -> None:
        self.own.update(self.index.add(documents()))

    def about(self) -> dict[str, Any]:
        return {
            "url": self.index.target.display(),
            "documents_after": len(self.index),
            "documents_added": len(self.own),
            "candidates": self.candidates_seen,
        }
