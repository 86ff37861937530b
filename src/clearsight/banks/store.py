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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import platformdirs
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from clearsight.banks.entry_upsert import FEATURES_KIND as FEATURES_KIND
from clearsight.banks.entry_upsert import PDQ_VARIANT_PREFIX as PDQ_VARIANT_PREFIX
from clearsight.banks.entry_upsert import EntryUpsert, PreparedEntry
from clearsight.banks.entry_upsert import ImportReport as ImportReport
from clearsight.banks.entry_upsert import identity_of as identity_of
from clearsight.banks.models import (
    BANKS,
    DEFAULT_PDQ_THRESHOLD,
    Bank,
    BankEntry,
    BankEntrySignal,
)
from clearsight.banks.parse_ahead import PreparedEvent, prepared_batches
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    NotImportable,
)
from clearsight.banks.write_lock import import_transaction
from clearsight.errors import DependencyError, UserError
from clearsight.store.engines import sqlite_engine, upgrade_to_head, url_engine, utc_now

BANKS_DATABASE = "banks.sqlite"
_MIGRATIONS = Path(__file__).with_name("migrations")
_BATCH = 1000
# Entries per batch of an import: big enough that each statement's fixed cost vanishes,
# small enough that a batch's rows and its IN lists stay a few megabytes.
_IMPORT_BATCH = 5000
_VERSION_TABLE = "clearsight_banks_version"  # as migrations/env.py names it
_PDQ_PAGE = 50_000  # rows per query when reading PDQ codes: about 6 MB of strings
_PDQ_WORDS = 4  # a 256-bit PDQ hash as big-endian 64-bit words


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


class BankStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        try:
            upgrade_to_head(engine, _MIGRATIONS, version_table=_VERSION_TABLE)
        except SQLAlchemyError as exc:
            name = engine.url.render_as_string(hide_password=True)
            raise DependencyError(f"cannot open the bank store {name}: {exc}") from exc

    @classmethod
    def open(cls, url: str | None = None) -> BankStore:
        """Open the store at ``url``, or the default SQLite file under CLEARSIGHT_HOME."""
        if url:
            return cls(url_engine(url))
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
        """Upsert ``events`` into bank ``name`` (created if new), in one transaction.

        The events are read in batches of ``_IMPORT_BATCH``, parsed ahead of the writing
        (see :mod:`clearsight.banks.parse_ahead`), so memory stays bounded however long
        the file; a rejected line with ``stop_on_error``, a broken file or a
        failing database rolls the whole import back. The transaction holds the bank's
        write lock from its start (see :mod:`clearsight.banks.write_lock`).
        """
        report = ImportReport()
        with self._engine.connect() as connection, import_transaction(connection, name):
            bank_id, created = _bank_for_import(connection, name, settings)
            upsert = EntryUpsert(connection, bank_id, report)
            with prepared_batches(events, _IMPORT_BATCH) as batches:
                for batch in batches:
                    upsert.apply(_accepted(batch, report, stop_on_error, file_name))
            upsert.finish()
            if report.changed:
                _mark_changed(connection, bank_id, bump_revision=not created)
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


def _bank_for_import(connection: Connection, name: str, settings: BankSettings) -> tuple[int, bool]:
    """The id of bank ``name``, made with ``settings`` if new, and whether it is new."""
    bank_id = connection.scalar(select(BANKS.c.id).where(BANKS.c.name == name))
    if bank_id is not None:
        return bank_id, False
    now = utc_now()
    made = connection.scalar(
        insert(BANKS)
        .values(
            name=name,
            source=settings.source,
            description=settings.description,
            enabled=True,
            allow=settings.allow,
            pdq_threshold=settings.pdq_threshold,
            created_at=now,
            updated_at=now,
        )
        .returning(BANKS.c.id)
    )
    assert made is not None
    return made, True


def _mark_changed(connection: Connection, bank_id: int, *, bump_revision: bool) -> None:
    """Stamp a bank whose entries changed; bump its revision unless it was just born
    (at revision 1, with its first import). In SQL, so no two imports write one number."""
    values: dict[str, Any] = {"updated_at": utc_now()}
    if bump_revision:
        values["revision"] = BANKS.c.revision + 1
    connection.execute(update(BANKS).where(BANKS.c.id == bank_id).values(values))


def _accepted(
    batch: list[PreparedEvent], report: ImportReport, stop_on_error: bool, file_name: str
) -> list[PreparedEntry]:
    """The entries of a batch; rejected lines are reported, or stop the import."""
    entries: list[PreparedEntry] = []
    for item in batch:
        if isinstance(item, tuple):
            entries.append(item)
        elif isinstance(item, NotImportable):  # a kind not kept, counted: never an error
            report.not_importable[item.kind] = report.not_importable.get(item.kind, 0) + item.count
        else:
            if stop_on_error:
                where = " ".join(part for part in (file_name, item.where) if part)
                raise UserError(f"{where}: {item.reason}")
            report.reject(item)
    return entries
