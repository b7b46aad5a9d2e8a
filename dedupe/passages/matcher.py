"""Repeated passages within and across documents: exact, reworded, boilerplate.

Segmentation and features: :mod:`dedupe.passages.segment`.

Matching (sequential, in stream order), for each passage of a kept document:

1. exact: the hash of its normalized words (case-folded, punctuation
   dropped) against a dict of every earlier passage;
2. near: MinHash LSH over character n-grams of the normalized words, the
   candidates sharing the most bands first, at most ``max_candidates`` of
   them verified by exact Jaccard; the two must share ``min_words`` plain
   words and agree on the numbers and names they state (the pair rules,
   :mod:`dedupe.passages.facts`); only passages
   with ``min_words`` plain words (two characters or more, no digit, not a
   name) take part (table rows such as "Revs 2.3 mln vs 2.0 mln" and lists of
   names repeat exactly or not at all); passages that matched nothing are indexed,
   near repeats only when their similarity is below ``index_below`` and exact
   repeats never, so a passage repeated a thousand times costs one index entry
   and its repeats find it in one step;
3. quotes: word windows of ``window`` words of passages that matched nothing,
   looked up among the windows of earlier documents; a run of matching
   windows is one quote, a formula (kind boilerplate) when every window of it
   is in ``boilerplate_docs`` documents;
4. boilerplate: a passage whose group (the first occurrence and everything
   matched to it) has been seen in ``boilerplate_docs`` distinct documents.

Adjacent passages repeating adjacent passages of the same earlier document
are reported as one span.

The spans found (:class:`PassageMatch`), their merging and their removal from
a text: :mod:`dedupe.passages.spans`; the run's counters and its report:
:mod:`dedupe.passages.stats`.
"""

from __future__ import annotations

import itertools
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..config import PassageConfig
from ..core.lsh import BandIndex
from ..core.similarity import jaccard_flat
from ..index.segments import pack_strings, unpack_strings
from .bulk import Sketches, batch_pairs, exact_repeats, sketch
from .facts import Facts, FactStore, batch_facts, rejects
from .packed import DocPassages, PassageBatch
from .quotes import QuoteWindows
from .ragged import take
from .segment import passage_features
from .spans import PassageMatch, coalesce, remove_spans
from .stats import PassageStats, passage_report
from .store import ShingleStore

# PassageMatch and remove_spans are imported from here too (dedupe, dedupe.core.matcher, the report).
__all__ = ["PassageMatch", "PassageMatcher", "PassageStats", "remove_spans"]


