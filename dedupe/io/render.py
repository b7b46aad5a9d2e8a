"""Rendering a decided record for an output mode (scan or filter): the one place both engines write from."""

from __future__ import annotations

from typing import Any

from ..core.matcher import Result
from ..passages.matcher import remove_spans
from .records import annotated, original, with_text


def write_result(mode: str, text_field: str, out: Any, dropped: Any, item: Result) -> None:
    """Write one decided record as ``mode`` renders it: scan annotates every record; filter writes kept records
    (with ``passages``: repeated passages cut from the text) and sends duplicates, annotated, to ``dropped``."""
    if mode == "scan":
        note = item.match.as_dict()
        if item.passages is not None:
            note["passages"] = [m.as_dict() for m in item.passages]
        out.write(annotated(item.record, note))
    elif not item.is_duplicate:
        if item.passages:
            cleaned = remove_spans(item.record.text, item.passages)
            if cleaned != item.record.text:
                out.write(with_text(item.record, text_field, cleaned))
                return
        out.write(original(item.record))
    elif dropped is not None:
        dropped.write(annotated(item.record, item.match.as_dict()))
