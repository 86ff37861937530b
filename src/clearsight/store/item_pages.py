"""The one reader of a case's items: :class:`ItemRow` with ids, a page at a time, in
time linear in the size of the case. ``iter_items``, the exports and the review
screen's item facts all read items here, so an item reads the same everywhere.

Each source is paged on its own (after the last path's head and key, a range on the
unique index, see :mod:`clearsight.store.paths`) with plain Core queries, and a page's
signals, errors, matches and notes are fetched in one query each. (A keyset spanning
sources with an OR cannot range-scan the index: SQLite then sorts what is left of the
case for every page, which grows with the square of the items; ORM objects cost about
forty times the rows themselves.)

Items come source by source, then by path; a selection of items or series narrows the
queries themselves, so a CyberTipline report of a few files does not read the case.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select, tuple_

from clearsight.signals.registry import SIGNAL_NAMES
from clearsight.store.interface import (
    ItemRow,
    MatchView,
    OriginSummary,
    Priority,
    Selection,
    SelectionKind,
    Verdict,
    VideoSummary,
)
from clearsight.store.models import (
    Item,
    ItemErrorRow,
    ItemNote,
    ItemTriageRow,
    Match,
    OriginRow,
    Signal,
    Source,
    VideoFactsRow,
    VideoFrameRow,
)

_DIGESTS = SIGNAL_NAMES  # the stored signals a page shows: every one the registry lists
_MATCH_FIELDS = (
    "bank", "entry_id", "external_id", "signal", "distance", "transform", "allow",
    "category", "series", "victim_identified", "variant", "inliers", "coverage",
)  # fmt: skip


def item_pages(
    engine: Engine, case_id: int, selection: Selection, page_size: int
) -> Iterator[list[tuple[int, ItemRow]]]:
    """Pages of (item id, row) of the selected items, source by source, path by path."""
    with engine.connect() as connection:
        sources = connection.execute(
            select(Source.id, Source.root).where(Source.case_id == case_id).order_by(Source.id)
        ).all()
        for source_id, root in sources:
            last: tuple[str, bytes] | None = None
            while True:
                query = _items(source_id, selection).limit(page_size)
                if last is not None:
                    query = query.where(tuple_(Item.path_head, Item.path_key) > tuple_(*last))
                page = connection.execute(query).all()
                if not page:
                    break
                yield _rows(connection, root, page)
                last = (page[-1].path_head, page[-1].path_key)


def _items(source_id: int, selection: Selection) -> Select[*tuple[Any, ...]]:
    query = (
        select(
            Item.id,
            Item.path,
            Item.path_head,
            Item.path_key,
            Item.size,
            Item.mtime,
            Item.media_type,
            Item.kind,
            Item.width,
            Item.height,
            Item.orientation,
            ItemTriageRow.stack_id,
            ItemTriageRow.series_id,
            ItemTriageRow.score.label("priority"),
            ItemTriageRow.reasons.label("priority_reasons"),
            OriginRow.verdict,
            OriginRow.score.label("origin_score"),
            OriginRow.reasons.label("origin_reasons"),
            VideoFactsRow.container,
            VideoFactsRow.codec,
            VideoFactsRow.duration,
            VideoFactsRow.frame_rate,
            VideoFactsRow.frames_decoded,
            VideoFactsRow.has_audio,
        )  # fmt: skip
        .outerjoin(ItemTriageRow, ItemTriageRow.item_id == Item.id)
        .outerjoin(OriginRow, OriginRow.item_id == Item.id)
        .outerjoin(VideoFactsRow, VideoFactsRow.item_id == Item.id)
        .where(Item.source_id == source_id)
        .order_by(Item.path_head, Item.path_key)
    )
    if selection.kind is SelectionKind.ITEMS:
        query = query.where(Item.id.in_(sorted(selection.ids)))
    elif selection.kind is SelectionKind.SERIES:
        query = query.where(ItemTriageRow.series_id.in_(sorted(selection.ids)))
    return query


def _rows(connection: Connection, root: str, page: Sequence[Any]) -> list[tuple[int, ItemRow]]:
    ids = [row.id for row in page]
    signals: dict[int, dict[str, tuple[str, int | None]]] = {}
    for item_id, kind, value, quality in connection.execute(
        select(Signal.item_id, Signal.kind, Signal.value, Signal.quality).where(
            Signal.item_id.in_(ids), Signal.kind.in_(_DIGESTS)
        )
    ):
        signals.setdefault(item_id, {})[kind] = (value, quality)
    errors: dict[int, list[str]] = {}
    for item_id, stage, reason in connection.execute(
        select(ItemErrorRow.item_id, ItemErrorRow.stage, ItemErrorRow.reason)
        .where(ItemErrorRow.item_id.in_(ids))
        .order_by(ItemErrorRow.id)
    ):
        errors.setdefault(item_id, []).append(f"{stage}: {reason}")
    matches: dict[int, list[MatchView]] = {}
    for row in connection.execute(
        select(Match.item_id, *(getattr(Match, name) for name in _MATCH_FIELDS))
        .where(Match.item_id.in_(ids))
        .order_by(Match.distance, Match.bank, Match.entry_id, Match.signal)
    ):
        matches.setdefault(row.item_id, []).append(
            MatchView(**{name: getattr(row, name) for name in _MATCH_FIELDS})
        )
    hashed: dict[int, int] = {
        item_id: count
        for item_id, count in connection.execute(
            select(VideoFrameRow.item_id, func.count())
            .where(
                VideoFrameRow.item_id.in_([row.id for row in page if row.codec is not None]),
                VideoFrameRow.exact,
            )
            .group_by(VideoFrameRow.item_id)
        )
    }
    notes: dict[int, list[str]] = {}
    for item_id, note in connection.execute(
        select(ItemNote.item_id, ItemNote.note)
        .where(ItemNote.item_id.in_(ids))
        .order_by(ItemNote.id)
    ):
        notes.setdefault(item_id, []).append(note)
    return [(row.id, _item_row(root, row, signals, errors, matches, notes, hashed)) for row in page]


def _item_row(
    root: str,
    row: Any,
    signals: dict[int, dict[str, tuple[str, int | None]]],
    errors: dict[int, list[str]],
    matches: dict[int, list[MatchView]],
    notes: dict[int, list[str]],
    hashed: dict[int, int],
) -> ItemRow:
    found = signals.get(row.id, {})
    pdq = found.get("pdq")
    reasons = errors.get(row.id)
    return ItemRow(
        source=root,
        path=row.path,
        size=row.size,
        mtime=row.mtime,
        media_type=row.media_type,
        kind=row.kind,
        width=row.width,
        height=row.height,
        orientation=row.orientation,
        md5=found["md5"][0] if "md5" in found else None,
        sha1=found["sha1"][0] if "sha1" in found else None,
        sha256=found["sha256"][0] if "sha256" in found else None,
        pdq=pdq[0] if pdq else None,
        pdq_quality=pdq[1] if pdq else None,
        error="; ".join(reasons) if reasons else None,
        matches=tuple(matches.get(row.id, ())),
        notes=tuple(notes.get(row.id, ())),
        origin=(
            OriginSummary(
                Verdict(row.verdict), row.origin_score, tuple(json.loads(row.origin_reasons))
            )
            if row.verdict is not None
            else None
        ),
        stack=row.stack_id,
        series=row.series_id,
        priority=(
            Priority(row.priority, tuple(json.loads(row.priority_reasons)))
            if row.priority is not None
            else None
        ),
        video=(
            VideoSummary(
                row.container,
                row.codec,
                row.duration,
                row.frame_rate,
                row.frames_decoded,
                hashed.get(row.id, 0),
                row.has_audio,
            )
            if row.codec is not None
            else None
        ),
    )
