"""What the review pages show a person: the file's name as the title, sizes people
read, each origin reason once, flags as badges, short paths in the queue, the case on
the login page; and the filters that shape those facts."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import update

from clearsight.review.accounts import Role
from clearsight.server.pages import duration, file_name, flag_of, folder_of, human_size
from clearsight.store.models import OriginRow

from .server_support import ReviewCase, TestClient, login_token


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (15_360, "15.4 kB"),
     (1_524_927, "1.5 MB"), (999_960, "1.0 MB"), (3 * 10**12, "3.0 TB")],
)  # fmt: skip
def test_sizes_read_as_people_read_them(size: int, shown: str) -> None:
    assert human_size(size) == shown


def test_halves_of_a_second_round_up_as_the_live_meter_rounds_them() -> None:
    assert [duration(s) for s in (0.5, 1.5, 2.5, 2.49, 59.5)] == [
        "1 s", "2 s", "3 s", "2 s", "1 min 00 s",
    ]  # fmt: skip


def test_a_path_splits_into_its_file_name_and_its_folder() -> None:
    assert file_name("/evidence/2024/a/b/photo 1.jpg") == "photo 1.jpg"
    assert folder_of("/evidence/2024/a/b/photo 1.jpg") == "/evidence/2024/a/b/"
    assert file_name("/x/archive.zip!/inner/pic.png") == "pic.png"
    assert folder_of("/x/archive.zip!/inner/pic.png") == "/x/archive.zip!/inner/"


def test_only_flagging_reasons_get_a_badge() -> None:
    assert flag_of("FLAGGED AI-generated: generator-metadata: x (-55)") == "AI-generated"
    assert flag_of("FLAGGED AI-edited, a real picture may lie beneath: y") == "AI-edited"
    assert flag_of("unmatched: in no bank (+20)") is None


def test_the_item_page_is_titled_by_its_file_and_shows_a_human_size(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    item = case.items["lone-a.png"]
    page = reviewer.get(f"/items/{item}").text
    title = re.search(r"<title>(.*?)</title>", page)
    assert title and title.group(1).startswith("lone-a.png")
    assert re.search(r'<h1 id="item-title" title="[^"]*/lone-a\.png">lone-a\.png</h1>', page)
    size = re.search(r'<td id="file-size"><span title="(\d+) bytes">([^<]+)</span>', page)
    assert size, page
    assert size.group(2) == human_size(int(size.group(1)))
    assert " bytes<" not in page


def test_origin_reasons_that_the_evidence_says_are_shown_once(case: ReviewCase) -> None:
    item = case.items["prompted.png"]
    detail = "DALL-E tags in EXIF MakerNote: OpenAI--req_0123456789abcdef"
    evidence = [{"kind": "generator-metadata", "points_to": "ai", "strength": "strong",
                 "detail": detail}]  # fmt: skip
    with case.session() as session, session.begin():
        session.execute(
            update(OriginRow)
            .where(OriginRow.item_id == item)
            .values(
                reasons=json.dumps([f"strong ai: generator-metadata: {detail}", "a lone reason"]),
                evidence=json.dumps(evidence),
            )
        )
    page = case.sign_in(Role.REVIEWER).get(f"/items/{item}").text
    origin = page[page.index("<h2>Origin</h2>") :]
    origin = origin[: origin.index("<h2>", 5)]
    assert origin.count(f">{detail}<") == 1  # in the evidence table only
    assert "strong ai: generator-metadata" not in origin
    assert '<ul class="reasons" id="origin-reasons"><li>a lone reason</li></ul>' in origin
    assert 'class="badge verdict-ai-generated"' in origin


def test_the_queue_badges_flags_and_shows_file_names_with_the_path_on_hover(
    case: ReviewCase,
) -> None:
    page = case.sign_in(Role.REVIEWER).get("/queue").text
    rows = re.findall(r'<tr class="unit".*?</tr>', page, re.S)
    prompted = next(row for row in rows if "prompted.png" in row)
    link = re.search(r'class="file-name" title="([^"]+)">([^<]+)</a>', prompted)
    assert link and link.group(2) == "prompted.png"
    assert link.group(1) == str(case.folder / "prompted.png")
    assert f"<bdi>{case.folder}/</bdi>" in prompted
    assert '<span class="badge badge-flag">AI-generated</span>' in prompted
    assert '<li class="flagged" title="FLAGGED AI-generated' in prompted
    plain = next(row for row in rows if "lone-a.png" in row)
    assert "badge-flag" not in plain


def test_the_login_page_names_the_case(case: ReviewCase) -> None:
    client = TestClient(case.app)
    login_token(client)
    page = client.get("/login").text
    name = case.store.case_record().name
    assert f'<p class="lead" id="login-case">to the case <strong>{name}</strong></p>' in page
    assert f"<title>Sign in to {name} — clearsight</title>" in page
    signed_in = case.sign_in(Role.REVIEWER).get("/queue").text
    assert f'<span class="case-name" title="the case">{name}</span>' in signed_in
