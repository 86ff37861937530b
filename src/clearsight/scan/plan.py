"""Planning a scan: what is left to read, and what an earlier scan already recorded.

Planning walks every source once and sorts each entry into one of three heaps: already
recorded (a path with a row of its source, item or error: the scan resumes past it),
recorded unread (an entry the walk refuses, such as a link out of the source or a pipe,
recorded with its reason and never opened), and files to fingerprint. Resume is by
path: a file recorded by an earlier scan is done, whatever happened to it since.

Planning reads the case and writes only the sources' names; it leaves every record
to the scan's single writer (:mod:`clearsight.scan.recorder`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clearsight.media.sniff import MediaKind
from clearsight.scan.walk import FileEntry, SkippedEntry, source_root, walk_source
from clearsight.store.interface import ErrorStage, ItemError, ScanLedger, ScannedFile


@dataclass(frozen=True)
class FileTask:
    """A file of a source still to fingerprint."""

    source_id: int
    entry: FileEntry


@dataclass(frozen=True)
class ScanPlan:
    """What a scan of some sources has to do.

    Every entry seen lands in exactly one of ``already_done``, ``unread`` and ``tasks``.
    """

    tasks: list[FileTask]
    unread: list[tuple[int, ScannedFile]]  # (source id, record)
    files_seen: int
    already_done: int


def plan_scan(
    ledger: ScanLedger, paths: Sequence[Path], exclude: frozenset[str] = frozenset()
) -> ScanPlan:
    """Walk every source of ``paths`` (opening each in ``ledger``) and plan its scan.

    A source named twice is walked once. Folders whose resolved path is in ``exclude``
    are passed over without a record (see :func:`clearsight.scan.walk.walk_source`).
    """
    tasks: list[FileTask] = []
    unread: list[tuple[int, ScannedFile]] = []
    files_seen = already_done = 0
    seen_sources: set[int] = set()
    for path in paths:
        source_id = ledger.open_source(source_root(path))
        if source_id in seen_sources:
            continue  # the same source named twice
        seen_sources.add(source_id)
        done = ledger.recorded_paths(source_id)
        for entry in walk_source(path, exclude):
            files_seen += 1
            if entry.rel_path in done:
                already_done += 1
            elif isinstance(entry, SkippedEntry):
                unread.append((source_id, unread_record(entry)))
            else:
                tasks.append(FileTask(source_id, entry))
    return ScanPlan(tasks, unread, files_seen, already_done)


def unread_record(entry: SkippedEntry) -> ScannedFile:
    """The record of an entry the walk refuses to open, with its reason."""
    return ScannedFile(
        path=entry.rel_path,
        media_type=entry.media_type,
        kind=MediaKind.OTHER,
        errors=(ItemError(ErrorStage.WALK, entry.reason),),
    )
