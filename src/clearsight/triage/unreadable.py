"""The files a scan could not read: a group of their own, beside the queue.

A broken file says nothing of its origin and can match no picture hash, so weighing it
as "unmatched: new material" would rank it beside a new camera photo. Triage keeps it
out of the queue (unless a bank knows its digest) and the queue's shells (``clearsight
queue``, the review server's queue, the case report) list it here instead, under
"could not read", with the error that stopped the scan, one line per file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby, islice
from typing import Protocol

from clearsight.store.interface import ErrorRecord, Selection

GROUP_TITLE = "Could not read"


class ErrorSource(Protocol):
    def error_records(self, selection: Selection) -> Iterator[ErrorRecord]: ...


@dataclass(frozen=True)
class UnreadableFile:
    item_id: int
    path: str  # under its source, display form
    error: str  # each stage's reason, "decode: OSError: image file is truncated"


def unreadable_files(source: ErrorSource, limit: int | None = None) -> list[UnreadableFile]:
    """The case's files that met an error, in the order they were recorded, each
    once with all its errors; at most ``limit`` of them."""
    grouped = groupby(source.error_records(Selection()), key=lambda error: error.item_id)
    files = (_unreadable([*errors]) for _item_id, errors in grouped)
    return list(islice(files, limit))


def _unreadable(errors: list[ErrorRecord]) -> UnreadableFile:
    first = errors[0]
    reasons = "; ".join(f"{error.stage}: {error.reason}" for error in errors)
    return UnreadableFile(first.item_id, first.path, reasons)
