"""The bank import's fast path: parsing in a process of its own, digest identities
(migration b0003), and the SQLite import's settings put back after it."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text

from clearsight.banks import parse_ahead
from clearsight.banks.entry_upsert import identity_of
from clearsight.banks.formats.reader import BankFormat, read_bank_file
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore, ImportReport
from clearsight.errors import UserError
from clearsight.store.engines import utc_now

from .bank_migrations import bank_engine, migrate


def hex_of(text: str, algorithm: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


def write_vics(path: Path, count: int, broken: bool = False) -> Path:
    """VICS 2.0 media form: Media without MediaID (known by their four hashes), one
    with a MediaID, and one Media whose MD5 is not hex (rejected)."""
    media: list[dict[str, object]] = [
        {
            "MD5": hex_of(f"m{index}", "md5").upper(),
            "SHA1": hex_of(f"s{index}", "sha1"),
            "Category": index % 3,
            "AlternativeHashes": [
                {"HashName": "PDQ", "HashValue": hex_of(f"p{index}", "sha256")},
                {"HashName": "SHA256", "HashValue": hex_of(f"h{index}", "sha256")},
            ],
        }
        for index in range(count)
    ]
    media.append({"MediaID": 77, "MD5": hex_of("with-id", "md5"), "Series": "test-series"})
    media.append({"MD5": "not-hex", "Category": 1})
    text = json.dumps({"@odata.context": "x/2.0.xml/US/$metadata#Media", "value": media})
    path.write_text(text[: len(text) // 2] if broken else text, encoding="utf-8")
    return path


def import_file(store: BankStore, path: Path, *, stop: bool = False) -> ImportReport:
    return store.import_entries(
        "list",
        read_bank_file(path, BankFormat.AUTO),
        BankSettings(),
        stop_on_error=stop,
        file_name=path.name,
    )


@pytest.fixture(params=["thread", "process"])
def parsing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Parse every file in a process of its own, or none."""
    monkeypatch.setattr(
        parse_ahead, "OWN_PROCESS_BYTES", 0 if request.param == "process" else 2**62
    )
    return str(request.param)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[BankStore]:
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    yield store
    store.close()


def test_both_ways_of_parsing_import_the_same(
    parsing: str, sqlite_store: BankStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    real_popen = subprocess.Popen  # what parse_ahead starts its parsing process with

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        started.append("process")
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)
    path = write_vics(tmp_path / "list.json", 12_000)  # more than two batches
    report = import_file(sqlite_store, path)
    assert started == (["process"] if parsing == "process" else [])
    assert (report.added, report.rejected_count) == (12_001, 1)
    assert report.rejected[0].where == "value[12001]"

    def seen(entries: Iterator[object]) -> list[tuple[object, ...]]:
        return [
            (sorted(entry.signals), entry.metadata)
            for entry in entries
            if isinstance(entry, ImportedEntry)
        ]

    assert seen(sqlite_store.iter_entries("list")) == seen(read_bank_file(path, BankFormat.AUTO))
    again = import_file(sqlite_store, path)
    assert (again.added, again.unchanged, again.updated) == (0, 12_001, 0)
    assert sqlite_store.summary("list").revision == 1


def test_a_broken_file_stops_the_import_with_the_parsers_own_line(
    parsing: str, sqlite_store: BankStore, tmp_path: Path
) -> None:
    path = write_vics(tmp_path / "broken.json", 12_000, broken=True)
    with pytest.raises(UserError) as raised:
        import_file(sqlite_store, path)
    expected = None
    try:
        for _ in read_bank_file(path, BankFormat.AUTO):
            pass
    except UserError as error:
        expected = str(error)
    assert expected is not None and str(raised.value) == expected
    assert sqlite_store.summaries() == []  # nothing half-imported, not even the bank


def test_a_rejected_line_with_stop_ends_the_parser_and_imports_nothing(
    parsing: str, sqlite_store: BankStore, tmp_path: Path
) -> None:
    path = write_vics(tmp_path / "list.json", 12_000)
    with pytest.raises(UserError, match=r"list\.json value\[12001\]"):
        import_file(sqlite_store, path, stop=True)
    assert sqlite_store.summaries() == []
    # The connection's foreign keys are back on after the import's transaction.
    with sqlite_store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_signal_identities_are_short_digests(sqlite_store: BankStore) -> None:
    entry = ImportedEntry(
        ((BankSignal.SHA1, hex_of("a", "sha1")), (BankSignal.MD5, hex_of("a", "md5")))
    )
    joined = f"md5:{hex_of('a', 'md5')}|sha1:{hex_of('a', 'sha1')}"
    expected = "sig:" + hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()
    assert identity_of(entry) == expected
    named = ImportedEntry(entry.signals, EntryMetadata(external_id="E-1"))
    assert identity_of(named) == "id:E-1"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    made = bank_engine(request.param, tmp_path, "test_bank_import_bulk")
    yield made
    made.dispose()


def test_migration_b0003_rewrites_signal_identities_and_back(engine: Engine) -> None:
    """A b0002 store's signal lists become digests, so re-importing its list changes
    nothing; downgrading gives the lists back."""
    migrate(engine, command.upgrade, "b0002")
    signals = ((BankSignal.MD5, hex_of("b", "md5")), (BankSignal.PDQ, hex_of("b", "sha256")))
    old_identity = "sig:" + "|".join(f"{kind.value}:{value}" for kind, value in signals)
    now = utc_now()
    with engine.begin() as connection:
        bank_id = connection.scalar(
            text(
                "INSERT INTO banks (name, enabled, allow, pdq_threshold, created_at, updated_at,"
                " uid, revision) VALUES ('list', true, false, 31, :now, :now, 'u1', 1)"
                " RETURNING id"
            ),
            {"now": now},
        )
        for identity, rows in ((old_identity, signals), ("id:E-9", signals[:1])):
            external = identity.removeprefix("id:") if identity.startswith("id:") else None
            entry_id = connection.scalar(
                text(
                    "INSERT INTO bank_entries (bank_id, identity, external_id)"
                    " VALUES (:bank, :identity, :external) RETURNING id"
                ),
                {"bank": bank_id, "identity": identity, "external": external},
            )
            for kind, value in rows:
                connection.execute(
                    text(
                        "INSERT INTO bank_entry_signals (entry_id, bank_id, kind, value)"
                        " VALUES (:entry, :bank, :kind, :value)"
                    ),
                    {"entry": entry_id, "bank": bank_id, "kind": kind.value, "value": value},
                )

    def identities() -> list[str]:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT identity FROM bank_entries ORDER BY id")))

    store = BankStore(engine)  # brings the store to the newest revision
    assert identities() == [identity_of(ImportedEntry(signals)), "id:E-9"]
    report = store.import_entries(
        "list",
        [ImportedEntry(signals), ImportedEntry(signals[:1], EntryMetadata(external_id="E-9"))],
        BankSettings(),
        stop_on_error=True,
        file_name="list",
    )
    assert (report.unchanged, report.added, store.summary("list").revision) == (2, 0, 1)
    migrate(engine, command.downgrade, "b0002")
    assert identities() == [old_identity, "id:E-9"]
