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
import json
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..core.clusters import UnionFind
from ..core.matcher import Match, Result
from ..io.jsonline import json_kind, parse_json
from ..io.records import ANNOTATION_KEY, Record, Rejected
from ..passages.matcher import PassageMatch
from ..passages.stats import REPEAT_KINDS


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
        >>> from dedupe.core.matcher import deduplicate
        >>> from dedupe.io.records import Record
        >>> ex = Examples()
        >>> text = "Pakistan stands with Azerbaijan in its quest to resolve the issue"
        >>> _ = list(ex.watch(deduplicate([Record("a", text), Record("b", text + "!")])))
        >>> shown = ex.read([1])[1]
        >>> shown.id, shown.duplicate_of, shown.similarity
        ('b', 'a', 1.0)
        >>> ex.close()
    """

    def __init__(
        self,
        copy_limit: int = 3_000,
        text_limit: int = 20_000,
        passage_documents: int = 30,
        rejected_samples: int = 50,
        per_kind: int = 4,
    ) -> None:
        self.copy_limit = copy_limit
        self.text_limit = text_limit
        self._longer: dict[int, str] = {}  # position -> text up to text_limit, for the documents in the heaps
        self._file = tempfile.TemporaryFile(prefix="dedupe-report-")  # noqa: SIM115 -- open until close()
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
                    self.rejected.append(
                        {"source": item.source, "line": item.line, "code": item.code, "reason": item.reason}
                    )
            else:
                self.add(item)
            yield item

    def add(self, result: Result) -> None:
        """Keep one result's display copy."""
        position = len(self)
        text = result.record.text
        passages = result.passages
        row = [
            result.record.id,
            _clean(text[: self.copy_limit]),
            len(text),
            result.match.cluster,
            result.match.duplicate_of,
            result.match.similarity,
            None if passages is None else [m.as_dict() for m in passages],
        ]
        self._file.seek(0, 2)
        self._file.write(orjson.dumps(row))
        self._offsets.append(self._file.tell())
        if passages:
            total = sum(m.end - m.start for m in passages)
            by_kind: dict[str, int] = {}
            for m in passages:
                kind = m.repeat_kind
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


def _keep(
    heap: list[tuple[int, int, int]], entry: tuple[int, int, int], limit: int
) -> tuple[bool, tuple[int, int, int] | None]:
    """Keep the ``limit`` largest entries in a min-heap: (whether ``entry`` went in, the entry pushed out)."""
    if len(heap) < limit:
        heapq.heappush(heap, entry)
        return True, None
    if heap and entry > heap[0]:
        return True, heapq.heapreplace(heap, entry)
    return False, None


def _passage(d: dict[str, Any]) -> PassageMatch:
    m = d["match"]
    return PassageMatch(
        d["start"], d["end"], d["kind"], d["similarity"], m["id"], m["start"], m["end"], d.get("unit", "passage")
    )


class AnnotationError(ValueError):
    """A line of a ``dedupe report`` input that is not a ``scan`` output record."""


PASSAGE_KINDS = ("exact", "near", "boilerplate")
PASSAGE_UNITS = ("passage", "quote")


class _Wrong(Exception):
    """What is wrong with an annotation, said as a clause (``"similarity" is a string ("x"), not ...``)."""


