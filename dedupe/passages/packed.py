"""The passage features of a batch, packed in a few flat arrays.

A feature worker sends a batch's passage features to the main process. As one :class:`DocPassages` per text they
are some twenty Python objects and arrays per passage, which cost more to pickle and unpickle than the features
themselves; packed, a batch is about fifteen arrays. :class:`PassageBatch` is still a sequence of
:class:`DocPassages`, each made (as views of the arrays) when first asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from .bulk import sketch
from .ragged import flat, offsets_of, rows_of, take


@dataclass
class DocPassages:
    """The passages of one text and what matching needs of them (a pure function of the text).

    Attributes:
        spans: (start, end) code point span of each matchable passage.
        units: Unit ordinal of each passage in the document (adjacency).
        exact: Hash of each passage's normalized words.
        shingles: Character n-gram hashes of each passage (sorted unique).
        keys: LSH band keys, shape (passages, bands).
        token_spans: (start, end) of every word of the document, shape (words, 2).
        token_ranges: [first, last) word index of each passage.
        windows: Hash of the word window starting at each word (positional).
        numbers: Hashes of the numbers written in each passage (sorted unique).
        wordy: Whether each passage has at least ``min_words`` plain words
            (two characters or more, no digit, not a name), which near
            matching needs (table rows and lists of names do not).
        names: The names each passage states, encoded (:func:`~dedupe.passages.names.encode`).
        plain: The distinct plain words of each passage (two characters or
            more, no digit, not a name), as sorted hashes.
    """

    spans: list[tuple[int, int]]
    units: list[int]
    exact: list[int]
    shingles: Sequence[np.ndarray]
    keys: np.ndarray
    token_spans: np.ndarray
    token_ranges: list[tuple[int, int]]
    windows: np.ndarray
    numbers: Sequence[np.ndarray]
    wordy: list[bool]
    names: Sequence[np.ndarray]
    plain: Sequence[np.ndarray]


class Rows(Sequence[np.ndarray]):
    """Arrays ``a .. b - 1`` of arrays stored back to back (``values``, with ``offsets`` as a list), each made as
    a view when asked for."""

    __slots__ = ("_first", "_n", "_offsets", "_values")

    def __init__(self, values: np.ndarray, offsets: list[int], a: int, b: int) -> None:
        self._values, self._offsets, self._first, self._n = values, offsets, a, b - a

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, k: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, k: slice) -> list[np.ndarray]: ...

    def __getitem__(self, k: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self._n))]
        if not -self._n <= k < self._n:
            raise IndexError(k)
        i = self._first + k % self._n
        return self._values[self._offsets[i] : self._offsets[i + 1]]


class PassageBatch(Sequence[DocPassages]):
    """The :class:`DocPassages` of a batch's texts, packed (see the module docstring).

    Example:
        >>> from dedupe.passages.segment import passage_features
        >>> batch = passage_features(["One two three four five six seven.", ""])
        >>> len(batch), batch[0].spans, batch[1].spans
        (2, [(0, 34)], [])
    """

    def __init__(
        self,
        passages_at: np.ndarray,
        spans: np.ndarray,
        units: np.ndarray,
        exact: np.ndarray,
        wordy: np.ndarray,
        token_ranges: np.ndarray,
        shingles: tuple[np.ndarray, np.ndarray],
        numbers: tuple[np.ndarray, np.ndarray],
        keys: np.ndarray,
        token_spans: tuple[np.ndarray, np.ndarray],
        windows: tuple[np.ndarray, np.ndarray],
        sketches: tuple[np.ndarray, np.ndarray] | None = None,
        names: tuple[np.ndarray, np.ndarray] | None = None,
        plain: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Per text: ``passages_at`` (where its passages start, one more entry at the end); per passage:
        ``spans`` (P, 2), ``units``, ``exact``, ``wordy``, ``token_ranges`` (P, 2), ``keys`` (P, bands); as
        (values, offsets) pairs: ``shingles`` and ``numbers`` by passage, ``token_spans`` ((W, 2), offsets by
        text) and ``windows`` (offsets by text); ``sketches``: the shingles' :func:`~dedupe.passages.bulk.sketch`
        (made here when not given); ``names``, ``plain``: each passage's encoded names and plain words, as
        (values, offsets by passage) (none when not given)."""
        self.passages_at = passages_at
        self.spans, self.units, self.exact, self.wordy, self.token_ranges = spans, units, exact, wordy, token_ranges
        self.shingles, self.shingles_at = shingles
        self.numbers, self.numbers_at = numbers
        self.keys = keys
        self.token_spans, self.words_at = token_spans
        self.windows, self.windows_at = windows
        self.sketches = sketches if sketches is not None else sketch(self.shingles, self.shingles_at)
        none = (np.zeros(0, dtype=np.uint64), np.zeros(len(spans) + 1, dtype=np.int64))
        self.names: np.ndarray
        self.names_at: np.ndarray
        self.plain: np.ndarray
        self.plain_at: np.ndarray
        self.names, self.names_at = names if names is not None else none
        self.plain, self.plain_at = plain if plain is not None else none
        self._lists: dict[str, Any] | None = None
        self._items: dict[int, DocPassages] = {}

    @classmethod
    def of(cls, docs: Sequence[DocPassages], bands: int) -> PassageBatch:
        """Pack :class:`DocPassages` made one by one."""
        return cls(
            offsets_of([len(d.spans) for d in docs]),
            np.array([s for d in docs for s in d.spans], dtype=np.int64).reshape(-1, 2),
            np.array([u for d in docs for u in d.units], dtype=np.int64),
            np.array([h for d in docs for h in d.exact], dtype=np.uint64),
            np.array([w for d in docs for w in d.wordy], dtype=bool),
            np.array([r for d in docs for r in d.token_ranges], dtype=np.int64).reshape(-1, 2),
            flat([s for d in docs for s in d.shingles]),
            flat([n for d in docs for n in d.numbers]),
            np.concatenate([d.keys.reshape(-1, bands) for d in docs]) if docs else np.empty((0, bands), np.uint64),
            (
                np.concatenate([d.token_spans.reshape(-1, 2) for d in docs]) if docs else np.empty((0, 2), np.int64),
                offsets_of([len(d.token_spans) for d in docs]),
            ),
            flat([d.windows for d in docs]),
            names=flat([n for d in docs for n in d.names]),
            plain=flat([w for d in docs for w in d.plain]),
        )

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_lists", "_items")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lists = None
        self._items = {}

    def select(self, docs: Sequence[int]) -> PassageBatch:
        """The batch of texts ``docs`` (ascending), as its own packed batch."""
        idx = np.asarray(docs, dtype=np.int64)
        p_rows = rows_of(self.passages_at, idx)
        return PassageBatch(
            offsets_of(np.diff(self.passages_at)[idx]),
            self.spans[p_rows],
            self.units[p_rows],
            self.exact[p_rows],
            self.wordy[p_rows],
            self.token_ranges[p_rows],
            take(self.shingles, self.shingles_at, p_rows),
            take(self.numbers, self.numbers_at, p_rows),
            self.keys[p_rows],
            (self.token_spans[rows_of(self.words_at, idx)], offsets_of(np.diff(self.words_at)[idx])),
            take(self.windows, self.windows_at, idx),
            (self.sketches[0][p_rows], self.sketches[1][p_rows]),
            take(self.names, self.names_at, p_rows),
            take(self.plain, self.plain_at, p_rows),
        )

    def __len__(self) -> int:
        return len(self.passages_at) - 1

    def __iter__(self) -> Iterator[DocPassages]:
        return (self[k] for k in range(len(self)))

    @overload
    def __getitem__(self, k: int) -> DocPassages: ...

    @overload
    def __getitem__(self, k: slice) -> list[DocPassages]: ...

    def __getitem__(self, k: int | slice) -> DocPassages | list[DocPassages]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if not -len(self) <= k < len(self):
            raise IndexError(k)
        k %= len(self)
        item = self._items.get(k)
        if item is not None:
            return item
        lists = self._lists
        if lists is None:  # once per batch: every per-passage field as Python values
            lists = self._lists = {
                "passages_at": self.passages_at.tolist(),
                "words_at": self.words_at.tolist(),
                "windows_at": self.windows_at.tolist(),
                "spans": list(zip(*self.spans.T.tolist())) if len(self.spans) else [],
                "units": self.units.tolist(),
                "exact": self.exact.tolist(),
                "wordy": self.wordy.tolist(),
                "token_ranges": list(zip(*self.token_ranges.T.tolist())) if len(self.token_ranges) else [],
                "shingles_at": self.shingles_at.tolist(),
                "numbers_at": self.numbers_at.tolist(),
                "names_at": self.names_at.tolist(),
                "plain_at": self.plain_at.tolist(),
            }
        a, b = lists["passages_at"][k], lists["passages_at"][k + 1]
        s_at, n_at = lists["shingles_at"], lists["numbers_at"]
        shingles, numbers = self.shingles, self.numbers
        item = self._items[k] = DocPassages(
            spans=lists["spans"][a:b],
            units=lists["units"][a:b],
            exact=lists["exact"][a:b],
            shingles=Rows(shingles, s_at, a, b),
            keys=self.keys[a:b],
            token_spans=self.token_spans[lists["words_at"][k] : lists["words_at"][k + 1]],
            token_ranges=lists["token_ranges"][a:b],
            windows=self.windows[lists["windows_at"][k] : lists["windows_at"][k + 1]],
            numbers=Rows(numbers, n_at, a, b),
            wordy=lists["wordy"][a:b],
            names=Rows(self.names, lists["names_at"], a, b),
            plain=Rows(self.plain, lists["plain_at"], a, b),
        )
        return item
