"""Digests found by an integer key of their value (migration b0009): exact lookups
compare kind and whole value behind the key, every write path fills the key, and a
store made before the key gets it for the rows it holds, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, event, inspect, text

from clearsight.banks import value_index
from clearsight.banks.prepared import BatchBuilder, prepare
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore, ImportReport
from clearsight.store.engines import utc_now

from .bank_migrations import bank_engine, migrate
from .private_schema import private_postgres

OLD_VALUE_INDEX = "ix_bank_entry_signals_kind_value"


def digest(text_: str, algorithm: str) -> str:
    return hashlib.new(algorithm, text_.encode()).hexdigest()


def sharing_a_key(first: str, algorithm: str, salt: str = "other") -> str:
    """A hex value of ``algorithm``'s length whose first 15 digits are ``first``'s and
    the rest differ: the same key, another value."""
    rest = digest(salt + first, algorithm)[15:]
    assert rest != first[15:]
    return first[:15] + rest


def named(external_id: str, *signals: tuple[BankSignal, str]) -> ImportedEntry:
    return ImportedEntry(signals, EntryMetadata(external_id=external_id, category="1"))


def load(store: BankStore, name: str, entries: list[ImportedEntry]) -> ImportReport:
    return store.import_entries(name, entries, BankSettings(), stop_on_error=True, file_name=name)


def hits(store: BankStore, kind: str, values: list[str], banks: list[str]) -> dict[str, set[str]]:
    """value -> the external ids of the entries holding it, in ``banks``."""
    targets = store.match_targets(banks)
    return {
        value: {hit.metadata.external_id or "" for hit in found}
        for value, found in store.exact_hits(kind, values, targets).items()
    }


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bank_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BankStore]:
    if request.param == "sqlite":
        store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    else:
        store = BankStore.open(private_postgres("test_bank_value_key"))
    yield store
    store.close()


MD5 = digest("street-scene", "md5")
SHA1 = digest("street-scene", "sha1")
SHA256 = digest("street-scene", "sha256")
PDQ = digest("street-scene-pdq", "sha256")


def test_a_key_shared_by_other_values_and_kinds_finds_only_the_value_asked(
    bank_store: BankStore,
) -> None:
    """Values with the same key (the same first 15 digits), the same digits under another
    kind, and the same value in another bank: each lookup finds exactly its own."""
    twin_md5 = sharing_a_key(MD5, "md5")
    md5_as_sha256 = MD5 + digest("pad", "md5")  # 64 digits that begin as MD5 does
    load(
        bank_store,
        "landscapes",
        [
            named("A", (BankSignal.MD5, MD5), (BankSignal.SHA1, SHA1), (BankSignal.PDQ, PDQ)),
            named("B", (BankSignal.MD5, twin_md5)),
            named("C", (BankSignal.SHA256, md5_as_sha256)),
            named("D", (BankSignal.SHA256, SHA256), (BankSignal.PHOTODNA, "A" * 192)),
        ],
    )
    load(bank_store, "objects", [named("X", (BankSignal.MD5, MD5))])
    both = ["landscapes", "objects"]

    assert hits(bank_store, "md5", [MD5], both) == {MD5: {"A", "X"}}
    assert hits(bank_store, "md5", [MD5], ["landscapes"]) == {MD5: {"A"}}
    assert hits(bank_store, "md5", [twin_md5, MD5], ["objects"]) == {MD5: {"X"}}
    assert hits(bank_store, "md5", [twin_md5], both) == {twin_md5: {"B"}}
    assert hits(bank_store, "sha256", [md5_as_sha256, MD5], both) == {md5_as_sha256: {"C"}}
    assert hits(bank_store, "sha1", [SHA1, sharing_a_key(SHA1, "sha1")], both) == {SHA1: {"A"}}
    assert hits(bank_store, "sha256", [SHA256], both) == {SHA256: {"D"}}
    third = sharing_a_key(MD5, "md5", "third")
    assert hits(bank_store, "md5", ["not hex at all", third], both) == {}
    # Kinds without a key are read by bank, and found all the same.
    assert hits(bank_store, "pdq", [PDQ], both) == {PDQ: {"A"}}
    assert hits(bank_store, "photodna", ["A" * 192], both) == {"A" * 192: {"D"}}


def test_changed_and_fetched_entries_are_found_by_their_new_values(bank_store: BankStore) -> None:
    """The general write path (an entry rewritten on re-import) and a feed's batches
    (``apply_batch``) fill the key as a first import does."""
    old, new = digest("old", "md5"), digest("new", "md5")
    load(bank_store, "list", [named("E1", (BankSignal.MD5, old))])
    report = load(bank_store, "list", [named("E1", (BankSignal.MD5, new), (BankSignal.SHA1, SHA1))])
    assert report.updated == 1
    assert hits(bank_store, "md5", [old, new], ["list"]) == {new: {"E1"}}
    assert hits(bank_store, "sha1", [SHA1], ["list"]) == {SHA1: {"E1"}}

    builder = BatchBuilder()
    builder.add(prepare(named("F1", (BankSignal.SHA256, SHA256))))
    bank_store.apply_batch("feed", builder.take(), BankSettings())
    assert hits(bank_store, "sha256", [SHA256], ["feed"]) == {SHA256: {"F1"}}
    builder.add(prepare(ImportedEntry((), EntryMetadata(external_id="F1"), remove=True)))
    bank_store.apply_batch("feed", builder.take(), BankSettings())
    assert hits(bank_store, "sha256", [SHA256], ["feed"]) == {}


def test_a_large_import_builds_the_key_index_and_lookups_use_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the threshold the key index is set aside and built again before the commit;
    the query the matcher runs is answered from it (SQLite's plan says so)."""
    monkeypatch.setattr(value_index, "_WORTH_DEFERRING", 1000)
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    entries = [
        named(f"E{n}", (BankSignal.MD5, digest(f"e{n}", "md5")), (BankSignal.PDQ, PDQ))
        for n in range(3000)
    ]
    load(store, "big", entries)
    with store.engine.connect() as connection:
        found = {i["name"]: i for i in inspect(connection).get_indexes("bank_entry_signals")}
    assert value_index.VALUE_INDEX in found and OLD_VALUE_INDEX not in found
    with store.engine.connect() as connection:
        keyed = connection.scalar(
            text("SELECT count(*) FROM bank_entry_signals WHERE value_key IS NOT NULL")
        )
    assert keyed == 3000  # the MD5s; the PDQ rows have no key

    statements: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "value_key IN" in statement:
            statements.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", note)
    wanted = digest("e2999", "md5")
    assert hits(store, "md5", [wanted], ["big"]) == {wanted: {"E2999"}}
    event.remove(store.engine, "before_cursor_execute", note)
    ((statement, params),) = statements
    with store.engine.connect() as connection:
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
    assert value_index.VALUE_INDEX in str(plan), plan
    store.close()


