"""What exports read of a case besides its items: the case itself, which items and
series a selection names, the errors met, and the series with their members.

Each read returns plain records and is paged or bounded, so an export of a million
items holds a page at a time. The HTML report's series tables and error list are laid
out in :mod:`clearsight.report`; the statements are here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from sqlalchemy import Engine, distinct, func, select
from sqlalchemy.orm import Session

from clearsight.errors import CaseStoreError
from clearsight.store.interface import (
    CaseRecord,
    ErrorRecord,
    MatchView,
    Selection,
    SelectionKind,
    SeriesMemberRecord,
    SeriesSummary,
    Verdict,
)
from clearsight.store.models import (
    Case,
    Item,
    ItemErrorRow,
    ItemTriageRow,
    Match,
    OriginRow,
    SeriesRow,
    Source,
)

# Items whose matches are read in one query, at most.
MEMBERS_PER_QUERY = 5000
_ERROR_PAGE = 2000


def case_record(engine: Engine) -> CaseRecord:
    with Session(engine) as session:
        case = session.scalars(select(Case).order_by(Case.id).limit(1)).first()
        if case is None:
            raise CaseStoreError("the case database holds no case")
        return CaseRecord(case.id, case.name, case.created_at, case.clearsight_version)


def known_items(engine: Engine, case_id: int, item_ids: Sequence[int]) -> set[int]:
    """Those of ``item_ids`` that the case has."""
    with Session(engine) as session:
        return set(
            session.scalars(
                select(Item.id)
                .join(Source, Source.id == Item.source_id)
                .where(Source.case_id == case_id, Item.id.in_(list(item_ids)))
            )
        )


def known_series(
    engine: Engine, series_ids: Sequence[int], labels: Sequence[str]
) -> tuple[set[int], dict[str, int]]:
    """Those of ``series_ids`` that exist, and the ids of those of ``labels`` that do."""
    with Session(engine) as session:
        by_label = {
            label: series_id
            for label, series_id in session.execute(
                select(SeriesRow.label, SeriesRow.id).where(SeriesRow.label.in_(list(labels)))
            )
        }
        known = set(session.scalars(select(SeriesRow.id).where(SeriesRow.id.in_(list(series_ids)))))
    return known, by_label


def error_records(engine: Engine, case_id: int, selection: Selection) -> Iterator[ErrorRecord]:
    """The selected items' errors, in the order they were recorded, read a page at a
    time."""
    last = 0
    with Session(engine) as session:
        while True:
            query = (
                select(ItemErrorRow.id, ItemErrorRow.item_id, ItemErrorRow.stage)
                .add_columns(ItemErrorRow.reason, Source.root, Item.path)
                .join(Item, Item.id == ItemErrorRow.item_id)
                .join(Source, Source.id == Item.source_id)
                .where(Source.case_id == case_id, ItemErrorRow.id > last)
                .order_by(ItemErrorRow.id)
                .limit(_ERROR_PAGE)
            )
            if selection.kind is SelectionKind.ITEMS:
                query = query.where(Item.id.in_(selection.ids))
            elif selection.kind is SelectionKind.SERIES:
                query = query.join(ItemTriageRow, ItemTriageRow.item_id == Item.id).where(
                    ItemTriageRow.series_id.in_(selection.ids)
                )
            page = session.execute(query).all()
            if not page:
                return
            for row in page:
                yield ErrorRecord(row.item_id, row.root, row.path, row.stage, row.reason)
            last = page[-1].id


def series_labels(engine: Engine, series_ids: Sequence[int]) -> dict[int, str]:
    with Session(engine) as session:
        return {
            series_id: label
            for series_id, label in session.execute(
                select(SeriesRow.id, SeriesRow.label).where(SeriesRow.id.in_(list(series_ids)))
            )
        }


def series_pages(
    engine: Engine, selection: Selection, page_size: int
) -> Iterator[list[SeriesSummary]]:
    """Pages of the selected series (those with a selected member), highest score
    first, then by id."""
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
            page = list(session.scalars(query.limit(page_size)))
            if not page:
                return
            yield [
                SeriesSummary(
                    row.id,
                    row.label,
                    row.name,
                    row.victim_identified,
                    row.score,
                    tuple(json.loads(row.reasons)),
                    row.size,
                )
                for row in page
            ]
            last = (page[-1].score, page[-1].id)
            session.expunge_all()


def series_members(
    engine: Engine, case_id: int, series_ids: Sequence[int], selection: Selection, cap: int
) -> list[SeriesMemberRecord]:
    """The first ``cap`` selected members of each series by priority (then id), series
    by series, with each member's matches and errors."""
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
    ).where(ItemTriageRow.series_id.in_(list(series_ids)))
    if selection.kind is SelectionKind.ITEMS:
        ranked = ranked.where(ItemTriageRow.item_id.in_(selection.ids))
    members = ranked.subquery()
    with Session(engine) as session:
        rows = session.execute(
            select(members, Item.path, Source.root, OriginRow.verdict)
            .join(Item, Item.id == members.c.item_id)
            .join(Source, Source.id == Item.source_id)
            .outerjoin(OriginRow, OriginRow.item_id == Item.id)
            .where(Source.case_id == case_id, members.c.rank <= cap)
            .order_by(members.c.series_id, members.c.rank)
        ).all()
        item_ids = [row.item_id for row in rows]
        matches = _matches(session, item_ids)
        errors = _errors(session, item_ids)
    return [
        SeriesMemberRecord(
            item_id=row.item_id,
            series_id=row.series_id,
            source=row.root,
            path=row.path,
            verdict=Verdict(row.verdict) if row.verdict is not None else None,
            score=row.score,
            reasons=tuple(json.loads(row.reasons)),
            total=row.total,
            matches=tuple(matches.get(row.item_id, ())),
            errors=tuple(errors.get(row.item_id, ())),
        )
        for row in rows
    ]


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


def _matches(session: Session, item_ids: list[int]) -> dict[int, list[MatchView]]:
    found: dict[int, list[MatchView]] = {}
    for start in range(0, len(item_ids), MEMBERS_PER_QUERY):
        page = item_ids[start : start + MEMBERS_PER_QUERY]
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
