"""Fingerprinting on a Ray cluster: the executor seam with Ray tasks in place of pebble.

Only the fingerprinting leaves the driver. The walk, the resume plan, the rule
"timeout, then digest only" (:mod:`clearsight.scan.work`) and the single writer
(:mod:`clearsight.scan.recorder`) stay where :func:`clearsight.scan.run_scan` runs them.

A Ray task fingerprints a batch of files (tens of small ones, fewer large ones: a
batch is sized to take about :data:`TASK_SECONDS`), so Ray's per-task cost is paid
once per batch. Inside the task every file still runs in a process of its own
(:mod:`clearsight.scan.ray_batch`): its ``SIGALRM`` time limit and a decoder crash end
that process, never the Ray worker, so a hostile file ends as its own outcome (timed
out, died) and the driver settles it exactly as a local scan does. Units and records
travel pickled, so that a Ray worker never loads the fingerprinting modules itself.
A task whose Ray worker or node is lost is Ray's to retry elsewhere (``max_retries``);
one that fails for good hands every file of its batch back as lost, and the driver
retries each for digests only.

No file can be recorded twice: the driver records what a task returned, once per
task, and a task retried after its node was lost returns once. A worker node reads
the files at the driver's paths, or at those rewritten by ``--path-map``.

This module imports Ray, so it is imported only when a scan asks for Ray.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Self

import ray
from ray.exceptions import RayError

from clearsight.cores import available_cores
from clearsight.errors import UserError
from clearsight.scan.ray_batch import BatchDone, Failed, fingerprint_batch
from clearsight.scan.work import FailureKind, UnitFailure, UnitOutcome, WorkUnit
from clearsight.store.interface import ScannedFile

# "auto" starts a Ray instance on this machine; anything else is a cluster's address.
LOCAL = "auto"
TASK_SECONDS = 2.0  # a batch long enough that Ray's cost per task is a rounding error
FIRST_BATCH = 2  # files in a task before the driver knows how long one takes
TASK_RETRIES = 3  # Ray's retries of a task whose worker or node was lost
PICKLE = pickle.HIGHEST_PROTOCOL


@dataclass(frozen=True)
class PathMap:
    """``FROM=TO``: a driver's path prefix and where worker nodes see the same files."""

    source: str
    target: str

    @classmethod
    def parse(cls, text: str) -> PathMap:
        source, sep, target = text.partition("=")
        if not sep or not source or not target:
            raise UserError(f"--path-map takes FROM=TO, not {text!r}")
        return cls(source.rstrip("/") or "/", target.rstrip("/") or "/")

    def apply(self, path: str) -> str | None:
        """``path`` as worker nodes see it, or None when it is not under ``source``."""
        if path == self.source:
            return self.target
        prefix = self.source if self.source.endswith("/") else self.source + "/"
        if not path.startswith(prefix):
            return None
        return os.path.join(self.target, path[len(prefix) :])


def mapped_path(path: str, maps: Sequence[PathMap]) -> str:
    """``path`` rewritten by the longest matching map (unchanged where none matches)."""
    for path_map in sorted(maps, key=lambda m: len(m.source), reverse=True):
        rewritten = path_map.apply(path)
        if rewritten is not None:
            return rewritten
    return path


# The task's body is in a module of its own that imports nothing heavy: a Ray worker
# lives for one scan, and what it imports is paid again by every scan.
_remote_batch: Any = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(fingerprint_batch)


