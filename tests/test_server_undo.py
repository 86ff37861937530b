"""Taking back the last decision: a number key decides at once, so for a few seconds
the reviewer who made a decision may undo it. The server, not the page, enforces the
rule: a late undo, someone else's, or one of a decision that is no longer the last is
refused, and every undo is in the audit log."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from clearsight.review.accounts import Role
from clearsight.store.review_models import DecisionRow

from .server_support import SECOND_REVIEWER, Browser, ReviewCase, TestClient

DECISION = {"category": "0", "origin": "camera", "victim_identified": "unknown"}


def decide(browser: Browser, item: int, **changes: str) -> int:
    answer = browser.api("POST", f"/api/items/{item}/decisions", {**DECISION, **changes})
    assert answer.status_code == 201, answer.text
    decision_id: int = answer.json()["decisions"][0]["id"]
    return decision_id


def undo(browser: Browser, decision_id: int) -> tuple[int, str]:
    answer = browser.api("POST", f"/api/decisions/{decision_id}/undo")
    return answer.status_code, answer.json()["detail"] if answer.status_code != 200 else ""


def decision_count(case: ReviewCase, item: int) -> int:
    with case.session() as session:
        return (
            session.scalar(select(func.count(DecisionRow.id)).where(DecisionRow.item_id == item))
            or 0
        )


def test_the_page_after_a_keyed_decision_offers_to_undo_it_and_the_undo_is_audited(
    case: ReviewCase,
) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    item = case.items["lone-a.png"]
    # The number key submits this form; the server moves on to the next unit.
    answer = reviewer.form(f"/items/{item}/decision", {"category": "1", "queue": ""})
    assert answer.status_code == 303
    following = reviewer.get(answer.headers["location"]).text
    banner = re.search(r'<div class="banner undo".*?</div>', following, re.S)
    assert banner, following
    assert "lone-a.png" in banner.group(0) and "Category 1" in banner.group(0)
    assert 'data-seconds-left="10.0"' in banner.group(0)  # the clock stands still
    action = re.search(r'action="/decisions/(\d+)/undo"', banner.group(0))
    assert action is not None
    undone = reviewer.form(f"/decisions/{action.group(1)}/undo", {"queue": ""})
    assert undone.status_code == 303 and undone.headers["location"] == f"/items/{item}"
    assert decision_count(case, item) == 0
    again = reviewer.get(f"/items/{item}").text
    assert "Not decided yet." in again and 'id="undo-banner"' not in again
    entries = case.store.audit_log().entries()
    actions = [(e.actor, e.action, e.subject) for e in entries]
    assert actions[-2:] == [
        ("rita.reviewer", "decision", f"item:{item}"),
        ("rita.reviewer", "decision-undone", f"item:{item}"),
    ]
    assert entries[-1].detail["decision"] == int(action.group(1))
    assert entries[-1].detail["category"] == "1"
    assert case.store.audit_log().verify().intact
    # Deciding again makes a new decision, never one under the id taken back.
    again_id = decide(reviewer, item)
    assert again_id > int(action.group(1))
    named = [
        e.detail["decision"] for e in case.store.audit_log().entries() if e.action == "decision"
    ]
    assert len(named) == len(set(named))


def test_an_undo_that_is_late_someone_elses_or_not_of_the_last_decision_is_refused(
    case: ReviewCase,
) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    older = decide(reviewer, case.items["lone-a.png"])
    last = decide(reviewer, case.items["lone-b.png"])
    assert undo(reviewer, older) == (409, "only your last decision can be taken back")
    for other in (case.sign_in(Role.REVIEWER, SECOND_REVIEWER), case.sign_in(Role.SUPERVISOR)):
        status, detail = undo(other, last)
        assert (status, detail) == (409, "only the reviewer who made a decision can take it back")
    assert undo(reviewer, 99_999) == (409, "there is no decision 99999")
    case.clock.advance(10.5)
    status, detail = undo(reviewer, last)
    assert status == 409 and "taken back for 10 s" in detail
    assert 'id="undo-banner"' not in reviewer.get("/queue").text
    assert decision_count(case, case.items["lone-b.png"]) == 1
    assert "decision-undone" not in {e.action for e in case.store.audit_log().entries()}
    # The window is the organisation's to set: at 30 s the same undo is in time.
    admin = case.sign_in(Role.ADMIN)
    assert admin.api("PUT", "/api/settings/undo_window_s", {"value": 30}).status_code == 200
    assert 'id="undo-banner"' in reviewer.get("/queue").text
    answer = reviewer.api("POST", f"/api/decisions/{last}/undo")
    assert answer.status_code == 200, answer.text
    assert [d["id"] for d in answer.json()["undone"]] == [last]
    assert answer.json()["status"] == "undecided"
    assert admin.api("PUT", "/api/settings/undo_window_s", {"value": 0}).status_code == 200
    never = decide(reviewer, case.items["lone-b.png"])
    assert undo(reviewer, never)[0] == 409


def test_a_confirmed_decision_stays_but_the_confirmation_can_be_taken_back(
    case: ReviewCase,
) -> None:
    admin = case.sign_in(Role.ADMIN)
    admin.api("PUT", "/api/settings/two_reviewer_banks", {"value": ["bank-1"]})
    item = case.items["matched.png"]
    first = case.sign_in(Role.REVIEWER)
    second = case.sign_in(Role.REVIEWER, SECOND_REVIEWER)
    decided = decide(first, item, category="2")
    confirmed = decide(second, item, category="2")
    status = second.get(f"/api/items/{item}/decisions").json()["status"]
    assert status == "final"
    # The first reviewer's decision is confirmed: it can no longer be withdrawn alone.
    refused = undo(first, decided)
    assert refused[0] == 409 and "another decision was made on this item" in refused[1]
    answer = second.api("POST", f"/api/decisions/{confirmed}/undo")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "awaiting-confirmation"
    assert decision_count(case, item) == 1


def test_a_decision_for_a_stack_is_taken_back_for_each_member(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    big, small = case.items["stack-big.png"], case.items["stack-small.jpg"]
    decided = reviewer.api(
        "POST", f"/api/items/{big}/decisions", {**DECISION, "whole_stack": True}
    ).json()["decisions"]
    assert {d["item_id"] for d in decided} == {big, small}
    assert "and 1 more of its stack" in reviewer.get("/queue").text
    answer = reviewer.api("POST", f"/api/decisions/{decided[-1]['id']}/undo")
    assert answer.status_code == 200, answer.text
    assert {d["item_id"] for d in answer.json()["undone"]} == {big, small}
    assert decision_count(case, big) == decision_count(case, small) == 0
    undone = [e.subject for e in case.store.audit_log().entries() if e.action == "decision-undone"]
    assert sorted(undone) == sorted([f"item:{big}", f"item:{small}"])


def test_undo_needs_a_signed_in_reviewer_and_the_csrf_token(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    last = decide(reviewer, case.items["lone-a.png"])
    anonymous = TestClient(case.app)
    api = anonymous.post(f"/api/decisions/{last}/undo", json={})
    assert api.status_code == 401
    form = anonymous.post(f"/decisions/{last}/undo", data={}, follow_redirects=False)
    assert form.status_code == 401 and form.headers["x-clearsight-refused"] == "sign-in"
    for role in (Role.AUDITOR, Role.ADMIN):
        other = case.sign_in(role)
        assert other.api("POST", f"/api/decisions/{last}/undo").status_code == 403
        assert other.form(f"/decisions/{last}/undo").status_code == 403
    no_token = reviewer.client.post(f"/api/decisions/{last}/undo", json={})
    assert no_token.status_code == 403
    form_without = reviewer.client.post(f"/decisions/{last}/undo", data={}, follow_redirects=False)
    assert form_without.status_code == 403
    assert decision_count(case, case.items["lone-a.png"]) == 1
    assert undo(reviewer, last)[0] == 200


def test_the_undo_window_is_a_few_seconds_at_most(case: ReviewCase) -> None:
    admin = case.sign_in(Role.ADMIN)
    for value in (-1, 121, 2.5, True):
        answer = admin.api("PUT", "/api/settings/undo_window_s", {"value": value})
        assert answer.status_code in (400, 422), (value, answer.text)
    assert admin.form("/admin/settings/undo_window_s", {"value": "120"}).status_code == 303
    assert admin.get("/api/settings").json()["undo_window_s"] == 120
