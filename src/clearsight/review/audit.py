"""The append-only, hash-chained audit log.

The review services keep their SQL in the store,
:mod:`clearsight.store.review.audit` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.review.audit import (
    GENESIS,
    AuditAction,
    AuditEntry,
    AuditLog,
    ChainCheck,
    canonical_detail,
    entry_hash,
)

__all__ = [
    "AuditAction",
    "AuditEntry",
    "AuditLog",
    "ChainCheck",
    "GENESIS",
    "canonical_detail",
    "entry_hash",
]
