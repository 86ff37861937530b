"""The one review queue of a case: units in priority order, filtered, a page at a time.

``clearsight queue`` and the review server's queue both read it here, so they list the
same units in the same order.

A unit is what a reviewer looks at once: a series, a near-duplicate stack outside any
series, or an item in neither. Inside one series the units are its stacks and its items
outside a stack, so a series can be opened. A unit's file to look at first is a
stack's representative, and a series' highest-scored member (the lower id at a tie).

The queue is read with keyset pagination on (score, kind, id), never OFFSET and never
COUNT(*): each kind is read from its own (score, id) index (migration 0009), at most
one page from each, and the three runs are merged here, so a page costs the same at
the millionth unit as at the first. Order: score high to low; at equal scores a
series, then a stack, then an item (they say more per look); then the higher id first.
This is the one tie order of the queue; each kind's (score, id) index is read in it,
forwards or backwards, for every page.

Filters ask about a unit's members: a stack is "matched" if a member is in a bank
that is not an allow list, "unmatched" if no member is in any bank, "undecided" while
a member has no decision, "decided" once all have one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, exists, false, select, tuple_
from sqlalchemy.orm import Session, aliased

from clearsight.errors import UserError
from clearsight.store.interface import ItemFile, UnitKind, Verdict
from clearsight.store.models import Item, ItemTriageRow, Match, OriginRow, SeriesRow, StackRow
from clearsight.store.review_models import AssignmentRow, DecisionRow

MAX_PAGE = 200


# Where the case's items' files are (``SqlCaseStore.item_files``).
ItemFiles = Callable[[Sequence[int]], dict[int, ItemFile]]

# At equal scores: series first, then stacks, then items.
_RANK = {UnitKind.SERIES: 0, UnitKind.STACK: 1, UnitKind.ITEM: 2}


class BankStatus(StrEnum):
    ANY = "any"
    MATCHED = "matched"  # a member is in a bank that is not an allow list
    UNMATCHED = "unmatched"  # no member is in any bank: new material


class DecisionState(StrEnum):
    ANY = "any"
    UNDECIDED = "undecided"  # a member has no decision yet
    DECIDED = "decided"  # every member has a decision
    AWAITING_CONFIRMATION = "awaiting-confirmation"  # a member waits for a second reviewer


class SeriesScope(StrEnum):
    ANY = "any"
    IN_SERIES = "in-series"
    NO_SERIES = "no-series"


@dataclass(frozen=True)
class QueueFilter:
    """Which units to show. ``series_id`` opens one series: its stacks and items.
    ``two_reviewer_banks`` (the setting) says which items can await confirmation."""

    bank: BankStatus = BankStatus.ANY
    origin: Verdict | None = None
    series_scope: SeriesScope = SeriesScope.ANY
    series_id: int | None = None
    state: DecisionState = DecisionState.ANY
    assigned_to: int | None = None
    two_reviewer_banks: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class QueuePosition:
    """Where a unit stands in the queue; pages start after or end before one."""

    score: float
    kind: UnitKind
    id: int

    def token(self) -> str:
        """The position as it goes into a link (nothing secret: a score and an id)."""
        return f"{self.score!r}_{self.kind.value}_{self.id}"

    @classmethod
    def parse(cls, token: str) -> QueuePosition:
        parts = token.split("_")
        try:
            score, kind, unit_id = float(parts[0]), UnitKind(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            raise UserError(f"not a queue position: {token[:40]!r}") from None
        if len(parts) != 3 or not math.isfinite(score) or unit_id < 0:
            raise UserError(f"not a queue position: {token[:40]!r}")
        return cls(score, kind, unit_id)

    def _key(self) -> tuple[float, int, int]:
        return (-self.score, _RANK[self.kind], -self.id)


@dataclass(frozen=True)
class QueueUnit:
    kind: UnitKind
    id: int
    label: str
    size: int
    score: float
    reasons: tuple[str, ...]
    representative: int  # the item to show first
    location: str  # where the representative's file is
    undecided: bool  # a member has no decision yet
    path: str = ""  # the representative's path under its source (display form)

    @property
    def position(self) -> QueuePosition:
        return QueuePosition(self.score, self.kind, self.id)


@dataclass(frozen=True)
class QueuePage:
    units: tuple[QueueUnit, ...]
    before: QueuePosition | None  # the page before ends before this, if there is one
    after: QueuePosition | None  # the page after starts after this, if there is one


class ReviewQueue:
    """The queue of one case database; the store builds it (``SqlCaseStore.review_queue``)."""

    def __init__(self, engine: Engine, item_files: ItemFiles) -> None:
        self._engine = engine
        self._item_files = item_files

    def units(self, filters: QueueFilter | None = None) -> Iterator[QueueUnit]:
        """Every unit that passes ``filters`` (all of them by default), in queue order,
        read a page at a time."""
        wanted = filters or QueueFilter()
        page = self.page(wanted, limit=MAX_PAGE)
        while True:
            yield from page.units
            if page.after is None:
                return
            page = self.page(wanted, after=page.after, limit=MAX_PAGE)

    def page(
        self,
        filters: QueueFilter,
        *,
        after: QueuePosition | None = None,
        before: QueuePosition | None = None,
        limit: int = 50,
    ) -> QueuePage:
        """Up to ``limit`` units after ``after`` (or ending before ``before``)."""
        if not 1 <= limit <= MAX_PAGE:
            raise UserError(f"a queue page holds 1-{MAX_PAGE} units, not {limit}")
        with Session(self._engine) as session:
            forward = before is None
            found = _positions(session, filters, after if forward else before, forward, limit + 1)
            more = len(found) > limit
            found = found[:limit]
            if not forward:
                found.reverse()
            units = self._units(session, found)
            if not units:
                return QueuePage((), None, None)
            first, last = units[0].position, units[-1].position
            if forward:
                has_before = bool(_positions(session, filters, first, False, 1))
                has_after = more
            else:
                has_before = more
                has_after = bool(_positions(session, filters, last, True, 1))
        return QueuePage(tuple(units), first if has_before else None, last if has_after else None)

    def neighbour(
        self, position: QueuePosition, filters: QueueFilter, *, forward: bool
    ) -> QueueUnit | None:
        """The unit just after (or before) ``position``: j and k in the review screen."""
        with Session(self._engine) as session:
            found = _positions(session, filters, position, forward, 1)
            units = self._units(session, found)
        return units[0] if units else None

    def unit_of_item(self, item_id: int, filters: QueueFilter) -> QueueUnit | None:
        """The unit ``item_id`` is reviewed in: its series (unless a series is open),
        else its stack, else itself. None for an item the queue does not hold."""
        with Session(self._engine) as session:
            row = session.get(ItemTriageRow, item_id)
            if row is None:
                return None
            if row.series_id is not None and filters.series_id is None:
                unit = (UnitKind.SERIES, row.series_id)
            elif row.stack_id is not None:
                unit = (UnitKind.STACK, row.stack_id)
            else:
                unit = (UnitKind.ITEM, item_id)
            units = self._units(session, [unit])
        return units[0] if units else None

    def unit(self, kind: UnitKind, unit_id: int) -> QueueUnit | None:
        with Session(self._engine) as session:
            units = self._units(session, [(kind, unit_id)])
        return units[0] if units else None

    def _units(self, session: Session, wanted: Sequence[tuple[UnitKind, int]]) -> list[QueueUnit]:
        """The units named, in the order named, with what a queue row shows."""
        ids = {kind: [i for k, i in wanted if k is kind] for kind in UnitKind}
        facts: dict[tuple[UnitKind, int], tuple[str, int, float, str, int]] = {}
        for series in _rows(session, SeriesRow, SeriesRow.id, ids[UnitKind.SERIES]):
            top = session.scalar(
                select(ItemTriageRow.item_id)
                .where(ItemTriageRow.series_id == series.id)
                .order_by(ItemTriageRow.score.desc(), ItemTriageRow.item_id)
                .limit(1)
            )
            label = series.label + (f" ({series.name})" if series.name else "")
            if top is not None:
                facts[UnitKind.SERIES, series.id] = (
                    label,
                    series.size,
                    series.score,
                    series.reasons,
                    top,
                )
        for stack in _rows(session, StackRow, StackRow.id, ids[UnitKind.STACK]):
            facts[UnitKind.STACK, stack.id] = (
                f"stack-{stack.id}",
                stack.size,
                stack.score,
                stack.reasons,
                stack.representative_item_id,
            )
        for item in _rows(session, ItemTriageRow, ItemTriageRow.item_id, ids[UnitKind.ITEM]):
            facts[UnitKind.ITEM, item.item_id] = ("", 1, item.score, item.reasons, item.item_id)
        undecided = _undecided_units(session, ids)
        files = self._item_files([fact[4] for fact in facts.values()])
        paths = _source_paths(session, [fact[4] for fact in facts.values()])
        units: list[QueueUnit] = []
        for kind, unit_id in wanted:
            fact = facts.get((kind, unit_id))
            if fact is None:
                continue  # triage ran again since the page was drawn
            label, size, score, reasons, representative = fact
            found = files.get(representative)
            location = found.path if found else f"item {representative}"
            units.append(
                QueueUnit(
                    kind=kind,
                    id=unit_id,
                    label=label or location,
                    size=size,
                    score=score,
                    reasons=tuple(_json_list(reasons)),
                    representative=representative,
                    location=location,
                    undecided=(kind, unit_id) in undecided,
                    path=paths.get(representative, location),
                )
            )
        return units


MemberTest = Callable[[Any], ColumnElement[bool]]


def _positions(
    session: Session,
    filters: QueueFilter,
    cursor: QueuePosition | None,
    forward: bool,
    limit: int,
) -> list[tuple[UnitKind, int]]:
    """Up to ``limit`` units after (or before) ``cursor``: the first ``limit`` of each
    kind, each from its own index, merged."""
    found: list[QueuePosition] = []
    for kind in _kinds(filters):
        query = _branch(kind, filters)
        score, unit_id = query.selected_columns[1], query.selected_columns[0]
        bound = _keyset(score, unit_id, kind, cursor, forward)
        if bound is not None:
            query = query.where(bound)
        order = (score.desc(), unit_id.desc()) if forward else (score.asc(), unit_id.asc())
        rows = session.execute(query.order_by(*order).limit(limit)).all()
        found.extend(QueuePosition(float(row[1]), kind, int(row[0])) for row in rows)
    found.sort(key=QueuePosition._key, reverse=not forward)
    return [(position.kind, position.id) for position in found[:limit]]


def _kinds(filters: QueueFilter) -> tuple[UnitKind, ...]:
    if filters.series_id is not None or filters.series_scope is SeriesScope.NO_SERIES:
        return (UnitKind.STACK, UnitKind.ITEM)
    if filters.series_scope is SeriesScope.IN_SERIES:
        return (UnitKind.SERIES,)
    return (UnitKind.SERIES, UnitKind.STACK, UnitKind.ITEM)


def _keyset(
    score: Any, unit_id: Any, kind: UnitKind, cursor: QueuePosition | None, forward: bool
) -> ColumnElement[bool] | None:
    """The units of ``kind`` after (or before) ``cursor`` in queue order, as one index
    range: (score, id) descending within a kind, kinds ranked at equal scores."""
    if cursor is None:
        return None
    mine, theirs = _RANK[kind], _RANK[cursor.kind]
    if forward:
        if mine < theirs:
            return score < cursor.score  # type: ignore[no-any-return]
        if mine == theirs:
            return tuple_(score, unit_id) < tuple_(cursor.score, cursor.id)
        return score <= cursor.score  # type: ignore[no-any-return]
    if mine < theirs:
        return score >= cursor.score  # type: ignore[no-any-return]
    if mine == theirs:
        return tuple_(score, unit_id) > tuple_(cursor.score, cursor.id)
    return score > cursor.score  # type: ignore[no-any-return]


def _branch(kind: UnitKind, filters: QueueFilter) -> Select[int, float]:
    """The units of one kind that pass the filters, as (id, score)."""
    member = aliased(ItemTriageRow)
    if kind is UnitKind.SERIES:
        query = select(SeriesRow.id, SeriesRow.score)
        return _filtered(query, filters, member, member.series_id == SeriesRow.id)
    if kind is UnitKind.STACK:
        representative = aliased(ItemTriageRow)
        query = select(StackRow.id, StackRow.score)
        in_series = select(representative.item_id).where(
            representative.item_id == StackRow.representative_item_id,
            representative.series_id == filters.series_id
            if filters.series_id is not None
            else representative.series_id.is_not(None),
        )
        query = query.where(
            exists(in_series) if filters.series_id is not None else ~exists(in_series)
        )
        return _filtered(query, filters, member, member.stack_id == StackRow.id)
    query = select(ItemTriageRow.item_id, ItemTriageRow.score).where(
        ItemTriageRow.stack_id.is_(None)
    )
    query = query.where(
        ItemTriageRow.series_id == filters.series_id
        if filters.series_id is not None
        else ItemTriageRow.series_id.is_(None)
    )
    for test, wanted in _member_tests(filters):
        condition = test(ItemTriageRow.item_id)
        query = query.where(condition if wanted else ~condition)
    return query


def _filtered(
    query: Select[int, float],
    filters: QueueFilter,
    member: Any,
    belongs: ColumnElement[bool],
) -> Select[int, float]:
    """``query`` kept to units with (or without) a member passing each test."""
    for test, wanted in _member_tests(filters):
        some = exists(select(member.item_id).where(belongs, test(member.item_id)))
        query = query.where(some if wanted else ~some)
    return query


def _member_tests(filters: QueueFilter) -> list[tuple[MemberTest, bool]]:
    """Tests of one member's item id, each with whether a unit needs a member that
    passes it (True) or must have none that does (False)."""
    tests: list[tuple[MemberTest, bool]] = []
    if filters.bank is BankStatus.MATCHED:
        tests.append((lambda item: exists().where(Match.item_id == item, ~Match.allow), True))
    elif filters.bank is BankStatus.UNMATCHED:
        tests.append((lambda item: exists().where(Match.item_id == item), False))
    if filters.origin is not None:
        verdict = filters.origin
        tests.append(
            (
                lambda item: exists().where(
                    OriginRow.item_id == item, OriginRow.verdict == verdict
                ),
                True,
            )
        )
    if filters.state is DecisionState.UNDECIDED:
        tests.append((_undecided, True))
    elif filters.state is DecisionState.DECIDED:
        tests.append((_undecided, False))
    elif filters.state is DecisionState.AWAITING_CONFIRMATION:
        banks = filters.two_reviewer_banks
        tests.append((lambda item: _awaiting(item, banks), True))
    if filters.assigned_to is not None:
        account = filters.assigned_to
        tests.append(
            (
                lambda item: exists().where(
                    AssignmentRow.item_id == item, AssignmentRow.account_id == account
                ),
                True,
            )
        )
    return tests


def _undecided(item: Any) -> ColumnElement[bool]:
    return ~exists().where(DecisionRow.item_id == item)


def _awaiting(item: Any, banks: tuple[str, ...]) -> ColumnElement[bool]:
    """Matched in a bank that needs two reviewers, and the newest decision confirms
    none (see :mod:`clearsight.review.decisions`)."""
    if not banks:
        return false()
    newest = aliased(DecisionRow)
    later = aliased(DecisionRow)
    unconfirmed = exists().where(
        newest.item_id == item,
        newest.confirms.is_(None),
        ~exists().where(later.item_id == item, later.id > newest.id),
    )
    return and_(exists().where(Match.item_id == item, Match.bank.in_(banks)), unconfirmed)


def _undecided_units(session: Session, ids: dict[UnitKind, list[int]]) -> set[tuple[UnitKind, int]]:
    found: set[tuple[UnitKind, int]] = set()
    member = aliased(ItemTriageRow)
    for kind, column, owner in (
        (UnitKind.SERIES, SeriesRow.id, member.series_id),
        (UnitKind.STACK, StackRow.id, member.stack_id),
    ):
        if ids[kind]:
            some = exists(select(member.item_id).where(owner == column, _undecided(member.item_id)))
            found.update(
                (kind, i)
                for i in session.scalars(select(column).where(column.in_(ids[kind]), some))
            )
    if ids[UnitKind.ITEM]:
        found.update(
            (UnitKind.ITEM, i)
            for i in session.scalars(
                select(ItemTriageRow.item_id).where(
                    ItemTriageRow.item_id.in_(ids[UnitKind.ITEM]),
                    _undecided(ItemTriageRow.item_id),
                )
            )
        )
    return found


def _source_paths(session: Session, item_ids: list[int]) -> dict[int, str]:
    """Items' paths under their sources, shorter to read than where the files are."""
    if not item_ids:
        return {}
    rows = session.execute(select(Item.id, Item.path).where(Item.id.in_(item_ids)))
    return {item_id: path for item_id, path in rows}


def _rows(session: Session, model: Any, key: Any, ids: list[int]) -> list[Any]:
    if not ids:
        return []
    return list(session.scalars(select(model).where(key.in_(ids))))


def _json_list(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [str(entry) for entry in value] if isinstance(value, list) else []
