"""Run a scan: walk the sources, fingerprint files on every core, record, resume.

The parent process is the only writer. Workers fingerprint files and send back
records; the parent commits them in batches, each batch one transaction. A path is
unique within its source, so a scan killed at any moment and run again skips what was
committed and redoes only the batch in flight: every file ends up recorded once.

A worker whose decoding runs past the per-file limit, or that dies (a decoder crash),
is replaced by pebble; the file is then digested again without decoding, so the record
still carries its digests, plus an error row that says what happened. The limit is on
decoding only (:mod:`clearsight.scan.fingerprint`): a file too large to decode, or the
retry of one that failed, is digested to its end however long that takes, since
reading and digesting always end.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import signal
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from pebble import ProcessExpired, ProcessPool

from clearsight.cores import available_cores
from clearsight.errors import UserError
from clearsight.file_paths import display_path
from clearsight.media.decode import DecodeLimits
from clearsight.media.sniff import MediaKind
from clearsight.scan.fingerprint import FingerprintOptions, fingerprint_file, unreadable
from clearsight.scan.walk import FileEntry, SkippedEntry, source_root, walk_source
from clearsight.store.interface import ErrorStage, ItemError, ScanLedger, ScannedFile, ScanTally


@dataclass(frozen=True)
class ScanOptions:
    workers: int | None = None  # None: every core this process may use
    file_timeout: float = 120.0  # seconds decoding one file may take (never digesting)
    limits: DecodeLimits = DecodeLimits()
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


@dataclass(frozen=True)
class _Task:
    source_id: int
    entry: FileEntry
    first_failure: str | None = None


def run_scan(
    ledger: ScanLedger,
    paths: Sequence[Path],
    options: ScanOptions,
    observer: ScanObserver | None = None,
) -> ScanReport:
    """Scan ``paths`` into ``ledger``. Files already recorded are skipped."""
    check_sources(paths)
    started = time.monotonic()
    scan_id = ledger.start_scan([source_root(path) for path in paths])
    recorder = _Recorder(ledger, scan_id, options)
    completed = False
    try:
        tasks = _plan(ledger, paths, options, recorder)
        if observer is not None:
            observer.discovered(recorder.tally_seen, recorder.already_done)
            observer.advanced(recorder.tally_seen - recorder.already_done - len(tasks))
        _fingerprint_all(tasks, options, recorder, observer)
        completed = True
    finally:
        recorder.flush()
        tally = recorder.tally()
        ledger.finish_scan(scan_id, tally, completed)
    return ScanReport(tally, time.monotonic() - started, completed)


def check_sources(paths: Sequence[Path]) -> None:
    """Raise :class:`UserError` naming the first path that does not exist."""
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise UserError(f"no such file or folder: {display_path(os.fspath(path))}")


class _Recorder:
    """Buffers records and commits them in batches; keeps the scan's counts."""

    def __init__(self, ledger: ScanLedger, scan_id: int, options: ScanOptions) -> None:
        self._ledger = ledger
        self._scan_id = scan_id
        self._options = options
        self._buffer: list[tuple[int, ScannedFile]] = []
        self._last_commit = time.monotonic()
        self.tally_seen = 0
        self.already_done = 0
        self.items = 0
        self.errors = 0

    def add(self, source_id: int, scanned: ScannedFile) -> None:
        self._buffer.append((source_id, scanned))
        if scanned.errors:
            self.errors += 1
        else:
            self.items += 1
        self.maybe_flush()

    def maybe_flush(self) -> None:
        due = time.monotonic() - self._last_commit >= self._options.commit_seconds
        if len(self._buffer) >= self._options.batch_size or (due and self._buffer):
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._ledger.record_files(self._scan_id, self._buffer)
            self._buffer = []
        self._last_commit = time.monotonic()

    def tally(self) -> ScanTally:
        return ScanTally(self.tally_seen, self.items, self.errors, self.already_done)


