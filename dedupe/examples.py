"""The documents an HTML report shows: a display copy of every text, kept on disk while the run goes.

The report shows the largest clusters (member beside representative) and the documents with the most
repeated text, which are only known at the end of the run, while the stream keeps no text. So
:class:`Examples` writes each record's id, decision and first ``text_limit`` characters to an anonymous
temporary file (the memory cost is one 8-byte offset per record) and reads back the few it shows.

:func:`read_annotated` turns a ``scan`` output back into the results of the run, so that a report built
later (``dedupe report``) goes through the same code as one built during the run.
"""

from __future__ import annotations

import heapq
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .clusters import UnionFind
from .passages import PassageMatch
from .pipeline import Match, Result
from .records import Record, Rejected

REPEAT_KINDS = ("exact", "near", "boilerplate", "quote")


@dataclass(frozen=True)
class Shown:
    """One record as the report shows it.

    Attributes:
        position: Its place among this run's records (0-based, rejected lines not counted).
        id, text: The record's id and its text cut at the display limit; ``length`` is the full length.
        cluster, duplicate_of, similarity: Its decision.
        passages: Its repeated spans (None for duplicates or without ``--passages``).
    """

    position: int
    id: str
    text: str
    length: int
    cluster: str
    duplicate_of: str | None
    similarity: float | None
    passages: list[PassageMatch] | None


