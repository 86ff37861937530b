"""The bank store: every bank on the machine, one SQL database behind a narrow API.

By default it is ``banks.sqlite`` under ``CLEARSIGHT_HOME`` (the platform's user data
folder when unset); any SQLAlchemy URL, PostgreSQL included, can serve instead. An
import is one transaction, so a bank is never left half-imported, and it is an upsert
keyed by each entry's identity, so importing the same file twice changes nothing.
An import that changes entries bumps the bank's revision; settings changes do not, so
an index built from a bank's PDQ codes is keyed by its uid and revision.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import platformdirs
from sqlalchemy import Engine, create_engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from clearsight.banks.models import (
    DEFAULT_PDQ_THRESHOLD,
    Bank,
    BankEntry,
    BankEntrySignal,
)
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
_PDQ_PAGE = 50_000  # rows per query when reading PDQ codes: about 6 MB of strings
_PDQ_WORDS = 4  # a 256-bit PDQ hash as big-endian 64-bit words
_KEPT_REJECTIONS = 20
# Signal kinds for what only own banks hold: ``pdq:<variant>`` and packed features.
PDQ_VARIANT_PREFIX = "pdq:"
FEATURES_KIND = "orb"


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
    uid: str
    revision: int


@dataclass(frozen=True)
class BankTarget:
    """An enabled bank as the matcher needs it."""

    id: int
    name: str
    allow: bool
    pdq_threshold: int
    uid: str
    revision: int
    has_features: bool = False


@dataclass(frozen=True)
class PdqArrays:
    """A bank's PDQ codes as (n, 4) big-endian words, each code's entry, and which view
    of the entry's picture it hashes: ``variants`` indexes ``variant_names``, where
    0 (the name "") is the picture itself."""

    codes: npt.NDArray[np.uint64]
    entry_ids: npt.NDArray[np.int64]
    variants: npt.NDArray[np.int16]
    variant_names: tuple[str, ...]


@dataclass(frozen=True)
class BankHit:
    """A bank entry a signal was found in, with what the bank says about it."""

    bank: BankTarget
    entry_id: int
    metadata: EntryMetadata


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
            featured = set(
                session.scalars(
                    select(BankEntrySignal.bank_id)
                    .where(BankEntrySignal.kind == FEATURES_KIND)
                    .distinct()
                )
            )
            return [
                BankTarget(
                    id=bank.id,
                    name=bank.name,
                    allow=bank.allow,
                    pdq_threshold=bank.pdq_threshold,
                    uid=bank.uid,
                    revision=bank.revision,
                    has_features=bank.id in featured,
                )
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

    def pdq_arrays(self, bank_id: int) -> PdqArrays:
        """Bank ``bank_id``'s PDQ codes, of the pictures and of their variants.

        Ordered by signal id. Read in pages by key, each decoded at once into arrays
        sized by a count first, so ten million codes cost their arrays and one page.
        """
        is_pdq = (BankEntrySignal.kind == "pdq") | BankEntrySignal.kind.startswith(
            PDQ_VARIANT_PREFIX, autoescape=True
        )
        wanted = (BankEntrySignal.bank_id == bank_id, is_pdq)
        names: dict[str, int] = {"pdq": 0}
        # A Connection, not a Session: the ORM's work per row would cost more than the SQL.
        with self._engine.connect() as connection:
            total = connection.scalar(
                select(func.count()).select_from(BankEntrySignal).where(*wanted)
            )
            words = np.empty((total or 0, _PDQ_WORDS), dtype=np.uint64)
            entry_ids = np.empty(total or 0, dtype=np.int64)
            variants = np.zeros(total or 0, dtype=np.int16)
            filled, last = 0, 0
            while True:
                rows = connection.execute(
                    select(
                        BankEntrySignal.id,
                        BankEntrySignal.value,
                        BankEntrySignal.entry_id,
                        BankEntrySignal.kind,
                    )
                    .where(*wanted, BankEntrySignal.id > last)
                    .order_by(BankEntrySignal.id)
                    .limit(_PDQ_PAGE)
                ).all()
                if not rows:
                    break
                end = filled + len(rows)
                if end > len(words):  # an import added codes since the count
                    words = np.resize(words, (end, _PDQ_WORDS))
                    entry_ids = np.resize(entry_ids, end)
                    variants = np.resize(variants, end)
                _, values, ids, kinds = zip(*rows, strict=True)
                words[filled:end] = _pdq_words(values)
                entry_ids[filled:end] = ids
                variants[filled:end] = [names.setdefault(kind, len(names)) for kind in kinds]
                filled, last = end, rows[-1][0]
        variant_names = tuple(kind.removeprefix(PDQ_VARIANT_PREFIX) for kind in names)
        return PdqArrays(
            words[:filled], entry_ids[:filled], variants[:filled], ("", *variant_names[1:])
        )

    def entry_features(self, entry_ids: Iterable[int]) -> dict[int, str]:
        """The packed local features of those entries that have them."""
        wanted = list(set(entry_ids))
        found: dict[int, str] = {}
        with self._engine.connect() as connection:
            for start in range(0, len(wanted), _BATCH):
                found.update(
                    connection.execute(
                        select(BankEntrySignal.entry_id, BankEntrySignal.value).where(
                            BankEntrySignal.kind == FEATURES_KIND,
                            BankEntrySignal.entry_id.in_(wanted[start : start + _BATCH]),
                        )
                    )
                    .tuples()
                    .all()
                )
        return found

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
                variants: dict[int, list[tuple[str, str]]] = {}
                features: dict[int, str] = {}
                for entry_id, kind, value in session.execute(
                    select(BankEntrySignal.entry_id, BankEntrySignal.kind, BankEntrySignal.value)
                    .where(BankEntrySignal.entry_id.in_([row.id for row in rows]))
                    .order_by(BankEntrySignal.entry_id, BankEntrySignal.kind)
                ):
                    if kind == FEATURES_KIND:
                        features[entry_id] = value
                    elif kind.startswith(PDQ_VARIANT_PREFIX):
                        name = kind.removeprefix(PDQ_VARIANT_PREFIX)
                        variants.setdefault(entry_id, []).append((name, value))
                    else:
                        signals.setdefault(entry_id, []).append((BankSignal(kind), value))
                for row in rows:
                    yield ImportedEntry(
                        tuple(signals.get(row.id, ())),
                        _metadata_of(row),
                        pdq_variants=tuple(variants.get(row.id, ())),
                        features=features.get(row.id),
                    )
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
            bank = session.scalar(select(Bank).where(Bank.name == name))
            created = bank is None
            if bank is None:
                bank = self._new_bank(session, name, settings)
            for batch in _batches(events, _BATCH):
                entries: list[ImportedEntry] = []
                for item in batch:
                    if isinstance(item, RejectedLine):
                        if stop_on_error:
                            where = " ".join(part for part in (file_name, item.where) if part)
                            raise UserError(f"{where}: {item.reason}")
                        report.reject(item)
                    else:
                        entries.append(item)
                _apply(session, bank.id, entries, report)
            if report.added or report.updated or report.removed:
                bank.updated_at = utc_now()
                if not created:  # a bank is born at revision 1, with its first import
                    # In SQL, so that two imports at once cannot both write the same number.
                    bank.revision = Bank.revision + 1
        return report

    def update_settings(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        allow: bool | None = None,
        pdq_threshold: int | None = None,
        description: str | None = None,
        source: str | None = None,
    ) -> BankSummary:
        """Change the settings given (None leaves one as it is; "" clears a text).

        The revision stays: it counts content, and settings do not change which codes
        an index holds.
        """
        if pdq_threshold is not None and not 0 <= pdq_threshold <= 256:
            raise UserError(f"a PDQ threshold is 0 to 256, not {pdq_threshold}")
        given: dict[str, object] = {
            "enabled": enabled,
            "allow": allow,
            "pdq_threshold": pdq_threshold,
            "description": description,
            "source": source,
        }
        with Session(self._engine) as session, session.begin():
            bank = self._bank(session, name)
            changed = False
            for key, value in given.items():
                if value is None:
                    continue
                if value == "":
                    value = None
                if getattr(bank, key) != value:
                    setattr(bank, key, value)
                    changed = True
            if changed:
                bank.updated_at = utc_now()
            session.flush()
            return self._summary(session, bank)

    def remove(self, name: str) -> int:
        """Delete bank ``name`` with its entries and signals, in one transaction.

        Deletes each table's rows itself rather than trusting ON DELETE CASCADE, which
        SQLite honours only on connections that turned foreign keys on. Returns how
        many entries went.
        """
        with Session(self._engine) as session, session.begin():
            bank = self._bank(session, name)
            entries = session.scalar(
                select(func.count()).select_from(BankEntry).where(BankEntry.bank_id == bank.id)
            )
            session.execute(delete(BankEntrySignal).where(BankEntrySignal.bank_id == bank.id))
            session.execute(delete(BankEntry).where(BankEntry.bank_id == bank.id))
            session.execute(delete(Bank).where(Bank.id == bank.id))
            return entries or 0

    def _new_bank(self, session: Session, name: str, settings: BankSettings) -> Bank:
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
            signals=_fold_variants(signal_counts),
            updated_at=bank.updated_at,
            uid=bank.uid,
            revision=bank.revision,
        )


def _fold_variants(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Signal counts by kind, the PDQ hashes of all variants counted as one kind."""
    folded: dict[str, int] = {}
    for kind, count in counts:
        key = "pdq-variants" if kind.startswith(PDQ_VARIANT_PREFIX) else kind
        folded[key] = folded.get(key, 0) + count
    return folded


def _pdq_words(values: Sequence[str]) -> npt.NDArray[np.uint64]:
    """PDQ hashes in hex as an (n, 4) array of their big-endian 64-bit words.

    The same packing as the matcher's index, written here so that banks need nothing
    from match. One ``bytes.fromhex`` for all of them: no Python work per hash.
    """
    text = "".join(values)
    if len(text) != 64 * len(values):
        raise ValueError("a PDQ hash in the bank store is not 64 hex digits")
    raw = np.frombuffer(bytes.fromhex(text), dtype=">u8")
    return raw.astype(np.uint64).reshape(len(values), _PDQ_WORDS)


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
        signals = _signal_rows(entry)
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


def _signal_rows(entry: ImportedEntry) -> set[tuple[str, str]]:
    """Every (kind, value) row an entry is stored as."""
    rows = {(kind.value, value) for kind, value in entry.signals}
    rows.update((PDQ_VARIANT_PREFIX + name, value) for name, value in entry.pdq_variants)
    if entry.features is not None:
        rows.add((FEATURES_KIND, entry.features))
    return rows


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
