"""Review decisions and the two-reviewer rule.

The review services keep their SQL in the store,
:mod:`clearsight.store.review.decisions` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.review.decisions import (
    MAX_NOTES,
    MAX_SERIES,
    DecisionBook,
    DecisionInput,
    DecisionStatus,
    ReviewDecision,
    Undoable,
    UndoRefused,
)

__all__ = [
    "DecisionBook",
    "DecisionInput",
    "DecisionStatus",
    "MAX_NOTES",
    "MAX_SERIES",
    "ReviewDecision",
    "UndoRefused",
    "Undoable",
]
