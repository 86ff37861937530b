"""The case store: where every stage reads and writes a case's facts.

Only the interface is exported here, so that worker processes which build records do
not import SQLAlchemy; the composition root imports :mod:`clearsight.store.sql`.
"""

from clearsight.store.interface import (
    ErrorStage,
    ItemError,
    ItemReader,
    ItemRow,
    ScanLedger,
    ScannedFile,
    ScanTally,
)

__all__ = [
    "ErrorStage",
    "ItemError",
    "ItemReader",
    "ItemRow",
    "ScanLedger",
    "ScanTally",
    "ScannedFile",
]
