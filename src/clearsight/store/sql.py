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
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from sqlalchemy import (
    Engine,
    Select,
    delete,
    distinct,
    func,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from clearsight.categories import CategoryScheme
from clearsight.errors import CaseStoreError
from clearsight.file_paths import display_path
from clearsight.signals.pdq import PDQ_MIN_QUALITY
from clearsight.signals.registry import DIGEST_NAMES
from clearsight.signals.variant_hash import format_variants, parse_variants
from clearsight.store.case_reads import (
    case_record,
    error_records,
    known_items,
    known_series,
    series_labels,
    series_members,
    series_pages,
)
from clearsight.store.engines import (
    schema_lock,
    sqlite_engine,
    upgrade_to_head,
    url_engine,
    utc_now,
)
from clearsight.store.interface import (
    BankCheck,
    CaseRecord,
    ErrorRecord,
    ExportReader,
    ItemFile,
    ItemOrigin,
    ItemReader,
    ItemRow,
    MatchLedger,
    MatchQuery,
    MatchRecord,
    MatchTotals,
    OriginLedger,
    OriginSummary,
    PackedFeatures,
    QueueEntry,
    RevealRecord,
    ReviewStore,
    ScanLedger,
    ScannedFile,
    ScanTally,
    Selection,
    SeriesMemberRecord,
    SeriesRecord,
    SeriesSummary,
    StackRecord,
    TriageItem,
    TriageLedger,
    TriageResult,
    Verdict,
    VideoQuery,
    VideoRecord,
)
from clearsight.store.item_pages import item_pages
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
from clearsight.store.queue import ReviewQueue
from clearsight.store.review.accounts import AccountBook
from clearsight.store.review.assignments import AssignmentBook
from clearsight.store.review.audit import AuditLog
from clearsight.store.review.decisions import Clock, DecisionBook
from clearsight.store.review.exposure import (
    ExposureMeter,
    read_reveal,
    revealed_among,
    revealed_frames,
)
from clearsight.store.review.item_facts import (
    GroupFacts,
    ItemFacts,
    read_item,
    read_prompts,
    read_series,
)
from clearsight.store.review.login_sessions import LoginSessions, SessionPolicy
from clearsight.store.review.preferences import PreferenceBook
from clearsight.store.review.settings import ReviewSettings, SettingsStore
from clearsight.store.video_rows import frame_codes, insert_videos, read_video, video_queries

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
    """A case held in a SQL database. Implements every Protocol of
    :mod:`clearsight.store.interface`: the stages' ledgers, the item reader, what
    exports read (``ExportReader``) and the review services (``ReviewStore``)."""

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

    # The engine stays private: every statement on the case database is written in
    # clearsight.store. Callers get typed records, or the review services below, which
    # the store builds on its engine.

    def audit_log(self) -> AuditLog:
        return AuditLog(self._engine)

    def accounts(self, hasher: PasswordHasher | None = None) -> AccountBook:
        return AccountBook(self._engine, hasher)

    def login_sessions(
        self,
        accounts: AccountBook | None = None,
        policy: SessionPolicy | None = None,
        clock: Clock = utc_now,
    ) -> LoginSessions:
        return LoginSessions(self._engine, accounts, policy, clock)

    def review_settings(self) -> SettingsStore:
        return SettingsStore(self._engine)

    def preferences(self) -> PreferenceBook:
        return PreferenceBook(self._engine)

    def assignments(self) -> AssignmentBook:
        return AssignmentBook(self._engine)

    def exposure(self, settings: ReviewSettings, clock: Clock = utc_now) -> ExposureMeter:
        return ExposureMeter(self._engine, settings, clock)

    def decisions(
        self, settings: ReviewSettings, scheme: CategoryScheme, clock: Clock = utc_now
    ) -> DecisionBook:
        return DecisionBook(self._engine, settings, scheme, clock)

    def review_queue(self) -> ReviewQueue:
        """The one queue of the case, which ``queue`` lists and the server pages."""
        return ReviewQueue(self._engine, self.item_files)

    def item_facts(self, item_id: int) -> ItemFacts | None:
        """What the review screen shows of one item, or None if the case has none."""
        return read_item(self._engine, self._case_id, self.item_files, item_id)

    def video(self, item_id: int) -> VideoRecord | None:
        with Session(self._engine) as session:
            return read_video(session, item_id)

    def series_facts(self, series_id: int) -> GroupFacts | None:
        return read_series(self._engine, series_id)

    def prompts(self, item_id: int) -> tuple[str, ...]:
        """The generator prompts kept for ``item_id``. Show them only behind a reveal."""
        return read_prompts(self._engine, item_id)

    def reveal(self, reveal_id: int) -> RevealRecord | None:
        """One reveal as the exposure meter recorded it (the server decides from it
        whether the picture may be sent: :mod:`clearsight.server.reveal_grants`)."""
        return read_reveal(self._engine, reveal_id)

    # What exports read (see clearsight.report)

    def case_record(self) -> CaseRecord:
        return case_record(self._engine)

    def item_pages(
        self, selection: Selection, page_size: int
    ) -> Iterator[list[tuple[int, ItemRow]]]:
        """Pages of (item id, row) of the selected items, source by source, path by
        path: the one reader of items (:mod:`clearsight.store.item_pages`)."""
        return item_pages(self._engine, self._case_id, selection, page_size)

    def known_items(self, item_ids: Sequence[int]) -> set[int]:
        return known_items(self._engine, self._case_id, item_ids)

    def known_series(
        self, series_ids: Sequence[int], labels: Sequence[str]
    ) -> tuple[set[int], dict[str, int]]:
        return known_series(self._engine, series_ids, labels)

    def error_records(self, selection: Selection) -> Iterator[ErrorRecord]:
        return error_records(self._engine, self._case_id, selection)

    def series_labels(self, series_ids: Sequence[int]) -> dict[int, str]:
        return series_labels(self._engine, series_ids)

    def series_pages(self, selection: Selection, page_size: int) -> Iterator[list[SeriesSummary]]:
        return series_pages(self._engine, selection, page_size)

    def series_members(
        self, series_ids: Sequence[int], selection: Selection, cap: int
    ) -> list[SeriesMemberRecord]:
        return series_members(self._engine, self._case_id, series_ids, selection, cap)

    def revealed_among(self, item_ids: Sequence[int]) -> set[int]:
        """Those of ``item_ids`` that anyone ever saw unblurred."""
        return revealed_among(self._engine, item_ids)

    def revealed_frames(self, item_id: int) -> tuple[int, ...]:
        """The frames of the video ``item_id`` that anyone saw unblurred, one by one."""
        return revealed_frames(self._engine, item_id)

    def matched_banks(self) -> list[str]:
        """The banks the case has matches in, by name."""
        with Session(self._engine) as session:
            return sorted(session.scalars(select(Match.bank).distinct()))

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
            insert_videos(
                session,
                [
                    (item_id, scanned.video)
                    for item_id, (_, scanned) in zip(item_ids, files, strict=True)
                    if scanned.video is not None
                ],
            )

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

    def iter_video_queries(self, after_item: int = 0) -> Iterator[VideoQuery]:
        with Session(self._engine) as session:
            yield from video_queries(session, after_item)

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
                        selectinload(Item.errors),
                    )
                    .limit(_ITEM_PAGE)
                ).all()
                if not page:
                    return
                videos = frame_codes(session, [item.id for item, _ in page if item.kind == "video"])
                for item, root in page:
                    found = _triage_item(item, root)
                    if item.id in videos:
                        # A video's kept frames are its views too: a still taken from it
                        # meets the frame nearest it (series.linking).
                        views = (*found.view_codes, *videos[item.id])
                        found = dataclasses.replace(found, view_codes=views)
                    yield found
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
        """The whole review queue, in the one queue order (:mod:`clearsight.store.queue`)."""
        return [
            QueueEntry(
                unit.kind,
                unit.id,
                unit.label,
                unit.size,
                unit.score,
                unit.reasons,
                unit.location,
                unit.path,
            )
            for unit in self.review_queue().units()
        ]

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
        for page in self.item_pages(Selection(), _ITEM_PAGE):
            for _, row in page:
                yield row

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
    return OriginSummary(Verdict(row.verdict), row.score, tuple(json.loads(row.reasons)))


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
        unreadable="; ".join(f"{e.stage}: {e.reason}" for e in item.errors) or None,
    )


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


def engine_of(store: SqlCaseStore) -> Engine:
    """The store's engine, for tests and benchmarks that build or inspect a case
    database row by row (to tamper with the audit log, say). No module of clearsight
    outside the store calls it: tests/test_architecture.py holds that."""
    return store._engine


if TYPE_CHECKING:

    def _implements(
        store: SqlCaseStore,
    ) -> tuple[
        ScanLedger, MatchLedger, OriginLedger, TriageLedger, ItemReader, ExportReader, ReviewStore
    ]:
        """Never called: mypy holds the store to every Protocol it implements."""
        return store, store, store, store, store, store, store
