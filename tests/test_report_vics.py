"""VICS and hash-list exports re-import through clearsight's own bank importer without
loss: same hashes, same id, same category, series and victim flag."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from clearsight.banks.records import BankSignal, EntryMetadata
from clearsight.banks.store import BankStore
from clearsight.report import LOCAL_USER, ExportRequest, ReportFormat, write_report
from clearsight.report.case_rows import CaseRows
from clearsight.report.selection import ALL
from clearsight.signals.pdq import PDQ_MIN_QUALITY
from clearsight.store.sql import SqlCaseStore

from .conftest import run_cli
from .test_report_case import NOW, SOURCE

Entry = tuple[frozenset[tuple[BankSignal, str]], EntryMetadata]


def export_file(store: SqlCaseStore, request: ExportRequest, path: Path) -> Path:
    buffer = io.BytesIO()
    write_report(store, request, buffer, actor="test", permission=LOCAL_USER, now=NOW)
    path.write_bytes(buffer.getvalue())
    return path


def imported(bank: str, path: Path) -> set[Entry]:
    result = run_cli("bank", "import", bank, path, "--on-error", "stop", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rejected_count"] == 0
    store = BankStore.open()
    try:
        return {(frozenset(entry.signals), entry.metadata) for entry in store.iter_entries(bank)}
    finally:
        store.close()


def _signals(
    md5: str | None, sha1: str | None, sha256: str | None, pdq: str | None
) -> frozenset[tuple[BankSignal, str]]:
    pairs = (
        (BankSignal.MD5, md5),
        (BankSignal.SHA1, sha1),
        (BankSignal.SHA256, sha256),
        (BankSignal.PDQ, pdq),
    )
    return frozenset((kind, value) for kind, value in pairs if value)


def test_the_vics_case_export_reimports_without_loss(
    report_case: SqlCaseStore, tmp_path: Path
) -> None:
    path = export_file(report_case, ExportRequest(ReportFormat.VICS), tmp_path / "case.json")
    expected: set[Entry] = set()
    for row in CaseRows(report_case).rows(ALL):
        item, decision, hit = row.item, row.decision, row.bank_category
        if item.kind != "image" or not item.md5:
            continue
        category: str | None
        series: str | None
        victim: bool | None
        if decision is not None:
            category, series, victim = decision.category, decision.series, decision.victim_flag
        elif hit is not None:
            category, series, victim = hit.category, hit.series, hit.victim_identified
        else:
            category = series = victim = None
        expected.add(
            (
                _signals(item.md5, item.sha1, item.sha256, item.pdq),
                EntryMetadata(
                    external_id=str(row.item_id),
                    category=category,
                    series=series,
                    victim_identified=victim,
                ),
            )
        )
    assert len(expected) == 8
    assert imported("roundtrip", path) == expected


@pytest.mark.parametrize(
    ("fmt", "name"), [(ReportFormat.BANK_CSV, "new.csv"), (ReportFormat.VICS_HASHSET, "new.json")]
)
def test_hash_lists_hold_confirmed_new_items_and_no_paths(
    report_case: SqlCaseStore, tmp_path: Path, fmt: ReportFormat, name: str
) -> None:
    path = export_file(report_case, ExportRequest(fmt), tmp_path / name)
    text = path.read_text("utf-8")
    for leak in (SOURCE, "pattern-0", "generated/", "reviewer-a", "second look", "test-case"):
        assert leak not in text
    rows = {row.item_id: row for row in CaseRows(report_case).rows(ALL)}
    expected = set()
    for item_id in (3, 4):  # decided by a person, in no bank
        item, decision = rows[item_id].item, rows[item_id].decision
        assert decision is not None and item.pdq_quality is not None
        assert item.pdq_quality >= PDQ_MIN_QUALITY
        expected.add(
            (
                _signals(item.md5, item.sha1, item.sha256, item.pdq),
                EntryMetadata(
                    category=decision.category,
                    series=decision.series,
                    victim_identified=decision.victim_flag,
                ),
            )
        )
    assert imported("shared", path) == expected
