"""The body of a Ray task: fingerprint a batch of files, each in a process of its own.

A Ray worker lives for one scan (one Ray job), so whatever it imports is paid again by
every scan, on every worker. It imports only this module, pebble and Ray: the units
come in, and the records go out, as pickled bytes that only the driver and the file's
own process decode. The fingerprinting modules (decoders, OpenCV, the case store's
records; about half a second of CPU) are imported once per worker, by the fork server
its files' processes are forked from (:mod:`clearsight.scan.worker_server`), not twice.

Each file runs in a one-worker pebble pool kept by the Ray worker: its ``SIGALRM``
time limit and a decoder crash end that process, never the Ray worker, and come back
as :class:`Failed` (the driver turns it into the unit's failure, as a local scan does).
"""

from __future__ import annotations

import pickle
import signal
import time
from concurrent.futures import Future
from dataclasses import dataclass

import ray
from pebble import ProcessExpired, ProcessPool

from clearsight.scan.worker_server import prepare_worker, start_worker_server


@dataclass(frozen=True)
class Failed:
    """A file whose process gave no record: ``kind`` is a
    :class:`~clearsight.scan.work.FailureKind` value, ``detail`` names the cause."""

    kind: str
    detail: str = ""


@dataclass(frozen=True)
class BatchDone:
    """What a task hands back: where it ran, how long it took, and per unit, in order,
    its pickled :class:`~clearsight.store.interface.ScannedFile` or how it failed."""

    node_id: str
    seconds: float
    results: list[bytes | Failed]


# One per Ray worker process, kept from task to task of the scan.
_pool: ProcessPool | None = None


def fingerprint_batch(units: list[bytes]) -> BatchDone:
    """Run the pickled work ``units`` one process each, in order; a Ray task's body."""
    global _pool
    started = time.monotonic()
    if _pool is None:
        _pool = ProcessPool(
            max_workers=1, initializer=prepare_worker, context=start_worker_server()
        )
    futures = [_pool.schedule(fingerprint_pickled, args=(unit,)) for unit in units]
    results = [_result(future) for future in futures]
    node_id = ray.get_runtime_context().get_node_id()
    return BatchDone(node_id, time.monotonic() - started, results)


def fingerprint_pickled(unit: bytes) -> bytes:
    """In a file's own process: the unit's record, pickled. The fork server has the
    fingerprinting modules loaded, so the import costs nothing here."""
    from clearsight.scan.work import fingerprint_unit

    return pickle.dumps(fingerprint_unit(pickle.loads(unit)), pickle.HIGHEST_PROTOCOL)


def _result(future: Future[bytes]) -> bytes | Failed:
    try:
        return future.result()
    except ProcessExpired as exc:
        if exc.exitcode == -signal.SIGALRM:
            return Failed("timed-out")
        return Failed("died", str(exc))
    except Exception as exc:  # noqa: BLE001 - a lost unit is retried, then an error row
        return Failed("lost", type(exc).__name__)
