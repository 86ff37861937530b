"""The series of a case with their members, for the HTML report's series tables.

Series come highest score first, as the queue orders them. A table shows at most
``MEMBER_CAP`` members, highest priority first, and says how many more there are: a
series of ten thousand copies is read in the JSON or CSV export, not in a page. Series
are read in pages holding a bounded number of members, with the members' matches,
verdicts, errors and decisions (with their status under the two-reviewer rule)
fetched for the whole page at once, so memory stays bounded and the number of queries
grows with the members shown, not the series.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, distinct, func, select
from sqlalchemy.orm import Session

from clearsight.report.decisions import NO_DECISIONS, CaseDecisions
from clearsight.report.rows import HumanDecision, ItemStatus, file_location, status_of
from clearsight.report.selection import Selection, SelectionKind
from clearsight.review.decisions import DecisionStatus
from clearsight.store.interface import MatchView
from clearsight.store.models import (
    Item,
    ItemErrorRow,
    ItemTriageRow,
    Match,
    OriginRow,
    SeriesRow,
    Source,
)

MEMBER_CAP = 500
_SERIES_PAGE = 200
_MEMBERS_PER_QUERY = 5000


@dataclass(frozen=True)
class SeriesInfo:
    id: int
    label: str
    name: str | None  # a bank's series name, where a member matched one
    victim_identified: bool | None  # what the banks say
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class SeriesMember:
    item_id: int
    location: str
    status: ItemStatus
    matches: tuple[MatchView, ...]
    origin: str | None  # the automated verdict
    priority: float
    reasons: tuple[str, ...]
    error: str | None
    decision: HumanDecision | None  # the current one, final or not
    decision_status: DecisionStatus


@dataclass(frozen=True)
class SeriesTable:
    series: SeriesInfo
    members: tuple[SeriesMember, ...]
    total: int  # members in the selection, shown or not

    @property
    def hidden(self) -> int:
        return self.total - len(self.members)


def series_tables(
    engine: Engine, case_id: int, selection: Selection, decisions: CaseDecisions
) -> Iterator[SeriesTable]:
    for page in _series_pages(engine, selection):
        for group in _member_groups(page):
            yield from _tables(engine, case_id, selection, decisions, group)


def series_labels(engine: Engine, series_ids: Sequence[int]) -> dict[int, str]:
    with Session(engine) as session:
        return {
            series_id: label
            for series_id, label in session.execute(
                select(SeriesRow.id, SeriesRow.label).where(SeriesRow.id.in_(series_ids))
            )
        }


def _series_pages(engine: Engine, selection: Selection) -> Iterator[list[tuple[SeriesRow, int]]]:
    """Pages of (series, its size), highest score first."""
    last: tuple[float, int] | None = None
    with Session(engine) as session:
        wanted = _selected_series(session, selection)
        while True:
            query = select(SeriesRow).order_by(SeriesRow.score.desc(), SeriesRow.id)
            if wanted is not None:
                query = query.where(SeriesRow.id.in_(wanted))
            if last is not None:
                query = query.where(
                    (SeriesRow.score < last[0])
                    | ((SeriesRow.score == last[0]) & (SeriesRow.id > last[1]))
                )
            page = list(session.scalars(query.limit(_SERIES_PAGE)))
            if not page:
                return
            yield [(row, row.size) for row in page]
            last = (page[-1].score, page[-1].id)
            session.expunge_all()


def _selected_series(session: Session, selection: Selection) -> list[int] | None:
    if selection.kind is SelectionKind.SERIES:
        return sorted(selection.ids)
    if selection.kind is SelectionKind.ITEMS:
        return sorted(
            session.scalars(
                select(distinct(ItemTriageRow.series_id)).where(
                    ItemTriageRow.item_id.in_(selection.ids), ItemTriageRow.series_id.is_not(None)
                )
            )
        )
    return None


def _member_groups(page: list[tuple[SeriesRow, int]]) -> Iterator[list[SeriesRow]]:
    """Consecutive series whose shown members fit one query."""
    group: list[SeriesRow] = []
    budget = 0
    for row, size in page:
        shown = min(size, MEMBER_CAP)
        if group and budget + shown > _MEMBERS_PER_QUERY:
            yield group
            group, budget = [], 0
        group.append(row)
        budget += shown
    if group:
        yield group


def _tables(
    engine: Engine,
    case_id: int,
    selection: Selection,
    decisions: CaseDecisions,
    group: Sequence[SeriesRow],
) -> Iterator[SeriesTable]:
    ids = [row.id for row in group]
    ranked = select(
        ItemTriageRow.item_id,
        ItemTriageRow.series_id,
        ItemTriageRow.score,
        ItemTriageRow.reasons,
        func.row_number()
        .over(
            partition_by=ItemTriageRow.series_id,
            order_by=(ItemTriageRow.score.desc(), ItemTriageRow.item_id),
        )
        .label("rank"),
        func.count().over(partition_by=ItemTriageRow.series_id).label("total"),
    ).where(ItemTriageRow.series_id.in_(ids))
    if selection.kind is SelectionKind.ITEMS:
        ranked = ranked.where(ItemTriageRow.item_id.in_(selection.ids))
    members = ranked.subquery()
    with Session(engine) as session:
        rows = session.execute(
            select(members, Item.path, Source.root, OriginRow.verdict)
            .join(Item, Item.id == members.c.item_id)
            .join(Source, Source.id == Item.source_id)
            .outerjoin(OriginRow, OriginRow.item_id == Item.id)
            .where(Source.case_id == case_id, members.c.rank <= MEMBER_CAP)
            .order_by(members.c.series_id, members.c.rank)
        ).all()
        item_ids = [row.item_id for row in rows]
        matches = _matches(session, item_ids)
        errors = _errors(session, item_ids)
    decided = decisions.of(item_ids)
    by_series: dict[int, list[SeriesMember]] = {series_id: [] for series_id in ids}
    totals: dict[int, int] = {}
    for row in rows:
        found = tuple(matches.get(row.item_id, ()))
        error = "; ".join(errors.get(row.item_id, ())) or None
        reviewed = decided.get(row.item_id, NO_DECISIONS)
        by_series[row.series_id].append(
            SeriesMember(
                item_id=row.item_id,
                location=file_location(row.root, row.path),
                status=status_of(found, error),
                matches=found,
                origin=row.verdict,
                priority=row.score,
                reasons=tuple(json.loads(row.reasons)),
                error=error,
                decision=reviewed.history[-1] if reviewed.history else None,
                decision_status=reviewed.status,
            )
        )
        totals[row.series_id] = row.total
    for series in group:
        shown = by_series[series.id]
        if not shown:
            continue  # every member is outside the selection
        yield SeriesTable(
            SeriesInfo(
                series.id,
                series.label,
                series.name,
                series.victim_identified,
                series.score,
                tuple(json.loads(series.reasons)),
            ),
            tuple(shown),
            totals[series.id],
        )


def _matches(session: Session, item_ids: list[int]) -> dict[int, list[MatchView]]:
    found: dict[int, list[MatchView]] = {}
    for start in range(0, len(item_ids), _MEMBERS_PER_QUERY):
        page = item_ids[start : start + _MEMBERS_PER_QUERY]
        query = (
            select(Match)
            .where(Match.item_id.in_(page))
            .order_by(Match.item_id, Match.distance, Match.bank, Match.entry_id, Match.signal)
        )
        for m in session.scalars(query):
            found.setdefault(m.item_id, []).append(m.view())
    return found


def _errors(session: Session, item_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    query = (
        select(ItemErrorRow)
        .where(ItemErrorRow.item_id.in_(item_ids))
        .order_by(ItemErrorRow.item_id, ItemErrorRow.id)
    )
    for error in session.scalars(query):
        found.setdefault(error.item_id, []).append(f"{error.stage}: {error.reason}")
    return found
