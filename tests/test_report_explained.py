"""The HTML report lists every matched item, one row per match, says how each match
was made, and names categories as the case's scheme does."""

from __future__ import annotations

from lxml import html
from sqlalchemy import insert

from clearsight.report.classification import category_labels
from clearsight.review.settings import ReviewSettings
from clearsight.store.interface import BankCheck, MatchRecord, MatchView
from clearsight.store.review_models import DecisionRow
from clearsight.store.sql import SqlCaseStore, engine_of

from .test_report_case import _decision
from .test_report_html import report


def entry(signal: str, **changes: object) -> MatchView:
    values: dict[str, object] = {
        "bank": "test-bank-2",
        "entry_id": 21,
        "external_id": "EXT-21",
        "signal": signal,
        "distance": 0,
        "transform": "original",
        "allow": False,
        "category": "test-category-2",
        "series": None,
        "victim_identified": None,
    }
    return MatchView(**{**values, **changes})  # type: ignore[arg-type]


def matched_table(store: SqlCaseStore) -> list[list[str]]:
    page = html.fromstring(report(store))
    rows = page.xpath("//h2[.='Matched items']/following-sibling::table[1]//tbody/tr")
    return [[cell.text_content() for cell in row.xpath("td")] for row in rows]


def test_every_matched_item_is_listed_one_row_per_match(report_case: SqlCaseStore) -> None:
    # Item 6 is in no series; three signals met one entry, and local features confirmed
    # a second entry far beyond the PDQ threshold.
    found = [entry("md5"), entry("sha256"), entry("pdq", distance=4)]
    confirmed = entry("pdq", entry_id=22, external_id="EXT-22", distance=64)
    confirmed = MatchView(**{**confirmed.__dict__, "inliers": 239, "coverage": 0.62})
    report_case.record_bank_matches(
        BankCheck("test-bank-2", "uid-3", 1, 31, False, 10),
        [MatchRecord(6, m) for m in (*found, confirmed)],
        after_item=0,
    )
    rows = matched_table(report_case)
    by_item: dict[str, list[list[str]]] = {}
    for row in rows:
        by_item.setdefault(row[0], []).append(row)
    assert sorted(by_item) == ["1", "2", "6"]  # 9 is only in an allow list
    assert len(by_item["6"]) == 2  # one row per bank entry, not one per signal
    first, second = by_item["6"]
    assert first[2] == "bank test-bank-2 entry EXT-21"
    assert first[3] == "md5 + sha256 exact; pdq d=4"
    assert first[5] == ""  # item 6 is in no series
    assert second[3] == ("pdq d=64, confirmed by 239 local features covering 62% of the picture")
    assert by_item["1"][0][5] == "1"  # its series


def test_the_series_tables_say_how_a_match_was_made(report_case: SqlCaseStore) -> None:
    page = html.fromstring(report(report_case))
    cells = [
        cell.text_content() for cell in page.xpath("//section[@class='series']//tbody/tr/td[4]/div")
    ]
    assert (
        "bank test-bank entry EXT-1: md5 exact (category test-category-1, series test-series-a)"
        in cells
    )
    assert not any("d=0 · original" in cell for cell in cells)


def test_categories_are_named_by_the_scheme(report_case: SqlCaseStore) -> None:
    labels = category_labels(ReviewSettings())
    assert labels["0"] == "Category 0 — not pertinent"
    with engine_of(report_case).begin() as connection:
        connection.execute(insert(DecisionRow), [_decision(5, 1, 2, "0", "camera", False)])
    page = html.fromstring(report(report_case))
    counted = page.xpath("//section[h3='Category (final human decisions)']//tbody/tr/td[1]")
    assert "Category 0 — not pertinent" in [cell.text_content() for cell in counted]
    decided = [row[6] for row in matched_table(report_case) if row[0] == "1"]
    assert decided and decided[0].startswith("Category 0 — not pertinent")
