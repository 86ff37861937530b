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

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from clearsight.errors import CaseStoreError
from clearsight.report.rows import HumanDecision
from clearsight.review.categories import default_scheme
from clearsight.review.decisions import DecisionBook, DecisionStatus
from clearsight.review.settings import SettingsStore
from clearsight.store.review_models import AccountRow, DecisionRow

# Reads of an item decided again while it was being read, before the export gives up;
# a person cannot decide one item that often in the milliseconds a read takes.
MAX_READS = 5


@dataclass(frozen=True)
class ItemDecisions:
    """An item's decisions, oldest first, and where the newest stands."""

    history: tuple[HumanDecision, ...] = ()
    status: DecisionStatus = DecisionStatus.UNDECIDED


NO_DECISIONS = ItemDecisions()


class CaseDecisions:
    """The decisions of one case database, under its stored review settings."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # The scheme checks new decisions; an export makes none, so any scheme will do
        # and the case's own (perhaps a file only its reviewers have) is not needed.
        self._book = DecisionBook(engine, SettingsStore(engine).load(), default_scheme())

    def of(self, item_ids: Sequence[int]) -> dict[int, ItemDecisions]:
        """Each decided item of ``item_ids`` (an undecided one is absent: see
        ``NO_DECISIONS``), read in a fixed number of queries whatever the number of ids."""
        found: dict[int, ItemDecisions] = {}
        unread = list(item_ids)
        for _ in range(MAX_READS):
            history = _decisions_of(self._engine, unread)
            statuses = self._book.statuses(unread)
            counts = _decision_counts(self._engine, unread)
            changed: list[int] = []
            for item_id in unread:
                decisions = history.get(item_id, ())
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


def _decisions_of(engine: Engine, item_ids: Sequence[int]) -> dict[int, tuple[HumanDecision, ...]]:
    """The decisions on each of ``item_ids``, oldest first (the last is current)."""
    found: dict[int, list[HumanDecision]] = {}
    if not item_ids:
        return {}
    with Session(engine) as session:
        rows = session.execute(
            select(DecisionRow, AccountRow.name)
            .join(AccountRow, AccountRow.id == DecisionRow.account_id)
            .where(DecisionRow.item_id.in_(list(item_ids)))
            .order_by(DecisionRow.item_id, DecisionRow.id)  # the newest is the highest id
        )
        for row, reviewer in rows:
            found.setdefault(row.item_id, []).append(
                HumanDecision(
                    id=row.id,
                    reviewer=reviewer,
                    decided_at=row.decided_at,
                    category=row.category,
                    origin=row.origin,
                    series=row.series,
                    victim_identified=row.victim_identified,
                    notes=row.notes,
                    viewed_unblurred=row.viewed_unblurred,
                    confirms=row.confirms,
                )
            )
    return {item_id: tuple(rows) for item_id, rows in found.items()}


def _decision_counts(engine: Engine, item_ids: Sequence[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    with Session(engine) as session:
        return {
            item_id: count
            for item_id, count in session.execute(
                select(DecisionRow.item_id, func.count(DecisionRow.id))
                .where(DecisionRow.item_id.in_(list(item_ids)))
                .group_by(DecisionRow.item_id)
            )
        }
