"""The bank files a newcomer meets first: the documented examples, headers that name
their signal, imports that keep nothing, and ``bank show`` in words.

Every file under ``examples/banks`` is imported here, as ``docs/bank-formats.md`` says
to import it, and its entries are checked against the hashes of the demo samples the
examples were made from (benign generated pictures bundled with clearsight).
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest

from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.reader import BankFormat, detect_format, read_bank_file
from clearsight.banks.records import BankSignal
from clearsight.banks.store import BankSettings, BankStore
from clearsight.errors import UserError

from .conftest import REPO, run_cli

EXAMPLES = REPO / "examples" / "banks"
FORMATS_DOC = REPO / "docs" / "bank-formats.md"


def sample_digest(name: str, algorithm: str) -> str:
    samples = resources.files("clearsight.demo") / "samples"
    return hashlib.new(algorithm, (samples / name).read_bytes()).hexdigest()


LAKE_MD5 = sample_digest("mountain-lake.jpg", "md5")
TEXTURE_MD5 = sample_digest("woven-texture.jpg", "md5")
STREET_SHA1 = sample_digest("street.png", "sha1")
STREET_SHA256 = sample_digest("street.png", "sha256")

# file: (the format detect_format must tell, the --signal it needs, entries kept,
#        the signal kinds found, one (kind, value) pair that must be among them)
EXPECTED: dict[str, tuple[BankFormat, BankSignal | None, int, set[str], tuple[str, str]]] = {
    "vics-2.0.json": (BankFormat.VICS, None, 2, {"md5", "sha1", "pdq"}, ("md5", LAKE_MD5)),
    "vics-1.3.json": (
        BankFormat.VICS,
        None,
        1,
        {"md5", "sha1"},
        ("md5", sample_digest("desert-dunes.webp", "md5")),
    ),
    "stopncii-page.json": (
        BankFormat.STOPNCII,
        None,
        2,
        {"pdq", "md5"},
        ("md5", hashlib.md5(b"example video").hexdigest()),
    ),
    "ncmec.xml": (BankFormat.NCMEC_XML, None, 1, {"md5", "sha1", "pdq"}, ("md5", TEXTURE_MD5)),
    "hashes.csv": (BankFormat.CSV, None, 2, {"md5", "sha1", "pdq"}, ("md5", LAKE_MD5)),
    "hashes.tsv": (BankFormat.CSV, None, 2, {"sha256"}, ("sha256", STREET_SHA256)),
    "hash-name.csv": (BankFormat.CSV, None, 2, {"md5", "sha1"}, ("sha1", STREET_SHA1)),
    "pdq-column.csv": (BankFormat.CSV, None, 2, {"pdq"}, ("pdq", "")),
    "md5.txt": (BankFormat.TXT, None, 3, {"md5"}, ("md5", TEXTURE_MD5)),
    "pdq.txt": (BankFormat.TXT, BankSignal.PDQ, 2, {"pdq"}, ("pdq", "")),
}


def test_every_example_is_expected_here_and_shown_in_the_formats_doc() -> None:
    files = sorted(path.name for path in EXAMPLES.iterdir())
    assert files == sorted(EXPECTED)
    doc = FORMATS_DOC.read_text(encoding="utf-8")
    for name in files:
        assert f"examples/banks/{name}" in doc, name
    assert "docs/bank-formats.md" in (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_imports_as_documented(name: str, tmp_path: Path) -> None:
    fmt, signal, count, kinds, (kind, value) = EXPECTED[name]
    path = EXAMPLES / name
    assert detect_format(path) is fmt
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    try:
        report = store.import_entries(
            "example",
            read_bank_file(path, BankFormat.AUTO, signal),
            BankSettings(),
            stop_on_error=True,  # an example with one bad line would fail here
            file_name=name,
        )
        entries = list(store.iter_entries("example"))
    finally:
        store.close()
    assert report.added == count and report.rejected_count == 0
    found = {(k.value, v) for entry in entries for k, v in entry.signals}
    assert {k for k, _ in found} == kinds
    if value:
        assert (kind, value) in found


def test_the_stopncii_example_counts_what_it_does_not_keep(tmp_path: Path) -> None:
    result = run_cli("bank", "import", "ex", EXAMPLES / "stopncii-page.json", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["added"], report["not_importable"]) == (2, {"VideoTMK": 1})


def test_a_header_naming_the_signal_is_honoured(tmp_path: Path) -> None:
    """A one-column list headed ``pdq`` is a PDQ list, not an ambiguous 64-digit list;
    read as plain text too (``--format txt``), its header names the signal."""
    pdq = (EXAMPLES / "pdq-column.csv").read_text(encoding="utf-8").split()[1]
    for fmt in (BankFormat.AUTO, BankFormat.TXT):
        (entry, _) = list(read_bank_file(EXAMPLES / "pdq-column.csv", fmt))
        assert entry.signals[0] == (BankSignal.PDQ, pdq)  # type: ignore[union-attr]
    sha256_list = tmp_path / "list.txt"
    sha256_list.write_text(f"SHA256\n{STREET_SHA256}\n", encoding="utf-8")
    (entry,) = read_bank_file(sha256_list, BankFormat.TXT)
    assert entry.signals == ((BankSignal.SHA256, STREET_SHA256),)  # type: ignore[union-attr]
    with pytest.raises(BankFormatError, match="header names sha256 but --signal says pdq"):
        list(read_bank_file(sha256_list, BankFormat.TXT, BankSignal.PDQ))


def test_a_hash_column_takes_its_signal_from_lengths_or_from_the_option(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        f"hash,name\n{TEXTURE_MD5},a\n{STREET_SHA1},b\nshort,c\n,d\n", encoding="utf-8"
    )
    events = list(read_bank_file(mixed, BankFormat.AUTO))
    assert [getattr(e, "signals", None) for e in events[:2]] == [
        ((BankSignal.MD5, TEXTURE_MD5),),
        ((BankSignal.SHA1, STREET_SHA1),),
    ]
    assert [(e.where, type(e).__name__) for e in events[2:]] == [
        ("line 4", "RejectedLine"),
        ("line 5", "RejectedLine"),
    ]
    long = tmp_path / "long.csv"
    long.write_text(f"hash,name\n{STREET_SHA256},street\n", encoding="utf-8")
    with pytest.raises(BankFormatError, match="long.csv line 2: 64 hex digits"):
        list(read_bank_file(long, BankFormat.AUTO))
    (named,) = read_bank_file(long, BankFormat.AUTO, BankSignal.SHA256)
    assert named.signals == ((BankSignal.SHA256, STREET_SHA256),)  # type: ignore[union-attr]


def test_the_pdq_column_and_hash_name_files_through_the_cli(tmp_path: Path) -> None:
    """The two files of the report that found the fault: both now import, exit 0."""
    for name, added in (("pdq-column.csv", 2), ("hash-name.csv", 2)):
        result = run_cli("bank", "import", name.split(".")[0], EXAMPLES / name, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["added"] == added


def test_an_import_that_skips_everything_fails_and_leaves_no_bank(tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_text("hash,name\nnot-a-hash,a\nzz,b\n", encoding="utf-8")
    failed = run_cli("bank", "import", "junk", junk)
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr
    assert "junk.csv: nothing imported: all 2 were skipped, the first at line 2" in failed.stderr
    assert "line 2" in failed.stderr and "'junk' was not created" in failed.stderr
    listed = run_cli("bank", "list", "--json")
    assert json.loads(listed.stdout) == []


def test_an_existing_bank_is_untouched_by_a_file_it_skips_whole(tmp_path: Path) -> None:
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    try:
        store.import_entries(
            "kept",
            read_bank_file(EXAMPLES / "md5.txt", BankFormat.AUTO),
            BankSettings(),
            stop_on_error=False,
            file_name="md5.txt",
        )
        before = store.summary("kept")
        junk = tmp_path / "junk.txt"
        junk.write_text("nothing\nhere\n", encoding="utf-8")
        with pytest.raises(UserError, match="all 2 were skipped.*'kept' is unchanged"):
            store.import_entries(
                "kept",
                read_bank_file(junk, BankFormat.AUTO),
                BankSettings(),
                stop_on_error=False,
                file_name="junk.txt",
            )
        assert store.summary("kept") == before
        # The same file again keeps its entries (unchanged): no error.
        again = store.import_entries(
            "kept",
            read_bank_file(EXAMPLES / "md5.txt", BankFormat.AUTO),
            BankSettings(),
            stop_on_error=False,
            file_name="md5.txt",
        )
        assert (again.unchanged, again.added) == (3, 0)
    finally:
        store.close()


def test_an_empty_file_makes_no_empty_bank(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    failed = run_cli("bank", "import", "new", empty)
    assert failed.returncode == 2 and "empty.txt: nothing imported: no entries" in failed.stderr
    assert json.loads(run_cli("bank", "list", "--json").stdout) == []


def test_bank_show_prints_words_not_python(tmp_path: Path) -> None:
    imported = run_cli("bank", "import", "example", EXAMPLES / "hashes.csv")
    assert imported.returncode == 0, imported.stderr
    shown = run_cli("bank", "show", "example")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "entries: 2" in lines
    assert "signals: 2 md5, 1 pdq, 1 sha1" in lines
    assert "enabled: yes" in lines and "allow: no" in lines
    assert "source: not given" in lines and "description: not given" in lines
    assert any(line.startswith("updated: ") and line.endswith(" UTC") for line in lines)
    assert "None" not in shown.stdout and "{" not in shown.stdout and "'" not in shown.stdout
    as_json = json.loads(run_cli("bank", "show", "example", "--json").stdout)
    assert as_json["signals"] == {"md5": 2, "pdq": 1, "sha1": 1}
    assert as_json["source"] is None and as_json["enabled"] is True


def test_bank_add_of_no_usable_picture_fails_and_makes_no_bank(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("a text note, not a picture\n", encoding="utf-8")
    failed = run_cli("bank", "add", "own", note)
    assert failed.returncode == 2, failed.stderr
    assert "nothing imported: its one entry was skipped, at " in failed.stderr
    assert "not a decodable picture" in failed.stderr and "'own' was not created" in failed.stderr
    assert json.loads(run_cli("bank", "list", "--json").stdout) == []
