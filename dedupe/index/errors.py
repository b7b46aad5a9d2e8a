"""What can go wrong with an index directory: one exception per kind, all :class:`IndexStoreError`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class IndexStoreError(Exception):
    """A problem with ``--index`` a user can fix (base class)."""


class IndexWriteError(IndexStoreError):
    """A checkpoint could not be written (the previous one stays)."""


class IndexCorrupt(IndexStoreError):
    """The index on disk fails a check: truncated, altered, or not an index."""


class IndexMismatch(IndexStoreError):
    """The index was built with parameters that make its signatures incomparable with this run's."""


class IndexNotFound(IndexStoreError):
    """``create=False`` and there is no index at the path (nothing was created there)."""


class IndexLocked(IndexStoreError):
    """Another writer holds the index's lock (its message names the holder and what to do).

    Attributes:
        holder: what the lock file says about its holder (pid, host, started,
            command), or None when it cannot be read.
        lock_path: the lock file.
    """

    def __init__(self, message: str, holder: dict[str, Any] | None = None, lock_path: str = "") -> None:
        super().__init__(message)
        self.holder = holder
        self.lock_path = lock_path


def unit_hash_note(
    differing: Iterable[str], stored: dict[str, Any] | None = None, current: dict[str, Any] | None = None
) -> str:
    """What to say when an index's parameters (``stored``) differ from a run's (``current``) in ``differing``
    keys: nothing, or, when words were hashed or cut another way (the unit hash, the passages' word hash, the
    words of scripts without spaces) or passages were decided by other rules, that no option makes the index
    usable again."""
    differing = list(differing)
    before, now = ((p or {}).get("passages") for p in (stored, current))
    if not (isinstance(before, dict) and isinstance(now, dict) and "passages" in differing):
        before = now = {}
    if "hash" in differing or before.get("word_hash") != now.get("word_hash"):
        return (
            " Its hash differs: it was built by an earlier dedupe, which hashed words another way, so no option "
            "makes it comparable: build a new index."
        )
    if "words" in differing or before.get("words") != now.get("words"):
        return (
            " It was built by an earlier dedupe, which took a run of Chinese, Japanese, Thai (or other script "
            "written without spaces) characters as one word, so no option makes it comparable: build a new index."
        )
    if before.get("rules") != now.get("rules"):
        return (
            " Its passages were decided by the rules of an earlier dedupe (before the rules on plain words, "
            "numbers and names), so no option makes them comparable: build a new index."
        )
    return ""
