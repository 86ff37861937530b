"""The counts at the top of a case report, gathered in one pass over the items.

Only counters are kept, never the items, so the pass runs in memory bounded by the
number of distinct values (statuses, verdicts, categories, series), not of items. A
category or a reviewer's origin is counted only from a final decision; an item whose
decision awaits a second reviewer is counted as such, not under its proposed category.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from clearsight.report.rows import ItemStatus, ReportRow
from clearsight.review.decisions import DecisionStatus

UNDECIDED = DecisionStatus.UNDECIDED.value
NOT_EXAMINED = "not examined"
PRIORITY_BINS = 10  # 0-9, 10-19, ... 90-100


@dataclass
class SeriesCounts:
    members: int = 0
    matched: int = 0
    decided: int = 0


@dataclass
class CaseSummary:
    items: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_origin: Counter[str] = field(default_factory=Counter)  # the automated verdict
    by_human_origin: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    priority_bins: list[int] = field(default_factory=lambda: [0] * PRIORITY_BINS)
    not_triaged: int = 0
    series: dict[int, SeriesCounts] = field(default_factory=dict)
    decided: int = 0  # finally
    awaiting: int = 0  # decided once, waiting for a second reviewer
    viewed_unblurred: int = 0

    def add(self, row: ReportRow) -> None:
        item, decision = row.item, row.final_decision
        self.items += 1
        status = row.status
        self.by_status[status.value] += 1
        self.by_origin[item.origin.verdict if item.origin else NOT_EXAMINED] += 1
        undecided = row.decision_status.value  # undecided or awaiting confirmation
        self.by_category[decision.category if decision else undecided] += 1
        self.by_human_origin[decision.origin if decision else undecided] += 1
        if decision is not None:
            self.decided += 1
        if row.decision_status is DecisionStatus.AWAITING_CONFIRMATION:
            self.awaiting += 1
        if row.viewed_by_person:
            self.viewed_unblurred += 1
        if item.priority is None:
            self.not_triaged += 1
        else:
            self.priority_bins[_bin(item.priority.score)] += 1
        if item.series is not None:
            counts = self.series.setdefault(item.series, SeriesCounts())
            counts.members += 1
            counts.matched += status is ItemStatus.MATCHED
            counts.decided += decision is not None

    def status_counts(self) -> list[tuple[str, int]]:
        """Every status, in a fixed order, zeros included: a zero is news too."""
        return [(status.value, self.by_status[status.value]) for status in ItemStatus]

    def priority_counts(self) -> list[tuple[str, int]]:
        width = 100 // PRIORITY_BINS
        labels = [f"{n * width}–{n * width + width - 1}" for n in range(PRIORITY_BINS)]
        labels[-1] = f"{(PRIORITY_BINS - 1) * width}–100"
        return [*zip(labels, self.priority_bins, strict=True), ("not triaged", self.not_triaged)]


def summarise(rows: Iterable[ReportRow]) -> CaseSummary:
    summary = CaseSummary()
    for row in rows:
        summary.add(row)
    return summary


def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    """Largest first, then by name, so equal counts always come out in one order."""
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


def _bin(score: float) -> int:
    return min(max(int(score // (100 // PRIORITY_BINS)), 0), PRIORITY_BINS - 1)