def _plan(
    ledger: ScanLedger, paths: Sequence[Path], options: ScanOptions, recorder: _Recorder
) -> list[_Task]:
    """Walk every source; record skipped entries, and return the files still to read."""
    tasks: list[_Task] = []
    seen_sources: set[int] = set()
    for path in paths:
        source_id = ledger.open_source(source_root(path))
        if source_id in seen_sources:
            continue  # the same source named twice
        seen_sources.add(source_id)
        done = ledger.recorded_paths(source_id)
        for entry in walk_source(path, options.exclude):
            recorder.tally_seen += 1
            if entry.rel_path in done:
                recorder.already_done += 1
            elif isinstance(entry, SkippedEntry):
                recorder.add(source_id, _skipped_record(entry))
            else:
                tasks.append(_Task(source_id, entry))
    return tasks


def _skipped_record(entry: SkippedEntry) -> ScannedFile:
    return ScannedFile(
        path=entry.rel_path,
        media_type=entry.media_type,
        kind=MediaKind.OTHER,
        errors=(ItemError(ErrorStage.WALK, entry.reason),),
    )


def _fingerprint_all(
    tasks: list[_Task],
    options: ScanOptions,
    recorder: _Recorder,
    observer: ScanObserver | None,
) -> None:
    if not tasks:
        return
    full = FingerprintOptions(
        options.limits,
        decode=True,
        origin=options.origin,
        keep_prompts=options.keep_prompts,
        pixel_model=options.pixel_model,
        decode_seconds=options.file_timeout,
    )
    digests_only = FingerprintOptions(options.limits, decode=False, origin=False)
    workers = options.workers or available_cores()
    window = max(4, workers * 8)
    queue: Iterator[_Task] = iter(tasks)
    in_flight: dict[Future[ScannedFile], _Task] = {}
    context = _quiet_forkserver()
    with ProcessPool(max_workers=workers, initializer=_worker_signals, context=context) as pool:

        def submit(task: _Task) -> None:
            how = digests_only if task.first_failure else full
            future = pool.schedule(
                fingerprint_file, args=(task.entry.abs_path, task.entry.rel_path, how)
            )
            in_flight[future] = task

        try:
            for task in queue:
                submit(task)
                if len(in_flight) >= window:
                    break
            while in_flight:
                finished, _ = wait(in_flight, options.commit_seconds, FIRST_COMPLETED)
                for future in finished:
                    task = in_flight.pop(future)
                    retry = _settle(future, task, options, recorder)
                    if retry is not None:
                        submit(retry)
                        continue
                    if observer is not None:
                        observer.advanced(1)
                    next_task = next(queue, None)
                    if next_task is not None:
                        submit(next_task)
                recorder.maybe_flush()
        except BaseException:
            pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves stop() unannotated
            raise


def _settle(
    future: Future[ScannedFile], task: _Task, options: ScanOptions, recorder: _Recorder
) -> _Task | None:
    """Record a finished task, or return the digest-only retry of a failed one."""
    rel = task.entry.rel_path
    try:
        scanned = future.result()
    except ProcessExpired as exc:
        if exc.exitcode == -signal.SIGALRM:
            failure = f"gave up after the per-file limit of {options.file_timeout:g} s"
        else:
            failure = f"the decoding process died ({exc})"
    except Exception as exc:  # noqa: BLE001 - a lost task is this file's error row
        failure = f"the worker failed ({type(exc).__name__})"
    else:
        if task.first_failure is not None:
            worker_error = ItemError(ErrorStage.WORKER, task.first_failure)
            scanned = replace(scanned, errors=(*scanned.errors, worker_error))
        recorder.add(task.source_id, scanned)
        return None
    if task.first_failure is None:
        return _Task(task.source_id, task.entry, failure)
    recorder.add(task.source_id, unreadable(rel, ErrorStage.WORKER, task.first_failure))
    return None


def _quiet_forkserver() -> multiprocessing.context.ForkServerContext:
    """The multiprocessing context workers are forked from, started with stderr silenced.

    A fork server imports the decoders once; each worker, including the replacement for
    one killed at the time limit, is then a cheap fork of a single-threaded process.
    The server and its workers write nowhere: C decoders chatter on stderr, and a worker
    still starting when a short scan's pool closes prints a harmless traceback. Failures
    that matter reach the parent through each task's future and become error rows.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["clearsight.scan.fingerprint"])
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        multiprocessing.forkserver.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return context


def _worker_signals() -> None:
    """Workers leave Ctrl-C to the parent, which commits what is done and stops them,
    and die of SIGALRM, the per-file limit on decoding."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
