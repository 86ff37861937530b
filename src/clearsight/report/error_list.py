"""The items that met an error, for the HTML report's list of errors, streamed.

Every error is listed, however many: a drive that failed half-way is exactly what an
examiner needs to see in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clearsight.report.rows import file_location
from clearsight.report.selection import Selection, SelectionKind
from clearsight.store.models import Item, ItemErrorRow, ItemTriageRow, Source

_PAGE = 2000


@dataclass(frozen=True)
class ErrorEntry:
    item_id: int
    location: str
    stage: str
    reason: str


def error_entries(engine: Engine, case_id: int, selection: Selection) -> Iterator[ErrorEntry]:
    """The selected items' errors, in the order they were recorded."""
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
                .limit(_PAGE)
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
                yield ErrorEntry(
                    row.item_id, file_location(row.root, row.path), row.stage, row.reason
                )
            last = page[-1].id
