"""Which reviewer is assigned which items.

The review services keep their SQL in the store,
:mod:`clearsight.store.review.assignments` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.review.assignments import (
    ASSIGNABLE,
    AssignmentBook,
)

__all__ = [
    "ASSIGNABLE",
    "AssignmentBook",
]
