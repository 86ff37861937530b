"""The bank store's uniqueness as named unique indexes (migration b0004), and a large
SQLite import into an empty bank that sets the identity index aside and finds its own
identities in memory meanwhile."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from clearsight.banks import store as store_module
from clearsight.banks import value_index, written_identities
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore, ImportReport
from clearsight.banks.write_lock import import_transaction
from clearsight.errors import UserError
from clearsight.store.engines import utc_now

from .bank_migrations import bank_engine, migrate

IDENTITY = "uq_bank_entries_identity"
ENTRY_KIND = "uq_bank_entry_signals_entry_kind"
COPY_AN_IDENTITY = (
    "INSERT INTO bank_entries (bank_id, identity) SELECT bank_id, identity FROM bank_entries"
)


def md5(text_: str) -> str:
    return hashlib.md5(text_.encode()).hexdigest()


def entry(index: int, category: str = "1", *, named: bool = False) -> ImportedEntry:
    signals = (
        (BankSignal.MD5, md5(f"m{index}")),
        (BankSignal.SHA1, hashlib.sha1(b"%d" % index).hexdigest()),
    )
    return ImportedEntry(
        signals, EntryMetadata(external_id=f"E{index}" if named else None, category=category)
    )


def a_list_with_repeats() -> list[ImportedEntry]:
    """3,000 entries, then, in later batches, 100 of them again changed, 100 again
    unchanged, 100 withdrawn, and a named entry given twice."""
    first = [entry(i) for i in range(3000)]
    later = (
        [entry(i, "2") for i in range(100)]
        + [entry(i) for i in range(100, 200)]
        + [ImportedEntry(entry(i).signals, remove=True) for i in range(200, 300)]
        + [entry(5000, named=True), entry(5001), entry(5000, "3", named=True)]
    )
    return first + later


def load(store: BankStore, name: str, entries: list[ImportedEntry]) -> ImportReport:
    return store.import_entries(name, entries, BankSettings(), stop_on_error=True, file_name=name)


def indexes(engine: Engine, table: str) -> dict[str, bool]:
    with engine.connect() as connection:
        return {
            str(found["name"]): bool(found["unique"])
            for found in inspect(connection).get_indexes(table)
        }


def contents(store: BankStore, name: str) -> list[tuple[object, ...]]:
    return sorted(
        (e.metadata.external_id or "", e.metadata.category or "", e.signals)
        for e in store.iter_entries(name)
    )


def test_an_import_into_an_empty_bank_with_the_identity_index_aside_equals_one_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_IMPORT_BATCH", 500)  # repeats fall in later batches
    wanted = a_list_with_repeats()
    plain = BankStore.open(f"sqlite:///{tmp_path / 'plain.sqlite'}")
    plain_report = load(plain, "list", wanted)

    monkeypatch.setattr(value_index, "_WORTH_DEFERRING", 1000)
    dropped: list[bool] = []
    original_wrote = value_index.DeferredValueIndex.wrote

    def noting(self: value_index.DeferredValueIndex, rows: int) -> None:
        original_wrote(self, rows)
        dropped.append(self.dropped and IDENTITY in [i.name for i in self._indexes()])

    monkeypatch.setattr(value_index.DeferredValueIndex, "wrote", noting)
    deferred = BankStore.open(f"sqlite:///{tmp_path / 'deferred.sqlite'}")
    report = load(deferred, "list", wanted)
    assert any(dropped), "the identity index was never set aside"
    assert (report.added, report.updated, report.unchanged, report.removed) == (
        plain_report.added,
        plain_report.updated,
        plain_report.unchanged,
        plain_report.removed,
    )
    assert (report.updated, report.unchanged, report.removed) == (100, 100, 100)
    assert contents(deferred, "list") == contents(plain, "list")
    assert indexes(deferred.engine, "bank_entries")[IDENTITY] is True
    assert indexes(deferred.engine, "bank_entry_signals")[ENTRY_KIND] is True
    # The list changes entries within itself, so a second pass changes them back and
    # forth: the same in both stores. A list without such repeats changes nothing.
    again, plain_again = load(deferred, "list", wanted), load(plain, "list", wanted)
    assert (again.updated, again.added) == (plain_again.updated, plain_again.added)
    assert contents(deferred, "list") == contents(plain, "list")
    load(deferred, "plain list", [entry(i) for i in range(3000)])
    assert load(deferred, "plain list", [entry(i) for i in range(3000)]).changed is False
    assert deferred.summary("plain list").revision == 1
    with deferred.engine.begin() as connection, pytest.raises(IntegrityError):
        connection.exec_driver_sql(COPY_AN_IDENTITY + " LIMIT 1")
    plain.close()
    deferred.close()


@pytest.mark.parametrize("keys", [1, 7])
def test_identities_that_share_a_hash_import_as_if_none_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: int
) -> None:
    """The import into an empty bank keeps its identities by 64-bit hash; a hash shared
    by two identities (all of them here, or seven ways) must change nothing."""
    monkeypatch.setattr(store_module, "_IMPORT_BATCH", 500)  # repeats fall in later batches
    wanted = a_list_with_repeats()
    plain = BankStore.open(f"sqlite:///{tmp_path / 'plain.sqlite'}")
    plain_report = load(plain, "list", wanted)
    monkeypatch.setattr(
        written_identities, "hash", lambda text: sum(map(ord, text)) % keys, raising=False
    )
    shared = BankStore.open(f"sqlite:///{tmp_path / 'shared.sqlite'}")
    report = load(shared, "list", wanted)
    assert (report.added, report.updated, report.unchanged, report.removed) == (
        plain_report.added,
        plain_report.updated,
        plain_report.unchanged,
        plain_report.removed,
    )
    assert (report.updated, report.unchanged, report.removed) == (100, 100, 100)
    assert contents(shared, "list") == contents(plain, "list")
    plain.close()
    shared.close()


def test_a_rebuild_that_finds_duplicates_stops_the_import_and_keeps_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebuild is the check: duplicates written while the index was aside (here by
    hand) end the import with one line, and the rollback brings the index back."""
    monkeypatch.setattr(value_index, "_WORTH_DEFERRING", 10)
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    load(store, "list", [entry(1)])
    with store.engine.connect() as connection:
        with pytest.raises(
            UserError, match=f"nothing imported: rebuilding {IDENTITY} found duplicate"
        ):
            with import_transaction(connection, "list"):  # as an import holds it
                aside = value_index.DeferredValueIndex(connection, with_identity=True)
                aside.wrote(1000)
                assert IDENTITY not in indexes_on(connection, "bank_entries")
                connection.exec_driver_sql(COPY_AN_IDENTITY)
                aside.restore()
    assert indexes(store.engine, "bank_entries")[IDENTITY] is True
    assert len(list(store.iter_entries("list"))) == 1
    store.close()


