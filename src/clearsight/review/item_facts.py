"""What the review screen shows beside an item's preview.

The review services keep their SQL in the store,
:mod:`clearsight.store.review.item_facts` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.review.item_facts import (
    MEMBERS_SHOWN,
    GroupFacts,
    ItemFacts,
    OriginFacts,
)

__all__ = [
    "GroupFacts",
    "ItemFacts",
    "MEMBERS_SHOWN",
    "OriginFacts",
]
