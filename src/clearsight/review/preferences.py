"""A reviewer's own preview preferences.

The review services keep their SQL in the store,
:mod:`clearsight.store.review.preferences` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.review.preferences import (
    OwnPreferences,
    PreferenceBook,
)

__all__ = [
    "OwnPreferences",
    "PreferenceBook",
]
