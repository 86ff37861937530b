"""The exposure meter: what each reviewer saw unblurred, and its limits.

The review services keep their SQL in the store,
:mod:`clearsight.store.review.exposure` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.interface import RevealRecord
from clearsight.store.review.exposure import (
    MAX_EXTENSION_S,
    OPEN_REVEAL_CAP_S,
    REVEAL_SLACK_S,
    ExposureMeter,
    RevealOutcome,
)

__all__ = [
    "ExposureMeter",
    "MAX_EXTENSION_S",
    "OPEN_REVEAL_CAP_S",
    "REVEAL_SLACK_S",
    "RevealOutcome",
    "RevealRecord",
]
