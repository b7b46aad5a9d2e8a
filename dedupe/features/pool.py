"""Features batch by batch, in this process or in a pool of worker processes, handed on in input order.

Parsing and features are a pure function of the line (or text) and the configuration, so doing them in workers
never changes an output; the matcher then decides the records of each batch in stream order.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Protocol

from ..config import BATCH_CHARS, DEFAULT_ID_FIELD, DEFAULT_TEXT_FIELD, DedupeConfig
from ..io.records import Line, Record, Rejected, Waiting
from ..passages.packed import PassageBatch
from .batch import Features, LineMeta, Parsed, parse_and_featurize

Item = Line | Record | Rejected


def batches(items: Iterable[Item | Waiting], batch_size: int) -> Iterator[tuple[list[Item], bool]]:
    """``items`` in consecutive lists of ``batch_size`` items (fewer when they hold :data:`BATCH_CHARS` characters,
    or when the input has to wait: a :class:`~dedupe.io.records.Waiting` ends a batch), each with whether the
    input waits after it."""
    batch: list[Item] = []
    chars = 0
    try:
        for item in items:
            if isinstance(item, Waiting):
                if batch:
                    yield batch, True
                    batch, chars = [], 0
                continue
            batch.append(item)
            if isinstance(item, Line):  # bytes: about the characters of its text
                chars += len(item.raw)
            elif isinstance(item, Record):
                chars += len(item.text)
            if len(batch) >= batch_size or chars >= BATCH_CHARS:
                yield batch, False
                batch, chars = [], 0
    except Exception:
        # The input broke (e.g. a damaged compressed stream): the records read
        # before the break are still decided and written, then the error goes on.
        if batch:
            yield batch, False
        raise
    if batch:
        yield batch, False


def _payload(batch: list[Item]) -> tuple[list[bytes | str], LineMeta]:
    """What a helper needs of a batch (:func:`~dedupe.features.batch.parse_and_featurize`): each line's bytes
    or each record's text, and the lines' numbers and sources, as plain lists (cheap to send)."""
    entries: list[bytes | str] = []
    lines: list[int] = []
    sources: list[str] = []
    numbers: list[int] = []
    for item in batch:
        if isinstance(item, Line):
            entries.append(item.raw)
            lines.append(item.line)
            sources.append(item.source)
            numbers.append(item.number)
        elif isinstance(item, Record):
            entries.append(item.text)
    return entries, (lines, sources, numbers)


def _assembled(batch: list[Item], parsed: list[Parsed]) -> list[Record | Rejected]:
    """The batch with each line replaced by the Record or the Rejected a helper parsed it into."""
    out: list[Record | Rejected] = []
    made = iter(parsed)
    for item in batch:
        if isinstance(item, Line):
            got = next(made)
            if isinstance(got, tuple):
                out.append(Record(got[0], got[1], item.line, item.source, item.raw, got[2], item.number))
            else:
                assert got is not None
                out.append(got)
        else:
            if isinstance(item, Record):
                next(made)
            out.append(item)
    return out


def featurized(
    items: Iterable[Item | Waiting],
    config: DedupeConfig,
    workers: int,
    batch_size: int,
    max_chars: int | None,
    stop: Callable[[], bool] | None = None,
    fields: tuple[str, str] = (DEFAULT_TEXT_FIELD, DEFAULT_ID_FIELD),
    documents: bool = True,
) -> Iterator[tuple[list[Record | Rejected], tuple[Features, PassageBatch | None]]]:
    """Each batch of ``items`` as records and rejects, with the features of its records (texts cut at
    ``max_chars``), in input order. A :class:`~dedupe.io.records.Line` is parsed (with ``fields``: the text
    field and the id field) where the features are computed.

    ``workers`` counts this process. With 1, the next batch is parsed and its features computed in a helper
    thread while this one matches and writes the current one (numpy releases the interpreter lock for most of
    that work: 0.62 s against 0.70 s for Reuters on 2 cores). With more, in ``workers - 1`` other processes
    while this one reads, matches and writes (one process per core is the fastest: on 2 cores, 1 feature
    worker beside the main process runs Reuters in 0.8 s where 2 take 1.0 s, 3 processes sharing 2 cores). At
    most 2 batches per helper are in flight, so memory stays bounded however long the input, and every batch
    in flight is handed on before the input is waited for. ``stop`` is asked while waiting for a helper: when
    it answers True the iteration ends. With ``documents`` False only passage features are computed (the
    document features are empty rows; see :func:`~dedupe.features.batch.all_features`).
    """
    with _helpers(workers) as (submit, window):
        pending: deque[tuple[list[Item], _Pending]] = deque()
        broken: Exception | None = None
        try:
            for batch, waits in batches(items, batch_size):
                entries, meta = _payload(batch)
                pending.append((batch, submit(entries, meta, fields, config, max_chars, documents)))
                # Hand on finished batches at once, every batch before the input waits (a slow input sees
                # its output), and wait for a helper otherwise only when the window is full.
                while pending and (waits or len(pending) >= window or pending[0][1].ready()):
                    done, result = pending.popleft()
                    if not _wait(result, stop):
                        return
                    parsed, features = result.get()
                    yield _assembled(done, parsed), features
        except Exception as exc:  # the input broke: what was read before it is decided first
            broken = exc
        while pending and not (stop is not None and stop()):
            done, result = pending.popleft()
            if not _wait(result, stop):
                return
            parsed, features = result.get()
            yield _assembled(done, parsed), features
        if broken is not None:
            raise broken


# A helper's answer for a batch: what each entry was parsed into, and the features.
Done = tuple[list[Parsed], tuple[Features, PassageBatch | None]]


class _Pending(Protocol):
    """A batch's features being computed: a ``multiprocessing`` AsyncResult, or a thread's future as one."""

    def ready(self) -> bool: ...

    def wait(self, timeout: float) -> None: ...

    def get(self) -> Done: ...


class _ThreadResult:
    """A ``concurrent.futures`` future with the AsyncResult methods :func:`featurized` uses."""

    def __init__(self, future: Future[Done]) -> None:
        self._future = future

    def ready(self) -> bool:
        return self._future.done()

    def wait(self, timeout: float) -> None:
        futures_wait([self._future], timeout)

    def get(self) -> Done:
        return self._future.result()


Submit = Callable[[list[bytes | str], LineMeta, tuple[str, str], DedupeConfig, int | None, bool], _Pending]


@contextlib.contextmanager
def _helpers(workers: int) -> Iterator[tuple[Submit, int]]:
    """What parses and computes the features for :func:`featurized`: a function submitting a batch (its lines and
    texts, see :func:`_payload`), and how many batches may be in flight."""
    if workers <= 1:
        with ThreadPoolExecutor(1, thread_name_prefix="dedupe-features") as threads:
            yield (lambda *batch: _ThreadResult(threads.submit(parse_and_featurize, *batch))), 2
        return
    helpers = workers - 1
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    pool = ctx.Pool(helpers, initializer=_worker_signals)
    try:
        yield (lambda *batch: pool.apply_async(parse_and_featurize, batch)), 2 * helpers
    finally:
        # close + join, never terminate: terminate kills workers that may hold the result queue's lock (mid
        # send), and the pool's task thread then waits for that lock forever (a hang seen after SIGTERM with
        # -w 2, about 1 run in 40). At most 2 batches per worker are in flight, so this waits a moment at most.
        pool.close()
        pool.join()


def _worker_signals() -> None:
    # Ctrl-C reaches the whole process group; the main process decides how to
    # stop (it checkpoints first), so workers leave SIGINT to it. A forked
    # worker inherits the main process's SIGTERM handler, which only sets a
    # flag: restore the default, or the pool could not terminate its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _wait(result: _Pending, stop: Callable[[], bool] | None) -> bool:
    """Wait for a worker's result; False when asked to stop first (a dead worker never answers)."""
    while not result.ready():
        result.wait(0.1)
        if stop is not None and stop():
            return False
    return True
