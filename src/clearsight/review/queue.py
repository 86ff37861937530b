"""The review queue: units, filters and positions.

The review services keep their SQL in the store,
:mod:`clearsight.store.queue` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.interface import UnitKind
from clearsight.store.queue import (
    MAX_PAGE,
    BankStatus,
    DecisionState,
    QueueFilter,
    QueuePage,
    QueuePosition,
    QueueUnit,
    ReviewQueue,
    SeriesScope,
)

__all__ = [
    "BankStatus",
    "DecisionState",
    "MAX_PAGE",
    "QueueFilter",
    "QueuePage",
    "QueuePosition",
    "QueueUnit",
    "ReviewQueue",
    "SeriesScope",
    "UnitKind",
]
