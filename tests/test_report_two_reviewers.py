"""Exports under the two-reviewer rule: a decision on an item matched in a bank named in
``two_reviewer_banks`` is a proposal until a second reviewer agrees with it.

The fixed case (tests/test_report_case.py) is exported with the rule on for its bank
``test-bank``, which matched items 1 (exactly) and 2 (near). Until a second reviewer
confirms, JSON and CSV say ``awaiting-confirmation``, and no format states the proposed
category, series, victim flag or origin as a person's finding; once confirmed, they do.
Decisions are made through the review library's own :class:`DecisionBook`, as the
server makes them.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jsonschema
import pytest
from lxml import etree, html
from sqlalchemy import event, insert

from clearsight.categories import (
    Category,
    CategoryScheme,
    CybertipClass,
    HumanOrigin,
    VictimIdentified,
)
from clearsight.errors import CaseStoreError
from clearsight.media.sniff import MediaKind
from clearsight.report import (
    LOCAL_USER,
    CybertipOptions,
    ExportRequest,
    IncidentType,
    ReportFormat,
    parse_selection,
    write_report,
)
from clearsight.report.case_rows import CaseRows
from clearsight.report.decisions import MAX_READS, CaseDecisions
from clearsight.report.hash_lists import confirmed_new
from clearsight.report.selection import ALL
from clearsight.review.accounts import Account, Role
from clearsight.review.decisions import DecisionBook, DecisionInput, DecisionStatus
from clearsight.store.interface import ScannedFile
from clearsight.store.review_models import AccountRow, DecisionRow
from clearsight.store.sql import SqlCaseStore, engine_of

from .test_report_case import CREATED, NOW, SOURCE, build_case

SCHEMAS = resources.files("clearsight.report") / "schema"
SCHEME = CategoryScheme(
    "test-scheme",
    "Neutral test categories",
    tuple(Category(f"test-category-{n}", str(n), f"Test category {n}", "test") for n in (1, 2, 3)),
)
CYBERTIP = CybertipOptions(
    incident_type=IncidentType.ONLINE_ENTICEMENT,
    incident_time=NOW.replace(tzinfo=UTC),
    classification={"test-category-1": CybertipClass.A1},
)
DECIDED_AT = datetime(2026, 1, 6, 9, 0)
REVIEWER = Account(1, "reviewer-a", Role.REVIEWER, False, CREATED, CREATED)
SUPERVISOR = Account(2, "supervisor-b", Role.SUPERVISOR, False, CREATED, CREATED)
THIRD = Account(3, "reviewer-c", Role.REVIEWER, False, CREATED, CREATED)
# Item 1's decision: what the bank says differs in every field, so the export shows
# whose values it wrote.
PROPOSAL = DecisionInput(
    "test-category-1", HumanOrigin.AI_GENERATED, VictimIdentified.YES, series="test-series-b"
)


@pytest.fixture
def two_reviewer_case(case_store: SqlCaseStore) -> SqlCaseStore:
    build_case(case_store)
    with engine_of(case_store).begin() as connection:
        connection.execute(
            insert(AccountRow),
            [
                {
                    "id": THIRD.id,
                    "name": THIRD.name,
                    "role": THIRD.role.value,
                    "password_hash": "not-a-hash",
                    "created_at": CREATED,
                    "password_changed_at": CREATED,
                }
            ],
        )
    case_store.review_settings().set("two_reviewer_banks", ["test-bank"], actor="test")
    return case_store


def book(store: SqlCaseStore) -> DecisionBook:
    settings = store.review_settings().load()
    return store.decisions(settings, SCHEME, clock=lambda: DECIDED_AT)


def decide(store: SqlCaseStore, account: Account, item_id: int, decision: DecisionInput) -> int:
    (made,) = book(store).decide(account, item_id, decision, whole_stack=False)
    return made.id


def exported(store: SqlCaseStore, request: ExportRequest) -> bytes:
    buffer = io.BytesIO()
    write_report(store, request, buffer, actor="test", permission=LOCAL_USER, now=NOW)
    return buffer.getvalue()


def json_items(store: SqlCaseStore) -> dict[int, dict[str, Any]]:
    document = json.loads(exported(store, ExportRequest(ReportFormat.JSON)))
    schema = json.loads((SCHEMAS / "items.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)
    return {item["item_id"]: item for item in document["items"]}


def csv_rows(store: SqlCaseStore) -> dict[int, dict[str, str]]:
    text = exported(store, ExportRequest(ReportFormat.CSV)).decode("utf-8")
    return {int(row["item_id"]): row for row in csv.DictReader(io.StringIO(text))}


def vics_media(store: SqlCaseStore) -> dict[int, dict[str, Any]]:
    document = json.loads(exported(store, ExportRequest(ReportFormat.VICS)))
    (case,) = document["value"]
    return {media["MediaID"]: media for media in case["Media"]}


def cybertip_files(store: SqlCaseStore) -> dict[str, etree._Element]:
    data = exported(
        store, ExportRequest(ReportFormat.CYBERTIP, parse_selection("all"), cybertip=CYBERTIP)
    )
    schema = etree.XMLSchema(etree.fromstring((SCHEMAS / "cybertip.xsd").read_bytes()))
    report = etree.fromstring(data)
    schema.assertValid(report)
    return {str(f.findtext("originalFileName")): f for f in report.iterfind("fileDetails")}


def evidence(details: etree._Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for pair in details.iterfind("details/nameValuePair"):
        found.setdefault(str(pair.findtext("name")), []).append(str(pair.findtext("value")))
    return found


def html_page(store: SqlCaseStore) -> Any:
    return html.fromstring(exported(store, ExportRequest(ReportFormat.HTML)).decode("utf-8"))


def fact(page: Any, name: str) -> str:
    return str(page.xpath(f"//tr[th='{name}']/td")[0].text_content())


def category_counts(page: Any) -> dict[str, int]:
    return {
        row.xpath("td")[0].text_content(): int(row.xpath("td")[1].text_content())
        for row in page.xpath("//section[h3='Category (final human decisions)']//tbody/tr")
    }


def member_decision(page: Any, item_id: int) -> str:
    (cell,) = page.xpath(f"//section[@class='series']//tr[td[1]='{item_id}']/td[last()]")
    return str(cell.text_content())


def statuses(store: SqlCaseStore) -> dict[int, DecisionStatus]:
    return {row.item_id: row.decision_status for row in CaseRows(store).rows(ALL)}


def test_without_the_rule_every_decision_is_final(case_store: SqlCaseStore) -> None:
    build_case(case_store)
    assert statuses(case_store) == {
        1: DecisionStatus.UNDECIDED,
        2: DecisionStatus.FINAL,
        3: DecisionStatus.FINAL,
        4: DecisionStatus.FINAL,
        **{n: DecisionStatus.UNDECIDED for n in range(5, 11)},
    }
    items = json_items(case_store)
    assert items[2]["decision_status"] == "final" and items[1]["decision_status"] == "undecided"
    assert vics_media(case_store)[2]["Category"] == "test-category-2"


def test_a_decision_awaiting_a_second_reviewer_is_no_ones_finding(
    two_reviewer_case: SqlCaseStore,
) -> None:
    store = two_reviewer_case
    first = decide(store, REVIEWER, 1, PROPOSAL)
    found = statuses(store)
    assert found[1] is found[2] is DecisionStatus.AWAITING_CONFIRMATION  # in test-bank
    assert found[3] is found[4] is DecisionStatus.FINAL  # in no bank: one reviewer is enough
    assert found[5] is DecisionStatus.UNDECIDED

    # JSON and CSV show the proposal as recorded, and say that it is not final.
    items = json_items(store)
    assert items[1]["decision_status"] == "awaiting-confirmation"
    assert items[1]["decision"]["id"] == first
    assert items[1]["decision"]["category"] == "test-category-1"
    assert items[3]["decision_status"] == "final" and items[5]["decision_status"] == "undecided"
    rows = csv_rows(store)
    assert [rows[n]["decision_status"] for n in (1, 2, 3, 5)] == [
        "awaiting-confirmation",
        "awaiting-confirmation",
        "final",
        "undecided",
    ]
    assert rows[1]["decision_category"] == "test-category-1"

    # VICS: the exact bank hit precategorises item 1, as if nobody had decided; item 2's
    # near hit does not, so it has no category at all. Nothing of the proposals shows.
    media = vics_media(store)
    assert {k: media[1].get(k) for k in ("Category", "IsPrecategorized", "Series")} == {
        "Category": "test-category-1",
        "IsPrecategorized": True,
        "Series": "test-series-a",
    }
    assert media[1]["VictimIdentified"] is False  # the bank's flag, not the proposal's
    assert media[2]["IsPrecategorized"] is False
    assert not {"Category", "Series", "VictimIdentified"} & set(media[2])
    assert media[3]["Category"] == "test-category-1"  # final: no bank needs two reviewers

    # CyberTip: no AI annotation, classification or reviewer's origin from a proposal;
    # whether the file was viewed still rests on every decision.
    files = cybertip_files(store)
    lake, crop = files["lake.jpg"], files["lake-crop.jpg"]
    assert lake.find("fileAnnotations/generativeAi") is None
    assert lake.find("industryClassification") is None
    assert "reviewer origin decision" not in evidence(lake)
    assert "reviewer origin decision" not in evidence(crop)
    assert lake.findtext("fileViewedByEsp") == "false"  # decided, never revealed
    assert crop.findtext("fileViewedByEsp") == "true"  # revealed, then decided
    assert files["pattern-01.png"].find("fileAnnotations/generativeAi") is not None

    # The HTML report counts proposals apart from categories.
    page = html_page(store)
    assert fact(page, "Decided by a person") == "2"
    assert fact(page, "Awaiting a second reviewer") == "2"
    counts = category_counts(page)
    assert counts["awaiting-confirmation"] == 2 and "test-category-2" not in counts
    assert "awaiting a second reviewer" in member_decision(page, 1)
    assert "awaiting" not in member_decision(page, 3)


def test_a_confirmed_decision_is_exported_as_a_persons_finding(
    two_reviewer_case: SqlCaseStore,
) -> None:
    store = two_reviewer_case
    first = decide(store, REVIEWER, 1, PROPOSAL)
    second = decide(store, SUPERVISOR, 1, PROPOSAL)
    decide(
        store,
        SUPERVISOR,
        2,
        DecisionInput("test-category-2", HumanOrigin.CAMERA, VictimIdentified.YES),
    )
    found = statuses(store)
    assert found[1] is found[2] is DecisionStatus.FINAL

    items = json_items(store)
    assert items[1]["decision_status"] == "final"
    assert items[1]["decision"]["id"] == second and items[1]["decision"]["confirms"] == first
    assert csv_rows(store)[1]["decision_status"] == "final"

    media = vics_media(store)
    assert {k: media[1].get(k) for k in ("Category", "IsPrecategorized", "Series")} == {
        "Category": "test-category-1",
        "IsPrecategorized": False,
        "Series": "test-series-b",
    }
    assert media[1]["VictimIdentified"] is True
    assert (media[2]["Category"], media[2]["IsPrecategorized"]) == ("test-category-2", False)

    lake = cybertip_files(store)["lake.jpg"]
    assert lake.find("fileAnnotations/generativeAi") is not None
    assert lake.findtext("industryClassification") == "A1"
    assert evidence(lake)["reviewer origin decision"] == ["ai-generated"]

    page = html_page(store)
    assert fact(page, "Decided by a person") == "4"
    assert fact(page, "Awaiting a second reviewer") == "0"
    assert category_counts(page)["test-category-1"] == 2  # items 1 and 3
    assert "awaiting" not in member_decision(page, 1)


def test_disagreement_is_not_confirmation(two_reviewer_case: SqlCaseStore) -> None:
    store = two_reviewer_case
    decide(store, REVIEWER, 1, PROPOSAL)
    decide(store, SUPERVISOR, 1, replace(PROPOSAL, category="test-category-3"))
    assert statuses(store)[1] is DecisionStatus.AWAITING_CONFIRMATION
    decide(store, REVIEWER, 1, replace(PROPOSAL, category="test-category-3"))
    assert statuses(store)[1] is DecisionStatus.FINAL
    assert vics_media(store)[1]["Category"] == "test-category-3"
    # A third reviewer reopens it: the newest decision is unconfirmed again, and the
    # export goes back to what the bank says rather than to the earlier agreement.
    decide(store, THIRD, 1, PROPOSAL)
    assert statuses(store)[1] is DecisionStatus.AWAITING_CONFIRMATION
    media = vics_media(store)[1]
    assert (media["Category"], media["IsPrecategorized"]) == ("test-category-1", True)
    assert cybertip_files(store)["lake.jpg"].find("industryClassification") is None


def test_hash_lists_take_only_final_decisions(report_case: SqlCaseStore) -> None:
    # An item in a bank never goes on a hash list of new material, so an awaiting item
    # (always matched) is left out anyway; the rows here are made awaiting by hand to
    # hold the writer itself to the rule.
    rows = [row for row in CaseRows(report_case).rows(ALL) if row.item_id in (3, 4)]
    assert len(list(confirmed_new(rows))) == 2
    awaiting = [replace(row, decision_status=DecisionStatus.AWAITING_CONFIRMATION) for row in rows]
    assert list(confirmed_new(awaiting)) == []
    assert len(list(confirmed_new([awaiting[0], rows[1]]))) == 1


def _queries_to_read(store: SqlCaseStore) -> int:
    """How many statements reading every row of the case sends to the database."""
    case = CaseRows(store)
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(engine_of(store), "before_cursor_execute", count)
    try:
        assert list(case.rows(ALL))
    finally:
        event.remove(engine_of(store), "before_cursor_execute", count)
    return len(seen)


def test_decisions_and_statuses_are_read_per_page_not_per_item(
    two_reviewer_case: SqlCaseStore,
) -> None:
    store = two_reviewer_case
    decide(store, REVIEWER, 1, PROPOSAL)
    few = _queries_to_read(store)
    source = store.open_source(SOURCE)
    store.record_files(
        store.start_scan([SOURCE]),
        [
            (source, ScannedFile(f"more/{n:03}.png", "image/png", MediaKind.IMAGE, n))
            for n in range(60)
        ],
    )
    with engine_of(store).begin() as connection:
        connection.execute(
            insert(DecisionRow),
            [
                {
                    "item_id": item_id,
                    "account_id": 1,
                    "category": "test-category-2",
                    "origin": "camera",
                    "victim_identified": "unknown",
                    "notes": "",
                    "viewed_unblurred": False,
                    "decided_at": DECIDED_AT,
                }
                for item_id in range(11, 71)
            ],
        )
    assert len(statuses(store)) == 70
    assert _queries_to_read(store) == few


def test_an_item_decided_while_it_is_read_is_read_again(
    two_reviewer_case: SqlCaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = two_reviewer_case
    decide(store, REVIEWER, 1, PROPOSAL)
    real = DecisionBook.statuses
    calls: list[int] = []

    def confirmed_between_reads(
        self: DecisionBook, item_ids: list[int]
    ) -> dict[int, DecisionStatus]:
        if not calls:  # the second reviewer agrees after the decisions were read
            decide(store, SUPERVISOR, 1, PROPOSAL)
        calls.append(len(item_ids))
        return real(self, item_ids)

    monkeypatch.setattr(DecisionBook, "statuses", confirmed_between_reads)
    decided = CaseDecisions(store).of([1, 2, 3])
    assert calls == [3, 1]  # only the item that changed is read again
    assert decided[1].status is DecisionStatus.FINAL
    assert [d.reviewer for d in decided[1].history] == ["reviewer-a", "supervisor-b"]
    assert decided[2].status is DecisionStatus.AWAITING_CONFIRMATION


def test_an_item_decided_again_on_every_read_stops_the_export(
    two_reviewer_case: SqlCaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = two_reviewer_case
    real = DecisionBook.statuses
    calls: list[int] = []

    def decided_between_reads(self: DecisionBook, item_ids: list[int]) -> dict[int, DecisionStatus]:
        calls.append(1)
        decide(store, REVIEWER, 1, PROPOSAL)
        return real(self, item_ids)

    monkeypatch.setattr(DecisionBook, "statuses", decided_between_reads)
    with pytest.raises(CaseStoreError, match="item 1 was decided again"):
        CaseDecisions(store).of([1])
    assert len(calls) == MAX_READS
