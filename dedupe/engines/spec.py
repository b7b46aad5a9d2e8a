"""What a run is asked to do (:class:`RunSpec`), what it gives back (:class:`RunOutcome`), and how it can fail.

Both engines take a :class:`RunSpec`; the command line only builds one from its options.
Defaults come from :mod:`dedupe.config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..config import (
    BATCH_RECORDS,
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_ENGINE,
    DEFAULT_ID_FIELD,
    DEFAULT_KEEP,
    DEFAULT_MAX_CHARS,
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_SPLIT_BYTES,
    DEFAULT_TEXT_FIELD,
    DEFAULT_WORKERS,
    DedupeConfig,
)

Mode = Literal["scan", "filter"]


class AccountingError(Exception):
    """Records read and records accounted for differ (a bug, never expected)."""


class RayJobError(Exception):
    """The Ray job could not run: the cluster is unreachable, or a task failed for a reason other than its input
    (a node lost for good, retries exhausted)."""


class BadRecord(Exception):
    """A rejected line while no ``rejects`` file was given: the run stopped there."""


@dataclass(frozen=True)
class RunSpec:
    """One run: what to read, how to decide, where everything goes.

    Args:
        mode: "scan" writes every record annotated; "filter" writes the records kept.
        inputs: JSONL or Parquet paths in reading order ('-' is stdin).
        config: The matching parameters.
        text_field, id_field: Field names of the text and the id.
        workers: Processes, this one included: with 2 or more, ``workers - 1`` compute features (the output does
            not depend on it).
        report: Report paths (at most one JSON and one HTML).
        rejects: Bad lines go here (the run goes on); None stops at the first.
        dropped: With "filter", the duplicates go here, annotated.
        index: An index directory, or a ``redis://`` URL, kept across runs.
        checkpoint_every: Save the index every N input records (0: only at the end).
        resume: Continue the index's interrupted run.
        max_chars: Match on at most this many characters of each text (0: no limit).
        output: A directory for one output file per input (None: stdout).
        output_format: "jsonl" or "parquet" for ``output``.
        engine: "stream" (this process) or "ray".
        ray_address: The Ray cluster for engine "ray".
        batch_size: Records per batch of the streaming engine (the output does not depend on it).
        keep: Which copy of near-duplicates is kept: "first", "longest" or "field:NAME[:max|min]"
            (:class:`~dedupe.core.keep.KeepPolicy`); any but "first" reads the input twice.
        split_bytes: Engine "ray": the size of the input ranges one map task reads (0: one per input).
    """

    mode: Mode
    inputs: list[str]
    config: DedupeConfig = field(default_factory=DedupeConfig)
    text_field: str = DEFAULT_TEXT_FIELD
    id_field: str = DEFAULT_ID_FIELD
    workers: int = DEFAULT_WORKERS
    report: list[str] = field(default_factory=list)
    rejects: str | None = None
    dropped: str | None = None
    index: str | None = None
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    resume: bool = False
    max_chars: int = DEFAULT_MAX_CHARS
    output: str | None = None
    output_format: str = DEFAULT_OUTPUT_FORMAT
    engine: str = DEFAULT_ENGINE
    ray_address: str | None = None
    batch_size: int = BATCH_RECORDS
    keep: str = DEFAULT_KEEP
    split_bytes: int = DEFAULT_SPLIT_BYTES

    @property
    def local_index(self) -> str | None:
        """The index directory, when the index is one (not Redis)."""
        return self.index if self.index is not None and "://" not in self.index else None


@dataclass(frozen=True)
class RunOutcome:
    """What a run that returned did: its report, and whether a signal stopped it.

    Args:
        report: The JSON report (``completed`` false when stopped).
        signum: The signal that stopped the run, or None.
        message: What to tell the user about the stop (where it stopped, how to go on), or None.
    """

    report: dict[str, Any]
    signum: int | None = None
    message: str | None = None
