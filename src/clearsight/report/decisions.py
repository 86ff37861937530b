"""The human decisions on a page of items, each item with the status the review rules
give it, so that an export says a category was decided only where it is final.

The status comes from :meth:`DecisionBook.statuses`, the rule the review server applies
(an item matched in a bank of ``two_reviewer_banks`` needs a second reviewer's agreeing
decision), never a copy of it. The decisions and the statuses are two reads; since
decisions are only ever added, an item whose count of decisions is the same after both
reads had the same decisions for both, and an item decided in between is read again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from clearsight.categories import CategoryScheme, default_scheme
from clearsight.errors import CaseStoreError
from clearsight.report.rows import HumanDecision
from clearsight.review.decisions import DecisionBook, DecisionStatus
from clearsight.review.settings import ReviewSettings, SettingsStore

# Reads of an item decided again while it was being read, before the export gives up;
# a person cannot decide one item that often in the milliseconds a read takes.
MAX_READS = 5


class DecisionSource(Protocol):
    """What the decisions of an export need of a case store."""

    def review_settings(self) -> SettingsStore: ...

    def decisions(self, settings: ReviewSettings, scheme: CategoryScheme) -> DecisionBook: ...


@dataclass(frozen=True)
class ItemDecisions:
    """An item's decisions, oldest first, and where the newest stands."""

    history: tuple[HumanDecision, ...] = ()
    status: DecisionStatus = DecisionStatus.UNDECIDED


NO_DECISIONS = ItemDecisions()


class CaseDecisions:
    """The decisions of one case database, under its stored review settings."""

    def __init__(self, source: DecisionSource) -> None:
        # The scheme checks new decisions; an export makes none, so any scheme will do
        # and the case's own (perhaps a file only its reviewers have) is not needed.
        self._book = source.decisions(source.review_settings().load(), default_scheme())

    def of(self, item_ids: Sequence[int]) -> dict[int, ItemDecisions]:
        """Each decided item of ``item_ids`` (an undecided one is absent: see
        ``NO_DECISIONS``), read in a fixed number of queries whatever the number of ids."""
        found: dict[int, ItemDecisions] = {}
        unread = list(item_ids)
        for _ in range(MAX_READS):
            history = self._book.on_items(unread)
            statuses = self._book.statuses(unread)
            counts = self._book.counts(unread)
            changed: list[int] = []
            for item_id in unread:
                decisions = tuple(history.get(item_id, ()))
                if counts.get(item_id, 0) != len(decisions):
                    changed.append(item_id)
                elif decisions:
                    found[item_id] = ItemDecisions(decisions, statuses[item_id])
            if not changed:
                return found
            unread = changed
        raise CaseStoreError(
            f"item {unread[0]} was decided again each time the export read it: export again"
        )
