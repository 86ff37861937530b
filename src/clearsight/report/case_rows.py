"""Stream a case's items as :class:`ReportRow`, a page at a time, with their decisions.

The machine's findings are the :class:`ItemRow` that ``clearsight items`` shows, read
by :mod:`clearsight.report.item_pages`; the decisions (with their status under the
two-reviewer rule, see :mod:`clearsight.report.decisions`) and reveals of each page are
then read by id. Memory is bounded by the page, and time is linear in the number of
items. Series labels in a selection are resolved here, before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clearsight.errors import CaseStoreError, UserError
from clearsight.report.decisions import NO_DECISIONS, CaseDecisions
from clearsight.report.item_pages import item_pages
from clearsight.report.request import CaseInfo
from clearsight.report.rows import ReportRow
from clearsight.report.selection import Selection, SelectionKind
from clearsight.store.interface import ItemFile, ItemRow
from clearsight.store.models import Case, Item, SeriesRow, Source
from clearsight.store.review_models import RevealRow

PAGE = 2000


class ReportSource(Protocol):
    """What exports need of a store: its database, and where the files are (only for
    the HTML report's thumbnails)."""

    @property
    def engine(self) -> Engine: ...

    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]: ...


class CaseRows:
    """The items of the one case in a case database, for export."""

    def __init__(self, source: ReportSource) -> None:
        self._source = source
        self._engine = source.engine
        with Session(self._engine) as session:
            case = session.scalars(select(Case).order_by(Case.id).limit(1)).first()
            if case is None:
                raise CaseStoreError("the case database holds no case")
            self._case_id = case.id
            self.case = CaseInfo(case.name, case.created_at, case.clearsight_version)
        self.decisions = CaseDecisions(self._engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def case_id(self) -> int:
        return self._case_id

    @property
    def source(self) -> ReportSource:
        return self._source

    def resolve(self, selection: Selection) -> Selection:
        """``selection`` with series labels turned into ids; raises UserError naming
        the first item or series the case does not have."""
        if selection.everything:
            return selection
        with Session(self._engine) as session:
            if selection.kind is SelectionKind.ITEMS:
                found = set(
                    session.scalars(
                        select(Item.id)
                        .join(Source, Source.id == Item.source_id)
                        .where(Source.case_id == self._case_id, Item.id.in_(selection.ids))
                    )
                )
                missing = sorted(selection.ids - found)
                if missing:
                    raise UserError(f"--select: the case has no item {missing[0]}")
                return selection
            by_label = {
                label: series_id
                for label, series_id in session.execute(
                    select(SeriesRow.label, SeriesRow.id).where(
                        SeriesRow.label.in_(selection.labels)
                    )
                )
            }
            known = set(
                session.scalars(select(SeriesRow.id).where(SeriesRow.id.in_(selection.ids)))
            )
        unknown = sorted(map(str, selection.ids - known)) + sorted(selection.labels - set(by_label))
        if unknown:
            raise UserError(f"--select: the case has no series {unknown[0]}")
        return Selection(SelectionKind.SERIES, selection.ids | frozenset(by_label.values()))

    def rows(self, selection: Selection) -> Iterator[ReportRow]:
        """Every selected item, source by source and by path; ``selection`` must be
        resolved."""
        for page in item_pages(self._engine, self._case_id, selection, PAGE):
            yield from self._with_review(page)

    def _with_review(self, chosen: list[tuple[int, ItemRow]]) -> Iterator[ReportRow]:
        ids = [item_id for item_id, _ in chosen]
        decided = self.decisions.of(ids)
        with Session(self._engine) as session:
            revealed = set(
                session.scalars(select(RevealRow.item_id).where(RevealRow.item_id.in_(ids)))
            )
        for item_id, item in chosen:
            decisions = decided.get(item_id, NO_DECISIONS)
            yield ReportRow(item_id, item, decisions.history, item_id in revealed, decisions.status)
