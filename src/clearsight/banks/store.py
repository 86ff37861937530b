"""The bank store: every bank on the machine, one SQL database behind a narrow API.

By default it is ``banks.sqlite`` under ``CLEARSIGHT_HOME`` (the platform's user data
folder when unset); any SQLAlchemy URL, PostgreSQL included, can serve instead. An
import is one transaction, so a bank is never left half-imported, and it is an upsert
keyed by each entry's identity, so importing the same file twice changes nothing.
An import that changes entries bumps the bank's revision; settings changes do not, so
an index built from a bank's PDQ codes is keyed by its uid and revision.

This module is the administration: opening (and migrating), importing, settings and
removal. What is read (summaries, match targets, hits, codes) is the
:class:`~clearsight.banks.reader.BankReader` the store is; the plain types are in
:mod:`clearsight.banks.lookup`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from clearsight.banks.entry_upsert import FEATURES_KIND as FEATURES_KIND
from clearsight.banks.entry_upsert import PDQ_VARIANT_PREFIX as PDQ_VARIANT_PREFIX
from clearsight.banks.entry_upsert import EntryUpsert
from clearsight.banks.entry_upsert import ImportReport as ImportReport
from clearsight.banks.entry_upsert import identity_of as identity_of
from clearsight.banks.lookup import BankSummary
from clearsight.banks.models import (
    BANKS,
    DEFAULT_PDQ_THRESHOLD,
    Bank,
    BankEntry,
    BankEntrySignal,
)
from clearsight.banks.parse_ahead import prepared_batches
from clearsight.banks.prepared import PreparedBatch
from clearsight.banks.reader import BankReader
from clearsight.banks.records import (
    ImportEvent,
    NextPage,
    NotImportable,
)
from clearsight.banks.service_edits import log_feed_changes
from clearsight.banks.write_lock import import_transaction
from clearsight.errors import DependencyError, UserError
from clearsight.home import clearsight_home
from clearsight.store.engines import sqlite_engine, upgrade_to_head, url_engine, utc_now

BANKS_DATABASE = "banks.sqlite"
_MIGRATIONS = Path(__file__).with_name("migrations")
# Entries per batch of an import: big enough that each statement's fixed cost vanishes,
# small enough that a batch's rows and its IN lists stay a few megabytes.
_IMPORT_BATCH = 5000
_VERSION_TABLE = "clearsight_banks_version"  # as migrations/env.py names it


@dataclass(frozen=True)
class BankSettings:
    source: str | None = None
    description: str | None = None
    allow: bool = False
    pdq_threshold: int = DEFAULT_PDQ_THRESHOLD


class BankStore(BankReader):
    """Every bank on the machine: the reads of :class:`BankReader`, and administration."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
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
        write lock from its start (see :mod:`clearsight.banks.write_lock`). An import
        that keeps no entry is refused (UserError, rolled back) where it skipped lines
        or would leave a new bank empty.
        """
        report = ImportReport()
        with self._engine.connect() as connection, import_transaction(connection, name):
            bank_id, created = _bank_for_import(connection, name, settings)
            upsert = EntryUpsert(connection, bank_id, report)
            with prepared_batches(events, _IMPORT_BATCH) as batches:
                for batch in batches:
                    _check_others(batch, report, stop_on_error, file_name)
                    upsert.apply_batch(batch)
            upsert.finish()
            _refuse_empty_result(name, report, created=created, file_name=file_name)
            if report.changed:
                _mark_changed(connection, bank_id, bump_revision=not created)
        return report

    def apply_batch(
        self,
        name: str,
        batch: PreparedBatch,
        settings: BankSettings,
        *,
        then: Callable[[Connection, int], int] | None = None,
    ) -> ImportReport:
        """Apply one prepared batch to bank ``name`` (created if new) in one transaction,
        then call ``then(connection, bank_id)`` inside it before the commit.

        For a feed (:mod:`clearsight.exchanges.fetch`): its checkpoint is written by
        ``then``, so entries and checkpoint commit together or not at all; ``then``
        returns how many more entries it removed. Unlike :meth:`import_entries`, a batch
        that keeps nothing is not refused (a page of withdrawals is one). A batch of a
        few additions and withdrawals (a feed's steady state) goes into the change log
        a revision an entry, so a matching service's index catches up through its delta
        (:func:`~clearsight.banks.service_edits.log_feed_changes`); a larger one bumps
        the revision once, as an import does.
        """
        report = ImportReport()
        with self._engine.connect() as connection, import_transaction(connection, name):
            bank_id, created = _bank_for_import(connection, name, settings)
            upsert = EntryUpsert(connection, bank_id, report)
            _check_others(batch, report, False, "")
            upsert.apply_batch(batch)
            upsert.finish()
            withdrawn = then(connection, bank_id) if then is not None else 0
            report.removed += withdrawn
            if report.changed:
                changes = upsert.changes
                logged = (
                    not created
                    and not withdrawn  # a snapshot's withdrawals are not listed one by one
                    and not changes.rewritten
                    and log_feed_changes(
                        connection, bank_id, chain.from_iterable(changes.added), changes.removed
                    )
                )
                if not logged:
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


class NothingImported(UserError):
    """An import kept no entry: every line was skipped, or a new bank would be empty."""


def _refuse_empty_result(name: str, report: ImportReport, *, created: bool, file_name: str) -> None:
    """Raise NothingImported where an import kept nothing and skipped something, or
    kept nothing for a new bank. A file whose every line was refused was almost always
    read in the wrong format (a header not understood), and an empty bank made from it
    would only hide that; raising rolls the transaction back, so no bank is left behind.
    Re-importing an existing bank's file (unchanged entries) keeps entries, so it passes."""
    kept = report.added + report.updated + report.unchanged + report.removed
    if kept or not (created or report.rejected_count):
        return
    source = f"{file_name}: " if file_name else ""
    if report.rejected_count:
        first = report.rejected[0]
        count = report.rejected_count
        skipped = "its one entry was skipped" if count == 1 else f"all {count} were skipped"
        first_at = "at" if count == 1 else "the first at"
        why = f"{skipped}, {first_at} {first.where}: {first.reason}"
    elif report.not_importable:
        why = "only records of kinds clearsight does not keep"
    else:
        why = "no entries in it"
    unmade = f"; bank {name!r} was not created" if created else f"; bank {name!r} is unchanged"
    raise NothingImported(f"{source}nothing imported: {why}{unmade}")


def _mark_changed(connection: Connection, bank_id: int, *, bump_revision: bool) -> None:
    """Stamp a bank whose entries changed; bump its revision unless it was just born
    (at revision 1, with its first import). In SQL, so no two imports write one number."""
    values: dict[str, Any] = {"updated_at": utc_now()}
    if bump_revision:
        values["revision"] = BANKS.c.revision + 1
    connection.execute(update(BANKS).where(BANKS.c.id == bank_id).values(values))


def _check_others(
    batch: PreparedBatch, report: ImportReport, stop_on_error: bool, file_name: str
) -> None:
    """A batch's rejected lines are reported, or stop the import; its counts of kinds
    not kept and its next-page address go into the report."""
    for item in batch.others:
        if isinstance(item, NotImportable):  # a kind not kept, counted: never an error
            report.not_importable[item.kind] = report.not_importable.get(item.kind, 0) + item.count
        elif isinstance(item, NextPage):  # the list goes on: said, never an error
            report.next_page = report.next_page or item.address
        else:
            if stop_on_error:
                where = " ".join(part for part in (file_name, item.where) if part)
                raise UserError(f"{where}: {item.reason}")
            report.reject(item)
