"""``clearsight.Case``: the one core object, used the way a program embedding clearsight
would, through the names ``clearsight`` exports and nothing else of the library's.

The evidence is generated (coloured noise patterns, see ``conftest.photo_like``).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import clearsight
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings
from clearsight.index.cache import PdqIndexCache
from clearsight.report import ExportRequest, ReportFormat
from clearsight.scan import ScanOptions

from .conftest import photo_like

BANK = "test-bank"


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    """Three distinct pictures and a smaller JPEG copy of the first (a near-duplicate)."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    for seed, name in ((21, "harbour.png"), (22, "orchard.png"), (23, "quarry.png")):
        photo_like(seed).save(folder / name)
    photo_like(21).resize((288, 216), Image.Resampling.LANCZOS).save(
        folder / "harbour-copy.jpg", quality=95
    )
    return folder


def open_case(tmp_path: Path) -> clearsight.Case:
    return clearsight.Case.open(
        tmp_path / "case",
        create=True,
        banks_url=f"sqlite:///{tmp_path / 'banks.sqlite'}",
        # brute_force_below=1: even a one-entry bank's index goes through the cache.
        index_cache=PdqIndexCache(tmp_path / "indexes", brute_force_below=1),
    )


def test_the_exported_names_exist_and_stay_light() -> None:
    assert set(clearsight.__all__) >= {"Case", "IngestReport"}
    for name in clearsight.__all__:
        assert getattr(clearsight, name) is not None
    with pytest.raises(AttributeError):
        _ = clearsight.NoSuchName
    # The case pulls in SQLAlchemy and numpy only when it is asked for.
    probe = (
        "import sys, clearsight; light = 'sqlalchemy' not in sys.modules; "
        "clearsight.Case; print(light, 'sqlalchemy' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert found.stdout.split() == ["True", "True"]


def test_scan_match_triage_and_queue_through_the_case(tmp_path: Path, evidence: Path) -> None:
    with open_case(tmp_path) as case:
        scanned = case.scan([evidence])
        assert (scanned.tally.items, scanned.tally.errors) == (4, 0)
        rows = {row.path: row for row in case.items()}
        orchard = rows["orchard.png"]
        assert orchard.pdq is not None
        case.banks.import_entries(
            BANK,
            [
                ImportedEntry(
                    ((BankSignal.PDQ, orchard.pdq),),
                    EntryMetadata(external_id="T-1", category="test-category-1"),
                )
            ],
            BankSettings(source="test"),
            file_name="test",
        )
        matched = case.match([BANK])
        assert matched.banks == (BANK,) and matched.matched_items == 1
        triaged = case.triage()
        assert (triaged.items, triaged.stacks, triaged.stacked_items) == (4, 1, 2)
        queue = case.queue()
        rows = {row.path: row for row in case.items()}

    assert [hit.external_id for hit in rows["orchard.png"].matches] == ["T-1"]
    assert rows["harbour.png"].stack is not None
    assert rows["harbour.png"].stack == rows["harbour-copy.jpg"].stack
    # One stack (the larger picture first) and two lone items; the known one comes last.
    by_kind = sorted((entry.kind, entry.size) for entry in queue)
    assert by_kind == [("item", 1), ("item", 1), ("stack", 2)]
    (stack,) = [entry for entry in queue if entry.kind == "stack"]
    assert stack.representative.endswith("harbour.png")
    assert queue[-1].representative.endswith("orchard.png")
    assert queue[-1].score < min(entry.score for entry in queue[:-1])


def test_the_case_folder_is_never_scanned(tmp_path: Path, evidence: Path) -> None:
    # The case lies inside the folder scanned: its database and log are not evidence.
    case_dir = evidence / "case"
    with clearsight.Case.open(case_dir, create=True) as case:
        first = case.scan([evidence])
        paths = sorted(row.path for row in case.items())
    assert (tuple(case_dir.iterdir()) != ()) and first.tally.items == 4
    assert paths == ["harbour-copy.jpg", "harbour.png", "orchard.png", "quarry.png"]


def test_ingest_scans_skips_matching_without_banks_and_triages(
    tmp_path: Path, evidence: Path
) -> None:
    with clearsight.Case.open(tmp_path / "case", create=True) as case:
        done = case.ingest([evidence])
        queue = case.queue()
    assert isinstance(done, clearsight.IngestReport)
    assert done.scan.tally.items == 4
    assert done.matching is None  # no bank store on this machine (CLEARSIGHT_HOME is empty)
    assert done.triage.stacks == 1 and len(queue) == 3


def test_the_case_folders_triage_toml_is_its_configuration(tmp_path: Path, evidence: Path) -> None:
    with open_case(tmp_path) as case:
        case.scan([evidence])
        assert case.triage().stacks == 1
        # Distance 0: the re-encoded copy is no longer a near-duplicate.
        (tmp_path / "case" / "triage.toml").write_text("[stacks]\ndistance = 0\n")
        assert case.triage().stacks == 0
        given = tmp_path / "wide.toml"
        given.write_text("[stacks]\ndistance = 31\n")
        assert case.triage(given).stacks == 1  # a file named by the caller wins


def test_removing_a_bank_drops_its_cached_index(tmp_path: Path, evidence: Path) -> None:
    with open_case(tmp_path) as case:
        case.scan([evidence])
        (row,) = [row for row in case.items() if row.path == "quarry.png"]
        assert row.pdq is not None
        case.banks.import_entries(
            BANK, [ImportedEntry(((BankSignal.PDQ, row.pdq),))], BankSettings(), file_name="t"
        )
        assert case.match([BANK]).runs[0].pdq_index == "built"
        (summary,) = case.banks.summaries() or []
        cached = case.banks.index_cache.paths(summary.uid)
        assert all(path.is_file() for path in cached)
        assert case.banks.remove(BANK) == 1
        assert not any(path.exists() for path in cached)
        assert case.banks.summaries() == []


def test_origin_and_export_are_stages_of_the_case(tmp_path: Path, evidence: Path) -> None:
    with open_case(tmp_path) as case:
        case.scan([evidence], ScanOptions(origin=False))
        assert all(row.origin is None for row in case.items())
        run = case.origin()
        assert run.examined == 4 and all(row.origin for row in case.items())
        out = io.BytesIO()
        result = case.export(ExportRequest(ReportFormat.JSON), out, actor="test")
        (entry,) = case.audit_log().entries(newest_first=True, limit=1)
    assert result.written.items == 4
    assert len(json.loads(out.getvalue())["items"]) == 4
    assert entry.action == "export" and entry.detail["sha256"] == result.written.sha256


def test_opening_names_a_folder_case_or_a_database(tmp_path: Path) -> None:
    with pytest.raises(clearsight.UserError, match="not a clearsight case"):
        clearsight.Case.open(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()  # only a scan makes a case
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(clearsight.UserError, match="case path is not a folder"):
        clearsight.Case.open(tmp_path / "a-file", create=True)
    with pytest.raises(clearsight.UserError, match="not a database URL"):
        clearsight.Case.open_database("not a url")
    url = f"sqlite:///{tmp_path / 'by-url.sqlite'}"
    with clearsight.Case.open(url) as case:
        assert case.folder is None and case.queue() == []
    assert (tmp_path / "by-url.sqlite").is_file()
