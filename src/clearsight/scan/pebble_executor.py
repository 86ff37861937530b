"""The default executor: a pebble process pool on every core of this machine.

Pebble replaces a worker that dies, which is how the per-unit time limit works: the
worker arms ``SIGALRM`` around decoding (:func:`clearsight.scan.work.fingerprint_unit`)
and, past the limit, the kernel ends it; no C decoder can ignore that. The pool then
reports the unit as timed out, and the scan retries it for digests only.
"""

from __future__ import annotations

import signal
from concurrent.futures import FIRST_COMPLETED, Future, wait
from types import TracebackType
from typing import Self

from pebble import ProcessExpired, ProcessPool

from clearsight.cores import available_cores
from clearsight.scan.work import FailureKind, UnitFailure, UnitOutcome, WorkUnit, fingerprint_unit
from clearsight.scan.worker_server import prepare_worker, start_worker_server
from clearsight.store.interface import ScannedFile


class PebbleExecutor:
    """Runs units in ``workers`` processes forked from a quiet fork server."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or available_cores()
        self._pool: ProcessPool | None = None
        self._in_flight: dict[Future[ScannedFile], WorkUnit] = {}

    @property
    def capacity(self) -> int:
        # Enough queued per worker that none waits while the parent commits a batch.
        return max(4, self._workers * 8)

    def submit(self, unit: WorkUnit) -> None:
        if self._pool is None:
            raise RuntimeError("submit() outside of the executor's with block")
        future = self._pool.schedule(fingerprint_unit, args=(unit,))
        self._in_flight[future] = unit

    def collect(self, wait_seconds: float) -> list[UnitOutcome]:
        if not self._in_flight:
            return []
        finished, _ = wait(self._in_flight, wait_seconds, FIRST_COMPLETED)
        return [_outcome(self._in_flight.pop(future), future) for future in finished]

    def __enter__(self) -> Self:
        self._pool = ProcessPool(
            max_workers=self._workers, initializer=prepare_worker, context=start_worker_server()
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        pool, self._pool = self._pool, None
        self._in_flight = {}
        if pool is None:
            return
        # pebble leaves close() and stop() unannotated.
        if exc_type is None:
            pool.close()  # type: ignore[no-untyped-call]
        else:
            pool.stop()  # type: ignore[no-untyped-call]
        pool.join()


def _outcome(unit: WorkUnit, future: Future[ScannedFile]) -> UnitOutcome:
    try:
        return UnitOutcome(unit, future.result())
    except ProcessExpired as exc:
        if exc.exitcode == -signal.SIGALRM:
            return UnitOutcome(unit, UnitFailure(FailureKind.TIMED_OUT))
        return UnitOutcome(unit, UnitFailure(FailureKind.DIED, str(exc)))
    except Exception as exc:  # noqa: BLE001 - a lost unit is retried, then an error row
        return UnitOutcome(unit, UnitFailure(FailureKind.LOST, type(exc).__name__))