class RayExecutor:
    """Runs units as batched Ray tasks, on a local Ray instance or a running cluster.

    ``address`` is ``"auto"`` (start Ray here, with ``workers`` CPUs, stopped when the
    scan ends) or a cluster's address (``HOST:6379``, ``ray://HOST:10001``), which the
    scan joins and leaves running. ``files_per_task`` caps a batch; ``path_maps``
    rewrite the files' paths for the worker nodes. ``node_files`` counts the files
    each node fingerprinted, by node address and id.
    """

    def __init__(
        self,
        address: str = LOCAL,
        *,
        workers: int | None = None,
        files_per_task: int = 32,
        path_maps: Sequence[PathMap] = (),
    ) -> None:
        self._address = address
        self._workers = workers
        self._files_per_task = files_per_task
        self._path_maps = tuple(path_maps)
        self._cpus = 1
        self._waiting: list[WorkUnit] = []
        self._in_flight: dict[Any, list[WorkUnit]] = {}
        self._file_seconds: float | None = None
        self._node_address: dict[str, str] = {}
        self.node_files: Counter[tuple[str, str]] = Counter()

    @property
    def capacity(self) -> int:
        # Two batches per CPU, so a worker finds its next task queued when one ends.
        return max(4, self._files_per_task * self._cpus * 2)

    @property
    def cpus(self) -> int:
        """The cluster's CPUs, as Ray counted them when the scan joined."""
        return self._cpus

    def submit(self, unit: WorkUnit) -> None:
        self._waiting.append(unit)

    def collect(self, wait_seconds: float) -> list[UnitOutcome]:
        self._dispatch()
        if not self._in_flight:
            return []
        refs = list(self._in_flight)
        ready, _ = ray.wait(refs, num_returns=1, timeout=wait_seconds)
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        outcomes: list[UnitOutcome] = []
        for ref in ready:
            units = self._in_flight.pop(ref)
            outcomes.extend(self._outcomes(units, ref))
        self._dispatch()
        return outcomes

    def __enter__(self) -> Self:
        if ray.is_initialized():
            raise RuntimeError("a Ray executor is already in use in this process")
        common: dict[str, Any] = {
            "log_to_driver": False,  # decoders chatter; outcomes come back as records
            "logging_level": logging.WARNING,
            "configure_logging": False,
        }
        try:
            if self._address == LOCAL:
                ray.init(
                    address="local",
                    num_cpus=self._workers or available_cores(),
                    include_dashboard=False,
                    **common,
                )
            else:
                ray.init(address=self._address, **common)
        except (ConnectionError, RayError, ValueError) as exc:
            raise UserError(f"cannot join the Ray cluster at {self._address}: {exc}") from exc
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
        self._cpus = max(1, int(resources.get("CPU", 1)))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            for ref in self._in_flight:
                ray.cancel(ref, force=True)
        finally:
            self._in_flight = {}
            self._waiting = []
            ray.shutdown()

    def _task_size(self) -> int:
        if self._file_seconds is None:
            return min(FIRST_BATCH, self._files_per_task)
        fits = math.floor(TASK_SECONDS / max(self._file_seconds, 1e-4))
        return max(1, min(self._files_per_task, fits))

    def _dispatch(self) -> None:
        """Send waiting units as batches: full ones, two per CPU at most (later ones are
        sized by what the first took), then, while a CPU would otherwise idle (the end
        of a scan, retries), what is left shared among the idle CPUs."""
        size = self._task_size()
        while len(self._waiting) >= size and len(self._in_flight) < 2 * self._cpus:
            self._send(self._waiting[:size])
            self._waiting = self._waiting[size:]
        idle = self._cpus - len(self._in_flight)
        if self._waiting and idle > 0:
            share = math.ceil(len(self._waiting) / idle)
            while self._waiting:
                self._send(self._waiting[:share])
                self._waiting = self._waiting[share:]

    def _send(self, units: list[WorkUnit]) -> None:
        maps = self._path_maps
        sent = [
            pickle.dumps(replace(u, abs_path=mapped_path(u.abs_path, maps)), PICKLE) for u in units
        ]
        self._in_flight[_remote_batch.remote(sent)] = units

    def _outcomes(self, units: list[WorkUnit], ref: Any) -> list[UnitOutcome]:
        try:
            done: BatchDone = ray.get(ref)
        except RayError as exc:
            # Lost for good, past Ray's retries: each file is retried for digests only.
            failure = UnitFailure(FailureKind.LOST, type(exc).__name__)
            return [UnitOutcome(unit, failure) for unit in units]
        per_file = done.seconds / max(1, len(units))
        previous = self._file_seconds
        self._file_seconds = per_file if previous is None else 0.7 * previous + 0.3 * per_file
        self.node_files[(self._address_of(done.node_id), done.node_id)] += len(units)
        return [
            UnitOutcome(unit, _decoded(result))
            for unit, result in zip(units, done.results, strict=True)
        ]

    def _address_of(self, node_id: str) -> str:
        if node_id not in self._node_address:
            for node in ray.nodes():  # type: ignore[no-untyped-call]
                self._node_address[node["NodeID"]] = node.get("NodeManagerAddress", "")
        return self._node_address.get(node_id, "")


def _decoded(result: bytes | Failed) -> ScannedFile | UnitFailure:
    if isinstance(result, Failed):
        return UnitFailure(FailureKind(result.kind), result.detail)
    scanned = pickle.loads(result)
    if not isinstance(scanned, ScannedFile):
        raise TypeError(f"a Ray task returned {type(scanned).__name__}, not a ScannedFile")
    return scanned