class PassageMatcher:
    """Finds repeated passages of each document against all earlier ones (and itself).

    Example:
        >>> pm = PassageMatcher()
        >>> quote = "Pakistan stands with Azerbaijan in its quest to resolve the issue."
        >>> pm.add("a", "Intro words are here today. " + quote)
        []
        >>> [(m.kind, m.match_id) for m in pm.add("b", quote + " Other words follow it here now.")]
        [('exact', 'a')]
    """

    def __init__(self, config: PassageConfig | None = None, bulk: bool = True) -> None:
        self.config = config if config is not None else PassageConfig()
        # Candidates and similarities a batch at a time (add_batch); False: each passage on its own.
        self.bulk = bulk
        self.bands, self.rows = self.config.bands_rows
        self.stats = PassageStats()
        self._doc_ids: list[str] = []
        # Every registered passage: document, span, unit ordinal, group (first occurrence).
        self._p_doc = array("q")
        self._p_start = array("q")
        self._p_end = array("q")
        self._p_unit = array("q")
        self._p_group = array("q")
        # Per group (indexed by its first passage): occurrences, distinct documents, last document.
        self._g_count = array("q")
        self._g_docs = array("q")
        self._g_last = array("q")
        self._g_text: dict[int, str] = {}  # second occurrence's text (the first is not kept), for groups that repeat
        self._exact: dict[int, int] = {}
        self._index = BandIndex(self.bands, filtered=False, narrow=True)
        self._shingles = ShingleStore()
        self._facts = FactStore()
        self._sketches = Sketches()  # by position: the bound that spares most exact Jaccards (bulk path)
        # Word windows of earlier documents, for quotes.
        self._windows = QuoteWindows(self.config.window, self.config.boilerplate_docs)
        # What the last export covered (documents, passages, windows, exact hashes, group texts), and the
        # groups changed since; None until track() (an index keeps passages between runs).
        self._marks = (0, 0, 0, 0, 0)
        self._dirty: set[int] | None = None

    def track(self) -> None:
        """Record changed groups from now on, for :meth:`export` (an index saves the passage state)."""
        self._dirty = set()

    def export(self) -> dict[str, np.ndarray]:
        """What was added or changed since the previous export, as named arrays (``pm_*``); :meth:`restore`
        reads them back. Append-only state is sliced at the previous marks; groups whose counters changed
        are written again with their new values."""
        docs, passages, windows, exact, texts = self._marks
        n_docs, n_p, n_w = len(self._doc_ids), len(self._p_doc), len(self._windows)
        doc_ids, doc_offsets = pack_strings(self._doc_ids[docs:])
        changed = sorted({g for g in (self._dirty or ()) if g < passages} | set(range(passages, n_p)))
        g_ids = np.array(changed, dtype=np.int64)
        g_vals = (
            np.stack(
                [np.frombuffer(a, dtype=np.int64)[g_ids] for a in (self._g_count, self._g_docs, self._g_last)], axis=1
            )
            if len(g_ids)
            else np.empty((0, 3), dtype=np.int64)
        )
        new_exact = list(itertools.islice(self._exact.items(), exact, None))
        new_texts = list(itertools.islice(self._g_text.items(), texts, None))
        text_bytes, text_offsets = pack_strings([t for _, t in new_texts])
        shingles, shingle_offsets = self._shingles.export(passages, n_p)
        keys, positions = self._index.export(passages)

        def rows(arrays: tuple[array, ...], start: int) -> np.ndarray:
            return np.stack([np.frombuffer(a, dtype=np.int64)[start:] for a in arrays], axis=1)

        out: dict[str, np.ndarray] = (
            {
                "pm_doc_ids": doc_ids,
                "pm_doc_offsets": doc_offsets,
                "pm_passages": rows((self._p_doc, self._p_start, self._p_end, self._p_unit, self._p_group), passages),
                "pm_group_ids": g_ids,
                "pm_group_values": g_vals,
                "pm_exact_keys": np.array([h for h, _ in new_exact], dtype=np.uint64),
                "pm_exact_values": np.array([p for _, p in new_exact], dtype=np.int64),
                "pm_text_groups": np.array([g for g, _ in new_texts], dtype=np.int64),
                "pm_texts": text_bytes,
                "pm_text_offsets": text_offsets,
                "pm_shingles": shingles,
                "pm_shingle_offsets": shingle_offsets,
                "pm_band_keys": keys,
                "pm_band_positions": positions,
            }
            | self._facts.export(passages, n_p)
            | self._windows.export(windows)
        )
        self._marks = (n_docs, n_p, n_w, len(self._exact), len(self._g_text))
        if self._dirty is not None:
            self._dirty = set()
        return out

    def restore(self, seg: dict[str, np.ndarray]) -> None:
        """Add one exported delta (segments in order); the inverse of :meth:`export`.

        Raises:
            ValueError: the arrays are inconsistent (a damaged index).
        """
        self._doc_ids.extend(unpack_strings(seg["pm_doc_ids"], seg["pm_doc_offsets"], "passage document ids"))
        passages = seg["pm_passages"].reshape(-1, 5)
        for column, target in zip(passages.T, (self._p_doc, self._p_start, self._p_end, self._p_unit, self._p_group)):
            target.frombytes(np.ascontiguousarray(column, dtype=np.int64).tobytes())
        for target in (self._g_count, self._g_docs, self._g_last):
            target.frombytes(np.zeros(len(passages), dtype=np.int64).tobytes())
        g_ids, g_vals = seg["pm_group_ids"], seg["pm_group_values"].reshape(-1, 3)
        if len(g_ids) != len(g_vals) or (len(g_ids) and (g_ids.min() < 0 or g_ids.max() >= len(self._p_doc))):
            raise ValueError("inconsistent passage state (groups)")
        for column, target in zip(g_vals.T, (self._g_count, self._g_docs, self._g_last)):
            view = np.frombuffer(target, dtype=np.int64)
            view[g_ids] = column
        self._exact.update(zip(seg["pm_exact_keys"].tolist(), seg["pm_exact_values"].tolist()))
        texts = unpack_strings(seg["pm_texts"], seg["pm_text_offsets"], "passage texts")
        if len(texts) != len(seg["pm_text_groups"]):
            raise ValueError("inconsistent passage state (texts)")
        self._g_text.update(zip(seg["pm_text_groups"].tolist(), texts))
        self._shingles.extend(seg["pm_shingles"], seg["pm_shingle_offsets"])
        self._facts.extend(seg)
        if not len(self._shingles) == len(self._facts) == len(self._p_doc):
            raise ValueError("inconsistent passage state (shingles)")
        # The sketches are a function of the shingles: made again rather than saved.
        values, offsets = self._shingles.export(len(self._sketches), len(self._p_doc))
        self._sketches.append(*sketch(values, offsets))
        self._index.load(seg["pm_band_keys"], seg["pm_band_positions"])
        self._windows.restore(seg)
        self._marks = (len(self._doc_ids), len(self._p_doc), len(self._windows), len(self._exact), len(self._g_text))

    def add(self, record_id: str, text: str) -> list[PassageMatch]:
        """Find the repeated passages of one document, then remember its passages."""
        return self.add_batch([record_id], [text], passage_features([text], self.config))[0]

    def add_batch(
        self, ids: Sequence[str], texts: Sequence[str], features: Sequence[DocPassages]
    ) -> list[list[PassageMatch]]:
        """:meth:`add` for consecutive documents whose features are computed.

        The batch's candidates and similarities are computed for the whole batch at once
        (:mod:`dedupe.passages.bulk`), then each passage is decided in stream order; with :attr:`bulk` False
        (or a batch too large for it), each passage looks up and verifies its own candidates. Both give the same
        matches (``tests/test_passage_bulk.py``).
        """
        start = time.perf_counter()
        if not isinstance(features, PassageBatch):
            features = PassageBatch.of(features, self.bands)
        out = self._add_bulk(ids, texts, features) if self.bulk and len(features) else None
        if out is None:
            out = self._add_each(ids, texts, features)
        self._sketches.append(*features.sketches)
        self.stats.seconds += time.perf_counter() - start
        return out

    def _add_each(
        self, ids: Sequence[str], texts: Sequence[str], features: Sequence[DocPassages]
    ) -> list[list[PassageMatch]]:
        """Each passage's candidates looked up and verified on its own (the reference for the bulk path)."""
        # The sorted runs do not change within a batch: one query for all its passages and windows.
        from_runs = self._index.query_runs_sparse(np.concatenate([f.keys for f in features])) if features else {}
        windows = self._windows
        win_runs = (
            windows.index.query_runs_sparse(np.concatenate([f.windows for f in features])[:, None]) if features else {}
        )
        out = []
        p_at = w_at = 0
        index = self._index

        def near(k: int, f: DocPassages) -> tuple[int, float]:
            candidates = from_runs.get(p_at + k, []) + index.query_recent(f.keys[k].tolist())
            return self._near(f.shingles[k], (f.numbers[k], f.names[k], f.plain[k]), candidates)

        def insert(p: int, k: int, f: DocPassages) -> None:
            index.insert(p, f.keys[k].tolist(), f.keys[k])
            self._shingles.put(p, f.shingles[k])
            self._facts.put(p, (f.numbers[k], f.names[k], f.plain[k]))

        for rid, text, f in zip(ids, texts, features):
            doc = len(self._doc_ids)
            found, novel = self._decide(rid, text, f, near, insert)
            quotes = windows.quotes(doc, f, novel, win_runs, w_at, self._doc_ids) if self.config.window else []
            out.append(self._finish(found, quotes))
            p_at += len(f.spans)
            w_at += len(f.windows)
        index.maybe_flush()
        windows.index.maybe_flush()
        self._shingles.settle(len(self._p_doc))
        return out

    def _add_bulk(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        batch: PassageBatch,
    ) -> list[list[PassageMatch]] | None:
        """The batch's candidates and similarities at once (:func:`~dedupe.passages.bulk.batch_pairs`), then each
        passage decided in stream order; None (nothing done) when the batch is too large for it."""
        cfg = self.config
        if not len(batch.spans):
            return self._add_each(ids, texts, batch)
        features = list(batch)
        shingles = (batch.shingles, batch.shingles_at)
        keys = batch.keys
        repeats = exact_repeats(batch.exact.tolist(), self._exact)
        wordy = batch.wordy
        query = wordy & ~repeats
        indexable = wordy | (repeats if cfg.index_below > 1.0 else np.zeros_like(repeats))
        self._index.flush()
        pairs = batch_pairs(
            self._index,
            self._shingles,
            self._sketches,
            keys,
            shingles,
            batch.sketches,
            query,
            indexable,
            cfg.max_candidates,
            cfg.threshold,
        )
        if pairs is None:
            return None
        base = len(self._p_doc)
        indexed = bytearray(len(batch.spans))

        def pending(p: int) -> Facts | None:
            """The facts of a passage of this batch (stored with the batch's others at its end)."""
            return batch_facts(batch, p - base) if p >= base else None

        early_at, late_at = pairs.early_at.tolist(), pairs.late_at.tolist()
        early_raw, early_hit = pairs.early_raw.tolist(), pairs.early_hit.tolist()
        # Passages whose near repeat is settled now: no earlier candidate reaches the threshold and none of the
        # batch's could. Their candidates are counted here (as near() would count them); near() skips them.
        settled = query & ~pairs.early_hit & (pairs.late_at[1:] == pairs.late_at[:-1])
        self.stats.count_settled(pairs.early_raw[settled & (np.diff(batch.shingles_at) > 0)], cfg.max_candidates)
        skip = settled.tolist()
        late_passage, late_count, late_sim = (
            x.tolist() for x in (pairs.late_passage, pairs.late_count, pairs.late_sim)
        )
        threshold = cfg.threshold
        p_at = 0

        def near(k: int, f: DocPassages) -> tuple[int, float]:
            i = p_at + k
            if skip[i] or len(f.shingles[k]) == 0:
                return -1, 0.0
            a, b, c, d = early_at[i], early_at[i + 1], late_at[i], late_at[i + 1]
            late = [t for t in range(c, d) if indexed[late_passage[t]]] if c < d else []
            raw = early_raw[i] + len(late)
            if raw == 0:
                return -1, 0.0
            if not early_hit[i] and not any(late_sim[t] >= threshold for t in late):
                # None reaches the threshold: which are chosen cannot matter.
                self.stats.count_candidates(raw, cfg.max_candidates)
                return -1, 0.0
            positions = pairs.early_position[a:b].tolist()
            counts = dict(zip(positions, pairs.early_count[a:b].tolist()))
            sims = dict(zip(positions, pairs.early_sim[a:b].tolist()))
            for t in late:
                counts[base + late_passage[t]] = late_count[t]
                sims[base + late_passage[t]] = late_sim[t]
            chosen = self._chosen(counts, raw)
            sims_chosen = np.array([sims[p] for p in chosen], dtype=np.float64)
            return self._best(chosen, sims_chosen, (f.numbers[k], f.names[k], f.plain[k]), pending)

        def insert(p: int, k: int, f: DocPassages) -> None:
            indexed[p - base] = 1

        # Documents whose every passage is sure to match nothing (no exact repeat, near repeat settled or not
        # looked for) are registered at once; the others are decided passage by passage.
        sure = ~repeats & (settled | ~wordy)
        unsure_before = np.concatenate(([0], np.cumsum(~sure)))
        all_sure = (unsure_before[batch.passages_at[1:]] == unsure_before[batch.passages_at[:-1]]).tolist()
        first_doc = len(self._doc_ids)
        decided = []
        for rid, text, f, novel in zip(ids, texts, features, all_sure):
            decided.append(self._decide_novel(rid, f, insert) if novel else self._decide(rid, text, f, near, insert))
            p_at += len(f.spans)
        # The indexed passages' band keys, in key order (the batch's keys were sorted once): the batch's run.
        was_indexed = np.frombuffer(indexed, dtype=bool)
        entries = pairs.key_order[np.repeat(was_indexed, self.bands)[pairs.key_order]]
        self._index.add_sorted_run(keys.ravel()[entries], base + entries // self.bands)
        stored = np.flatnonzero(was_indexed)  # the batch's indexed passages
        self._shingles.settle_many(len(self._p_doc), stored + base, *take(batch.shingles, batch.shingles_at, stored))
        self._facts.put_batch((stored + base).tolist(), batch, stored)
        # Quotes depend on which passages matched nothing, never the other way: the batch's at once.
        docs = list(range(first_doc, first_doc + len(features)))
        novels = [novel for _, novel in decided]
        quotes = (
            self._windows.quotes_batch(docs, batch, novels, self._doc_ids)
            if self.config.window
            else [[] for _ in features]
        )
        return [self._finish(found, q) for (found, _), q in zip(decided, quotes)]

    def _register(self, doc: int, span: tuple[int, int], unit: int, group: int) -> int:
        p = len(self._p_doc)
        self._p_doc.append(doc)
        self._p_start.append(span[0])
        self._p_end.append(span[1])
        self._p_unit.append(unit)
        self._p_group.append(p if group < 0 else group)
        self._g_count.append(1)
        self._g_docs.append(1)
        self._g_last.append(doc)
        return p

    def _decide(
        self,
        rid: str,
        text: str,
        f: DocPassages,
        near: Callable[[int, DocPassages], tuple[int, float]],
        insert: Callable[[int, int, DocPassages], None],
    ) -> tuple[list[tuple[int, int, PassageMatch, int]], list[int]]:
        """Decide each passage of a document in order: ``near(k, f)`` gives passage k's near repeat (position and
        similarity; -1 for none), ``insert(p, k, f)`` puts passage k, registered as position p, in the index
        (its band keys, shingles and numbers).

        Returns:
            The repeats found, as (unit, matched unit, match, matched document), and the passages that matched
            nothing (whose word windows are looked up for quotes).
        """
        cfg, st = self.config, self.stats
        doc = len(self._doc_ids)
        self._doc_ids.append(rid)
        st.documents += 1
        st.passages += len(f.spans)
        found: list[tuple[int, int, PassageMatch, int]] = []  # (unit, match unit, match, match doc)
        novel: list[int] = []
        for k, span in enumerate(f.spans):
            h = f.exact[k]
            j = self._exact.get(h, -1)
            sim = 1.0
            kind = "exact"
            wordy = f.wordy[k]
            if j >= 0:
                st.exact_hits += 1
            elif wordy:
                j, sim = near(k, f)
                kind = "near"
            if j < 0:
                p = self._register(doc, span, f.units[k], -1)
                self._exact[h] = p
                if wordy:
                    insert(p, k, f)
                    st.indexed += 1
                novel.append(k)
                continue
            g = self._p_group[j]
            if self._dirty is not None:
                self._dirty.add(g)
            self._g_count[g] += 1
            if self._g_last[g] != doc:
                self._g_last[g] = doc
                self._g_docs[g] += 1
            if g not in self._g_text:
                self._g_text[g] = " ".join(text[span[0] : span[1]].split())[:200]
            if self._g_docs[g] >= cfg.boilerplate_docs:
                kind = "boilerplate"
            p = self._register(doc, span, f.units[k], g)
            self._exact.setdefault(h, p)
            if sim < cfg.index_below:  # a loose near repeat: its own neighbours may be out of its match's reach
                insert(p, k, f)
                st.indexed += 1
            match = PassageMatch(
                span[0], span[1], kind, round(sim, 6), self._doc_ids[self._p_doc[j]], self._p_start[j], self._p_end[j]
            )
            found.append((f.units[k], self._p_unit[j], match, self._p_doc[j]))
        return found, novel

    def _decide_novel(
        self, rid: str, f: DocPassages, insert: Callable[[int, int, DocPassages], None]
    ) -> tuple[list[tuple[int, int, PassageMatch, int]], list[int]]:
        """:meth:`_decide` for a document none of whose passages repeats anything (known beforehand): every
        passage registered as a group of its own, its hash remembered and, when wordy, indexed."""
        st = self.stats
        doc = len(self._doc_ids)
        self._doc_ids.append(rid)
        n = len(f.spans)
        st.documents += 1
        st.passages += n
        p0 = len(self._p_doc)
        self._p_doc.extend([doc] * n)
        self._p_start.extend(s for s, _ in f.spans)
        self._p_end.extend(e for _, e in f.spans)
        self._p_unit.extend(f.units)
        self._p_group.extend(range(p0, p0 + n))
        self._g_count.extend([1] * n)
        self._g_docs.extend([1] * n)
        self._g_last.extend([doc] * n)
        self._exact.update(zip(f.exact, range(p0, p0 + n)))
        for k, wordy in enumerate(f.wordy):
            if wordy:
                insert(p0 + k, k, f)
                st.indexed += 1
        return [], list(range(n))

    def _finish(
        self, found: list[tuple[int, int, PassageMatch, int]], quotes: list[PassageMatch]
    ) -> list[PassageMatch]:
        """A document's matches: adjacent repeats as one span, then its quotes, in text order; counted."""
        st = self.stats
        matches = coalesce(found)
        if self.config.window:
            matches.extend(quotes)
            matches.sort(key=lambda m: (m.start, m.end))
        for m in matches:
            st.found[m.repeat_kind] += 1
            st.chars[m.repeat_kind] += m.end - m.start
        return matches

    def _near(self, shingles: np.ndarray, facts: Facts, candidates: list[int]) -> tuple[int, float]:
        """The near repeat of one passage among ``candidates`` (positions, once per band key shared)."""
        if not candidates or len(shingles) == 0:
            return -1, 0.0
        counts = Counter(candidates)
        chosen = self._chosen(counts, len(counts))
        # Exact Jaccard of every chosen candidate in one pass.
        others = [self._shingles.get(j) for j in chosen]
        sizes = np.fromiter(map(len, others), dtype=np.int64, count=len(others))
        return self._best(chosen, jaccard_flat(shingles, np.concatenate(others), sizes), facts)

    def _chosen(self, counts: dict[int, int], raw: int) -> list[int]:
        """The candidates verified, ascending: all of them, or the ``max_candidates`` sharing the most bands
        (ties: the earliest) when there are more (``raw``: how many; ``counts`` holds at least those)."""
        self.stats.count_candidates(raw, self.config.max_candidates)
        if raw > self.config.max_candidates:
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: self.config.max_candidates]
            return sorted(p for p, _ in ranked)
        return sorted(counts)

    def _best(
        self,
        chosen: list[int],
        sims: np.ndarray,
        facts: Facts,
        pending: Callable[[int], Facts | None] | None = None,
    ) -> tuple[int, float]:
        """The most similar candidate at or above the threshold (ties: the earliest) that shares at least
        ``min_words`` plain words with the passage and agrees on its numbers and names (``facts``: the
        passage's numbers, names and plain words; ``pending``: those of a position not stored yet, else None)."""
        cfg = self.config
        for k in np.argsort(-sims, kind="stable").tolist():
            if sims[k] < cfg.threshold:
                break
            p = chosen[k]
            theirs = pending(p) if pending is not None else None
            why = rejects(cfg, facts, theirs if theirs is not None else self._facts.get(p))
            if why is None:
                return p, float(sims[k])
            self.stats.count_rejected(why)
        return -1, 0.0

    def top_passages(self, limit: int = 20) -> list[dict[str, Any]]:
        """The most repeated passage groups: text (as in the second occurrence), occurrences, documents,
        first occurrence."""
        return [entry for _, _, entry in self.top_groups(limit)]

    def top_groups(self, limit: int = 20) -> list[tuple[int, int, dict[str, Any]]]:
        """:meth:`top_passages` with the order they come in: (occurrences, the matcher's number of the document
        of the first occurrence, entry); groups are numbered in stream order, so ties go to the first seen."""
        groups = sorted(self._g_text, key=lambda g: (-self._g_count[g], g))[:limit]
        return [
            (
                self._g_count[g],
                self._p_doc[g],
                {
                    "text": self._g_text[g],
                    "occurrences": self._g_count[g],
                    "documents": self._g_docs[g],
                    "first": {"id": self._doc_ids[self._p_doc[g]], "start": self._p_start[g], "end": self._p_end[g]},
                },
            )
            for g in groups
        ]

    def report(self, removing: bool = False) -> dict[str, Any]:
        """Counts for the run report; ``removing``: what a filter run removed from the texts."""
        return passage_report(self.config, self.stats, self.top_passages(), removing)