def _clean(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:  # a lone surrogate: shown as U+FFFD
        return text.encode("utf-8", "replace").decode("utf-8")


class Examples:
    """Watches the results of a run and keeps what the HTML report shows of them.

    Args:
        copy_limit: Characters of each text written to the temporary file (what a cluster's side-by-side view
            shows): the file holds at most this many characters per record.
        text_limit: Characters kept of the documents the passage view shows (held in memory, a few dozen).
        passage_documents: How many documents to keep for the passage view: for each kind of repeat (exact, near,
            boilerplate, quote), the ``per_kind`` documents with the most characters of that kind, then the
            documents with the most repeated characters of any kind up to this number.
        per_kind: See ``passage_documents``.
        rejected_samples: How many rejected lines to keep (source, line, code, reason).

    Example:
        >>> from dedupe.pipeline import deduplicate
        >>> from dedupe.records import Record
        >>> ex = Examples()
        >>> text = "Pakistan stands with Azerbaijan in its quest to resolve the issue"
        >>> _ = list(ex.watch(deduplicate([Record("a", text), Record("b", text + "!")])))
        >>> shown = ex.read([1])[1]
        >>> shown.id, shown.duplicate_of, shown.similarity
        ('b', 'a', 1.0)
        >>> ex.close()
    """

    def __init__(self, copy_limit: int = 3_000, text_limit: int = 20_000, passage_documents: int = 30,
                 rejected_samples: int = 50, per_kind: int = 4) -> None:
        self.copy_limit = copy_limit
        self.text_limit = text_limit
        self._longer: dict[int, str] = {}  # position -> text up to text_limit, for the documents in the heaps
        self._file = tempfile.TemporaryFile(prefix="dedupe-report-")
        self._offsets = array("Q", [0])
        self._passage_limit = passage_documents
        # (characters, -position, all repeated characters) of the documents with the most repeated characters, of
        # any kind and per kind: a page of only the largest (often near-whole copies) shows no other kind.
        self._passage_heap: list[tuple[int, int, int]] = []
        self._kind_heaps: dict[str, list[tuple[int, int, int]]] = {k: [] for k in REPEAT_KINDS}
        self._per_kind = per_kind
        self.rejected: list[dict[str, Any]] = []
        self._rejected_limit = rejected_samples

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def watch(self, items: Iterable[Result | Rejected]) -> Iterator[Result | Rejected]:
        """Pass ``items`` through, keeping each one's display copy."""
        for item in items:
            if isinstance(item, Rejected):
                if len(self.rejected) < self._rejected_limit:
                    self.rejected.append({"source": item.source, "line": item.line, "code": item.code,
                                          "reason": item.reason})
            else:
                self.add(item)
            yield item

    def add(self, result: Result) -> None:
        """Keep one result's display copy."""
        position = len(self)
        text = result.record.text
        passages = result.passages
        row = [result.record.id, _clean(text[: self.copy_limit]), len(text), result.match.cluster,
               result.match.duplicate_of, result.match.similarity,
               None if passages is None else [m.as_dict() for m in passages]]
        self._file.seek(0, 2)
        self._file.write(orjson.dumps(row))
        self._offsets.append(self._file.tell())
        if passages:
            total = sum(m.end - m.start for m in passages)
            by_kind: dict[str, int] = {}
            for m in passages:
                kind = "quote" if m.unit == "quote" else m.kind
                by_kind[kind] = by_kind.get(kind, 0) + m.end - m.start
            heaps = [(self._passage_heap, total, self._passage_limit)]
            heaps += [(self._kind_heaps.setdefault(k, []), c, self._per_kind) for k, c in by_kind.items()]
            dropped = []
            kept = False
            for heap, chars, limit in heaps:
                entered, out = _keep(heap, (chars, -position, total), limit)
                kept |= entered
                if out is not None:
                    dropped.append(-out[1])
            if kept and len(text) > self.copy_limit:
                self._longer[position] = _clean(text[: self.text_limit])
            for p in dropped:  # no longer in any heap: its longer text is not needed
                if p in self._longer and not self._in_heaps(p):
                    del self._longer[p]

    def _in_heaps(self, position: int) -> bool:
        return any(e[1] == -position for heap in (self._passage_heap, *self._kind_heaps.values()) for e in heap)

    def read(self, positions: Iterable[int]) -> dict[int, Shown]:
        """The display copies of the records at ``positions`` (this run's, 0-based)."""
        out: dict[int, Shown] = {}
        for p in sorted(set(positions)):
            self._file.seek(self._offsets[p])
            row = orjson.loads(self._file.read(self._offsets[p + 1] - self._offsets[p]))
            passages = None if row[6] is None else [_passage(d) for d in row[6]]
            out[p] = Shown(p, row[0], self._longer.get(p, row[1]), row[2], row[3], row[4], row[5], passages)
        return out

    def passage_documents(self) -> list[int]:
        """Positions of the documents the passage view shows (see ``passage_documents``), those with the most
        repeated characters first (ties: earliest first)."""
        total = {-p: t for heap in (self._passage_heap, *self._kind_heaps.values()) for _, p, t in heap}
        chosen = {-p for heap in self._kind_heaps.values() for _, p, _ in heap}
        for _, p, _ in sorted(self._passage_heap, reverse=True):
            if len(chosen) >= self._passage_limit:
                break
            chosen.add(-p)
        return sorted(chosen, key=lambda p: (-total[p], p))[: self._passage_limit]

    def find_ids(self, wanted: dict[str, int]) -> dict[str, int]:
        """For each id, the position of its last record before the given position (one pass over the copies):
        where a passage's match lives."""
        found: dict[str, int] = {}
        if not wanted:
            return found
        self._file.seek(0)
        for p in range(len(self)):
            head = self._file.read(self._offsets[p + 1] - self._offsets[p])
            rid = orjson.loads(head)[0]
            if rid in wanted and p < wanted[rid]:
                found[rid] = p
        return found

    def close(self) -> None:
        self._file.close()


def _keep(heap: list[tuple[int, int, int]], entry: tuple[int, int, int],
          limit: int) -> tuple[bool, tuple[int, int, int] | None]:
    """Keep the ``limit`` largest entries in a min-heap: (whether ``entry`` went in, the entry pushed out)."""
    if len(heap) < limit:
        heapq.heappush(heap, entry)
        return True, None
    if heap and entry > heap[0]:
        return True, heapq.heapreplace(heap, entry)
    return False, None


def _passage(d: dict[str, Any]) -> PassageMatch:
    m = d["match"]
    return PassageMatch(d["start"], d["end"], d["kind"], d["similarity"], m["id"], m["start"], m["end"],
                        d.get("unit", "passage"))


class AnnotationError(ValueError):
    """A line of a ``dedupe report`` input that is not a ``scan`` output record."""


def result_of(record: Record) -> Result:
    """The result a ``scan`` wrote for this record, from its ``dedupe`` annotation.

    Raises:
        AnnotationError: The line has no usable annotation (naming the line).
    """
    where = f"{record.source}:{record.line}"
    if not record.has_annotation:
        raise AnnotationError(f"{where}: no \"dedupe\" key: give a 'dedupe scan' output (filter writes none)")
    try:
        note = orjson.loads(record.raw)["dedupe"]
        match = Match(str(note["cluster"]), None if note["duplicate_of"] is None else str(note["duplicate_of"]),
                      None if note["similarity"] is None else float(note["similarity"]))
        passages = note.get("passages")
        found = None if passages is None else [_passage(d) for d in passages]
    except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
        raise AnnotationError(f"{where}: the \"dedupe\" annotation is not a scan's ({exc.__class__.__name__}: "
                              f"{exc})") from None
    return Result(record, match, found)


class AnnotationClusters:
    """The clusters of a ``scan`` output, rebuilt from its annotations.

    Each record is linked to the record its ``cluster`` names and to its ``duplicate_of``. That recovers every
    cluster as written, but not always the final ones: a record that matched two clusters names only its best
    match, and when that match is in the cluster whose first member becomes the label, the link to the other
    cluster is in no annotation. The run's JSON report lists the final clusters; :meth:`join` adds them.
    Ids no record of the file has (earlier runs', from an index) become members without text. An id names its
    latest record at that point (a repeated id names the record just before).
    """

    def __init__(self) -> None:
        self._uf = UnionFind()
        self._where: dict[str, int] = {}
        self._ids: list[str] = []
        self._external: set[int] = set()

    def _node(self, rid: str) -> int:
        node = self._where.get(rid)
        if node is None:  # not a record of this file: an earlier run's document
            node = self._uf.add()
            self._ids.append(rid)
            self._external.add(node)
            self._where[rid] = node
        return node

    def add(self, result: Result) -> None:
        label, dup = result.match.cluster, result.match.duplicate_of
        targets = []
        # Looked up before this record takes its id, so a repeated id names the record before. A kept
        # record's own id as its cluster is itself.
        if dup is not None:
            targets.append(self._node(dup))
            targets.append(self._node(label))
        elif label != result.record.id:
            targets.append(self._node(label))
        node = self._uf.add()
        self._ids.append(result.record.id)
        for t in targets:
            self._uf.union(node, t)
        self._where[result.record.id] = node

    def join(self, members: Sequence[str]) -> None:
        """Put these ids in one cluster (a cluster of the run's JSON report); an id names its latest record."""
        nodes = [self._node(m) for m in members]
        for n in nodes[1:]:
            self._uf.union(nodes[0], n)

    def groups(self) -> tuple[list[tuple[int, list[int]]], list[int]]:
        """Like :meth:`~dedupe.pipeline.Deduplicator.cluster_groups`, with the earlier runs' documents first:
        returns (groups of node numbers, node number -> position in this file or -1)."""
        position = []
        p = 0
        for node in range(len(self._ids)):
            if node in self._external:
                position.append(-1)
            else:
                position.append(p)
                p += 1
        groups = self._uf.groups()
        # Earlier runs' documents come before this file's: order members (and roots) that way.
        def key(n: int) -> tuple[int, int]:
            return (0, n) if position[n] < 0 else (1, n)
        out = []
        for members in groups.values():
            if all(position[m] < 0 for m in members):
                continue
            ordered = sorted(members, key=key)
            out.append((ordered[0], ordered))
        out.sort(key=lambda g: (-len(g[1]), key(g[0])))
        return out, position

    def id_of(self, node: int) -> str:
        return self._ids[node]


def clusters_of(groups: Sequence[tuple[int, list[int]]], id_of: Any, earlier: Any) -> list[dict[str, Any]]:
    """The report's ``clusters`` entries for groups of document numbers (as Deduplicator.clusters writes them)."""
    out = []
    for _root, members in groups:
        entry: dict[str, Any] = {"cluster": id_of(members[0]), "size": len(members),
                                 "members": [id_of(m) for m in members]}
        before = sum(1 for m in members if earlier(m))
        if before:
            entry["from_index"] = before
        out.append(entry)
    return out
