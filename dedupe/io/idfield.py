"""The check for a misspelt ``--id-field``: a field other than the default that none of the first records has.

:func:`~dedupe.io.records.read_records` runs it on the records it reads; the streaming engine, which parses
lines in its feature workers, runs it on the records as they are decided (:meth:`IdFieldCheck.watch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ..config import DEFAULT_ID_FIELD
from .jsonline import parse_json
from .records import ReadStats, Record, Rejected

T = TypeVar("T")

ID_CHECK_RECORDS = 1000  # records a non-default id field is looked for in before a typo is suspected
_FIELDS_LISTED = 12  # field names a missing-id-field warning lists at most


class IdFieldCheck:
    """Watches the first records for a non-default id field that none of them has (a typo, most likely).

    Missing ids are normal (the line number is the id), so only a field the user named is looked for,
    and only until it is first seen: the records after that cost nothing.
    """

    def __init__(
        self, id_field: str, stats: ReadStats, warn: Callable[[str], None] | None, limit: int = ID_CHECK_RECORDS
    ) -> None:
        self.id_field = id_field
        self.stats = stats
        self.warn = warn
        self.limit = limit
        self.active = id_field != DEFAULT_ID_FIELD
        self.records = 0
        self.seen: dict[str, None] = {}

    def see(self, item: Record | Rejected) -> None:
        if isinstance(item, Rejected):
            if item.code == "bad_id":  # the field is there, with a value that is not an id
                self.active = False
            return
        if item.id != str(item.number):  # an id that is not the line number came from the field
            self.active = False
            return
        obj = parse_json(item.raw) if item.raw else {}  # a null id, or an id equal to the line number?
        if self.id_field in obj:
            self.active = False
            return
        for name in obj:
            self.seen[name] = None
        self.records += 1
        if self.records >= self.limit:
            self.report()

    def watch(self, items: Iterable[T]) -> Iterator[T]:
        """Pass decided ``items`` (results of records, and rejects) through, looking at each record's line until
        the check is done; :meth:`report` at the end."""
        for item in items:
            if self.active:
                self.see(item if isinstance(item, Rejected) else item.record)  # type: ignore[attr-defined]
            yield item
        self.report()

    def report(self) -> None:
        """Record (and pass to ``warn``) that the field was absent from every record looked at."""
        if not self.active or not self.records:
            return
        self.active = False
        self.stats.id_field_missing = list(self.seen)
        self.stats.id_field_checked = self.records
        if self.warn is not None:
            self.warn(id_field_warning(self.id_field, self.stats, self.limit))


def id_field_warning(id_field: str, stats: ReadStats, limit: int = ID_CHECK_RECORDS) -> str:
    """The warning for ``stats.id_field_missing`` (see :func:`read_records`), e.g. ``--id-field 'uid' is
    absent from the first 1,000 records: ids are line numbers (fields seen: id, text, title)``."""
    fields = stats.id_field_missing or []
    n = stats.id_field_checked
    which = f"the first {n:,} records" if n >= limit else "the only record" if n == 1 else f"all {n:,} records"
    names = [f if f.isprintable() and ", " not in f and f else repr(f) for f in fields[:_FIELDS_LISTED]]
    if len(fields) > _FIELDS_LISTED:
        names.append(f"and {len(fields) - _FIELDS_LISTED:,} more")
    seen = f"fields seen: {', '.join(names)}" if names else "they have no fields"
    return f"--id-field {id_field!r} is absent from {which}: ids are line numbers ({seen})"