def indexes_on(connection: object, table: str) -> set[str]:
    return {str(found["name"]) for found in inspect(connection).get_indexes(table)}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    made = bank_engine(request.param, tmp_path, "test_bank_unique_indexes")
    yield made
    made.dispose()


def test_migration_b0004_keeps_every_row_and_the_uniqueness_both_ways(engine: Engine) -> None:
    """With foreign keys on (every clearsight SQLite connection), rebuilding the entries
    table must not cascade to the signals; uniqueness holds as an index, then again as a
    constraint after downgrading."""
    migrate(engine, command.upgrade, "b0003")
    with engine.begin() as connection:
        bank_id = connection.scalar(
            text(
                "INSERT INTO banks (name, enabled, allow, pdq_threshold, created_at, updated_at,"
                " uid, revision) VALUES ('list', true, false, 31, :now, :now, 'u1', 1) RETURNING id"
            ),
            {"now": utc_now()},
        )
        for number in range(3):
            entry_id = connection.scalar(
                text(
                    "INSERT INTO bank_entries (bank_id, identity, category)"
                    " VALUES (:bank, :identity, '1') RETURNING id"
                ),
                {"bank": bank_id, "identity": f"id:E{number}"},
            )
            for kind in ("md5", "sha1"):
                connection.execute(
                    text(
                        "INSERT INTO bank_entry_signals (entry_id, bank_id, kind, value)"
                        " VALUES (:entry, :bank, :kind, :value)"
                    ),
                    {
                        "entry": entry_id,
                        "bank": bank_id,
                        "kind": kind,
                        "value": md5(f"{kind}{number}"),
                    },
                )

    def rows() -> tuple[list[object], list[object]]:
        with engine.connect() as connection:
            return (
                list(
                    connection.execute(
                        text("SELECT id, bank_id, identity, category FROM bank_entries ORDER BY id")
                    )
                ),
                list(
                    connection.execute(
                        text("SELECT id, entry_id, kind, value FROM bank_entry_signals ORDER BY id")
                    )
                ),
            )

    def duplicates_refused() -> None:
        for statement in (
            COPY_AN_IDENTITY + " LIMIT 1",
            "INSERT INTO bank_entry_signals (entry_id, bank_id, kind, value)"
            " SELECT entry_id, bank_id, kind, 'x' FROM bank_entry_signals LIMIT 1",
        ):
            with engine.begin() as connection, pytest.raises(IntegrityError):
                connection.execute(text(statement))

    before = rows()
    assert len(before[1]) == 6
    migrate(engine, command.upgrade, "b0004")
    assert rows() == before
    assert indexes(engine, "bank_entries").get(IDENTITY) is True
    assert indexes(engine, "bank_entry_signals").get(ENTRY_KIND) is True
    assert {"ix_bank_entry_signals_kind_value", "ix_bank_entry_signals_bank_id"} <= set(
        indexes(engine, "bank_entry_signals")
    )
    duplicates_refused()
    with engine.connect() as connection:
        fks = inspect(connection).get_foreign_keys("bank_entry_signals")
    assert {fk["referred_table"] for fk in fks} == {"banks", "bank_entries"}
    migrate(engine, command.downgrade, "b0003")
    assert rows() == before
    with engine.connect() as connection:
        constraints = {
            str(found["name"])
            for table in ("bank_entries", "bank_entry_signals")
            for found in inspect(connection).get_unique_constraints(table)
        }
    assert {IDENTITY, ENTRY_KIND} <= constraints
    duplicates_refused()
    migrate(engine, command.upgrade, "b0004")
    assert rows() == before
