"""Where work units run: the executor seam, and an executor that runs them in-process.

A scan hands its units to an executor and takes back how each ended; it never sees
processes, pools or clusters. The default executor is a pebble process pool on this
machine (:mod:`clearsight.scan.pebble_executor`); a cluster's executor implements the
same Protocol. Whatever the executor, the scan keeps the rules (the digest-only retry,
:mod:`clearsight.scan.work`) and the single writer (:mod:`clearsight.scan.recorder`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from types import TracebackType
from typing import Protocol, Self

from clearsight.scan.fingerprint import fingerprint_file
from clearsight.scan.work import FailureKind, UnitFailure, UnitOutcome, WorkUnit


class ScanExecutor(Protocol):
    """Runs work units and reports how each ended.

    Used as a context manager around one scan's units: entering starts the workers,
    leaving normally waits for them to end, and leaving on an exception (Ctrl-C, a
    full disk) stops them at once, dropping what is in flight. An executor should
    enforce each unit's ``timeout`` on decoding and report a unit past it as
    :attr:`FailureKind.TIMED_OUT`; one that cannot says so in its documentation.
    """

    @property
    def capacity(self) -> int:
        """How many units to keep submitted so that no worker waits for work."""
        ...

    def submit(self, unit: WorkUnit) -> None:
        """Start ``unit``; its outcome comes back from a later :meth:`collect`."""
        ...

    def collect(self, wait_seconds: float) -> list[UnitOutcome]:
        """Units that ended since the last call, waiting up to ``wait_seconds`` for one
        when none has (and none at all when nothing is submitted)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class SerialExecutor:
    """Runs each unit in this process, one at a time, when it is collected.

    For tests, debugging and places where a process pool cannot start. It enforces
    **no** time limit: a decoder that hangs on a hostile file hangs the scan (the pool's
    limit works by ending the worker's process, which here is the scan itself).
    """

    def __init__(self) -> None:
        self._pending: deque[WorkUnit] = deque()

    @property
    def capacity(self) -> int:
        return 1

    def submit(self, unit: WorkUnit) -> None:
        self._pending.append(unit)

    def collect(self, wait_seconds: float) -> list[UnitOutcome]:
        if not self._pending:
            return []
        unit = self._pending.popleft()
        # No time limit, whatever the options say: SIGALRM would end the scan itself.
        options = replace(unit.options, decode_seconds=None)
        try:
            scanned = fingerprint_file(unit.abs_path, unit.rel_path, options)
        except Exception as exc:  # noqa: BLE001 - a lost unit is retried, then an error row
            return [UnitOutcome(unit, UnitFailure(FailureKind.LOST, type(exc).__name__))]
        return [UnitOutcome(unit, scanned)]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pending.clear()
