"""Every item found in a bank of known material, for the HTML report: one row per match.

The series tables show only items in a series; a matched item outside any series would
otherwise appear only in a count. Here each match is one row (the item, the bank entry,
how it was made, what the bank says), all signals that met one entry together
(:func:`clearsight.match.explain.match_line`'s grouping), not one row per signal.
The rows are streamed from the item stream, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from clearsight.match.explain import bank_says, by_entry, entry_name, how_entry_matched
from clearsight.report.rows import HumanDecision, ItemStatus, ReportRow


@dataclass(frozen=True)
class MatchedRow:
    item_id: int
    location: str
    entry: str  # "bank B entry E"
    how: str  # each signal that met the entry, "sha256 exact; pdq d=0"
    bank_says: str  # category, series, victim identified; "" where the bank says nothing
    series: int | None  # the item's series in this case
    decision: HumanDecision | None  # the current one, final or not


def matched_rows(rows: Iterable[ReportRow]) -> Iterator[MatchedRow]:
    """One row per (item, bank entry) of the items matched in a bank that is not an
    allow list, in the order of the items."""
    for row in rows:
        if row.status is not ItemStatus.MATCHED:
            continue
        known = [m for m in row.item.matches if not m.allow]
        for group in by_entry(known):
            yield MatchedRow(
                item_id=row.item_id,
                location=row.location,
                entry=entry_name(group[0]),
                how=how_entry_matched(group),
                bank_says=bank_says(group[0]),
                series=row.item.series,
                decision=row.decision,
            )