@pytest.mark.parametrize(
    ("held", "first_batch", "dropped_before_first"),
    [(0, 5000, True), (0, 4999, False), (10_000, 5000, False)],
)
def test_a_list_into_a_small_table_sets_the_indexes_aside_before_its_first_batch(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held: int,
    first_batch: int,
    dropped_before_first: bool,
) -> None:
    """A first batch of a list's size into a table of few rows drops the indexes before
    its rows are written (dropped later, they leave free pages the inserts then reuse,
    more slowly); a smaller first batch, or a table that held more, waits for the
    threshold. Either way the import ends with the indexes whole."""
    monkeypatch.setattr(value_index, "_WORTH_DEFERRING", 10_000)  # over a first batch
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    if held:
        load(
            store,
            "held",
            [named(f"H{n}", (BankSignal.MD5, digest(f"h{n}", "md5"))) for n in range(held)],
        )
    seen: list[tuple[int, bool]] = []
    original_wrote = value_index.DeferredValueIndex.wrote

    def noting(self: value_index.DeferredValueIndex, rows: int) -> None:
        original_wrote(self, rows)
        seen.append((rows, self.dropped))

    monkeypatch.setattr(value_index.DeferredValueIndex, "wrote", noting)
    entries = [named(f"E{n}", (BankSignal.MD5, digest(f"e{n}", "md5"))) for n in range(first_batch)]
    load(store, "list", entries)
    assert seen[0] == (first_batch, dropped_before_first)
    with store.engine.connect() as connection:
        found = {i["name"] for i in inspect(connection).get_indexes("bank_entry_signals")}
    assert {value_index.VALUE_INDEX, value_index.BANK_INDEX} <= found
    wanted = digest(f"e{first_batch - 1}", "md5")
    assert hits(store, "md5", [wanted], ["list"]) == {wanted: {f"E{first_batch - 1}"}}
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    made = bank_engine(request.param, tmp_path, "test_bank_value_key_migration")
    yield made
    made.dispose()


def test_migration_b0009_keys_the_rows_a_store_holds_and_goes_back(engine: Engine) -> None:
    rows = [
        ("md5", MD5),
        ("sha1", SHA1),
        ("sha256", SHA256),
        ("pdq", PDQ),
        ("photodna", "A" * 192),
    ]
    migrate(engine, command.upgrade, "b0007")
    with engine.begin() as connection:
        bank_id = connection.scalar(
            text(
                "INSERT INTO banks (name, enabled, allow, pdq_threshold, created_at, updated_at,"
                " uid, revision) VALUES ('list', true, false, 31, :now, :now, 'u1', 1) RETURNING id"
            ),
            {"now": utc_now()},
        )
        entry_id = connection.scalar(
            text(
                "INSERT INTO bank_entries (bank_id, identity, external_id)"
                " VALUES (:bank, 'id:E1', 'E1') RETURNING id"
            ),
            {"bank": bank_id},
        )
        for kind, value in rows:
            connection.execute(
                text(
                    "INSERT INTO bank_entry_signals (entry_id, bank_id, kind, value)"
                    " VALUES (:entry, :bank, :kind, :value)"
                ),
                {"entry": entry_id, "bank": bank_id, "kind": kind, "value": value},
            )

    store = BankStore(engine)  # opening migrates to the head
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT kind, value_key FROM bank_entry_signals"))
        keys = {kind: key for kind, key in stored}
    # The keys the import writes, computed here in another way than either side does.
    assert keys == {
        "md5": int.from_bytes(bytes.fromhex(MD5[:16])) >> 4,
        "sha1": int.from_bytes(bytes.fromhex(SHA1[:16])) >> 4,
        "sha256": int.from_bytes(bytes.fromhex(SHA256[:16])) >> 4,
        "pdq": None,
        "photodna": None,
    }
    for kind, value in rows[:3]:
        assert hits(store, kind, [value], ["list"]) == {value: {"E1"}}
    names = {i["name"] for i in inspect(engine).get_indexes("bank_entry_signals")}
    assert value_index.VALUE_INDEX in names and OLD_VALUE_INDEX not in names

    migrate(engine, command.downgrade, "b0007")
    inspector = inspect(engine)
    assert "value_key" not in {c["name"] for c in inspector.get_columns("bank_entry_signals")}
    names = {i["name"] for i in inspector.get_indexes("bank_entry_signals")}
    assert OLD_VALUE_INDEX in names and value_index.VALUE_INDEX not in names
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM bank_entry_signals")) == len(rows)
    store.close()