def result_of(record: Record) -> Result:
    """The result a ``scan`` wrote for this record, from its ``dedupe`` annotation.

    The annotation is checked as ``scan`` writes it: ``cluster`` a string, ``duplicate_of`` a string or null,
    ``similarity`` a number from 0 to 1 or null, ``passages`` (when present) null or a list of objects with
    ``start``/``end`` (code points of the text), ``kind``, ``similarity``, ``match`` ({id, start, end}) and
    ``unit``.

    Raises:
        AnnotationError: The line has no usable annotation (naming the line and what is wrong).
    """
    where = f"{record.source}:{record.line}"
    if not record.has_annotation:
        raise AnnotationError(f"{where}: no \"dedupe\" key: give a 'dedupe scan' output (filter writes none)")
    try:
        note = parse_json(record.raw).get(ANNOTATION_KEY)
        if not isinstance(note, dict):
            raise _Wrong(f"it is {shown_copy(note)}, not an object")
        match = Match(
            _text(note, "cluster", False), _text(note, "duplicate_of", True), _share(note, "similarity", True)
        )
        passages = note.get("passages")
        if passages is not None and not isinstance(passages, list):
            raise _Wrong(f'"passages" is {shown_copy(passages)}, not a list or null')
        found = (
            None if passages is None else [_checked_passage(k, d, len(record.text)) for k, d in enumerate(passages, 1)]
        )
    except _Wrong as wrong:
        raise AnnotationError(f"{where}: the \"dedupe\" annotation is not one 'dedupe scan' writes: {wrong}") from None
    except ValueError as exc:  # not reached for a line the reader accepted
        raise AnnotationError(f"{where}: cannot read the line as JSON: {exc}") from None
    return Result(record, match, found)


def shown_copy(value: Any) -> str:
    """A JSON value for a message: its kind and, shortened, itself (one line, ASCII)."""
    if value is None:
        return "null"
    kind = json_kind(value)
    article = "an" if kind[0] in "aeiou" else "a"
    try:
        shown = json.dumps(value, ensure_ascii=True, default=str)
    except RecursionError:  # nested deeper than the interpreter's stack: the kind alone
        shown = ""
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{article} {kind} ({shown})" if shown else f"{article} {kind}"


def _field(obj: dict[str, Any], key: str, label: str, of: str) -> tuple[Any, str]:
    """``obj[key]`` and its name for messages (``of``: the key of the object that holds it, if any)."""
    if key not in obj:
        raise _Wrong(f'{label}no "{key}" key' if not of else f'{label}"{of}" has no "{key}" key')
    return obj[key], (f'{label}"{key}"' if not of else f'{label}the "{key}" of "{of}"')


def _text(obj: dict[str, Any], key: str, nullable: bool, label: str = "", of: str = "") -> Any:
    """``obj[key]`` checked to be a string (an id) that UTF-8 can hold, or null when ``nullable``."""
    value, name = _field(obj, key, label, of)
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _Wrong(f"{name} is {shown_copy(value)}, not a string{' or null' if nullable else ''}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _Wrong(f"{name} holds a lone surrogate at character {exc.start}") from None
    return value


def _share(obj: dict[str, Any], key: str, nullable: bool, label: str = "") -> Any:
    """``obj[key]`` checked to be a number from 0 to 1 (a similarity), or null when ``nullable``."""
    value, name = _field(obj, key, label, "")
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise _Wrong(f"{name} is {shown_copy(value)}, not a number from 0 to 1{' or null' if nullable else ''}")
    return float(value)


def _offset(obj: dict[str, Any], key: str, low: int, high: int | None, why: str, label: str, of: str = "") -> int:
    """``obj[key]`` checked to be a whole number from ``low`` to ``high`` (no bound when None)."""
    value, name = _field(obj, key, label, of)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low:,} to {high:,}" if high is not None else f"of at least {low:,}"
        raise _Wrong(f"{name} is {shown_copy(value)}, not a whole number {bound} ({why})")
    return value


