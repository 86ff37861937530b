"""Human decisions about items: recorded with what the server knows, never what a
browser claims.

A decision says an item's category (in the case's scheme), its origin as the reviewer
judges it, a series it belongs to, whether the victim is identified, and free notes.
Whether the reviewer saw the file unblurred is read from ``reveals`` at the moment of
deciding: True only if this account revealed this very item before (the item, not one
frame of a video: that is recorded as such, and is not the file). A decision for a
near-duplicate stack writes one row per member, each with the stack's id and its own
``viewed_unblurred``.

Banks named in the ``two_reviewer_banks`` setting need two people: a decision on an
item matched in one counts as final only once a second account has agreed with it
(same category and origin), which the second decision records in ``confirms``. The
newest decision on an item is its current one. Each row and its audit entry commit in
one transaction.

A key pressed by mistake decides at once, so the last decision can be taken back for
``undo_window_s`` seconds (:meth:`DecisionBook.undo`): only by the account that made
it, only while it is that account's newest decision and still the current one on each
of its items (not once a second reviewer has confirmed it). Its rows are removed and an
audit entry says so: the audit log keeps both the decision and its withdrawal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, Integer, func, select, text
from sqlalchemy import cast as sa_cast
from sqlalchemy.orm import Session

from clearsight.categories import CategoryScheme, HumanOrigin, VictimIdentified
from clearsight.errors import UserError
from clearsight.store.engines import utc_now
from clearsight.store.models import ItemTriageRow, Match
from clearsight.store.review.accounts import Account
from clearsight.store.review.audit import AuditAction, record
from clearsight.store.review.settings import ReviewSettings
from clearsight.store.review_models import AccountRow, AuditEntryRow, DecisionRow, RevealRow

MAX_NOTES = 10_000
MAX_SERIES = 200
Clock = Callable[[], datetime]


class DecisionStatus(StrEnum):
    UNDECIDED = "undecided"
    AWAITING_CONFIRMATION = "awaiting-confirmation"  # needs a second reviewer
    FINAL = "final"


@dataclass(frozen=True)
class DecisionInput:
    """What a reviewer decides; checked by :meth:`DecisionBook.decide`."""

    category: str
    origin: HumanOrigin
    victim_identified: VictimIdentified
    series: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class ReviewDecision:
    """One reviewer's decision on one item, as recorded: the one decision record, which
    the review server and every export read (:func:`_decision_of` is its one mapper)."""

    id: int
    item_id: int
    reviewer: str
    stack_id: int | None
    category: str
    origin: HumanOrigin
    series: str | None
    victim_identified: VictimIdentified
    notes: str
    viewed_unblurred: bool
    confirms: int | None  # the decision this one agreed with
    decided_at: datetime

    @property
    def confirms_ai(self) -> bool:
        """The reviewer judged that a generator made or changed the picture."""
        return self.origin in (HumanOrigin.AI_GENERATED, HumanOrigin.AI_EDITED)

    @property
    def victim_flag(self) -> bool | None:
        return {VictimIdentified.YES: True, VictimIdentified.NO: False}.get(self.victim_identified)


class UndoRefused(UserError):
    """A decision that cannot be taken back (too late, someone else's, not the last)."""


@dataclass(frozen=True)
class Undoable:
    """An account's last decision while it may still take it back: one decision
    act, which for a stack is one row per member."""

    decision_id: int  # the act's first row
    item_ids: tuple[int, ...]
    category: str
    decided_at: datetime
    seconds_left: float


class DecisionBook:
    """Decisions of one case database, under the organisation's settings and scheme."""

    def __init__(
        self,
        engine: Engine,
        settings: ReviewSettings,
        scheme: CategoryScheme,
        clock: Clock = utc_now,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._scheme = scheme
        self._clock = clock

    def decide(
        self, account: Account, item_id: int, decision: DecisionInput, *, whole_stack: bool
    ) -> list[ReviewDecision]:
        """Record ``decision`` on ``item_id`` (on every member of its stack when
        ``whole_stack``), one row and one audit entry per item. Whether ``account``
        may decide (its role) is the caller's to check."""
        checked = self._checked(decision)
        with Session(self._engine) as session, session.begin():
            _take_write_lock(session)
            triage = session.get(ItemTriageRow, item_id)
            if triage is None:
                raise UserError(f"item {item_id} is not in the review queue")
            stack_id = triage.stack_id if whole_stack else None
            members = (
                list(
                    session.scalars(
                        select(ItemTriageRow.item_id)
                        .where(ItemTriageRow.stack_id == stack_id)
                        .order_by(ItemTriageRow.item_id)
                    )
                )
                if stack_id is not None
                else [item_id]
            )
            now = self._clock()
            revealed = _revealed(session, account.id, members, now)
            current = _current(session, members)
            first_id = _unused_id(session)
            rows: list[DecisionRow] = []
            for member in members:
                previous = current.get(member)
                confirms = (
                    previous.id
                    if previous is not None
                    and previous.account_id != account.id
                    and previous.category == checked.category
                    and previous.origin == checked.origin.value
                    else None
                )
                row = DecisionRow(
                    item_id=member,
                    account_id=account.id,
                    stack_id=stack_id,
                    category=checked.category,
                    origin=checked.origin.value,
                    series=checked.series,
                    victim_identified=checked.victim_identified.value,
                    notes=checked.notes,
                    viewed_unblurred=member in revealed,
                    confirms=confirms,
                    decided_at=now,
                )
                if first_id is not None and not rows:
                    row.id = first_id
                session.add(row)
                session.flush()
                record(
                    session,
                    account.name,
                    AuditAction.DECISION,
                    f"item:{member}",
                    _audit_detail(row),
                )
                rows.append(row)
            return [_decision_of(row, account.name) for row in rows]

    def undoable(self, account: Account) -> Undoable | None:
        """``account``'s last decision if :meth:`undo` would take it back now."""
        window = self._settings.undo_window_s
        with Session(self._engine) as session:
            newest = session.scalars(
                select(DecisionRow)
                .where(DecisionRow.account_id == account.id)
                .order_by(DecisionRow.id.desc())
                .limit(1)
            ).first()
            if newest is None:
                return None
            act = _act_of(session, newest)
            left = window - (self._clock() - newest.decided_at).total_seconds()
            if left <= 0 or _decided_since(session, act):
                return None
            return Undoable(
                act[0].id,
                tuple(row.item_id for row in act),
                newest.category,
                newest.decided_at,
                left,
            )

    def undo(self, account: Account, decision_id: int) -> list[ReviewDecision]:
        """Take back decision ``decision_id`` (with the rest of its stack decision) and
        audit it, one entry per item; returns the rows removed. Refused with
        :class:`UndoRefused` unless ``account`` made it, it is that account's newest
        decision, nobody has decided its items since, and at most ``undo_window_s``
        seconds have passed. Whether ``account`` may decide at all is the caller's."""
        window = self._settings.undo_window_s
        with Session(self._engine) as session, session.begin():
            _take_write_lock(session)
            row = session.get(DecisionRow, decision_id, with_for_update=True)
            if row is None:
                raise UndoRefused(f"there is no decision {decision_id}")
            if row.account_id != account.id:
                raise UndoRefused("only the reviewer who made a decision can take it back")
            act = _act_of(session, row, lock=True)
            newest = session.scalar(
                select(func.max(DecisionRow.id)).where(DecisionRow.account_id == account.id)
            )
            if newest not in {r.id for r in act}:
                raise UndoRefused("only your last decision can be taken back")
            if _decided_since(session, act):
                raise UndoRefused(
                    "another decision was made on this item since; it can no longer be taken back"
                )
            now = self._clock()
            waited = (now - row.decided_at).total_seconds()
            if window <= 0:
                raise UndoRefused("this case takes no decision back (undo_window_s is 0)")
            if waited > window:
                raise UndoRefused(
                    f"a decision can be taken back for {window} s; {waited:.0f} s have passed"
                )
            withdrawn = [_decision_of(r, account.name) for r in act]
            for member in act:
                record(
                    session,
                    account.name,
                    AuditAction.DECISION_UNDONE,
                    f"item:{member.item_id}",
                    {
                        "decision": member.id,
                        "category": member.category,
                        "origin": member.origin,
                        "stack": member.stack_id,
                        "after_s": round(waited, 1),
                    },
                )
                session.delete(member)
            return withdrawn

    def history(self, item_id: int) -> list[ReviewDecision]:
        """Every decision on ``item_id``, oldest first; the last is current."""
        return self.on_items([item_id]).get(item_id, [])

    def on_items(self, item_ids: Sequence[int]) -> dict[int, list[ReviewDecision]]:
        found: dict[int, list[ReviewDecision]] = {}
        if not item_ids:
            return found
        with Session(self._engine) as session:
            rows = session.execute(
                select(DecisionRow, AccountRow.name)
                .join(AccountRow, AccountRow.id == DecisionRow.account_id)
                .where(DecisionRow.item_id.in_(list(item_ids)))
                .order_by(DecisionRow.item_id, DecisionRow.id)
            )
            for row, name in rows:
                found.setdefault(row.item_id, []).append(_decision_of(row, name))
        return found

    def counts(self, item_ids: Sequence[int]) -> dict[int, int]:
        """How many decisions each decided item of ``item_ids`` has (decisions are only
        added, but for the newest taken back within seconds of being made (:meth:`undo`),
        so an equal count means the same decisions)."""
        if not item_ids:
            return {}
        with Session(self._engine) as session:
            return {
                item_id: count
                for item_id, count in session.execute(
                    select(DecisionRow.item_id, func.count(DecisionRow.id))
                    .where(DecisionRow.item_id.in_(list(item_ids)))
                    .group_by(DecisionRow.item_id)
                )
            }

    def status(self, item_id: int) -> DecisionStatus:
        return self.statuses([item_id])[item_id]

    def statuses(self, item_ids: Sequence[int]) -> dict[int, DecisionStatus]:
        """Whether each item is undecided, awaiting a second reviewer, or final."""
        history = self.on_items(item_ids)
        needing = self.needs_two_reviewers(item_ids)
        found: dict[int, DecisionStatus] = {}
        for item_id in item_ids:
            decisions = history.get(item_id)
            if not decisions:
                found[item_id] = DecisionStatus.UNDECIDED
            elif item_id in needing and decisions[-1].confirms is None:
                found[item_id] = DecisionStatus.AWAITING_CONFIRMATION
            else:
                found[item_id] = DecisionStatus.FINAL
        return found

    def needs_two_reviewers(self, item_ids: Sequence[int]) -> set[int]:
        """The items matched in a bank that the settings say needs two reviewers."""
        banks = self._settings.two_reviewer_banks
        if not banks or not item_ids:
            return set()
        with Session(self._engine) as session:
            return set(
                session.scalars(
                    select(Match.item_id)
                    .where(Match.item_id.in_(list(item_ids)), Match.bank.in_(banks))
                    .distinct()
                )
            )

    def latest(self, *, before: int | None = None, limit: int = 50) -> list[ReviewDecision]:
        """The newest decisions of everyone, newest first, ending before id ``before``
        (a supervisor's overview; keyset-paged on the id)."""
        query = (
            select(DecisionRow, AccountRow.name)
            .join(AccountRow, AccountRow.id == DecisionRow.account_id)
            .order_by(DecisionRow.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(DecisionRow.id < before)
        with Session(self._engine) as session:
            return [_decision_of(row, name) for row, name in session.execute(query)]

    def _checked(self, decision: DecisionInput) -> DecisionInput:
        self._scheme.by_code(decision.category)
        series = (decision.series or "").strip() or None
        if series is not None and (len(series) > MAX_SERIES or "\n" in series):
            raise UserError(f"a series is one line of at most {MAX_SERIES} characters")
        if len(decision.notes) > MAX_NOTES:
            raise UserError(f"notes are at most {MAX_NOTES} characters")
        return DecisionInput(
            decision.category,
            HumanOrigin(decision.origin),
            VictimIdentified(decision.victim_identified),
            series,
            decision.notes.strip(),
        )


def _take_write_lock(session: Session) -> None:
    """On SQLite, take the write lock before reading, so that what is read (reveals,
    the current decision) cannot change before the rows are written. PostgreSQL's row
    writes need no such help: the audit log's advisory lock orders the appends."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE decisions SET id = id WHERE 1 = 0"))


def _revealed(session: Session, account_id: int, members: list[int], now: datetime) -> set[int]:
    return set(
        session.scalars(
            select(RevealRow.item_id)
            .where(
                RevealRow.account_id == account_id,
                RevealRow.item_id.in_(members),
                RevealRow.started_at <= now,
                # One frame of a video is not the file: a frame's reveal is recorded
                # (which frames were seen), but does not make the decision say viewed.
                RevealRow.frame_number.is_(None),
            )
            .distinct()
        )
    )


def _unused_id(session: Session) -> int | None:
    """The id the next decision must take where the database would reuse one, else
    None. SQLite gives a new row the highest id plus one, so a decision taken back as
    the newest row would hand its id on, and the audit log would name two decisions by
    one id. The audit log keeps every id taken back: start above the highest of them."""
    if session.get_bind().dialect.name != "sqlite":
        return None  # a PostgreSQL sequence never gives an id twice
    # One aggregate in SQLite (JSON1 is built in) rather than every undo entry in Python.
    highest = session.scalar(
        select(
            func.max(sa_cast(func.json_extract(AuditEntryRow.detail, "$.decision"), Integer))
        ).where(AuditEntryRow.action == AuditAction.DECISION_UNDONE.value)
    )
    if highest is None:
        return None
    newest = session.scalar(select(func.max(DecisionRow.id))) or 0
    return highest + 1 if highest >= newest else None


def _act_of(session: Session, row: DecisionRow, *, lock: bool = False) -> list[DecisionRow]:
    """The rows one :meth:`DecisionBook.decide` call wrote along with ``row``: for a
    stack, those of the same account, stack and moment; else ``row`` alone. ``lock``:
    hold them (PostgreSQL) until the transaction ends, as an undo removes them."""
    if row.stack_id is None:
        return [row]
    query = (
        select(DecisionRow)
        .where(
            DecisionRow.account_id == row.account_id,
            DecisionRow.stack_id == row.stack_id,
            DecisionRow.decided_at == row.decided_at,
        )
        .order_by(DecisionRow.id)
    )
    return list(session.scalars(query.with_for_update() if lock else query))


def _decided_since(session: Session, act: list[DecisionRow]) -> bool:
    """Whether a later decision (anyone's) stands on an item of ``act``."""
    return any(
        session.scalar(
            select(DecisionRow.id)
            .where(DecisionRow.item_id == row.item_id, DecisionRow.id > row.id)
            .limit(1)
        )
        is not None
        for row in act
    )


def _current(session: Session, members: list[int]) -> dict[int, DecisionRow]:
    current: dict[int, DecisionRow] = {}
    for row in session.scalars(
        select(DecisionRow).where(DecisionRow.item_id.in_(members)).order_by(DecisionRow.id)
    ):
        current[row.item_id] = row
    return current


def _audit_detail(row: DecisionRow) -> dict[str, object]:
    """What the audit log keeps of a decision: everything but the notes' text, which
    may describe the picture; their length says that there were notes."""
    return {
        "decision": row.id,
        "category": row.category,
        "origin": row.origin,
        "series": row.series,
        "victim_identified": row.victim_identified,
        "viewed_unblurred": row.viewed_unblurred,
        "confirms": row.confirms,
        "stack": row.stack_id,
        "notes_chars": len(row.notes),
    }


def _decision_of(row: DecisionRow, reviewer: str) -> ReviewDecision:
    return ReviewDecision(
        id=row.id,
        item_id=row.item_id,
        reviewer=reviewer,
        stack_id=row.stack_id,
        category=row.category,
        origin=HumanOrigin(row.origin),
        series=row.series,
        victim_identified=VictimIdentified(row.victim_identified),
        notes=row.notes,
        viewed_unblurred=row.viewed_unblurred,
        confirms=row.confirms,
        decided_at=row.decided_at,
    )
