"""The case store on SQLAlchemy: SQLite for a case folder, PostgreSQL for a server.

One object, one engine, one writer. The schema is brought to the newest Alembic
revision on open, so a case made by an older clearsight is upgraded in place.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Select,
    delete,
    distinct,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from clearsight.errors import CaseStoreError
from clearsight.file_paths import display_path
from clearsight.signals.pdq import PDQ_MIN_QUALITY
from clearsight.signals.registry import DIGEST_NAMES
from clearsight.signals.variants import format_variants, parse_variants
from clearsight.store.engines import (
    schema_lock,
    sqlite_engine,
    upgrade_to_head,
    url_engine,
    utc_now,
)
from clearsight.store.interface import (
    BankCheck,
    ItemFile,
    ItemOrigin,
    ItemRow,
    MatchQuery,
    MatchRecord,
    MatchTotals,
    OriginSummary,
    PackedFeatures,
    Priority,
    QueueEntry,
    ScannedFile,
    ScanTally,
    SeriesRecord,
    StackRecord,
    TriageItem,
    TriageResult,
)
from clearsight.store.models import (
    BankCheckRow,
    Case,
    Item,
    ItemErrorRow,
    ItemFeaturesRow,
    ItemNote,
    ItemTriageRow,
    Match,
    OriginRow,
    Scan,
    SceneLinkRow,
    SeriesRow,
    Signal,
    Source,
    StackRow,
)
from clearsight.store.paths import path_values, root_key

CASE_DATABASE = "case.sqlite"
MATCH_STAGE = "match"
# The seven rotated and flipped PDQ hashes of an item, comma-separated, in one row.
PDQ_DIHEDRAL = "pdq_dihedral"
# The hashes of an item's views (trimmed, tiles, overlay removed), in one row.
PDQ_VARIANTS = "pdq_variants"
# The hashes of an item's scene views (quadrants, centre crop), for scene links.
PDQ_SCENE = "pdq_scene"
_MIGRATIONS = Path(__file__).with_name("migrations")
_ITEM_PAGE = 2000


class SqlCaseStore:
    """A case held in a SQL database. Implements ScanLedger and ItemReader."""

    def __init__(self, engine: Engine, case_name: str, version: str) -> None:
        self._engine = engine
        try:
            # Under the schema lock: two scans creating one new case make one case row.
            with schema_lock(engine):
                upgrade_to_head(engine, _MIGRATIONS)
                self._case_id = self._ensure_case(case_name, version)
        except SQLAlchemyError as exc:
            raise CaseStoreError(f"cannot open case store {engine.url!r}: {exc}") from exc

    @classmethod
    def open_folder(cls, case_dir: Path, version: str) -> SqlCaseStore:
        """Open (creating if needed) the SQLite case inside ``case_dir``."""
        case_dir.mkdir(parents=True, exist_ok=True)
        engine = sqlite_engine(case_dir / CASE_DATABASE)
        return cls(engine, case_dir.resolve().name, version)

    @classmethod
    def open_url(cls, url: str, case_name: str, version: str) -> SqlCaseStore:
        return cls(url_engine(url), case_name, version)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    # ScanLedger

    def open_source(self, root: str) -> int:
        raw = os.fsencode(root)
        key = root_key(raw)
        with Session(self._engine) as session, session.begin():
            found = session.scalar(
                select(Source.id).where(Source.case_id == self._case_id, Source.root_key == key)
            )
            if found is not None:
                return found
            source = Source(
                case_id=self._case_id,
                root=display_path(raw),
                root_raw=raw,
                root_key=key,
                added_at=utc_now(),
            )
            session.add(source)
            session.flush()
            return source.id

    def recorded_paths(self, source_id: int) -> set[str]:
        with Session(self._engine) as session:
            return {
                os.fsdecode(raw)
                for raw in session.scalars(select(Item.path_raw).where(Item.source_id == source_id))
            }

    def record_files(self, scan_id: int, files: Sequence[tuple[int, ScannedFile]]) -> None:
        if not files:
            return
        # Bulk inserts: the parent is the scan's only writer, and per-object ORM flushes
        # would cost it more CPU than the workers spend decoding.
        with Session(self._engine) as session, session.begin():
            item_ids = session.scalars(
                insert(Item).returning(Item.id, sort_by_parameter_order=True),
                [_item_values(source_id, scan_id, scanned) for source_id, scanned in files],
            ).all()
            signals = [
                values
                for item_id, (_, scanned) in zip(item_ids, files, strict=True)
                for values in _signal_values(item_id, scanned)
            ]
            errors = [
                {"item_id": item_id, "stage": error.stage.value, "reason": error.reason}
                for item_id, (_, scanned) in zip(item_ids, files, strict=True)
                for error in scanned.errors
            ]
            origins = [
                _origin_values(item_id, scanned.origin)
                for item_id, (_, scanned) in zip(item_ids, files, strict=True)
                if scanned.origin is not None
            ]
            features = [
                _features_values(item_id, scanned.features)
                for item_id, (_, scanned) in zip(item_ids, files, strict=True)
                if scanned.features is not None
            ]
            if signals:
                session.execute(insert(Signal), signals)
            if errors:
                session.execute(insert(ItemErrorRow), errors)
            if origins:
                session.execute(insert(OriginRow), origins)
            if features:
                session.execute(insert(ItemFeaturesRow), features)

    def start_scan(self, roots: Sequence[str]) -> int:
        with Session(self._engine) as session, session.begin():
            shown = [display_path(root) for root in roots]
            scan = Scan(case_id=self._case_id, roots=json.dumps(shown), started_at=utc_now())
            session.add(scan)
            session.flush()
            return scan.id

    def finish_scan(self, scan_id: int, tally: ScanTally, completed: bool) -> None:
        with Session(self._engine) as session, session.begin():
            scan = session.get_one(Scan, scan_id)
            scan.finished_at = utc_now()
            scan.completed = completed
            scan.files_seen = tally.files_seen
            scan.items = tally.items
            scan.errors = tally.errors
            scan.already_done = tally.already_done

    # MatchLedger

    def iter_match_queries(self, after_item: int = 0) -> Iterator[MatchQuery]:
        last = after_item
        with Session(self._engine) as session:
            while True:
                ids = session.scalars(
                    select(Item.id)
                    .join(Source, Source.id == Item.source_id)
                    .where(Source.case_id == self._case_id, Item.id > last)
                    .order_by(Item.id)
                    .limit(_ITEM_PAGE)
                ).all()
                if not ids:
                    return
                signals: dict[int, dict[str, Signal]] = {item_id: {} for item_id in ids}
                for signal in session.scalars(select(Signal).where(Signal.item_id.in_(ids))):
                    signals[signal.item_id][signal.kind] = signal
                for item_id in ids:
                    yield _query_of(item_id, signals[item_id])
                last = ids[-1]
                session.expunge_all()

    def bank_checks(self) -> dict[str, BankCheck]:
        with Session(self._engine) as session:
            rows = session.scalars(
                select(BankCheckRow).where(BankCheckRow.case_id == self._case_id)
            )
            return {
                row.bank: BankCheck(
                    bank=row.bank,
                    bank_uid=row.bank_uid,
                    bank_revision=row.bank_revision,
                    pdq_threshold=row.pdq_threshold,
                    allow=row.allow,
                    through_item=row.through_item,
                    matcher=row.matcher,
                )
                for row in rows
            }

    def record_bank_matches(
        self, check: BankCheck, matches: Sequence[MatchRecord], *, after_item: int
    ) -> None:
        now = utc_now()
        with Session(self._engine) as session, session.begin():
            session.execute(
                delete(Match).where(
                    Match.bank == check.bank, Match.item_id.in_(self._case_items(after_item))
                )
            )
            if matches:
                session.execute(
                    insert(Match),
                    [
                        {**dataclasses.asdict(m.match), "item_id": m.item_id, "matched_at": now}
                        for m in matches
                    ],
                )
            row = session.scalar(
                select(BankCheckRow).where(
                    BankCheckRow.case_id == self._case_id, BankCheckRow.bank == check.bank
                )
            )
            if row is None:
                row = BankCheckRow(case_id=self._case_id, bank=check.bank)
                session.add(row)
            row.bank_uid = check.bank_uid
            row.bank_revision = check.bank_revision
            row.pdq_threshold = check.pdq_threshold
            row.allow = check.allow
            row.through_item = check.through_item
            row.matcher = check.matcher
            row.checked_at = now

    def record_match_notes(self, notes: Sequence[tuple[int, str]], *, after_item: int) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(
                delete(ItemNote).where(
                    ItemNote.stage == MATCH_STAGE,
                    ItemNote.item_id.in_(self._case_items(after_item)),
                )
            )
            if notes:
                session.execute(
                    insert(ItemNote),
                    [
                        {"item_id": item_id, "stage": MATCH_STAGE, "note": note}
                        for item_id, note in notes
                    ],
                )

    def match_totals(self, banks: Sequence[str]) -> MatchTotals:
        with Session(self._engine) as session:
            case_items = self._case_items(0)
            matched_items, matches = session.execute(
                select(func.count(distinct(Match.item_id)), func.count(Match.id)).where(
                    Match.bank.in_(banks), Match.item_id.in_(case_items)
                )
            ).one()
            noted = session.scalar(
                select(func.count(distinct(ItemNote.item_id))).where(
                    ItemNote.stage == MATCH_STAGE, ItemNote.item_id.in_(case_items)
                )
            )
        return MatchTotals(matched_items, matches, noted or 0)

    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]:
        found: dict[int, ItemFile] = {}
        wanted = list(dict.fromkeys(item_ids))
        with Session(self._engine) as session:
            for start in range(0, len(wanted), _ITEM_PAGE):
                page = wanted[start : start + _ITEM_PAGE]
                rows = session.execute(
                    select(Item.id, Source.root_raw, Item.path_raw, Signal.value)
                    .join(Source, Source.id == Item.source_id)
                    .outerjoin(Signal, (Signal.item_id == Item.id) & (Signal.kind == "sha256"))
                    .where(Source.case_id == self._case_id, Item.id.in_(page))
                ).all()
                for item_id, root, path, sha256 in rows:
                    raw = _location(root, path)
                    found[item_id] = ItemFile(display_path(raw), sha256, raw)
        return found

    # OriginLedger

    def stored_features(self, item_ids: Sequence[int]) -> dict[int, PackedFeatures]:
        """The packed keypoints the scan kept, for those items that have them."""
        found: dict[int, PackedFeatures] = {}
        with Session(self._engine) as session:
            for start in range(0, len(item_ids), _ITEM_PAGE):
                chunk = list(item_ids[start : start + _ITEM_PAGE])
                rows = session.execute(
                    select(
                        ItemFeaturesRow.item_id,
                        ItemFeaturesRow.data,
                        ItemFeaturesRow.width,
                        ItemFeaturesRow.height,
                    ).where(ItemFeaturesRow.item_id.in_(chunk))
                )
                found.update(
                    (item_id, PackedFeatures(bytes(data), width, height))
                    for item_id, data, width, height in rows
                )
        return found

    def origin_targets(self, examiner: str, *, everything: bool) -> list[int]:
        query = (
            self._case_items(0)
            .outerjoin(OriginRow, OriginRow.item_id == Item.id)
            .where(Item.kind == "image")
            .order_by(Item.id)
        )
        if not everything:
            query = query.where((OriginRow.item_id.is_(None)) | (OriginRow.examiner != examiner))
        with Session(self._engine) as session:
            return list(session.scalars(query))

    def record_origins(self, found: Sequence[tuple[int, ItemOrigin]]) -> None:
        if not found:
            return
        with Session(self._engine) as session, session.begin():
            item_ids = [item_id for item_id, _ in found]
            for start in range(0, len(item_ids), _ITEM_PAGE):
                page = item_ids[start : start + _ITEM_PAGE]
                session.execute(delete(OriginRow).where(OriginRow.item_id.in_(page)))
            session.execute(
                insert(OriginRow), [_origin_values(item_id, origin) for item_id, origin in found]
            )

    # TriageLedger

    def triage_items(self) -> Iterator[TriageItem]:
        """Every item of the case with what triage weighs, in item order."""
        last = 0
        with Session(self._engine) as session:
            while True:
                page = session.execute(
                    select(Item, Source.root_raw)
                    .join(Source, Source.id == Item.source_id)
                    .where(Source.case_id == self._case_id, Item.id > last)
                    .order_by(Item.id)
                    .options(
                        selectinload(Item.signals),
                        selectinload(Item.matches),
                        selectinload(Item.origin),
                    )
                    .limit(_ITEM_PAGE)
                ).all()
                if not page:
                    return
                for item, root in page:
                    yield _triage_item(item, root)
                last = page[-1][0].id
                session.expunge_all()

    def record_triage(self, result: TriageResult) -> None:
        with Session(self._engine) as session, session.begin():
            for table in (ItemTriageRow, SceneLinkRow, SeriesRow, StackRow):
                session.execute(delete(table))
            stack_of = _insert_groups(
                session,
                StackRow,
                [
                    {"representative_item_id": stack.representative, **_group_values(stack)}
                    for stack in result.stacks
                ],
                [stack.members for stack in result.stacks],
            )
            series_of = _insert_groups(
                session,
                SeriesRow,
                [
                    {
                        "label": series.label,
                        "name": series.name,
                        "victim_identified": series.victim_identified,
                        **_group_values(series),
                    }
                    for series in result.series
                ],
                [series.members for series in result.series],
            )
            if result.links:
                session.execute(
                    insert(SceneLinkRow), [dataclasses.asdict(link) for link in result.links]
                )
            rows = [
                {
                    "item_id": item_id,
                    "stack_id": stack_of.get(item_id),
                    "series_id": series_of.get(item_id),
                    "score": priority.score,
                    "reasons": json.dumps(list(priority.reasons)),
                }
                for item_id, priority in result.priorities.items()
            ]
            for start in range(0, len(rows), _ITEM_PAGE):
                session.execute(insert(ItemTriageRow), rows[start : start + _ITEM_PAGE])

    def queue(self) -> list[QueueEntry]:
        with Session(self._engine) as session:
            rows = session.execute(
                select(
                    ItemTriageRow.item_id,
                    ItemTriageRow.stack_id,
                    ItemTriageRow.series_id,
                    ItemTriageRow.score,
                    ItemTriageRow.reasons,
                    Source.root_raw,
                    Item.path_raw,
                )
                .join(Item, Item.id == ItemTriageRow.item_id)
                .join(Source, Source.id == Item.source_id)
                .where(Source.case_id == self._case_id)
            ).all()
            stacks = {row.id: row for row in session.scalars(select(StackRow))}
            series = {row.id: row for row in session.scalars(select(SeriesRow))}
        return _queue_of(rows, stacks, series)

    def _case_items(self, after_item: int) -> Select[Any]:
        return (
            select(Item.id)
            .join(Source, Source.id == Item.source_id)
            .where(Source.case_id == self._case_id, Item.id > after_item)
        )

    # ItemReader

    def iter_items(self) -> Iterator[ItemRow]:
        """Every recorded item, ordered by source then path (its head and key, see
        :mod:`clearsight.store.paths`), read a page at a time."""
        last: tuple[int, str, bytes] = (-1, "", b"")
        with Session(self._engine) as session:
            while True:
                page = session.execute(
                    select(Item, Source.root)
                    .join(Source, Source.id == Item.source_id)
                    .where(Source.case_id == self._case_id)
                    .where(tuple_(Item.source_id, Item.path_head, Item.path_key) > tuple_(*last))
                    .order_by(Item.source_id, Item.path_head, Item.path_key)
                    .options(
                        selectinload(Item.signals),
                        selectinload(Item.errors),
                        selectinload(Item.matches),
                        selectinload(Item.notes),
                        selectinload(Item.origin),
                        selectinload(Item.triage),
                    )
                    .limit(_ITEM_PAGE)
                ).all()
                if not page:
                    return
                for item, root in page:
                    yield _row_of(item, root)
                final = page[-1][0]
                last = (final.source_id, final.path_head, final.path_key)
                session.expunge_all()

    def _ensure_case(self, name: str, version: str) -> int:
        with Session(self._engine) as session, session.begin():
            found = session.scalar(select(Case.id).order_by(Case.id).limit(1))
            if found is not None:
                return found
            case = Case(name=name, created_at=utc_now(), clearsight_version=version)
            session.add(case)
            session.flush()
            return case.id


def _item_values(source_id: int, scan_id: int, scanned: ScannedFile) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "scan_id": scan_id,
        **path_values(scanned.path),
        "size": scanned.size,
        "mtime": scanned.mtime,
        "media_type": scanned.media_type,
        "kind": scanned.kind.value,
        "width": scanned.width,
        "height": scanned.height,
        "orientation": scanned.orientation,
    }


def _insert_groups(
    session: Session,
    table: type[StackRow] | type[SeriesRow],
    rows: list[dict[str, Any]],
    members: list[tuple[int, ...]],
) -> dict[int, int]:
    """Insert stacks or series; map each member item to the id its group got."""
    if not rows:
        return {}
    ids = session.scalars(
        insert(table).returning(table.id, sort_by_parameter_order=True), rows
    ).all()
    return {item: group_id for group_id, group in zip(ids, members, strict=True) for item in group}


def _group_values(group: StackRecord | SeriesRecord) -> dict[str, Any]:
    return {
        "size": len(group.members),
        "score": group.priority.score,
        "reasons": json.dumps(list(group.priority.reasons)),
    }


def _features_values(item_id: int, features: PackedFeatures) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "keypoints": int.from_bytes(features.data[:4], "little"),
        "width": features.width,
        "height": features.height,
        "data": features.data,
    }


def _signal_values(item_id: int, scanned: ScannedFile) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = []
    if scanned.digests is not None:
        values.extend(
            {"item_id": item_id, "kind": name, "value": value, "quality": None}
            for name, value in scanned.digests.as_dict().items()
        )
    pdq = scanned.pdq
    if pdq is not None:
        values.append({"item_id": item_id, "kind": "pdq", "value": pdq.hex, "quality": pdq.quality})
        if pdq.dihedral:
            dihedral = ",".join(pdq.dihedral)
            values.append(
                {
                    "item_id": item_id,
                    "kind": PDQ_DIHEDRAL,
                    "value": dihedral,
                    "quality": pdq.quality,
                }
            )
    if scanned.pdq_variants:
        values.append(
            {
                "item_id": item_id,
                "kind": PDQ_VARIANTS,
                "value": format_variants(scanned.pdq_variants),
                "quality": None,
            }
        )
    if scanned.scene_views:
        values.append(
            {
                "item_id": item_id,
                "kind": PDQ_SCENE,
                "value": format_variants(scanned.scene_views),
                "quality": None,
            }
        )
    return values


def _origin_values(item_id: int, origin: ItemOrigin) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "verdict": origin.summary.verdict,
        "score": origin.summary.score,
        "reasons": json.dumps(list(origin.summary.reasons)),
        "evidence": json.dumps([dataclasses.asdict(record) for record in origin.evidence]),
        "prompts": json.dumps(list(origin.prompts)) if origin.prompts else None,
        "examiner": origin.examiner,
        "examined_at": utc_now(),
    }


def _summary_of(row: OriginRow | None) -> OriginSummary | None:
    if row is None:
        return None
    return OriginSummary(row.verdict, row.score, tuple(json.loads(row.reasons)))


def _row_of(item: Item, root: str) -> ItemRow:
    signals = {signal.kind: signal for signal in item.signals}
    pdq = signals.get("pdq")
    reasons = [f"{error.stage}: {error.reason}" for error in item.errors]
    return ItemRow(
        source=root,
        path=item.path,
        size=item.size,
        mtime=item.mtime,
        media_type=item.media_type,
        kind=item.kind,
        width=item.width,
        height=item.height,
        orientation=item.orientation,
        md5=_value(signals, "md5"),
        sha1=_value(signals, "sha1"),
        sha256=_value(signals, "sha256"),
        pdq=pdq.value if pdq else None,
        pdq_quality=pdq.quality if pdq else None,
        error="; ".join(reasons) if reasons else None,
        matches=tuple(
            m.view()
            for m in sorted(item.matches, key=lambda m: (m.distance, m.bank, m.entry_id, m.signal))
        ),
        notes=tuple(note.note for note in item.notes),
        origin=_summary_of(item.origin),
        stack=item.triage.stack_id if item.triage else None,
        series=item.triage.series_id if item.triage else None,
        priority=(
            Priority(item.triage.score, tuple(json.loads(item.triage.reasons)))
            if item.triage
            else None
        ),
    )


def _triage_item(item: Item, root: bytes) -> TriageItem:
    signals = {signal.kind: signal for signal in item.signals}
    pdq = signals.get("pdq")
    usable = pdq is not None and (pdq.quality or 0) >= PDQ_MIN_QUALITY
    dihedral = signals.get(PDQ_DIHEDRAL)
    scene = signals.get(PDQ_SCENE)
    views = signals.get(PDQ_VARIANTS)
    return TriageItem(
        item_id=item.id,
        path=display_path(_location(root, item.path_raw)),
        kind=item.kind,
        sha256=_value(signals, "sha256"),
        pdq=pdq.value if pdq is not None and usable else None,
        dihedral=tuple(dihedral.value.split(",")) if dihedral and usable else (),
        pixels=(item.width or 0) * (item.height or 0),
        size=item.size or 0,
        matches=tuple(m.view() for m in item.matches),
        origin=_summary_of(item.origin),
        scene_codes=tuple(v.hex for v in parse_variants(scene.value)) if scene else (),
        view_codes=tuple(v.hex for v in parse_variants(views.value)) if views else (),
    )


def _queue_of(
    rows: Sequence[Any], stacks: dict[int, StackRow], series: dict[int, SeriesRow]
) -> list[QueueEntry]:
    """Series as units, then stacks outside a series, then lone items; by score."""
    entries: list[QueueEntry] = []
    best: dict[tuple[str, int], Any] = {}
    for row in rows:
        unit = (
            ("series", row.series_id)
            if row.series_id is not None
            else ("stack", row.stack_id)
            if row.stack_id is not None
            else ("item", row.item_id)
        )
        if unit not in best or row.score > best[unit].score:
            best[unit] = row
    where = {row.item_id: display_path(_location(row.root_raw, row.path_raw)) for row in rows}
    for (kind, unit_id), row in best.items():
        location = where[row.item_id]
        if kind == "series":
            found = series[unit_id]
            label = found.label + (f" ({found.name})" if found.name else "")
            entries.append(
                QueueEntry(
                    kind,
                    unit_id,
                    label,
                    found.size,
                    found.score,
                    tuple(json.loads(found.reasons)),
                    location,
                )
            )
        elif kind == "stack":
            stack = stacks[unit_id]
            location = where.get(stack.representative_item_id, location)
            entries.append(
                QueueEntry(
                    kind,
                    unit_id,
                    f"stack-{unit_id}",
                    stack.size,
                    stack.score,
                    tuple(json.loads(stack.reasons)),
                    location,
                )
            )
        else:
            entries.append(
                QueueEntry(
                    kind,
                    unit_id,
                    location,
                    1,
                    row.score,
                    tuple(json.loads(row.reasons)),
                    location,
                )
            )
    # At equal scores a series comes first, then a stack: they say more per look.
    rank = {"series": 0, "stack": 1, "item": 2}
    return sorted(entries, key=lambda entry: (-entry.score, rank[entry.kind], entry.id))


def _query_of(item_id: int, signals: dict[str, Signal]) -> MatchQuery:
    pdq = signals.get("pdq")
    dihedral = signals.get(PDQ_DIHEDRAL)
    variants = signals.get(PDQ_VARIANTS)
    return MatchQuery(
        item_id=item_id,
        digests={k: signals[k].value for k in DIGEST_NAMES if k in signals},
        pdq=pdq.value if pdq else None,
        pdq_quality=pdq.quality if pdq else None,
        dihedral=tuple(dihedral.value.split(",")) if dihedral else (),
        variants=parse_variants(variants.value) if variants else (),
    )


def _location(root: bytes, path: bytes) -> bytes:
    """An item's file, as bytes: its path under the source folder, or the source itself
    when the source was a single file (whose item path is then its name)."""
    if os.path.basename(root) == path and not os.path.isdir(root):
        return root
    return os.path.join(root, path)


def _value(signals: dict[str, Signal], kind: str) -> str | None:
    signal = signals.get(kind)
    return signal.value if signal else None
