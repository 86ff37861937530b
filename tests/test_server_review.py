"""Reviewing on the server: blurred previews, reveals, prompts, exposure, decisions."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from clearsight.review.accounts import Role
from clearsight.review.preview import PreviewRenderer
from clearsight.review.settings import PreviewPrefs, RevealMode
from clearsight.store.review_models import DecisionRow, RevealRow

from .server_support import (
    ACCOUNTS,
    PROMPT,
    SECOND_REVIEWER,
    Browser,
    ReviewCase,
    keep_prompt,
)

DEFAULT_PREFS = PreviewPrefs(4, True, RevealMode.HOLD)
DECISION = {"category": "0", "origin": "camera", "victim_identified": "unknown"}


def reveal(browser: Browser, item: int) -> dict[str, object]:
    answer = browser.api("POST", f"/api/items/{item}/reveals")
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def audit_actions(case: ReviewCase) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.subject) for e in case.store.audit_log().entries()]


def test_previews_are_blurred_and_greyscale_and_never_cached(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER)
    item = case.items["lone-a.png"]
    renderer = PreviewRenderer(case.store)
    for path, expected in (
        (f"/items/{item}/preview", renderer.render(item, DEFAULT_PREFS)),
        (f"/items/{item}/thumbnail", renderer.thumbnail(item, DEFAULT_PREFS)),
    ):
        answer = browser.get(path)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/jpeg"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
        assert answer.content == expected.data
        assert Image.open(io.BytesIO(answer.content)).mode == "L"
    unblurred = renderer.render(item, DEFAULT_PREFS, revealed=True).data
    assert browser.get(f"/items/{item}/preview").content != unblurred
    assert browser.get("/items/99999/preview").status_code == 404


def test_a_reveal_serves_the_unblurred_picture_to_its_account_only_and_briefly(
    case: ReviewCase,
) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    item = case.items["lone-b.png"]
    started = reveal(reviewer, item)
    url = str(started["image_url"])
    assert re.fullmatch(r"/reveals/\d+/image", url)
    revealed = reviewer.get(url)
    assert revealed.status_code == 200 and revealed.headers["cache-control"] == "no-store"
    assert (
        revealed.content
        == PreviewRenderer(case.store).render(item, DEFAULT_PREFS, revealed=True).data
    )
    assert (ACCOUNTS[Role.REVIEWER], "reveal", f"item:{item}") in audit_actions(case)
    # Not for anyone else, even a role that may reveal.
    assert case.sign_in(Role.SUPERVISOR).get(url).status_code == 404
    assert case.sign_in(Role.REVIEWER, SECOND_REVIEWER).get(url).status_code == 404
    assert case.sign_in(Role.AUDITOR).get(url).status_code == 403
    # The blurred preview stays blurred while the reveal is open.
    assert reviewer.get(f"/items/{item}/preview").content != revealed.content
    # Not after the window, nor after the browser ended it.
    case.clock.advance(21)
    assert reviewer.get(url).status_code == 404
    again = reveal(reviewer, item)
    ended = reviewer.api("POST", f"/api/reveals/{again['reveal_id']}/end", {"seconds": 3.5})
    assert ended.json() == {"seconds": 2.0}  # the clock stood still: 0 s + 2 s of slack
    assert reviewer.get(str(again["image_url"])).status_code == 404
    other = case.sign_in(Role.REVIEWER, SECOND_REVIEWER)
    foreign = other.api("POST", f"/api/reveals/{again['reveal_id']}/end", {"seconds": 1})
    assert foreign.status_code == 400


def test_the_generator_prompt_is_shown_only_behind_a_reveal(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    item = case.items["prompted.png"]
    page = reviewer.get(f"/items/{item}").text
    assert PROMPT not in page and "reveal to read it" in page
    assert PROMPT not in reviewer.get(f"/api/items/{item}").text
    started = reveal(reviewer, item)
    assert started["prompts"] == [PROMPT]
    shown = reviewer.get(f"/items/{item}?reveal={started['reveal_id']}").text
    assert PROMPT in shown and f'src="/reveals/{started["reveal_id"]}/image"' in shown
    # Another account's page with the same reveal number shows nothing.
    supervisor = case.sign_in(Role.SUPERVISOR)
    assert PROMPT not in supervisor.get(f"/items/{item}?reveal={started['reveal_id']}").text
    case.clock.advance(30)
    assert PROMPT not in reviewer.get(f"/items/{item}?reveal={started['reveal_id']}").text


def test_a_prompt_is_shown_as_text_never_as_markup(case: ReviewCase) -> None:
    item = case.items["prompted.png"]
    keep_prompt(case.store, item, '<img src=x onerror="alert(1)"> a harbour')
    reviewer = case.sign_in(Role.REVIEWER)
    started = reveal(reviewer, item)
    page = reviewer.get(f"/items/{item}?reveal={started['reveal_id']}").text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; a harbour" in page
    assert "<img src=x" not in page


def test_the_plain_form_reveals_and_blurs_again(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    item = case.items["lone-a.png"]
    answer = reviewer.form(f"/items/{item}/reveal", {"queue": "bank=unmatched"})
    assert answer.status_code == 303
    location = answer.headers["location"]
    match = re.fullmatch(rf"/items/{item}\?bank=unmatched&reveal=(\d+)", location)
    assert match, location
    reveal_id = int(match.group(1))
    page = reviewer.get(location).text
    assert f'src="/reveals/{reveal_id}/image"' in page and "Blur again" in page
    assert reviewer.get(f"/reveals/{reveal_id}/image").status_code == 200
    # The page tells the live meter how long the reveal has lasted: it counts on
    # from the server's figure, which already includes the open reveal.
    case.clock.advance(3)
    again = reviewer.get(location).text
    assert f'data-reveal-id="{reveal_id}" data-reveal-age="3.0"' in again
    assert re.search(r'<strong id="exposure-seconds" data-seconds="3\.0">3 s</strong>', again)
    case.clock.advance(1)
    hidden = reviewer.form(
        f"/reveals/{reveal_id}/end", {"item_id": item, "queue": "bank=unmatched"}
    )
    assert hidden.headers["location"] == f"/items/{item}?bank=unmatched"
    with case.session() as session:
        seconds = session.scalar(select(RevealRow.seconds).where(RevealRow.id == reveal_id))
    assert seconds == pytest.approx(6.0)  # 4 s on the clock, 2 s of slack at most
    assert f'src="/items/{item}/preview"' in reviewer.get(f"/items/{item}").text


def test_reveals_stop_at_the_budget_until_a_supervisor_extends_it(case: ReviewCase) -> None:
    admin = case.sign_in(Role.ADMIN)
    assert (
        admin.api("PUT", "/api/settings/daily_exposure_budget_s", {"value": 60}).status_code == 200
    )
    reviewer = case.sign_in(Role.REVIEWER)
    item = case.items["lone-a.png"]
    first = reveal(reviewer, item)
    case.clock.advance(61)
    reviewer.api("POST", f"/api/reveals/{first['reveal_id']}/end", {"seconds": 61})
    refused = reviewer.api("POST", f"/api/items/{item}/reveals")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "You have reached today's limit of 1 minute of unblurred viewing. "
        "Take a break; a supervisor can extend it."
    )
    page = reviewer.form(f"/items/{item}/reveal")
    assert page.status_code == 403 and "limit of 1 minute" in page.text
    assert 'class="meter spent"' in page.text
    # Blurred review goes on.
    assert reviewer.get(f"/items/{item}/preview").status_code == 200
    supervisor = case.sign_in(Role.SUPERVISOR)
    exposure = supervisor.get("/supervise/exposure").text
    assert ACCOUNTS[Role.REVIEWER] in exposure
    extended = supervisor.form(f"/supervise/exposure/{ACCOUNTS[Role.REVIEWER]}", {"minutes": 5})
    assert extended.status_code == 303
    assert (
        ACCOUNTS[Role.SUPERVISOR],
        "exposure-extended",
        f"account:{ACCOUNTS[Role.REVIEWER]}",
    ) in audit_actions(case)
    assert reviewer.api("POST", f"/api/items/{item}/reveals").status_code == 201
    by_api = supervisor.api(
        "POST", f"/api/exposure/{ACCOUNTS[Role.REVIEWER]}/extensions", {"seconds": 120}
    )
    assert by_api.json()["allowance_s"] == 60 + 300 + 120
    assert reviewer.get("/api/me").json()["allowance_s"] == 480
    assert (
        supervisor.api("POST", "/api/exposure/nobody/extensions", {"seconds": 5}).status_code == 404
    )


def test_viewed_unblurred_comes_from_the_reveals_not_from_the_client(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    plain, looked = case.items["lone-a.png"], case.items["lone-b.png"]
    claimed = reviewer.api(
        "POST", f"/api/items/{plain}/decisions", {**DECISION, "viewed_unblurred": True}
    )
    assert claimed.status_code == 201
    assert claimed.json()["decisions"][0]["viewed_unblurred"] is False
    assert claimed.json()["status"] == "final"
    reveal(reviewer, looked)
    seen = reviewer.api("POST", f"/api/items/{looked}/decisions", DECISION)
    assert seen.json()["decisions"][0]["viewed_unblurred"] is True
    # Another account's reveal does not count for this one.
    other = case.sign_in(Role.REVIEWER, SECOND_REVIEWER)
    again = other.api("POST", f"/api/items/{looked}/decisions", DECISION)
    assert again.json()["decisions"][0]["viewed_unblurred"] is False
    entries = [e for e in case.store.audit_log().entries() if e.action == "decision"]
    assert [(e.subject, e.detail["viewed_unblurred"]) for e in entries] == [
        (f"item:{plain}", False),
        (f"item:{looked}", True),
        (f"item:{looked}", False),
    ]
    assert "notes" not in entries[0].detail


def test_one_decision_for_a_stack_records_each_member_with_what_was_seen(
    case: ReviewCase,
) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    big, small = case.items["stack-big.png"], case.items["stack-small.jpg"]
    page = reviewer.get(f"/items/{big}").text
    assert "Decide for the whole stack (2 items)" in page
    assert f'src="/items/{small}/thumbnail"' in page
    reveal(reviewer, small)
    answer = reviewer.form(
        f"/items/{big}/decision",
        {
            "category": "4",
            "origin": "camera",
            "victim_identified": "no",
            "series_name": "",
            "notes": "same scene, two sizes",
            "whole_stack": "yes",
            "queue": "",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(("/items/", "/series/", "/queue"))
    with case.session() as session:
        rows = {
            row.item_id: row
            for row in session.scalars(select(DecisionRow).order_by(DecisionRow.item_id))
        }
    assert set(rows) == {big, small}
    assert {row.stack_id for row in rows.values()} == {1}
    assert rows[small].viewed_unblurred is True and rows[big].viewed_unblurred is False
    assert rows[big].notes == "same scene, two sizes" and rows[big].victim_identified == "no"
    # Unticked, the decision is for the one item only.
    reviewer.form(f"/items/{big}/decision", {"category": "0", "queue": ""})
    with case.session() as session:
        newest = session.scalars(select(DecisionRow).order_by(DecisionRow.id.desc())).first()
    assert newest is not None and (newest.item_id, newest.stack_id) == (big, None)


def test_a_decision_after_the_form_leads_to_the_next_unit_of_the_same_queue(
    case: ReviewCase,
) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    order = reviewer.get("/api/queue?state=undecided&series=no-series").json()["units"]
    first, second = order[0], order[1]
    answer = reviewer.form(
        f"/items/{first['representative']}/decision",
        {"category": "0", "whole_stack": "yes", "queue": "state=undecided&series=no-series"},
    )
    assert answer.headers["location"] == (
        f"/items/{second['representative']}?series=no-series&state=undecided"
    )
    bad = reviewer.form(f"/items/{first['representative']}/decision", {"category": "9"})
    assert bad.status_code == 400 and "not in the project-vic scheme" in bad.text


def test_a_bank_that_needs_two_reviewers_makes_a_decision_final_only_when_confirmed(
    case: ReviewCase,
) -> None:
    admin = case.sign_in(Role.ADMIN)
    banks = admin.get("/admin/banks").text
    assert "bank-1" in banks and "not required" in banks
    assert admin.form("/admin/banks/bank-1/two-reviewers", {"required": "yes"}).status_code == 303
    assert admin.get("/api/settings").json()["two_reviewer_banks"] == ["bank-1"]
    item = case.items["matched.png"]
    first = case.sign_in(Role.REVIEWER)
    second = case.sign_in(Role.REVIEWER, SECOND_REVIEWER)
    decided = first.api("POST", f"/api/items/{item}/decisions", {**DECISION, "category": "2"})
    assert decided.json()["status"] == "awaiting-confirmation"
    first_id = decided.json()["decisions"][0]["id"]
    awaiting = second.get("/api/queue?state=awaiting-confirmation").json()["units"]
    assert [unit["representative"] for unit in awaiting] == [item]
    # The same reviewer again does not confirm; neither does a disagreeing second one.
    again = first.api("POST", f"/api/items/{item}/decisions", {**DECISION, "category": "2"})
    assert again.json()["status"] == "awaiting-confirmation"
    # The second reviewer decides without seeing the first one's decision.
    assert second.get(f"/api/items/{item}/decisions").json()["decisions"] == []
    assert "Decisions</h3>" not in second.get(f"/items/{item}").text
    differs = second.api("POST", f"/api/items/{item}/decisions", {**DECISION, "category": "1"})
    assert differs.json()["status"] == "awaiting-confirmation"
    assert differs.json()["decisions"][0]["confirms"] is None
    agrees = first.api("POST", f"/api/items/{item}/decisions", {**DECISION, "category": "1"})
    assert agrees.json()["status"] == "final"
    assert agrees.json()["decisions"][0]["confirms"] == differs.json()["decisions"][0]["id"]
    assert first_id < agrees.json()["decisions"][0]["id"]
    assert second.get("/api/queue?state=awaiting-confirmation").json()["units"] == []
    everyone = case.sign_in(Role.SUPERVISOR).get(f"/api/items/{item}/decisions").json()
    assert len(everyone["decisions"]) == 4 and everyone["status"] == "final"


def test_items_outside_such_banks_need_one_reviewer(case: ReviewCase) -> None:
    admin = case.sign_in(Role.ADMIN)
    admin.api("PUT", "/api/settings/two_reviewer_banks", {"value": ["bank-1"]})
    reviewer = case.sign_in(Role.REVIEWER)
    lone = case.items["lone-a.png"]
    assert reviewer.api("POST", f"/api/items/{lone}/decisions", DECISION).json()["status"] == (
        "final"
    )


def test_a_break_is_suggested_after_continuous_review(case: ReviewCase) -> None:
    admin = case.sign_in(Role.ADMIN)
    admin.api("PUT", "/api/settings/break_after_min", {"value": 5})
    reviewer = case.sign_in(Role.REVIEWER)
    assert "take a break" not in reviewer.get("/queue").text
    for name in ("lone-a.png", "lone-b.png", "matched.png", "prompted.png"):
        reviewer.api("POST", f"/api/items/{case.items[name]}/decisions", DECISION)
        case.clock.advance(110)
    page = reviewer.get("/queue").text
    assert "Please take a break" in page and 'id="break-banner"' in page
    assert reviewer.get("/api/me").json()["break_due"] is True
    case.clock.advance(6 * 60)  # a pause
    assert "Please take a break" not in reviewer.get("/queue").text


def test_own_preferences_change_how_previews_look(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    item = case.items["lone-a.png"]
    page = reviewer.get("/account").text
    assert "organisation default" in page
    saved = reviewer.form(
        "/account/preferences", {"blur": "12", "greyscale": "no", "reveal_mode": "toggle"}
    )
    assert saved.status_code == 303
    picture = reviewer.get(f"/items/{item}/preview").content
    assert (
        picture
        == PreviewRenderer(case.store).render(item, PreviewPrefs(12, False, RevealMode.TOGGLE)).data
    )
    assert Image.open(io.BytesIO(picture)).mode == "RGB"
    assert 'data-reveal-mode="toggle"' in reviewer.get(f"/items/{item}").text
    weaker = reviewer.form("/account/preferences", {"blur": "1"})
    assert weaker.status_code == 400  # below the weakest blur allowed
