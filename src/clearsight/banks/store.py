"""The bank store: every bank on the machine, one SQL database behind a narrow API.

By default it is ``banks.sqlite`` under ``CLEARSIGHT_HOME`` (the platform's user data
folder when unset); any SQLAlchemy URL, PostgreSQL included, can serve instead. An
import is one transaction, so a bank is never left half-imported, and it is an upsert
keyed by each entry's identity, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from clearsight.banks.models import DEFAULT_PDQ_THRESHOLD, Bank, BankEntry, BankEntrySignal
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
)
from clearsight.errors import DependencyError, UserError
from clearsight.store.engines import sqlite_engine, upgrade_to_head, utc_now

BANKS_DATABASE = "banks.sqlite"
_MIGRATIONS = Path(__file__).with_name("migrations")
_BATCH = 1000
_KEPT_REJECTIONS = 20


def clearsight_home() -> Path:
    """Where clearsight keeps machine-wide state: ``$CLEARSIGHT_HOME`` or the user data dir."""
    configured = os.environ.get("CLEARSIGHT_HOME")
    return Path(configured) if configured else Path(platformdirs.user_data_dir("clearsight"))


@dataclass(frozen=True)
class BankSettings:
    source: str | None = None
    description: str | None = None
    allow: bool = False
    pdq_threshold: int = DEFAULT_PDQ_THRESHOLD


@dataclass(frozen=True)
class BankSummary:
    name: str
    source: str | None
    description: str | None
    enabled: bool
    allow: bool
    pdq_threshold: int
    entries: int
    signals: dict[str, int]
    updated_at: datetime


@dataclass(frozen=True)
class BankTarget:
    """An enabled bank as the matcher needs it."""

    id: int
    name: str
    allow: bool
    pdq_threshold: int


@dataclass(frozen=True)
class BankHit:
    """A bank entry a signal was found in, with what the bank says about it."""

    bank: BankTarget
    entry_id: int
    metadata: EntryMetadata


@dataclass(frozen=True)
class PdqCodes:
    """Every PDQ code of some banks, with the entry and bank each belongs to (aligned)."""

    hashes: list[str]
    entry_ids: list[int]
    banks: list[BankTarget]


@dataclass
class ImportReport:
    """What an import did. ``rejected`` keeps the first reasons; ``rejected_count`` all."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected_count: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)

    def reject(self, line: RejectedLine) -> None:
        self.rejected_count += 1
        if len(self.rejected) < _KEPT_REJECTIONS:
            self.rejected.append(line)


class BankStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        try:
            upgrade_to_head(engine, _MIGRATIONS)
        except SQLAlchemyError as exc:
            raise DependencyError(f"cannot open the bank store {engine.url!r}: {exc}") from exc

    @classmethod
    def open(cls, url: str | None = None) -> BankStore:
        """Open the store at ``url``, or the default SQLite file under CLEARSIGHT_HOME."""
        if url:
            return cls(create_engine(url))
        home = clearsight_home()
        home.mkdir(parents=True, exist_ok=True)
        return cls(sqlite_engine(home / BANKS_DATABASE))

    @classmethod
    def open_if_present(cls, url: str | None = None) -> BankStore | None:
        """Like :meth:`open`, but None where no default store was ever made."""
        if not url and not (clearsight_home() / BANKS_DATABASE).is_file():
            return None
        return cls.open(url)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def summaries(self) -> list[BankSummary]:
        with Session(self._engine) as session:
            return [
                self._summary(session, bank)
                for bank in session.scalars(select(Bank).order_by(Bank.name))
            ]

    def summary(self, name: str) -> BankSummary:
        with Session(self._engine) as session:
            return self._summary(session, self._bank(session, name))

    def match_targets(self, names: Sequence[str] | None = None) -> list[BankTarget]:
        """The enabled banks, or those named (each must exist)."""
        with Session(self._engine) as session:
            if names:
                banks = [self._bank(session, name) for name in dict.fromkeys(names)]
            else:
                banks = list(session.scalars(select(Bank).order_by(Bank.name)))
            return [
                BankTarget(bank.id, bank.name, bank.allow, bank.pdq_threshold)
                for bank in banks
                if bank.enabled
            ]

    def exact_hits(
        self, kind: str, values: Iterable[str], targets: Sequence[BankTarget]
    ) -> dict[str, list[BankHit]]:
        """The entries of ``targets`` holding each of ``values`` as signal ``kind``."""
        by_id = {target.id: target for target in targets}
        found: dict[str, list[BankHit]] = {}
        wanted = list(values)
        with Session(self._engine) as session:
            for start in range(0, len(wanted), _BATCH):
                rows = session.execute(
                    select(BankEntrySignal.value, BankEntry)
                    .join(BankEntry, BankEntry.id == BankEntrySignal.entry_id)
                    .where(
                        BankEntrySignal.kind == kind,
                        BankEntrySignal.value.in_(wanted[start : start + _BATCH]),
                        BankEntrySignal.bank_id.in_(by_id),
                    )
                ).all()
                for value, entry in rows:
                    hit = BankHit(by_id[entry.bank_id], entry.id, _metadata_of(entry))
                    found.setdefault(value, []).append(hit)
        return found

    def pdq_codes(self, targets: Sequence[BankTarget]) -> PdqCodes:
        by_id = {target.id: target for target in targets}
        codes = PdqCodes([], [], [])
        with Session(self._engine) as session:
            rows = session.execute(
                select(BankEntrySignal.value, BankEntrySignal.entry_id, BankEntrySignal.bank_id)
                .where(BankEntrySignal.kind == "pdq", BankEntrySignal.bank_id.in_(by_id))
                .order_by(BankEntrySignal.id)
            )
            for value, entry_id, bank_id in rows:
                codes.hashes.append(value)
                codes.entry_ids.append(entry_id)
                codes.banks.append(by_id[bank_id])
        return codes

    def entry_metadata(self, entry_ids: Iterable[int]) -> dict[int, EntryMetadata]:
        wanted = list(set(entry_ids))
        found: dict[int, EntryMetadata] = {}
        with Session(self._engine) as session:
            for start in range(0, len(wanted), _BATCH):
                for entry in session.scalars(
                    select(BankEntry).where(BankEntry.id.in_(wanted[start : start + _BATCH]))
                ):
                    found[entry.id] = _metadata_of(entry)
        return found

    def iter_entries(self, name: str) -> Iterator[ImportedEntry]:
        """Every entry of bank ``name`` with its signals, in the order they were added."""
        with Session(self._engine) as session:
            bank_id = self._bank(session, name).id
            last = 0
            while True:
                rows = session.scalars(
                    select(BankEntry)
                    .where(BankEntry.bank_id == bank_id, BankEntry.id > last)
                    .order_by(BankEntry.id)
                    .limit(_BATCH)
                ).all()
                if not rows:
                    return
                signals: dict[int, list[tuple[BankSignal, str]]] = {}
                for entry_id, kind, value in session.execute(
                    select(BankEntrySignal.entry_id, BankEntrySignal.kind, BankEntrySignal.value)
                    .where(BankEntrySignal.entry_id.in_([row.id for row in rows]))
                    .order_by(BankEntrySignal.entry_id, BankEntrySignal.kind)
                ):
                    signals.setdefault(entry_id, []).append((BankSignal(kind), value))
                for row in rows:
                    yield ImportedEntry(tuple(signals.get(row.id, ())), _metadata_of(row))
                last = rows[-1].id
                session.expunge_all()

    def import_entries(
        self,
        name: str,
        events: Iterable[ImportEvent],
        settings: BankSettings,
        *,
        stop_on_error: bool,
        file_name: str,
    ) -> ImportReport:
        """Upsert ``events`` into bank ``name`` (created if new), in one transaction."""
        report = ImportReport()
        with Session(self._engine) as session, session.begin():
            bank = self._ensure_bank(session, name, settings)
            for batch in _batches(events, _BATCH):
                entries: list[ImportedEntry] = []
                for item in batch:
                    if isinstance(item, RejectedLine):
                        if stop_on_error:
                            raise UserError(f"{file_name} {item.where}: {item.reason}")
                        report.reject(item)
                    else:
                        entries.append(item)
                _apply(session, bank.id, entries, report)
            if report.added or report.updated or report.removed:
                bank.updated_at = utc_now()
        return report

    def _ensure_bank(self, session: Session, name: str, settings: BankSettings) -> Bank:
        bank = session.scalar(select(Bank).where(Bank.name == name))
        if bank is None:
            now = utc_now()
            bank = Bank(
                name=name,
                source=settings.source,
                description=settings.description,
                enabled=True,
                allow=settings.allow,
                pdq_threshold=settings.pdq_threshold,
                created_at=now,
                updated_at=now,
            )
            session.add(bank)
            session.flush()
        return bank

    def _bank(self, session: Session, name: str) -> Bank:
        bank = session.scalar(select(Bank).where(Bank.name == name))
        if bank is None:
            raise UserError(f"no bank named {name!r}")
        return bank

    def _summary(self, session: Session, bank: Bank) -> BankSummary:
        entries = session.scalar(
            select(func.count()).select_from(BankEntry).where(BankEntry.bank_id == bank.id)
        )
        signal_counts = session.execute(
            select(BankEntrySignal.kind, func.count())
            .where(BankEntrySignal.bank_id == bank.id)
            .group_by(BankEntrySignal.kind)
        ).all()
        return BankSummary(
            name=bank.name,
            source=bank.source,
            description=bank.description,
            enabled=bank.enabled,
            allow=bank.allow,
            pdq_threshold=bank.pdq_threshold,
            entries=entries or 0,
            signals={kind: count for kind, count in signal_counts},
            updated_at=bank.updated_at,
        )


