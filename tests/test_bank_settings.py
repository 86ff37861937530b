"""Bank uid and revision, settings changes, removal, PDQ codes as arrays, and migration."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, func, select, text

import clearsight.banks
from clearsight.banks import reader as bank_reader_module
from clearsight.banks.models import BankBase, BankEntry, BankEntrySignal
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BANKS_DATABASE, BankSettings, BankStore
from clearsight.home import clearsight_home
from clearsight.store.engines import sqlite_engine, utc_now

from .conftest import run_cli
from .private_schema import private_postgres

MIGRATIONS = Path(clearsight.banks.__file__).with_name("migrations")
# PDQ values whose words are easy to get wrong: top bits set, words that differ.
PDQ_HIGH = "f" * 64
PDQ_WORDS = "8000000000000001" + "0123456789abcdef" + "fedcba9876543210" + "00000000000000ff"
PDQ_LOW = "0" * 63 + "1"


def md5_of(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def entry(
    external_id: str, *signals: tuple[BankSignal, str], remove: bool = False
) -> ImportedEntry:
    return ImportedEntry(signals, EntryMetadata(external_id), remove=remove)


def words_of(hex_value: str) -> list[int]:
    value = int(hex_value, 16)
    return [(value >> shift) & (2**64 - 1) for shift in (192, 128, 64, 0)]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def banks_url(request: pytest.FixtureRequest) -> str | None:
    """None for the default SQLite store under CLEARSIGHT_HOME, else a PostgreSQL URL
    (a schema of these tests' own: they run many commands, long enough for other test
    files to empty the public schema meanwhile)."""
    return None if request.param == "sqlite" else private_postgres("test_bank_settings")


@pytest.fixture
def store(banks_url: str | None) -> Iterator[BankStore]:
    opened = BankStore.open(banks_url)
    yield opened
    opened.close()


def banks_args(banks_url: str | None) -> list[str]:
    return ["--banks", banks_url] if banks_url else []


def fill(store: BankStore, name: str, entries: list[ImportedEntry]) -> None:
    store.import_entries(name, entries, BankSettings(), stop_on_error=True, file_name="list")


def test_schema_from_migrations_matches_the_models(store: BankStore) -> None:
    assert schema_diff(store.engine) == []


def test_revision_counts_imports_that_change_entries(store: BankStore) -> None:
    first = [entry("E-1", (BankSignal.MD5, md5_of("a"))), entry("E-2", (BankSignal.PDQ, PDQ_LOW))]
    fill(store, "ngo-list", first)
    created = store.summary("ngo-list")
    assert created.revision == 1 and len(created.uid) == 32
    int(created.uid, 16)

    fill(store, "ngo-list", first)
    assert store.summary("ngo-list").revision == 1  # the same file again changes nothing
    fill(store, "ngo-list", [entry("E-1", (BankSignal.MD5, md5_of("b")))])
    assert store.summary("ngo-list").revision == 2
    fill(store, "ngo-list", [entry("E-2", remove=True)])
    after = store.summary("ngo-list")
    assert (after.revision, after.entries, after.uid) == (3, 1, created.uid)

    fill(store, "other", first)
    other = store.summary("other")
    assert other.revision == 1 and other.uid != created.uid
    targets = {target.name: target for target in store.match_targets()}
    assert (targets["ngo-list"].uid, targets["ngo-list"].revision) == (created.uid, 3)


def test_settings_change_without_touching_the_revision(store: BankStore) -> None:
    fill(store, "ngo-list", [entry("E-1", (BankSignal.PDQ, PDQ_LOW))])
    before = store.summary("ngo-list")
    changed = store.update_settings("ngo-list", enabled=False, pdq_threshold=12, source="ngo")
    assert (changed.enabled, changed.pdq_threshold, changed.source) == (False, 12, "ngo")
    assert (changed.revision, changed.uid) == (before.revision, before.uid)
    assert changed.updated_at > before.updated_at
    assert store.match_targets() == []
    same = store.update_settings("ngo-list", enabled=False)
    assert same.updated_at == changed.updated_at  # nothing changed, so no new time
    assert store.update_settings("ngo-list", source="").source is None


def test_cli_bank_set_changes_each_setting(banks_url: str | None, tmp_path: Path) -> None:
    source = tmp_path / "list.csv"
    source.write_text(f"md5,pdq\n{md5_of('a')},{PDQ_LOW}\n", encoding="utf-8")
    imported = run_cli("bank", "import", "ngo-list", source, *banks_args(banks_url))
    assert imported.returncode == 0, imported.stderr

    def set_(*options: str) -> dict[str, object]:
        result = run_cli("bank", "set", "ngo-list", *options, "--json", *banks_args(banks_url))
        assert result.returncode == 0, result.stderr
        values: dict[str, object] = json.loads(result.stdout)
        return values

    assert set_("--disable")["enabled"] is False
    store = BankStore.open(banks_url)
    assert store.match_targets() == []
    assert set_("--enable")["enabled"] is True
    assert [target.name for target in store.match_targets()] == ["ngo-list"]
    store.close()
    assert set_("--allow")["allow"] is True
    assert set_("--no-allow")["allow"] is False
    assert set_("--pdq-threshold", "12")["pdq_threshold"] == 12
    assert set_("--description", "benign test list")["description"] == "benign test list"
    last = set_("--source", "test-ngo")
    assert (last["source"], last["revision"], last["entries"]) == ("test-ngo", 1, 1)

    shown = run_cli("bank", "show", "ngo-list", *banks_args(banks_url))
    assert "revision: 1" in shown.stdout.splitlines()
    assert f"uid: {last['uid']}" in shown.stdout.splitlines()
    text = run_cli("bank", "set", "ngo-list", "--disable", *banks_args(banks_url))
    assert "enabled: no (left out of matching)" in text.stdout.splitlines()
    listed = json.loads(run_cli("bank", "list", "--json", *banks_args(banks_url)).stdout)
    assert [(b["uid"], b["revision"]) for b in listed] == [(last["uid"], 1)]


def test_cli_bank_set_refuses_nothing_to_change_and_unknown_banks(tmp_path: Path) -> None:
    source = tmp_path / "list.txt"
    source.write_text(md5_of("a") + "\n", encoding="utf-8")
    assert run_cli("bank", "import", "ngo-list", source).returncode == 0
    nothing = run_cli("bank", "set", "ngo-list")
    assert nothing.returncode == 2 and nothing.stdout == ""
    assert nothing.stderr.count("\n") == 1 and "nothing to change: give --enable" in nothing.stderr
    unknown = run_cli("bank", "set", "nope", "--disable")
    assert unknown.returncode == 2 and "no bank named 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    too_far = run_cli("bank", "set", "ngo-list", "--pdq-threshold", "300")
    assert too_far.returncode == 2


def test_cli_bank_remove_deletes_the_bank_and_its_entries(
    banks_url: str | None, store: BankStore
) -> None:
    fill(
        store,
        "gone",
        [entry("E-1", (BankSignal.MD5, md5_of("a")), (BankSignal.PDQ, PDQ_LOW)), entry("E-2")],
    )
    fill(store, "kept", [entry("E-1", (BankSignal.MD5, md5_of("a")))])
    gone_id = store.match_targets(["gone"])[0].id

    removed = run_cli("bank", "remove", "gone", *banks_args(banks_url))
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == "removed bank gone (2 entries)\n"
    with store.engine.connect() as connection:
        for table in (BankEntry, BankEntrySignal):
            rows = select(func.count()).select_from(table).where(table.bank_id == gone_id)
            assert connection.scalar(rows) == 0
    assert [summary.name for summary in store.summaries()] == ["kept"]
    assert store.summary("kept").signals == {"md5": 1}

    again = run_cli("bank", "remove", "gone", "--json", *banks_args(banks_url))
    assert again.returncode == 2 and "no bank named 'gone'" in again.stderr
    kept = run_cli("bank", "remove", "kept", "--json", *banks_args(banks_url))
    assert json.loads(kept.stdout) == {"removed": "kept", "entries": 1}


def test_pdq_arrays_are_the_words_of_each_code_with_its_entry(
    store: BankStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = {"E-1": PDQ_HIGH, "E-3": PDQ_WORDS, "E-4": PDQ_LOW, "E-5": PDQ_WORDS}
    fill(
        store,
        "ngo-list",
        [
            entry("E-1", (BankSignal.PDQ, PDQ_HIGH), (BankSignal.MD5, md5_of("a"))),
            entry("E-2", (BankSignal.MD5, md5_of("b"))),
            entry("E-3", (BankSignal.PDQ, PDQ_WORDS)),
            entry("E-4", (BankSignal.PDQ, PDQ_LOW)),
            entry("E-5", (BankSignal.PDQ, PDQ_WORDS)),
        ],
    )
    # An own bank's entry: its picture's hash and the hash of one of its views.
    own = replace(entry("E-6", (BankSignal.PDQ, PDQ_LOW)), pdq_variants=(("crop-0.88", PDQ_HIGH),))
    fill(store, "own", [own])
    fill(store, "other", [entry("E-9", (BankSignal.PDQ, PDQ_HIGH))])
    fill(store, "md5-only", [entry("E-1", (BankSignal.MD5, md5_of("a")))])
    targets = {target.name: target for target in store.match_targets()}
    monkeypatch.setattr(bank_reader_module, "_PDQ_PAGE", 2)  # several pages, one part full

    arrays = store.pdq_arrays(targets["ngo-list"].id)
    words, entry_ids = arrays.codes, arrays.entry_ids
    assert (words.dtype, words.shape, entry_ids.dtype) == (
        np.dtype(np.uint64),
        (4, 4),
        np.dtype(np.int64),
    )
    assert arrays.variants.tolist() == [0, 0, 0, 0] and arrays.variant_names == ("",)
    metadata = store.entry_metadata(entry_ids.tolist())
    external_ids = [metadata[entry_id].external_id for entry_id in entry_ids.tolist()]
    in_order = ["E-1", "E-3", "E-4", "E-5"]
    assert external_ids == in_order  # signal order is import order
    assert words.tolist() == [words_of(codes[external_id]) for external_id in in_order]

    empty = store.pdq_arrays(targets["md5-only"].id)
    assert (empty.codes.shape, empty.entry_ids.shape) == ((0, 4), (0,))
    assert (empty.codes.dtype, empty.entry_ids.dtype) == (np.dtype(np.uint64), np.dtype(np.int64))

    viewed = store.pdq_arrays(targets["own"].id)
    assert viewed.variant_names == ("", "crop-0.88")
    by_variant = dict(zip(viewed.variants.tolist(), viewed.codes.tolist(), strict=True))
    assert by_variant == {0: words_of(PDQ_LOW), 1: words_of(PDQ_HIGH)}
    # The view comes apart from the signals, which are all that exports write.
    (exported,) = store.iter_entries("own")
    assert exported.signals == ((BankSignal.PDQ, PDQ_LOW),)
    assert exported.pdq_variants == (("crop-0.88", PDQ_HIGH),)


def test_migrating_a_b0001_store_keeps_its_entries(banks_url: str | None) -> None:
    # The default store's engine, foreign keys on, as a user's machine has it.
    engine = create_engine(banks_url) if banks_url else sqlite_engine(bank_store_file())
    migrate(engine, command.upgrade, "b0001")
    now = utc_now()
    with engine.begin() as connection:
        for name in ("first", "second"):
            bank_id = connection.scalar(
                text(
                    "INSERT INTO banks (name, enabled, allow, pdq_threshold, created_at, "
                    "updated_at) VALUES (:name, true, false, 31, :now, :now) RETURNING id"
                ),
                {"name": name, "now": now},
            )
            entry_id = connection.scalar(
                text(
                    "INSERT INTO bank_entries (bank_id, identity) VALUES (:bank, 'x') RETURNING id"
                ),
                {"bank": bank_id},
            )
            connection.execute(
                text(
                    "INSERT INTO bank_entry_signals (entry_id, bank_id, kind, value) "
                    "VALUES (:entry, :bank, 'pdq', :value)"
                ),
                {"entry": entry_id, "bank": bank_id, "value": PDQ_LOW},
            )

    store = BankStore(engine)  # opening the store brings it to the newest revision
    first, second = store.summary("first"), store.summary("second")
    # On SQLite, rebuilding the banks table with foreign keys on would cascade here.
    assert (first.entries, first.signals, first.revision) == (1, {"pdq": 1}, 1)
    assert len(first.uid) == 32 and first.uid != second.uid
    assert schema_diff(engine) == []
    fill(store, "first", [entry("E-1", (BankSignal.PDQ, PDQ_HIGH))])
    assert store.summary("first").revision == 2

    migrate(engine, command.downgrade, "b0001")
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM bank_entries")) == 3
    store.close()


def bank_store_file() -> Path:
    home = clearsight_home()
    home.mkdir(parents=True, exist_ok=True)
    return home / BANKS_DATABASE


def migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        step(config, revision)


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": "clearsight_banks_version"}
        )
        return list(compare_metadata(context, BankBase.metadata))
