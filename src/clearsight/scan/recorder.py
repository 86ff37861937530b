"""The scan's single writer: records buffered and committed in small batches.

Workers, wherever they run, only hand records back; this is the one place a scan
writes them. Each batch is one transaction, committed when it holds ``batch_size``
records or ``commit_seconds`` have passed since the last, so a crash loses at most the
batch in flight, and a path being unique within its source, the scan run again redoes
only that batch.
"""

from __future__ import annotations

import time

from clearsight.store.interface import ScanLedger, ScannedFile


class ScanRecorder:
    """Buffers ``(source id, record)`` pairs for one scan and counts what it recorded."""

    def __init__(
        self,
        ledger: ScanLedger,
        scan_id: int,
        *,
        batch_size: int = 100,
        commit_seconds: float = 0.5,
    ) -> None:
        self._ledger = ledger
        self._scan_id = scan_id
        self._batch_size = batch_size
        self._commit_seconds = commit_seconds
        self._buffer: list[tuple[int, ScannedFile]] = []
        self._last_commit = time.monotonic()
        self.items = 0  # records without an error row
        self.errors = 0  # records with at least one

    def add(self, source_id: int, scanned: ScannedFile) -> None:
        """Buffer one record, committing the batch if it is due."""
        self._buffer.append((source_id, scanned))
        if scanned.errors:
            self.errors += 1
        else:
            self.items += 1
        self.maybe_flush()

    def maybe_flush(self) -> None:
        """Commit the buffer if it is full or has waited ``commit_seconds``."""
        due = time.monotonic() - self._last_commit >= self._commit_seconds
        if len(self._buffer) >= self._batch_size or (due and self._buffer):
            self.flush()

    def flush(self) -> None:
        """Commit whatever is buffered, as one transaction."""
        if self._buffer:
            self._ledger.record_files(self._scan_id, self._buffer)
            self._buffer = []
        self._last_commit = time.monotonic()
