"""What a near repeat must share with its match besides its character n-grams, kept per indexed passage.

A passage's *facts* are the numbers it states, the names it states (:mod:`dedupe.passages.names`) and its plain
words (two characters or more, no digit, not a name). A candidate at or above the threshold is a near repeat only
if the pair rules accept it (:func:`rejects`): at least ``min_words`` plain words in common, numbers shared both
ways (``numbers``), names that agree (``names``). :class:`FactStore` keeps the facts of every indexed passage by
position, as the shingle store keeps its shingles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import PassageConfig
from ..core.similarity import ArrayStore
from .names import names_agree
from .packed import PassageBatch
from .ragged import take
from .segment import numbers_agree, shared_words

# A passage's facts: its numbers, its names (encoded) and its plain words, each a uint64 array.
Facts = tuple[np.ndarray, np.ndarray, np.ndarray]
# The saved arrays of each kind of fact (values, offsets), in Facts order.
_SAVED = (("pm_numbers", "pm_number_offsets"), ("pm_names", "pm_name_offsets"), ("pm_plain", "pm_plain_offsets"))


def rejects(config: PassageConfig, ours: Facts, theirs: Facts) -> str | None:
    """The pair rule that rejects a near repeat ("words", "numbers" or "names", checked in that order), or None
    when every rule the configuration turns on accepts it.

    Example:
        >>> from dedupe.passages.segment import passage_features
        >>> a, b = passage_features(["Acme Corp said sales rose 5 pct.", "Bolt Inc said sales rose 5 pct."])
        >>> facts = lambda f: (f.numbers[0], f.names[0], f.plain[0])
        >>> rejects(PassageConfig(min_words=3), facts(a), facts(b))
        'names'
        >>> rejects(PassageConfig(min_words=3, names=False), facts(a), facts(b)) is None
        True
    """
    if shared_words(ours[2], theirs[2]) < config.min_words:
        return "words"
    if config.numbers and not numbers_agree(ours[0], theirs[0]):
        return "numbers"
    if config.names and not names_agree(ours[1], theirs[1]):
        return "names"
    return None


def batch_facts(batch: PassageBatch, k: int) -> Facts:
    """The facts of passage ``k`` of a batch."""
    return (
        batch.numbers[batch.numbers_at[k] : batch.numbers_at[k + 1]],
        batch.names[batch.names_at[k] : batch.names_at[k + 1]],
        batch.plain[batch.plain_at[k] : batch.plain_at[k + 1]],
    )


class FactStore:
    """The facts of indexed passages by position (three :class:`~dedupe.core.similarity.ArrayStore`)."""

    def __init__(self) -> None:
        self._stores = tuple(ArrayStore(np.uint64) for _ in _SAVED)

    def __len__(self) -> int:
        return len(self._stores[0])

    def put(self, position: int, facts: Facts) -> None:
        for store, values in zip(self._stores, facts):
            store.put(position, values)

    def put_batch(self, positions: Sequence[int], batch: PassageBatch, rows: np.ndarray) -> None:
        """The facts of passages ``rows`` of a batch under ``positions``."""
        columns = ((batch.numbers, batch.numbers_at), (batch.names, batch.names_at), (batch.plain, batch.plain_at))
        for store, (values, offsets) in zip(self._stores, columns):
            store.put_many(positions, *take(values, offsets, rows))

    def get(self, position: int) -> Facts:
        numbers, names, plain = (store.get(position) for store in self._stores)
        return numbers, names, plain

    def export(self, first: int, stop: int) -> dict[str, np.ndarray]:
        """Positions ``first .. stop - 1`` as named arrays; :meth:`extend` reads them back."""
        out: dict[str, np.ndarray] = {}
        for store, (values, offsets) in zip(self._stores, _SAVED):
            out[values], out[offsets] = store.export(first, stop)
        return out

    def extend(self, seg: dict[str, np.ndarray]) -> None:
        for store, (values, offsets) in zip(self._stores, _SAVED):
            store.extend(seg[values], seg[offsets])