def identity_of(entry: ImportedEntry) -> str:
    """How an entry is recognised on re-import: its list's id, or else its signals."""
    if entry.metadata.external_id:
        return f"id:{entry.metadata.external_id}"
    return "sig:" + "|".join(sorted(f"{kind.value}:{value}" for kind, value in entry.signals))


def _apply(
    session: Session, bank_id: int, entries: Sequence[ImportedEntry], report: ImportReport
) -> None:
    latest: dict[str, ImportedEntry] = {}
    for entry in entries:
        latest[identity_of(entry)] = entry  # the last word in a file wins
    existing = {
        row.identity: row
        for row in session.scalars(
            select(BankEntry).where(BankEntry.bank_id == bank_id, BankEntry.identity.in_(latest))
        )
    }
    stored_signals: dict[int, set[tuple[str, str]]] = {}
    if existing:
        for entry_id, kind, value in session.execute(
            select(BankEntrySignal.entry_id, BankEntrySignal.kind, BankEntrySignal.value).where(
                BankEntrySignal.entry_id.in_([row.id for row in existing.values()])
            )
        ):
            stored_signals.setdefault(entry_id, set()).add((kind, value))
    for identity, entry in latest.items():
        row = existing.get(identity)
        if entry.remove:
            if row is not None:
                session.execute(delete(BankEntrySignal).where(BankEntrySignal.entry_id == row.id))
                session.delete(row)
                report.removed += 1
            continue
        values = _entry_values(entry)
        signals = {(kind.value, value) for kind, value in entry.signals}
        if row is None:
            row = BankEntry(bank_id=bank_id, identity=identity, **values)
            session.add(row)
            session.flush()
            _add_signals(session, bank_id, row.id, signals)
            report.added += 1
        elif _metadata_of(row) == entry.metadata and stored_signals.get(row.id, set()) == signals:
            report.unchanged += 1
        else:
            for key, value in values.items():
                setattr(row, key, value)
            session.execute(delete(BankEntrySignal).where(BankEntrySignal.entry_id == row.id))
            _add_signals(session, bank_id, row.id, signals)
            report.updated += 1
    session.flush()


def _add_signals(
    session: Session, bank_id: int, entry_id: int, signals: set[tuple[str, str]]
) -> None:
    session.add_all(
        BankEntrySignal(entry_id=entry_id, bank_id=bank_id, kind=kind, value=value)
        for kind, value in sorted(signals)
    )


def _entry_values(entry: ImportedEntry) -> dict[str, Any]:
    meta = entry.metadata
    return {
        "external_id": meta.external_id,
        "category": meta.category,
        "series": meta.series,
        "victim_identified": meta.victim_identified,
        "offender_identified": meta.offender_identified,
        "tags": json.dumps(list(meta.tags)) if meta.tags else None,
        "comments": meta.comments,
        "date": meta.date,
    }


def _metadata_of(row: BankEntry) -> EntryMetadata:
    return EntryMetadata(
        external_id=row.external_id,
        category=row.category,
        series=row.series,
        victim_identified=row.victim_identified,
        offender_identified=row.offender_identified,
        tags=tuple(json.loads(row.tags)) if row.tags else (),
        comments=row.comments,
        date=row.date,
    )


def _batches(events: Iterable[ImportEvent], size: int) -> Iterator[list[ImportEvent]]:
    batch: list[ImportEvent] = []
    for item in events:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
