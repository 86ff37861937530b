"""Run a scan: plan, fingerprint the files through an executor, record, resume.

The pieces are public so that any runner composes them alike: planning and resume
(:mod:`clearsight.scan.plan`), work units and the rule "timeout, then digest only"
(:mod:`clearsight.scan.work`), the executor that runs units (:mod:`clearsight.scan.executor`;
a pebble process pool unless another is given) and the single writer
(:mod:`clearsight.scan.recorder`). This module joins them.

The parent process is the only writer. Workers fingerprint files and send back
records; the parent commits them in batches, each batch one transaction. A path is
unique within its source, so a scan killed at any moment and run again skips what was
committed and redoes only the batch in flight: every file ends up recorded once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from clearsight.errors import UserError
from clearsight.file_paths import display_path
from clearsight.media.decode import DecodeLimits
from clearsight.media.video_facts import VideoLimits
from clearsight.scan.executor import ScanExecutor
from clearsight.scan.fingerprint import FingerprintOptions
from clearsight.scan.pebble_executor import PebbleExecutor
from clearsight.scan.plan import FileTask, plan_scan
from clearsight.scan.recorder import ScanRecorder
from clearsight.scan.walk import source_root
from clearsight.scan.work import WorkUnit, first_attempt, settle
from clearsight.store.interface import ScanLedger, ScanTally


@dataclass(frozen=True)
class ScanOptions:
    workers: int | None = None  # None: every core this process may use
    file_timeout: float = 120.0  # seconds decoding one file may take (never digesting)
    limits: DecodeLimits = DecodeLimits()
    video_limits: VideoLimits = VideoLimits()
    # Small, frequent transactions: a crash loses at most half a second of work.
    batch_size: int = 100
    commit_seconds: float = 0.5
    exclude: frozenset[str] = frozenset()
    origin: bool = True  # examine origin evidence of every image
    keep_prompts: bool = False  # store generator prompts found in files
    pixel_model: str | None = None  # path of the user's ONNX pixel detector, if any


class ScanObserver(Protocol):
    """Told how a scan advances; the CLI draws a progress bar from it."""

    def discovered(self, total: int, already_done: int) -> None: ...

    def advanced(self, count: int) -> None: ...


@dataclass(frozen=True)
class ScanReport:
    tally: ScanTally
    seconds: float
    completed: bool


def run_scan(
    ledger: ScanLedger,
    paths: Sequence[Path],
    options: ScanOptions,
    observer: ScanObserver | None = None,
    executor: ScanExecutor | None = None,
) -> ScanReport:
    """Scan ``paths`` into ``ledger``. Files already recorded are skipped.

    ``executor`` runs the files' work units; by default a pebble process pool of
    ``options.workers`` processes (which a given executor ignores), started only when
    there is a file to read.
    """
    check_sources(paths)
    started = time.monotonic()
    scan_id = ledger.start_scan([source_root(path) for path in paths])
    recorder = ScanRecorder(
        ledger, scan_id, batch_size=options.batch_size, commit_seconds=options.commit_seconds
    )
    files_seen = already_done = 0
    completed = False
    try:
        plan = plan_scan(ledger, paths, options.exclude)
        files_seen, already_done = plan.files_seen, plan.already_done
        for source_id, record in plan.unread:
            recorder.add(source_id, record)
        if observer is not None:
            observer.discovered(plan.files_seen, plan.already_done)
            observer.advanced(len(plan.unread))
        if plan.tasks:
            units = work_units(plan.tasks, options)
            pool = executor or PebbleExecutor(options.workers)
            fingerprint_all(units, pool, recorder, observer, poll_seconds=options.commit_seconds)
        completed = True
    finally:
        recorder.flush()
        tally = ScanTally(files_seen, recorder.items, recorder.errors, already_done)
        ledger.finish_scan(scan_id, tally, completed)
    return ScanReport(tally, time.monotonic() - started, completed)


def check_sources(paths: Sequence[Path]) -> None:
    """Raise :class:`UserError` naming the first path that does not exist."""
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise UserError(f"no such file or folder: {display_path(os.fspath(path))}")


def work_units(tasks: Iterable[FileTask], options: ScanOptions) -> Iterator[WorkUnit]:
    """The first attempt at each planned file, as ``options`` say."""
    full = FingerprintOptions(
        options.limits,
        options.video_limits,
        decode=True,
        origin=options.origin,
        keep_prompts=options.keep_prompts,
        pixel_model=options.pixel_model,
    )
    for task in tasks:
        yield first_attempt(task, full, options.file_timeout)


def fingerprint_all(
    units: Iterable[WorkUnit],
    executor: ScanExecutor,
    recorder: ScanRecorder,
    observer: ScanObserver | None = None,
    *,
    poll_seconds: float = 0.5,
) -> None:
    """Run ``units`` through ``executor`` and record every file they leave.

    At most ``executor.capacity`` units are in flight at once, each failed unit's
    digest-only retry among them (:func:`clearsight.scan.work.settle`). Whatever comes
    back, the recorder commits here, in this process; ``poll_seconds`` is how long to wait
    for a unit before committing a batch that is due.
    """
    queue = iter(units)
    in_flight = 0
    with executor:
        for unit in queue:
            executor.submit(unit)
            in_flight += 1
            if in_flight >= executor.capacity:
                break
        while in_flight:
            for outcome in executor.collect(poll_seconds):
                in_flight -= 1
                settled = settle(outcome)
                if isinstance(settled, WorkUnit):
                    executor.submit(settled)
                    in_flight += 1
                    continue
                recorder.add(outcome.unit.source_id, settled)
                if observer is not None:
                    observer.advanced(1)
                next_unit = next(queue, None)
                if next_unit is not None:
                    executor.submit(next_unit)
                    in_flight += 1
            recorder.maybe_flush()
