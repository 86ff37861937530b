"""What the review screen shows beside an item's preview: the facts the machine found.

File facts, bank matches (with the variant and distance that met), origin evidence
and reasons, the item's stack and series, and its priority. Generator prompts are not
part of these facts: :func:`read_prompts` hands them out separately, and the server
calls it only for an open reveal, since a prompt can be as harmful as the picture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Mapped, Session

from clearsight.signals.registry import ITEM_SIGNAL_NAMES
from clearsight.store.interface import MatchView, Selection, SelectionKind, Verdict
from clearsight.store.item_pages import item_pages
from clearsight.store.models import (
    ItemErrorRow,
    ItemTriageRow,
    OriginRow,
    SeriesRow,
    StackRow,
)
from clearsight.store.queue import ItemFiles

MEMBERS_SHOWN = 48


@dataclass(frozen=True)
class OriginFacts:
    verdict: Verdict
    score: float
    reasons: tuple[str, ...]
    evidence: tuple[dict[str, object], ...]
    has_prompts: bool  # whether prompts were kept: the text itself only behind a reveal


@dataclass(frozen=True)
class GroupFacts:
    """An item's stack or series: its size, and the first members by priority."""

    id: int
    label: str
    size: int
    members: tuple[int, ...]
    reasons: tuple[str, ...]
    name: str | None = None
    victim_identified: bool | None = None


@dataclass(frozen=True)
class ItemFacts:
    id: int
    location: str
    media_type: str
    kind: str
    size: int | None
    width: int | None
    height: int | None
    signals: dict[str, str]  # md5, sha1, sha256, pdq
    pdq_quality: int | None
    errors: tuple[str, ...]
    notes: tuple[str, ...]
    matches: tuple[MatchView, ...]
    origin: OriginFacts | None
    score: float | None
    reasons: tuple[str, ...]
    stack: GroupFacts | None
    series: GroupFacts | None


_SHOWN_SIGNALS = ITEM_SIGNAL_NAMES  # digests first, then PDQ


def read_item(engine: Engine, case_id: int, files: ItemFiles, item_id: int) -> ItemFacts | None:
    """The facts of one item, or None if the case has no such item. The item itself is
    read by the one item reader (:mod:`clearsight.store.item_pages`), as exports read it."""
    where = files([item_id]).get(item_id)
    if where is None:
        return None
    pages = item_pages(engine, case_id, Selection(SelectionKind.ITEMS, frozenset({item_id})), 1)
    found = next((row for page in pages for found_id, row in page if found_id == item_id), None)
    if found is None:
        return None
    with Session(engine) as session:
        errors = tuple(
            f"{stage}: {reason}"
            for stage, reason in session.execute(
                select(ItemErrorRow.stage, ItemErrorRow.reason)
                .where(ItemErrorRow.item_id == item_id)
                .order_by(ItemErrorRow.id)
            )
        )
        origin_row = session.get(OriginRow, item_id)
        stack = _stack(session, found.stack) if found.stack else None
        series = _series(session, found.series) if found.series else None
    signals = {
        kind: value for kind in _SHOWN_SIGNALS if (value := getattr(found, kind)) is not None
    }
    return ItemFacts(
        id=item_id,
        location=where.path,
        media_type=found.media_type,
        kind=found.kind,
        size=found.size,
        width=found.width,
        height=found.height,
        signals=signals,
        pdq_quality=found.pdq_quality,
        errors=errors,
        notes=found.notes,
        matches=found.matches,
        origin=_origin(origin_row) if origin_row else None,
        score=found.priority.score if found.priority else None,
        reasons=found.priority.reasons if found.priority else (),
        stack=stack,
        series=series,
    )


def read_series(engine: Engine, series_id: int) -> GroupFacts | None:
    with Session(engine) as session:
        return _series(session, series_id)


def read_prompts(engine: Engine, item_id: int) -> tuple[str, ...]:
    """The generator prompts kept for ``item_id``. Show them only behind a reveal."""
    with Session(engine) as session:
        stored = session.scalar(select(OriginRow.prompts).where(OriginRow.item_id == item_id))
    return tuple(_json_list(stored)) if stored else ()


def _members(session: Session, column: Mapped[int | None], group_id: int) -> tuple[int, ...]:
    return tuple(
        session.scalars(
            select(ItemTriageRow.item_id)
            .where(column == group_id)
            .order_by(ItemTriageRow.score.desc(), ItemTriageRow.item_id)
            .limit(MEMBERS_SHOWN)
        )
    )


def _stack(session: Session, stack_id: int) -> GroupFacts | None:
    row = session.get(StackRow, stack_id)
    if row is None:
        return None
    return GroupFacts(
        id=row.id,
        label=f"stack-{row.id}",
        size=row.size,
        members=_members(session, ItemTriageRow.stack_id, stack_id),
        reasons=tuple(_json_list(row.reasons)),
    )


def _series(session: Session, series_id: int) -> GroupFacts | None:
    row = session.get(SeriesRow, series_id)
    if row is None:
        return None
    return GroupFacts(
        id=row.id,
        label=row.label,
        size=row.size,
        members=_members(session, ItemTriageRow.series_id, series_id),
        reasons=tuple(_json_list(row.reasons)),
        name=row.name,
        victim_identified=row.victim_identified,
    )


def _origin(row: OriginRow) -> OriginFacts:
    evidence = json.loads(row.evidence) if row.evidence else []
    return OriginFacts(
        verdict=Verdict(row.verdict),
        score=row.score,
        reasons=tuple(_json_list(row.reasons)),
        evidence=tuple(entry for entry in evidence if isinstance(entry, dict)),
        has_prompts=bool(row.prompts and _json_list(row.prompts)),
    )


def _json_list(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(entry) for entry in value] if isinstance(value, list) else []
