"""The items that met an error, for the HTML report's list of errors, streamed.

Every error is listed, however many: a drive that failed half-way is exactly what an
examiner needs to see in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from clearsight.report.rows import file_location
from clearsight.report.selection import Selection
from clearsight.store.interface import ErrorRecord


class ErrorSource(Protocol):
    def error_records(self, selection: Selection) -> Iterator[ErrorRecord]: ...


@dataclass(frozen=True)
class ErrorEntry:
    item_id: int
    location: str
    stage: str
    reason: str


def error_entries(source: ErrorSource, selection: Selection) -> Iterator[ErrorEntry]:
    """The selected items' errors, in the order they were recorded."""
    for error in source.error_records(selection):
        yield ErrorEntry(
            error.item_id, file_location(error.source, error.path), error.stage, error.reason
        )