def _checked_passage(k: int, d: Any, length: int) -> PassageMatch:
    """Passage ``k`` (1-based) of an annotation, checked against a text of ``length`` code points."""
    label = f"passage {k}: "
    if not isinstance(d, dict):
        raise _Wrong(f"passage {k} is {shown_copy(d)}, not an object")
    start = _offset(d, "start", 0, length, "a character offset in the text", label)
    end = _offset(d, "end", start, length, "from the passage's start to the text's length in characters", label)
    kind = _text(d, "kind", False, label)
    if kind not in PASSAGE_KINDS:
        raise _Wrong(f'{label}"kind" is {shown_copy(kind)}, not one of {", ".join(PASSAGE_KINDS)}')
    similarity = _share(d, "similarity", False, label)
    m, _ = _field(d, "match", label, "")
    if not isinstance(m, dict):
        raise _Wrong(f'{label}"match" is {shown_copy(m)}, not an object (id, start, end)')
    match_id = _text(m, "id", False, label, "match")
    match_start = _offset(m, "start", 0, None, "a character offset", label, "match")
    match_end = _offset(m, "end", match_start, None, "at least the match's start", label, "match")
    unit = d.get("unit", "passage")
    if unit not in PASSAGE_UNITS:
        raise _Wrong(f'{label}"unit" is {shown_copy(unit)}, not one of {", ".join(PASSAGE_UNITS)}')
    return PassageMatch(start, end, kind, similarity, match_id, match_start, match_end, unit)


class AnnotationClusters:
    """The clusters of a ``scan`` output, rebuilt from its annotations.

    Each record is linked to the record its ``cluster`` names and to its ``duplicate_of``. That recovers every
    cluster as written, but not always the final ones: a record that matched two clusters names only its best
    match, and when that match is in the cluster whose first member becomes the label, the link to the other
    cluster is in no annotation. The run's JSON report lists the final clusters; :meth:`join` adds them.
    Ids no record of the file has (earlier runs', from an index) become members without text. An id names its
    latest record at that point (a repeated id names the record just before).

    The run orders clusters of one size, and the members of a cluster, by document number, and an earlier
    run's documents are numbered by the index, which no annotation shows. The run report's clusters are in
    that order, so the earlier documents :meth:`join` names are ranked by where the report lists them first.
    """

    def __init__(self) -> None:
        self._uf = UnionFind()
        self._where: dict[str, int] = {}
        self._ids: list[str] = []
        self._external: set[int] = set()
        self._earlier: dict[str, int] = {}  # id -> node of the earlier run's document of that id
        self._rank: dict[int, int] = {}  # earlier document's node -> its place in the run report's order

    def _node(self, rid: str) -> int:
        node = self._where.get(rid)
        if node is None:  # not a record of this file: an earlier run's document
            node = self._earlier_node(rid)
            self._where[rid] = node
        return node

    def _earlier_node(self, rid: str) -> int:
        node = self._earlier.get(rid)
        if node is None:
            node = self._uf.add()
            self._ids.append(rid)
            self._external.add(node)
            self._earlier[rid] = node
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

    def join(self, members: Sequence[str], from_index: int = 0) -> None:
        """Put these ids in one cluster (a cluster of the run's JSON report, members in its order).

        The first ``from_index`` ids are earlier runs' documents (the report's ``from_index``); any other id
        names its latest record. Earlier documents are ranked in the order they are first joined.
        """
        nodes = [self._earlier_node(m) if k < from_index else self._node(m) for k, m in enumerate(members)]
        for n in nodes:
            if n in self._external:
                self._rank.setdefault(n, len(self._rank))
        for n in nodes[1:]:
            self._uf.union(nodes[0], n)

    def groups(self) -> tuple[list[tuple[int, list[int]]], list[int]]:
        """Like :meth:`~dedupe.core.matcher.Deduplicator.cluster_groups`, with the earlier runs' documents first:
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
        # Earlier runs' documents come before this file's: order members (and roots) that way, the earlier
        # ones as the run report ranks them (those it does not name after those it does, as first named here).
        unranked = len(self._rank)

        def key(n: int) -> tuple[int, int]:
            return (0, self._rank.get(n, unranked + n)) if position[n] < 0 else (1, n)

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
        entry: dict[str, Any] = {
            "cluster": id_of(members[0]),
            "size": len(members),
            "members": [id_of(m) for m in members],
        }
        before = sum(1 for m in members if earlier(m))
        if before:
            entry["from_index"] = before
        out.append(entry)
    return out
