"""Stream a case's items as :class:`ReportRow`, a page at a time, with their decisions.

The machine's findings are the :class:`ItemRow` that ``clearsight items`` shows, read
by the store's one item reader (:mod:`clearsight.store.item_pages`); the decisions
(with their status under the two-reviewer rule, see :mod:`clearsight.report.decisions`)
and reveals of each page are then read by id. Memory is bounded by the page, and time
is linear in the number of items. Series labels in a selection are resolved here,
before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator

from clearsight.errors import UserError
from clearsight.report.decisions import NO_DECISIONS, CaseDecisions
from clearsight.report.request import CaseInfo
from clearsight.report.rows import ReportRow
from clearsight.report.selection import Selection, SelectionKind
from clearsight.store.interface import ExportReader, ItemRow

PAGE = 2000


# What exports read of a case store (``SqlCaseStore`` is one).
ReportSource = ExportReader


class CaseRows:
    """The items of the one case in a case database, for export."""

    def __init__(self, source: ReportSource) -> None:
        self._source = source
        case = source.case_record()
        self._case_id = case.id
        self.case = CaseInfo(case.name, case.created_at, case.clearsight_version)
        self.decisions = CaseDecisions(source)

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
        if selection.kind is SelectionKind.ITEMS:
            found = self._source.known_items(sorted(selection.ids))
            missing = sorted(selection.ids - found)
            if missing:
                raise UserError(f"--select: the case has no item {missing[0]}")
            return selection
        known, by_label = self._source.known_series(sorted(selection.ids), sorted(selection.labels))
        unknown = sorted(map(str, selection.ids - known)) + sorted(selection.labels - set(by_label))
        if unknown:
            raise UserError(f"--select: the case has no series {unknown[0]}")
        return Selection(SelectionKind.SERIES, selection.ids | frozenset(by_label.values()))

    def rows(self, selection: Selection) -> Iterator[ReportRow]:
        """Every selected item, source by source and by path; ``selection`` must be
        resolved."""
        for page in self._source.item_pages(selection, PAGE):
            yield from self._with_review(page)

    def _with_review(self, chosen: list[tuple[int, ItemRow]]) -> Iterator[ReportRow]:
        ids = [item_id for item_id, _ in chosen]
        decided = self.decisions.of(ids)
        revealed = self._source.revealed_among(ids)
        for item_id, item in chosen:
            decisions = decided.get(item_id, NO_DECISIONS)
            yield ReportRow(item_id, item, decisions.history, item_id in revealed, decisions.status)
