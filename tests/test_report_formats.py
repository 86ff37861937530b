"""Each export validates against its shipped schema, and keeps the rules of evidence:
only people make categories, say a file was viewed, or confirm AI origin."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC
from importlib import resources
from typing import Any

import jsonschema
import pytest
from lxml import etree

from clearsight.categories import CybertipClass
from clearsight.file_paths import display_path
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
from clearsight.report.case_rows import CaseRows
from clearsight.report.csv_items import write_csv
from clearsight.report.json_items import write_json
from clearsight.report.output import DigestingOutput
from clearsight.report.request import ExportContext
from clearsight.report.rows import ReportRow
from clearsight.report.selection import ALL
from clearsight.report.vics_case import write_vics_case
from clearsight.store.sql import SqlCaseStore

from .test_report_case import FORMULA_NAME, NOW

SCHEMAS = resources.files("clearsight.report") / "schema"
OPTIONS = CybertipOptions(
    incident_type=IncidentType.ONLINE_ENTICEMENT,
    incident_time=NOW.replace(tzinfo=UTC),
    classification={"test-category-1": CybertipClass.A1},
)


def exported(store: SqlCaseStore, request: ExportRequest) -> bytes:
    buffer = io.BytesIO()
    write_report(store, request, buffer, actor="test", permission=LOCAL_USER, now=NOW)
    return buffer.getvalue()


def cybertip(
    store: SqlCaseStore, select: str, options: CybertipOptions = OPTIONS
) -> etree._Element:
    data = exported(
        store, ExportRequest(ReportFormat.CYBERTIP, parse_selection(select), cybertip=options)
    )
    schema = etree.XMLSchema(etree.fromstring((SCHEMAS / "cybertip.xsd").read_bytes()))
    document = etree.fromstring(data)
    schema.assertValid(document)
    return document


def files_by_name(report: etree._Element) -> dict[str, etree._Element]:
    return {str(f.findtext("originalFileName")): f for f in report.iterfind("fileDetails")}


def test_the_json_export_validates_against_its_shipped_schema(report_case: SqlCaseStore) -> None:
    schema = json.loads((SCHEMAS / "items.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for select in ("all", "series:1", "items:4"):
        document = json.loads(
            exported(report_case, ExportRequest(ReportFormat.JSON, parse_selection(select)))
        )
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
            document
        )
        assert document["item_count"] == len(document["items"])
    items = {
        i["item_id"]: i
        for i in json.loads(exported(report_case, ExportRequest(ReportFormat.JSON)))["items"]
    }
    # The display form: the control character escaped, reversibly (clearsight.file_paths).
    assert len(items) == 10 and items[6]["path"] == display_path(FORMULA_NAME)
    assert items[4]["decision"]["reviewer"] == "supervisor-b"
    assert [d["id"] for d in items[4]["earlier_decisions"]] == [3]
    assert items[1]["decision"] is None and items[1]["matches"][0]["external_id"] == "EXT-1"


def test_the_csv_export_has_one_row_per_item_and_defuses_formulas(
    report_case: SqlCaseStore,
) -> None:
    text = exported(report_case, ExportRequest(ReportFormat.CSV)).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(int(row["item_id"]) for row in rows) == list(range(1, 11))
    by_id = {int(row["item_id"]): row for row in rows}
    assert by_id[6]["path"] == "'" + display_path(FORMULA_NAME)
    assert by_id[4]["decision_origin"] == "camera" and by_id[4]["decisions"] == "2"
    assert not any(value.startswith(("=", "+", "@")) for row in rows for value in row.values())


@pytest.mark.parametrize("select", ["all", "series:1,2", "items:5", "items:10"])
def test_every_cybertip_export_validates_against_the_xsd(
    report_case: SqlCaseStore, select: str
) -> None:
    report = cybertip(report_case, select)
    assert report.findtext("incidentSummary/incidentType") == IncidentType.ONLINE_ENTICEMENT.value
    assert report.find("reporter") is None  # not given, so not written


def test_file_viewed_is_true_only_on_a_decision_that_records_it(report_case: SqlCaseStore) -> None:
    files = files_by_name(cybertip(report_case, "all"))
    assert files["lake-crop.jpg"].findtext("fileViewedByEsp") == "true"  # revealed, then decided
    assert files["pattern-02.png"].findtext("fileViewedByEsp") == "true"  # an earlier decision
    assert files["pattern-01.png"].findtext("fileViewedByEsp") == "false"  # decided unrevealed
    assert files["lake.jpg"].findtext("fileViewedByEsp") == "false"  # nobody looked
    # Revealed but undecided: the case cannot attest it either way, so nothing is said.
    assert files["<img src=x onerror=alert(1)>.png"].find("fileViewedByEsp") is None
    assert all(f.find("exifViewedByEsp") is None for f in files.values())


def test_generative_ai_is_annotated_only_where_a_person_confirmed_it(
    report_case: SqlCaseStore,
) -> None:
    files = files_by_name(cybertip(report_case, "all"))
    annotated = {
        name for name, f in files.items() if f.find("fileAnnotations/generativeAi") is not None
    }
    # pattern-02 was flagged by the machine and first called AI-edited, but the current
    # decision says camera; the machine's verdict alone never annotates.
    assert annotated == {"pattern-01.png"}
    evidence = [
        p.findtext("value") for p in files["pattern-02.png"].iterfind("details/nameValuePair")
    ]
    assert "ai-generated" in evidence and "camera" in evidence


def test_classification_comes_from_the_decided_category_only(report_case: SqlCaseStore) -> None:
    files = files_by_name(cybertip(report_case, "all"))
    classified = {n: f.findtext("industryClassification") for n, f in files.items()}
    assert {n: c for n, c in classified.items() if c} == {"pattern-01.png": "A1"}
    # lake.jpg's bank entry says test-category-1, but no person decided it.
    assert classified["lake.jpg"] is None


def test_cybertip_fills_only_what_it_is_told(report_case: SqlCaseStore) -> None:
    options = CybertipOptions(
        IncidentType.CHILD_SEX_TOURISM,
        NOW,
        Reporter(email="analyst@example.org"),
        publicly_available=False,
    )
    report = cybertip(report_case, "items:3", options)
    person = report.find("reporter/reportingPerson")
    assert person is not None
    assert [e.tag for e in person] == ["email"]
    (details,) = report.iterfind("fileDetails")
    assert details.findtext("publiclyAvailable") == "false"
    assert details.find("industryClassification") is None  # no classification given
    hashes = {h.get("hashType"): h.text for h in details.iterfind("originalFileHash")}
    assert set(hashes) == {"MD5", "SHA256"}


def test_unreadable_files_have_no_hash_and_are_left_out(report_case: SqlCaseStore) -> None:
    assert files_by_name(cybertip(report_case, "items:10")) == {}


def _vics_media(store: SqlCaseStore) -> dict[int, dict[str, Any]]:
    document = json.loads(exported(store, ExportRequest(ReportFormat.VICS)))
    (case,) = document["value"]
    return {m["MediaID"]: m for m in case["Media"]}


def test_vics_categories_come_from_people_or_an_exact_bank_hit(report_case: SqlCaseStore) -> None:
    media = _vics_media(report_case)
    assert 8 not in media and 10 not in media  # a note, and a file never read
    assert (media[1]["Category"], media[1]["IsPrecategorized"]) == ("test-category-1", True)
    assert media[1]["Series"] == "test-series-a" and media[1]["VictimIdentified"] is False
    assert (media[2]["Category"], media[2]["IsPrecategorized"]) == ("test-category-2", False)
    assert media[2]["VictimIdentified"] is True
    assert "Category" not in media[5] and media[5]["IsPrecategorized"] is False
    assert "Category" not in media[9]  # an allow-list hit categorises nothing


class CountingOutput(DigestingOutput):
    def __init__(self) -> None:
        super().__init__(io.BytesIO())
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


# The XML writer streams too, through lxml's incremental writer, which holds a few KiB
# before it writes: not one write per item, so it is not counted here.
@pytest.mark.parametrize("writer", [write_json, write_csv, write_vics_case])
def test_writers_write_each_item_before_reading_the_next(
    report_case: SqlCaseStore, writer: Callable[..., int]
) -> None:
    case = CaseRows(report_case)
    rows = [row for row in case.rows(ALL) if row.item.md5 and row.item.kind == "image"]
    out = CountingOutput()
    seen: list[int] = []

    def stream() -> Iterator[ReportRow]:
        for row in rows:
            seen.append(out.writes + len(out._parts))
            yield row

    context = ExportContext(
        case.case, ExportRequest(ReportFormat.JSON, cybertip=OPTIONS), "test", NOW, "0" * 64
    )
    assert writer(stream(), context, out) == len(rows)
    # Something reached the output between any two items: nothing waits for the end.
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False))
