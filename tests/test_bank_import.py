"""Bank import from CSV/TSV and plain text, and the bank store's upsert semantics."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from clearsight.banks import value_index
from clearsight.banks.formats.delimited import parse_delimited
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.plain_text import parse_plain_text
from clearsight.banks.formats.reader import BankFormat, detect_format
from clearsight.banks.prepared import value_key
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
)
from clearsight.banks.store import BankSettings, BankStore, ImportReport
from clearsight.errors import UserError

from .conftest import empty_postgres, run_cli
from .private_schema import private_postgres


def hex_of(text: str, algorithm: str = "md5") -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


MD5_A, MD5_B = hex_of("benign-a"), hex_of("benign-b")
PDQ_A = hex_of("benign-pdq-a", "sha256")


def write_csv(
    path: Path,
    rows: list[str],
    header: str = "md5,pdq,external_id,category,series,victim_identified,tags",
) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_csv_rows_become_entries_and_bad_rows_are_named(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [
            f"{MD5_A},{PDQ_A},E-1,test-category-1,test-series-a,yes,a;b",
            f"{MD5_B},,E-2,test-category-2,,no,",
            "nothex,,E-3,,,,",
            f"{MD5_B},,E-4,,,maybe,",
            ",,E-5,,,,",
        ],
    )
    events = list(parse_delimited(path))
    assert events[0] == ImportedEntry(
        ((BankSignal.MD5, MD5_A), (BankSignal.PDQ, PDQ_A)),
        EntryMetadata("E-1", "test-category-1", "test-series-a", True, None, ("a", "b")),
        where="line 2",
    )
    assert events[1] == ImportedEntry(
        ((BankSignal.MD5, MD5_B),),
        EntryMetadata("E-2", "test-category-2", None, False),
        where="line 3",
    )
    rejected = [e for e in events if isinstance(e, RejectedLine)]
    assert [r.where for r in rejected] == ["line 4", "line 5", "line 6"]
    assert "md5" in rejected[0].reason and "yes/no" in rejected[1].reason


def test_tsv_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "list.tsv"
    path.write_text(f"pdq\tcategory\n{PDQ_A.upper()}\ttest-category-1\n", encoding="utf-8")
    (entry,) = parse_delimited(path)
    assert isinstance(entry, ImportedEntry)
    assert entry.signals == ((BankSignal.PDQ, PDQ_A),)


def test_csv_without_signal_columns_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", ["x,y"], header="name,category")
    with pytest.raises(BankFormatError, match="list.csv line 1"):
        list(parse_delimited(path))


def test_plain_text_tells_md5_and_sha1_by_length_but_not_64_digits(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text(f"# comment\n{MD5_A}\n{hex_of('x', 'sha1')}\nshort\n", encoding="utf-8")
    events = list(parse_plain_text(path, None))
    assert [type(e).__name__ for e in events] == ["ImportedEntry", "ImportedEntry", "RejectedLine"]
    assert events[1].signals[0][0] is BankSignal.SHA1  # type: ignore[union-attr]
    assert events[2].where == "line 4"
    ambiguous = tmp_path / "ambiguous.txt"
    ambiguous.write_text(PDQ_A + "\n", encoding="utf-8")
    with pytest.raises(BankFormatError, match="--signal"):
        list(parse_plain_text(ambiguous, None))
    (named,) = parse_plain_text(ambiguous, BankSignal.PDQ)
    assert named.signals == ((BankSignal.PDQ, PDQ_A),)  # type: ignore[union-attr]


def test_format_detection(tmp_path: Path) -> None:
    cases = {
        "a.dat": ('{"hashRecords": []}', BankFormat.STOPNCII),
        "b.dat": ('{"odata.metadata": "x", "value": []}', BankFormat.VICS),
        "c.dat": ("<queryResult/>", BankFormat.NCMEC_XML),
        "d.dat": ("md5,category\n", BankFormat.CSV),
        "e.dat": (MD5_A + "\n", BankFormat.TXT),
    }
    for name, (content, expected) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        assert detect_format(tmp_path / name) is expected, name


def test_store_upserts_and_reimport_changes_nothing(tmp_path: Path) -> None:
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    path = write_csv(
        tmp_path / "list.csv",
        [
            f"{MD5_A},{PDQ_A},E-1,test-category-1,,yes,",
            f"{MD5_B},,E-2,test-category-2,,,",
        ],
    )
    first = store.import_entries(
        "ngo-list", parse_delimited(path), BankSettings(), stop_on_error=False, file_name=path.name
    )
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    again = store.import_entries(
        "ngo-list", parse_delimited(path), BankSettings(), stop_on_error=False, file_name=path.name
    )
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)

    newer = write_csv(
        tmp_path / "newer.csv",
        [
            f"{MD5_A},{PDQ_A},E-1,test-category-9,,yes,",
            f"{MD5_B},,E-2,test-category-2,,,",
        ],
    )
    update = store.import_entries(
        "ngo-list",
        parse_delimited(newer),
        BankSettings(),
        stop_on_error=False,
        file_name=newer.name,
    )
    assert (update.added, update.updated, update.unchanged) == (0, 1, 1)
    summary = store.summary("ngo-list")
    assert summary.entries == 2 and summary.signals == {"md5": 2, "pdq": 1}
    store.close()


def test_removal_entries_delete(tmp_path: Path) -> None:
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    keep = ImportedEntry(((BankSignal.MD5, MD5_A),), EntryMetadata("E-1"))
    gone = ImportedEntry(((BankSignal.MD5, MD5_B),), EntryMetadata("E-2"))
    store.import_entries("feed", [keep, gone], BankSettings(), stop_on_error=True, file_name="f")
    report = store.import_entries(
        "feed",
        [ImportedEntry((), EntryMetadata("E-2"), remove=True)],
        BankSettings(),
        stop_on_error=True,
        file_name="f",
    )
    assert report.removed == 1
    assert store.summary("feed").entries == 1
    store.close()


def test_cli_import_list_show_and_stop_on_error(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [
            f"{MD5_A},{PDQ_A},E-1,test-category-1,,yes,",
            "bad,,E-2,,,,",
        ],
    )
    result = run_cli("bank", "import", "ngo-list", path, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["added"], report["rejected_count"]) == (1, 1)
    assert report["rejected"][0].startswith("line 3:")

    stopped = run_cli("bank", "import", "other", path, "--on-error", "stop")
    assert stopped.returncode == 2
    assert "list.csv line 3" in stopped.stderr and "Traceback" not in stopped.stderr

    listing = json.loads(run_cli("bank", "list", "--json").stdout)
    assert [(b["name"], b["entries"]) for b in listing] == [("ngo-list", 1)]  # "other" rolled back
    shown = run_cli("bank", "show", "ngo-list", "--json")
    assert json.loads(shown.stdout)["pdq_threshold"] == 31
    missing = run_cli("bank", "show", "nope")
    assert missing.returncode == 2 and "no bank named" in missing.stderr
    absent = run_cli("bank", "import", "x", tmp_path / "absent.csv")
    assert absent.returncode == 2 and "absent.csv" in absent.stderr


ROUND_TRIP_ROWS = [
    f"{MD5_A},{PDQ_A},{hex_of('s', 'sha1')},{hex_of('s', 'sha256')},,E-1,test-category-1,"
    "test-series-a,true,false,a;b,benign fixture,2026-01-02",
    f"{MD5_B},,,,,E-2,test-category-2,,,,,,",
    f"{hex_of('c')},,,,,,,,,,,,",
]
ROUND_TRIP_HEADER = (
    "md5,pdq,sha1,sha256,photodna,external_id,category,series,victim_identified,"
    "offender_identified,tags,comments,date"
)


@pytest.mark.parametrize("fmt", ["csv", "vics"])
def test_export_then_import_gives_the_same_bank(tmp_path: Path, fmt: str) -> None:
    source = write_csv(tmp_path / "source.csv", ROUND_TRIP_ROWS, header=ROUND_TRIP_HEADER)
    assert run_cli("bank", "import", "original", source).returncode == 0
    exported = tmp_path / f"exported.{fmt}"
    result = run_cli("bank", "export", "original", "--format", fmt, "--out", exported)
    assert result.returncode == 0, result.stderr
    imported = run_cli("bank", "import", "copy", exported, "--json")
    assert json.loads(imported.stdout)["added"] == 3, imported.stdout

    store = BankStore.open()
    original, copy = list(store.iter_entries("original")), list(store.iter_entries("copy"))
    store.close()
    if fmt == "vics":  # the VICS model has no date field
        original = [
            ImportedEntry(e.signals, dataclasses.replace(e.metadata, date=None)) for e in original
        ]
    assert copy == original
    again = run_cli("bank", "import", "copy", exported, "--json")
    assert json.loads(again.stdout)["unchanged"] == 3


def test_text_export_needs_a_signal(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "source.csv", ROUND_TRIP_ROWS, header=ROUND_TRIP_HEADER)
    assert run_cli("bank", "import", "original", source).returncode == 0
    assert run_cli("bank", "export", "original", "--format", "txt").returncode == 2
    listed = run_cli("bank", "export", "original", "--format", "txt", "--signal", "md5")
    assert listed.stdout.split() == [MD5_A, MD5_B, hex_of("c")]
    assert run_cli("bank", "export", "nope").returncode == 2


@pytest.mark.postgres
def test_bank_store_on_postgresql(tmp_path: Path) -> None:
    store = BankStore.open(empty_postgres())
    path = write_csv(tmp_path / "list.csv", ROUND_TRIP_ROWS, header=ROUND_TRIP_HEADER)
    first = store.import_entries(
        "pg-list", parse_delimited(path), BankSettings(), stop_on_error=False, file_name=path.name
    )
    again = store.import_entries(
        "pg-list", parse_delimited(path), BankSettings(), stop_on_error=False, file_name=path.name
    )
    assert (first.added, again.unchanged) == (3, 3)
    entries = list(store.iter_entries("pg-list"))
    assert entries[0].metadata.victim_identified is True
    assert store.summary("pg-list").signals == {"md5": 3, "pdq": 1, "sha1": 1, "sha256": 1}
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bank_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BankStore]:
    """A fresh bank store on each real database engine."""
    if request.param == "sqlite":
        store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    else:
        store = BankStore.open(private_postgres("test_bank_import"))
    yield store
    store.close()


def numbered(count: int, category: str = "test-category-1") -> list[ImportedEntry]:
    """``count`` entries known by their hashes alone (no external id)."""
    return [
        ImportedEntry(((BankSignal.MD5, hex_of(f"entry-{n}")),), EntryMetadata(category=category))
        for n in range(count)
    ]


def load(store: BankStore, name: str, events: Iterable[ImportEvent]) -> ImportReport:
    return store.import_entries(name, events, BankSettings(), stop_on_error=True, file_name="f")


def test_large_imports_span_batches_with_the_same_semantics(bank_store: BankStore) -> None:
    """More entries than one batch holds: repeats across batches, re-import, update,
    removal and a stop on error all behave as in one small batch."""
    count = 12_000  # more than two of the store's batches
    entries = numbered(count)
    repeated = [*entries, entries[0], entries[1]]  # identities seen in an earlier batch
    first = load(bank_store, "big", repeated)
    assert (first.added, first.unchanged) == (count, 2)
    assert (bank_store.summary("big").entries, bank_store.summary("big").revision) == (count, 1)

    again = load(bank_store, "big", entries)
    assert (again.added, again.updated, again.unchanged) == (0, 0, count)
    assert bank_store.summary("big").revision == 1  # nothing changed, so no new revision

    newer = numbered(count, category="test-category-2")[:7000] + entries[7000:]
    gone = [ImportedEntry(entry.signals, remove=True) for entry in entries[:10]]
    update = load(bank_store, "big", [*newer, *gone])
    assert (update.updated, update.unchanged, update.removed) == (7000, count - 7000, 10)
    summary = bank_store.summary("big")
    assert (summary.entries, summary.signals, summary.revision) == (
        count - 10,
        {"md5": count - 10},
        2,
    )
    stored = {e.signals: e.metadata.category for e in bank_store.iter_entries("big")}
    assert stored[entries[10].signals] == "test-category-2"
    assert stored[entries[7000].signals] == "test-category-1"

    late_error: list[ImportedEntry | RejectedLine] = [
        *numbered(count + 5)[count:],
        *numbered(8000),
        RejectedLine("line 9", "bad"),
    ]
    with pytest.raises(UserError, match="f line 9: bad"):
        load(bank_store, "big", late_error)
    with pytest.raises(UserError, match="f line 9: bad"):
        load(bank_store, "new", late_error)
    after = bank_store.summary("big")
    assert (after.entries, after.revision) == (count - 10, 2)  # nothing of it was kept
    assert [s.name for s in bank_store.summaries()] == ["big"]


def test_own_bank_entries_keep_variants_and_features(bank_store: BankStore) -> None:
    """The bulk path stores what ``bank add`` gives: PDQ variants and packed features."""
    entry = ImportedEntry(
        ((BankSignal.PDQ, PDQ_A),),
        EntryMetadata("own-1"),
        pdq_variants=(("crop90", hex_of("v", "sha256")),),
        features="packed-features",
    )
    load(bank_store, "own", [entry])
    (stored,) = bank_store.iter_entries("own")
    assert (stored.pdq_variants, stored.features) == (entry.pdq_variants, entry.features)
    again = load(bank_store, "own", [entry])
    assert again.unchanged == 1


def test_a_large_sqlite_import_rebuilds_the_value_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the threshold the value-key index is dropped for the import and built
    again before it commits; a rolled-back import keeps it too, and lookups still work."""
    monkeypatch.setattr(value_index, "_WORTH_DEFERRING", 1000)
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    entries = numbered(12_000)

    def indexes() -> set[str]:
        with store.engine.connect() as connection:
            found = inspect(connection).get_indexes("bank_entry_signals")
        return {index["name"] or "" for index in found}

    load(store, "big", entries)
    assert {value_index.VALUE_INDEX, value_index.BANK_INDEX} <= indexes()
    with pytest.raises(UserError):
        load(store, "other", [*numbered(30_000)[12_000:], RejectedLine("line 2", "bad")])
    assert {value_index.VALUE_INDEX, value_index.BANK_INDEX} <= indexes()
    (target,) = store.match_targets()
    wanted = entries[11_999].signals[0][1]
    assert list(store.exact_hits("md5", [wanted], [target])) == [wanted]
    with store.engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM bank_entry_signals WHERE value_key = ?",
            (value_key("md5", wanted),),
        ).all()
    assert value_index.VALUE_INDEX in str(plan)
    store.close()
