"""The case store: where every stage reads and writes a case's facts."""

from clearsight.store.interface import (
    ErrorStage,
    ItemError,
    ItemReader,
    ItemRow,
    ScanLedger,
    ScannedFile,
    ScanTally,
)
from clearsight.store.sql import SqlCaseStore

__all__ = [
    "ErrorStage",
    "ItemError",
    "ItemReader",
    "ItemRow",
    "ScanLedger",
    "ScanTally",
    "ScannedFile",
    "SqlCaseStore",
]
