"""The review server says how a match was made, why a unit has its score, and lists
the files that could not be read apart from the queue."""

from __future__ import annotations

from lxml import html
from sqlalchemy import update

from clearsight.media.sniff import MediaKind
from clearsight.review.accounts import Role
from clearsight.store.interface import ErrorStage, ItemError, ScannedFile, ScanTally
from clearsight.store.models import Match
from clearsight.triage.priority import load_config
from clearsight.triage.run import run_triage

from .server_support import ReviewCase


def test_the_item_page_says_how_a_feature_confirmed_match_was_made(case: ReviewCase) -> None:
    item = case.items["matched.png"]
    with case.session() as session, session.begin():
        session.execute(
            update(Match)
            .where(Match.item_id == item)
            .values(distance=64, variant=None, inliers=239, coverage=0.62)
        )
    run_triage(case.store, load_config())
    browser = case.sign_in(Role.REVIEWER)
    page = html.fromstring(browser.get(f"/items/{item}").text)
    (row,) = page.xpath("//table[@class='matches']/tbody/tr")
    cells = [cell.text_content() for cell in row.xpath("td")]
    assert cells == [
        "bank-1",
        "test-category-1",
        "pdq d=64, confirmed by 239 local features covering 62% of the picture",
        "E-7",
    ]
    reasons = [li.text_content() for li in page.xpath("//h2[.='Priority']/following::ul[1]/li")]
    assert reasons[0] == "base score (50)"
    assert any("confirmed by 239 local features" in reason for reason in reasons)


def test_the_queue_shows_every_reason_and_lists_unreadable_files_apart(
    case: ReviewCase,
) -> None:
    source = case.store.open_source(str(case.folder))
    scan = case.store.start_scan([str(case.folder)])
    broken = ScannedFile(
        path="damaged.jpg",
        media_type="image/jpeg",
        kind=MediaKind.IMAGE,
        errors=(ItemError(ErrorStage.DECODE, "OSError: image file is truncated"),),
    )
    case.store.record_files(scan, [(source, broken)])
    case.store.finish_scan(scan, ScanTally(1, 1, 1), completed=True)
    run_triage(case.store, load_config())
    browser = case.sign_in(Role.REVIEWER)
    page = html.fromstring(browser.get("/queue").text)
    queued = [link.text_content() for link in page.xpath("//table[@id='units']//a")]
    assert "damaged.jpg" not in " ".join(queued)
    (row,) = page.xpath("//section[@id='could-not-read']//tbody/tr")
    assert [cell.text_content() for cell in row.xpath("td")] == [
        "damaged.jpg",
        "decode: OSError: image file is truncated",
    ]
    # Each unit's reasons start at the base and are all shown, not the first three.
    for unit in page.xpath("//table[@id='units']/tbody/tr"):
        reasons = [li.text_content() for li in unit.xpath(".//ul[@class='reasons']/li")]
        assert "base score (50)" in reasons
