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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from clearsight.report.decisions import NO_DECISIONS, CaseDecisions
from clearsight.report.rows import HumanDecision, ItemStatus, file_location, status_of
from clearsight.report.selection import Selection
from clearsight.review.decisions import DecisionStatus
from clearsight.store.interface import MatchView, SeriesMemberRecord, SeriesSummary, Verdict


class SeriesSource(Protocol):
    """What the series tables read of a case store."""

    def series_pages(
        self, selection: Selection, page_size: int
    ) -> Iterator[list[SeriesSummary]]: ...

    def series_members(
        self, series_ids: Sequence[int], selection: Selection, cap: int
    ) -> list[SeriesMemberRecord]: ...


MEMBER_CAP = 500
_MEMBERS_PER_QUERY = 5000  # members of series read at once, at most
_SERIES_PAGE = 200


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
    origin: Verdict | None  # the automated verdict
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
    source: SeriesSource, selection: Selection, decisions: CaseDecisions
) -> Iterator[SeriesTable]:
    for page in source.series_pages(selection, _SERIES_PAGE):
        for group in _member_groups(page):
            yield from _tables(source, selection, decisions, group)


def _member_groups(page: list[SeriesSummary]) -> Iterator[list[SeriesSummary]]:
    """Consecutive series whose shown members fit one query."""
    group: list[SeriesSummary] = []
    budget = 0
    for series in page:
        shown = min(series.size, MEMBER_CAP)
        if group and budget + shown > _MEMBERS_PER_QUERY:
            yield group
            group, budget = [], 0
        group.append(series)
        budget += shown
    if group:
        yield group


def _tables(
    source: SeriesSource,
    selection: Selection,
    decisions: CaseDecisions,
    group: Sequence[SeriesSummary],
) -> Iterator[SeriesTable]:
    ids = [series.id for series in group]
    rows = source.series_members(ids, selection, MEMBER_CAP)
    decided = decisions.of([row.item_id for row in rows])
    by_series: dict[int, list[SeriesMember]] = {series_id: [] for series_id in ids}
    totals: dict[int, int] = {}
    for row in rows:
        error = "; ".join(row.errors) or None
        reviewed = decided.get(row.item_id, NO_DECISIONS)
        by_series[row.series_id].append(
            SeriesMember(
                item_id=row.item_id,
                location=file_location(row.source, row.path),
                status=status_of(row.matches, error),
                matches=row.matches,
                origin=row.verdict,
                priority=row.score,
                reasons=row.reasons,
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
                series.reasons,
            ),
            tuple(shown),
            totals[series.id],
        )
