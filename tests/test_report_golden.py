"""Golden files: each export format of the fixed case, byte for byte.

The case (tests/test_report_case.py) has fixed times and ids, and the export is given a
fixed clock, so only the clearsight version varies; it is replaced by ``VERSION``.
After a deliberate change to a format, rewrite the files with
``CLEARSIGHT_UPDATE_GOLDEN=1 pytest tests/test_report_golden.py`` and read the diff.
"""

from __future__ import annotations

import io
import os
from datetime import UTC
from pathlib import Path

import pytest

from clearsight import __version__
from clearsight.categories import CybertipClass
from clearsight.report import (
    LOCAL_USER,
    CybertipOptions,
    ExportRequest,
    IncidentType,
    Reporter,
    ReportFormat,
    parse_selection,
    write_report,
)
from clearsight.store.sql import SqlCaseStore

from .test_report_case import NOW

GOLDEN = Path(__file__).parent / "golden"
CYBERTIP = CybertipOptions(
    incident_type=IncidentType.CHILD_PORNOGRAPHY,
    incident_time=NOW.replace(hour=1, tzinfo=UTC),
    reporter=Reporter("Test", "Reporter", "reporter@example.org"),
    classification={"test-category-1": CybertipClass.A1},
)
REQUESTS = {
    "report.html": ExportRequest(ReportFormat.HTML),
    "items.json": ExportRequest(ReportFormat.JSON),
    "items.csv": ExportRequest(ReportFormat.CSV),
    "case.vics.json": ExportRequest(ReportFormat.VICS, case_number="TEST-0001"),
    "cybertip.xml": ExportRequest(
        ReportFormat.CYBERTIP, parse_selection("items:1,2,3,4,5,6,10"), cybertip=CYBERTIP
    ),
    "new-hashes.csv": ExportRequest(ReportFormat.BANK_CSV),
    "new-hashes.vics.json": ExportRequest(ReportFormat.VICS_HASHSET),
}


def exported(store: SqlCaseStore, request: ExportRequest) -> str:
    buffer = io.BytesIO()
    write_report(store, request, buffer, actor="test", permission=LOCAL_USER, now=NOW)
    return buffer.getvalue().decode("utf-8").replace(__version__, "VERSION")


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_each_format_matches_its_golden_file(report_case: SqlCaseStore, name: str) -> None:
    text = exported(report_case, REQUESTS[name])
    golden = GOLDEN / name
    if os.environ.get("CLEARSIGHT_UPDATE_GOLDEN") == "1":
        golden.write_bytes(text.encode("utf-8"))
    assert text == golden.read_bytes().decode("utf-8")
