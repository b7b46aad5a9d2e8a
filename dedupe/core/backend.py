"""Where the matcher finds the documents it does not hold: the index backend interface.

The matcher decides each record against its own documents (this process's stream and what it loaded from an
index directory, in :class:`~dedupe.core.lsh.BandIndex` and :class:`~dedupe.core.documents.Documents`), and
against whatever its backend answers, in the spirit of datasketch's ``Storage``: one interface, so the
matching core never branches on where the index lives.

- :class:`InMemory` (the default): the process holds the whole index; there is nothing else to ask.
- :class:`~dedupe.index.shared.RedisBackend`: documents that other processes added to a shared Redis index.

Per batch the matcher holds :meth:`IndexBackend.lock`, asks :meth:`IndexBackend.candidates` for the batch's
band keys, verifies them like its own candidates, decides the batch, and hands the documents it indexed to
:meth:`IndexBackend.add`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

# A document held by the backend: its id, the id of its cluster, what verification reads (the bytes of a
# numpy array: shingle hashes, or a signature with --verify estimate), and whether it was kept (only a kept
# document can be a later record's duplicate_of).
Held = tuple[str, str, bytes, bool]

# A document the matcher hands the backend: id, cluster id, band key row (uint64, shape (bands,)), payload, kept.
Added = tuple[str, str, np.ndarray, bytes, bool]


class IndexBackend(Protocol):
    """The documents outside the matcher's own memory that a record is also decided against."""

    def lock(self) -> AbstractContextManager[object]:
        """Held around one batch's candidates, decisions and add, so processes see whole batches of each other."""
        ...

    def candidates(self, keys: np.ndarray, cap: int) -> list[list[Held]]:
        """Per row of band keys (n, bands), the backend's documents under any of its keys, earliest first
        (at most ``cap`` per key, the earliest; all with 0)."""
        ...

    def add(self, documents: Callable[[], list[Added]]) -> None:
        """Hold the documents a batch indexed (built only when called: a backend that keeps nothing skips it)."""
        ...

    def about(self) -> dict[str, Any] | None:
        """The report's ``index`` section for this backend, or None."""
        ...


class InMemory:
    """The backend of a matcher that holds the whole index itself: no other documents, nothing to add."""

    def lock(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def candidates(self, keys: np.ndarray, cap: int) -> list[list[Held]]:
        return [[] for _ in range(len(keys))]

    def add(self, documents: Callable[[], list[Added]]) -> None:
        pass

    def about(self) -> dict[str, Any] | None:
        return None
