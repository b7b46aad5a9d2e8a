"""SIGINT and SIGTERM as a stop request that a streaming run honours at the next batch boundary."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any


class Interrupted(Exception):
    """A signal arrived while the run waited for input (nothing half-decided)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SignalStop:
    """SIGINT and SIGTERM end the run at the next batch boundary, so what was written and what the index
    holds stay the same records. While the run waits for input the signal ends it at once (nothing is
    half-decided then); a second signal stops without a checkpoint (``KeyboardInterrupt``).

    Used as a context manager around the run; outside the main thread it leaves signals alone.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.reading = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> SignalStop:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                if signal.getsignal(sig) is not signal.SIG_IGN:  # keep an inherited "ignore" (nohup, background jobs)
                    self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (embedded use): leave signals alone
                pass
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            # After a stop by signal the process is on its way out with its checkpoint and report written: a
            # further Ctrl-C must not turn that exit into a KeyboardInterrupt (or a death by SIGINT).
            signal.signal(sig, signal.SIG_IGN if self.signum is not None else old)

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        if self.reading:
            raise Interrupted(signum)

    def stopped(self) -> bool:
        """A signal has asked the run to stop."""
        return self.signum is not None

    def guard(self, items: Iterator[Any]) -> Iterator[Any]:
        """Pass ``items`` through, marking the time spent waiting for the next one."""
        while True:
            self.reading = True
            try:
                item = next(items)
            except StopIteration:
                return
            finally:
                self.reading = False
            yield item
