"""Work a supervisor gives to a reviewer: items, whole stacks or whole series.

An assignment is a row per item, so a reviewer's "assigned to me" view and the queue's
filters ask the same question of every unit. Assigning again is harmless (the row is
kept as first written). Each assignment is audited in its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clearsight.errors import UserError
from clearsight.store.engines import utc_now
from clearsight.store.models import ItemTriageRow
from clearsight.store.review.accounts import Account, Role, subject_of
from clearsight.store.review.audit import AuditAction, record
from clearsight.store.review_models import AccountRow, AssignmentRow

# Roles that review, and so can be given work.
ASSIGNABLE = frozenset({Role.REVIEWER, Role.SUPERVISOR})


class AssignmentBook:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def assign_item(self, item_id: int, reviewer: str, *, by: Account, whole_stack: bool) -> int:
        """Give ``item_id`` (with its stack, if asked) to ``reviewer``; return how many
        items were newly assigned."""
        with Session(self._engine) as session:
            row = session.get(ItemTriageRow, item_id)
            if row is None:
                raise UserError(f"item {item_id} is not in the review queue")
            if whole_stack and row.stack_id is not None:
                items = list(
                    session.scalars(
                        select(ItemTriageRow.item_id).where(ItemTriageRow.stack_id == row.stack_id)
                    )
                )
                return self._assign(items, reviewer, by, f"stack:{row.stack_id}")
        return self._assign([item_id], reviewer, by, f"item:{item_id}")

    def assign_series(self, series_id: int, reviewer: str, *, by: Account) -> int:
        with Session(self._engine) as session:
            items = list(
                session.scalars(
                    select(ItemTriageRow.item_id).where(ItemTriageRow.series_id == series_id)
                )
            )
        if not items:
            raise UserError(f"series {series_id} is not in the review queue")
        return self._assign(items, reviewer, by, f"series:{series_id}")

    def assigned_to(self, item_ids: Sequence[int]) -> dict[int, list[str]]:
        """Who each of ``item_ids`` is assigned to."""
        found: dict[int, list[str]] = {}
        if not item_ids:
            return found
        with Session(self._engine) as session:
            for item_id, name in session.execute(
                select(AssignmentRow.item_id, AccountRow.name)
                .join(AccountRow, AccountRow.id == AssignmentRow.account_id)
                .where(AssignmentRow.item_id.in_(list(item_ids)))
                .order_by(AccountRow.name)
            ):
                found.setdefault(item_id, []).append(name)
        return found

    def _assign(self, items: list[int], reviewer: str, by: Account, subject: str) -> int:
        with Session(self._engine) as session, session.begin():
            account = session.scalar(select(AccountRow).where(AccountRow.name == reviewer))
            if account is None or account.disabled or Role(account.role) not in ASSIGNABLE:
                raise UserError(f"{reviewer[:80]!r} is not an active reviewer or supervisor")
            have = set(
                session.scalars(
                    select(AssignmentRow.item_id).where(
                        AssignmentRow.account_id == account.id, AssignmentRow.item_id.in_(items)
                    )
                )
            )
            now = utc_now()
            new = [item for item in items if item not in have]
            session.add_all(
                AssignmentRow(
                    item_id=item, account_id=account.id, assigned_by=by.id, assigned_at=now
                )
                for item in new
            )
            session.flush()
            record(
                session,
                by.name,
                AuditAction.ASSIGNMENT,
                subject,
                {"to": subject_of(account.name), "items": len(items), "new": len(new)},
            )
            return len(new)
