"""Quotes: runs of word windows that a document's unmatched passages share with earlier documents.

Every window of ``window`` words of a passage that matched nothing is looked up among the windows of earlier
documents (each document's distinct windows are indexed once, at their first position); consecutive windows
found at consecutive positions of one earlier document form one quote, starting at the earliest occurrence of
its first window. A quote every window of which is in ``boilerplate_docs`` documents or more (counting this one)
is a formula ("he told BBC Radio 4's Today programme", "the company said in a statement"), of kind
``boilerplate``; other quotes are of kind ``exact``. :meth:`QuoteWindows.quotes` does it for one document at a
time (the reference);
:meth:`QuoteWindows.quotes_batch` for a whole batch at once, with the same result: which windows a document
indexes depends only on which of its passages matched nothing, so the batch's windows, what each document
indexes and what earlier documents of the batch indexed are all known once the batch's passages are decided.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np

from ..core.lsh import BandIndex
from .packed import DocPassages, PassageBatch
from .ragged import aranges
from .spans import PassageMatch

# A run being built: (first window, last window, first entry, last entry, fewest earlier documents of a window).
Run = tuple[int, int, int, int, int]
# Characters of a script written without spaces that weigh as much as one word in a quote's length (a Chinese word
# is one to three characters, a Japanese one two to four).
CHARS_PER_WORD = 2


def long_enough(spans: np.ndarray, window: int) -> bool:
    """Whether words of these ``spans`` (consecutive words of a text) weigh ``window`` words or more, a character of
    a script without spaces weighing 1 / :data:`CHARS_PER_WORD`.

    Two consecutive words touch (no character between them) only where one is such a character ("python的",
    "的新"); every such join takes 1 - 1 / CHARS_PER_WORD from the count of words, so words of the other scripts
    weigh one each and a run of ``n`` characters ``1 + (n - 1) / CHARS_PER_WORD``.

    Example:
        >>> t = "ファイルシステムをマウントする"
        >>> chars = np.array([(k, k + 1) for k in range(len(t))])
        >>> long_enough(chars[:8], 8), long_enough(chars, 8), long_enough(np.array([(0, 3), (4, 6)]), 2)
        (False, True, True)
    """
    joins = int(np.count_nonzero(spans[1:, 0] == spans[:-1, 1]))
    return CHARS_PER_WORD * len(spans) - (CHARS_PER_WORD - 1) * joins >= CHARS_PER_WORD * window


def _append(target: array, values: np.ndarray) -> None:
    """Append ``values`` to a 32-bit array.

    Raises:
        OverflowError: a value does not fit 32 bits (more than 2^31 - 1 documents, or a text that long).
    """
    if len(values) and not (int(values.min()) >= 0 and int(values.max()) < 2**31):
        raise OverflowError("a quote window's document number or text offset does not fit 32 bits")
    target.frombytes(np.ascontiguousarray(values, dtype=np.int32).tobytes())


class QuoteWindows:
    """The word windows of earlier documents (entries numbered in the order they were indexed: document, word),
    and the quotes found against them."""

    def __init__(self, window: int, boilerplate_docs: int) -> None:
        self.window = window
        self.boilerplate_docs = boilerplate_docs
        self.index = BandIndex(1, filtered=False, narrow=True)
        # Per entry: document number, word index, span of the window in that document; 32 bits each (a document
        # number or text offset beyond 2^31 - 1 is refused, see _append).
        self.doc = array("i")
        self.word = array("i")
        self.start = array("i")
        self.end = array("i")

    def __len__(self) -> int:
        return len(self.doc)

    def export(self, first: int) -> dict[str, np.ndarray]:
        """The entries from ``first`` on (``pm_windows``: document, word, start, end; and their keys)."""
        keys, positions = self.index.export(first)
        rows = np.stack(
            [np.frombuffer(a, dtype=np.int32)[first:] for a in (self.doc, self.word, self.start, self.end)], axis=1
        )
        return {"pm_windows": rows, "pm_window_keys": keys, "pm_window_positions": positions}

    def restore(self, seg: dict[str, np.ndarray]) -> None:
        """Add the entries of one :meth:`export`."""
        for column, target in zip(seg["pm_windows"].reshape(-1, 4).T, (self.doc, self.word, self.start, self.end)):
            _append(target, column)
        self.index.load(seg["pm_window_keys"], seg["pm_window_positions"])

    def _quote(self, run: Run, spans: np.ndarray, doc_ids: Sequence[str]) -> PassageMatch:
        first, last, e0, e1, least = run
        return PassageMatch(
            int(spans[first, 0]),
            int(spans[last + self.window - 1, 1]),
            "boilerplate" if least + 1 >= self.boilerplate_docs else "exact",
            1.0,
            doc_ids[self.doc[e0]],
            self.start[e0],
            self.end[e1],
            unit="quote",
        )

    def _ranges(self, f: DocPassages, novel: list[int]) -> list[tuple[int, int]]:
        """The window positions [a, b) of each unmatched passage that holds a whole window."""
        n = self.window
        return [(a, b - n + 1) for a, b in (f.token_ranges[k] for k in novel) if b - n + 1 > a]

    def _walk(
        self,
        ranges: list[tuple[int, int]],
        hit_positions: list[int],
        hits_of: dict[int, list[int]],
        spans: np.ndarray,
        doc_ids: Sequence[str],
    ) -> list[PassageMatch]:
        """The quotes of one document: ``hit_positions`` (ascending) are its windows found earlier, ``hits_of``
        their earlier entries (ascending)."""
        out: list[PassageMatch] = []
        w_doc, w_word = self.doc, self.word
        hit_at = 0
        for _a, b in ranges:
            run: Run | None = None
            while hit_at < len(hit_positions) and hit_positions[hit_at] < b:
                i = hit_positions[hit_at]
                hit_at += 1
                hits = hits_of[i]
                if run is not None and run[1] == i - 1:
                    last = run[3]
                    follow = [x for x in hits if w_doc[x] == w_doc[last] and w_word[x] == w_word[last] + 1]
                    if follow:
                        run = (run[0], i, run[2], follow[0], min(run[4], len(hits)))
                        continue
                if run is not None:
                    self._close(out, run, spans, doc_ids)
                e = min(hits)  # the earliest occurrence
                run = (i, i, e, e, len(hits))
            if run is not None:
                self._close(out, run, spans, doc_ids)
        return out

    def _close(self, out: list[PassageMatch], run: Run, spans: np.ndarray, doc_ids: Sequence[str]) -> None:
        """Add the quote of a run of windows, unless it is too short (:func:`long_enough`)."""
        if long_enough(spans[run[0] : run[1] + self.window], self.window):
            out.append(self._quote(run, spans, doc_ids))

    def _add(self, doc: int, positions: np.ndarray, spans: np.ndarray) -> None:
        n = self.window
        self.doc.extend([doc] * len(positions))
        self.word.extend(positions.tolist())
        self.start.extend(spans[positions, 0].tolist())
        self.end.extend(spans[positions + n - 1, 1].tolist())

    def quotes(
        self,
        doc: int,
        f: DocPassages,
        novel: list[int],
        win_earlier: dict[int, list[int]],
        w_at: int,
        doc_ids: Sequence[str],
    ) -> list[PassageMatch]:
        """The quotes of one document (number ``doc``; ``novel``: its passages that matched nothing), then its
        windows indexed. ``win_earlier``: the sorted runs' entries for the batch's windows (this document's start
        at ``w_at``); the entries since the last flush are looked up one by one."""
        ranges = self._ranges(f, novel)
        if not ranges:
            return []
        positions = np.concatenate([np.arange(a, b) for a, b in ranges])
        hashes = f.windows[positions]
        # Which windows were seen before: in the sorted runs (queried for the batch) or the recent dict.
        recent = self.index.recent
        seen = np.fromiter(map(recent.__contains__, hashes.tolist()), dtype=bool, count=len(hashes))
        if win_earlier:
            seen |= np.fromiter(
                map(win_earlier.__contains__, (positions + w_at).tolist()), dtype=bool, count=len(hashes)
            )
        hit_positions = positions[seen].tolist()
        hits_of: dict[int, list[int]] = {}
        for i in hit_positions:
            hits = list(win_earlier.get(w_at + i, ()))
            more = recent.get(int(f.windows[i]))
            if more is not None:
                hits += [more] if isinstance(more, int) else more
            hits_of[i] = hits
        out = self._walk(ranges, hit_positions, hits_of, f.token_spans, doc_ids)
        # Every window of these passages is indexed (once per document), so a later copy finds the longest run.
        _, first = np.unique(hashes, return_index=True)
        first.sort()
        start = len(self.doc)
        self._add(doc, positions[first], f.token_spans)
        self.index.insert_many(range(start, len(self.doc)), hashes[first].tolist())
        return out

    def quotes_batch(
        self, docs: list[int], batch: PassageBatch, novels: list[list[int]], doc_ids: Sequence[str]
    ) -> list[list[PassageMatch]]:
        """:meth:`quotes` of consecutive documents (numbers ``docs``, their features ``batch``), all at once."""
        n = self.window
        self.index.flush()
        out: list[list[PassageMatch]] = [[] for _ in range(len(batch))]
        # The window positions [a, b) of each unmatched passage that holds a whole window, as arrays.
        novel = np.zeros(len(batch.spans), dtype=bool)
        passages_at = batch.passages_at.tolist()
        novel[[passages_at[t] + k for t, ks in enumerate(novels) for k in ks]] = True
        first, stop = batch.token_ranges[:, 0], batch.token_ranges[:, 1] - n + 1
        held = np.flatnonzero(novel & (stop > first))
        if not len(held):
            return out
        range_doc = np.searchsorted(batch.passages_at, held, "right") - 1
        widths = stop[held] - first[held]
        # Every window looked up, as arrays over the batch: its document (in the batch), position and hash.
        q_doc = np.repeat(range_doc, widths)
        q_pos = aranges(first[held], widths)
        q_hash = batch.windows[batch.windows_at[q_doc] + q_pos]
        # What each document indexes: its first window of each hash, in position order; entries numbered on.
        base = len(self.doc)
        # One sort serves all: by hash, then document, then position (stable).
        order = np.lexsort((q_doc, q_hash))
        o_hash, o_doc = q_hash[order], q_doc[order]
        new_group = np.ones(len(order), dtype=bool)
        new_group[1:] = (o_doc[1:] != o_doc[:-1]) | (o_hash[1:] != o_hash[:-1])
        first_h = order[new_group]  # each (document, hash)'s first window, by hash then document
        reg = np.sort(first_h)  # the same, in (document, position) order: the entries' order
        reg_doc, reg_pos = q_doc[reg], q_pos[reg]
        entry_of = np.empty(len(q_hash), dtype=np.int64)
        entry_of[reg] = base + np.arange(len(reg))
        spans = batch.token_spans
        word = batch.words_at[reg_doc] + reg_pos
        for target, values in (
            (self.doc, np.asarray(docs, dtype=np.int64)[reg_doc]),
            (self.word, reg_pos),
            (self.start, spans[word, 0]),
            (self.end, spans[word + n - 1, 1]),
        ):
            _append(target, values)
        # Windows found in earlier batches (the sorted runs) and in earlier documents of this batch.
        from_runs = self.index.query_runs_sparse(q_hash[:, None], order=order)
        sorted_hash, sorted_doc, sorted_entry = q_hash[first_h], q_doc[first_h], entry_of[first_h]
        # Each window's hash first indexed by which (document, hash) group: the first group of its hash.
        group = np.cumsum(new_group) - 1
        hash_start = np.ones(len(order), dtype=bool)
        hash_start[1:] = o_hash[1:] != o_hash[:-1]
        first_group = np.maximum.accumulate(np.where(hash_start[new_group], np.arange(len(first_h)), 0))
        lo = np.empty(len(q_hash), dtype=np.int64)
        lo[order] = first_group[group]
        seen = sorted_doc[lo] < q_doc  # the first document indexing it came earlier
        if from_runs:
            seen[np.fromiter(from_runs, dtype=np.int64, count=len(from_runs))] = True
        hit = np.flatnonzero(seen)
        hit_doc = q_doc[hit]
        bounds = np.searchsorted(hit_doc, np.arange(len(batch) + 1)).tolist()
        hit_list, hit_lo, hit_pos = hit.tolist(), lo[hit].tolist(), q_pos[hit].tolist()
        entries, docs_sorted, hashes_sorted = sorted_entry.tolist(), sorted_doc.tolist(), sorted_hash.tolist()
        q_hashes = q_hash[hit].tolist()
        for t in range(len(batch)):
            a, b = bounds[t], bounds[t + 1]
            if a == b:
                continue
            hits_of: dict[int, list[int]] = {}
            for k in range(a, b):
                hits = list(from_runs.get(hit_list[k], ()))
                j = hit_lo[k]
                while j < len(docs_sorted) and hashes_sorted[j] == q_hashes[k] and docs_sorted[j] < t:
                    hits.append(entries[j])
                    j += 1
                hits_of[hit_pos[k]] = hits
            f = batch[t]
            out[t] = self._walk(self._ranges(f, novels[t]), hit_pos[a:b], hits_of, f.token_spans, doc_ids)
        self.index.add_sorted_run(sorted_hash, sorted_entry)  # by hash, then entry: the run as it is kept
        return out
