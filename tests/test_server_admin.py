"""Administration, the audit log and exports through the review server."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import update

from clearsight.review.accounts import Role
from clearsight.store.review_models import AuditEntryRow

from .server_support import (
    ACCOUNTS,
    PASSWORD,
    SECOND_REVIEWER,
    ReviewCase,
    TestClient,
    sign_in,
)

NEW_PASSWORD = "another benign passphrase"


def test_an_admin_adds_disables_and_resets_accounts_and_each_change_is_audited(
    case: ReviewCase,
) -> None:
    admin = case.sign_in(Role.ADMIN)
    added = admin.form(
        "/admin/users", {"name": "nia.reviewer", "role": "reviewer", "password": PASSWORD}
    )
    assert added.status_code == 303
    assert "nia.reviewer" in admin.get("/admin/users").text
    newcomer = sign_in(case.app, "nia.reviewer", PASSWORD)
    assert newcomer.get("/api/me").json()["role"] == "reviewer"
    assert admin.form("/admin/users/nia.reviewer/disable").status_code == 303
    assert newcomer.get("/api/me").status_code == 401  # signed out everywhere
    assert admin.form("/admin/users/nia.reviewer/enable").status_code == 303
    reset = admin.form("/admin/users/nia.reviewer/password", {"password": NEW_PASSWORD})
    assert reset.status_code == 303
    sign_in(case.app, "nia.reviewer", NEW_PASSWORD)
    short = admin.form("/admin/users", {"name": "x", "role": "auditor", "password": "short"})
    assert short.status_code == 400 and "too short" in short.text
    by_api = admin.api(
        "POST", "/api/users", {"name": "ola.auditor", "role": "auditor", "password": PASSWORD}
    )
    assert by_api.status_code == 201 and by_api.json()["role"] == "auditor"
    assert admin.api("POST", "/api/users/ola.auditor/disable").json()["disabled"] is True
    listed = {a["name"]: a for a in admin.get("/api/users").json()}
    assert listed["ola.auditor"]["disabled"] and not listed["nia.reviewer"]["disabled"]
    actions = [(e.actor, e.action, e.subject) for e in case.store.audit_log().entries()]
    admin_name = ACCOUNTS[Role.ADMIN]
    for action, subject in (
        ("user-added", "account:nia.reviewer"),
        ("user-disabled", "account:nia.reviewer"),
        ("user-enabled", "account:nia.reviewer"),
        ("password-reset", "account:nia.reviewer"),
        ("user-added", "account:ola.auditor"),
    ):
        assert (admin_name, action, subject) in actions
    everything = json.dumps([e.detail for e in case.store.audit_log().entries()])
    assert PASSWORD not in everything and NEW_PASSWORD not in everything


def test_settings_are_validated_and_audited(case: ReviewCase) -> None:
    admin = case.sign_in(Role.ADMIN)
    page = admin.get("/admin/settings").text
    assert "daily_exposure_budget_s" in page and "set when the case is set up" in page
    assert admin.form("/admin/settings/blur", {"value": "8"}).status_code == 303
    assert admin.form("/admin/settings/greyscale", {"value": "false"}).status_code == 303
    assert admin.get("/api/settings").json()["blur"] == 8
    assert admin.form("/admin/settings/blur", {"value": "1"}).status_code == 400
    assert admin.form("/admin/settings/blur", {"value": "soft"}).status_code == 400
    assert admin.form("/admin/settings/category_scheme", {"value": "x"}).status_code == 404
    bad = admin.api("PUT", "/api/settings/break_after_min", {"value": 1})
    assert bad.status_code == 400
    entries = [e for e in case.store.audit_log().entries() if e.action == "setting-changed"]
    assert [(e.subject, e.detail["new"]) for e in entries] == [
        ("setting:blur", 8),
        ("setting:greyscale", False),
    ]


def test_the_banks_page_lists_case_banks_and_their_two_reviewer_rule(case: ReviewCase) -> None:
    admin = case.sign_in(Role.ADMIN)
    banks = admin.get("/api/banks").json()
    assert [(b["name"], b["in_bank_store"], b["two_reviewers"]) for b in banks] == [
        ("bank-1", False, False)
    ]
    changed = admin.api("PUT", "/api/banks/bank-1", {"two_reviewers": True})
    assert changed.json()["two_reviewers"] is True
    assert admin.api("PUT", "/api/banks/no-such-bank", {"two_reviewers": True}).status_code == 404
    no_store = admin.api("PUT", "/api/banks/bank-1", {"enabled": False})
    assert no_store.status_code == 400 and "no bank store" in no_store.text


def test_the_auditor_reads_the_log_pages_it_and_checks_the_chain(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    reviewer.api("POST", f"/api/items/{case.items['lone-a.png']}/reveals")
    auditor = case.sign_in(Role.AUDITOR)
    page = auditor.get("/audit").text
    for text in ("login", "reveal", f"item:{case.items['lone-a.png']}", ACCOUNTS[Role.REVIEWER]):
        assert text in page
    entries = auditor.get("/api/audit?limit=3").json()
    assert len(entries) == 3 and entries[0]["id"] > entries[1]["id"] > entries[2]["id"]
    older = auditor.get(f"/api/audit?limit=3&before={entries[-1]['id']}").json()
    assert older[0]["id"] == entries[-1]["id"] - 1
    verified = auditor.get("/api/audit/verify").json()
    assert verified["intact"] is True and verified["entries"] >= 8
    assert "Intact:" in auditor.get("/audit/verify").text
    with case.session() as session, session.begin():
        session.execute(
            update(AuditEntryRow).where(AuditEntryRow.id == 3).values(actor="someone else")
        )
    broken = auditor.get("/api/audit/verify").json()
    assert (broken["intact"], broken["broken_at"]) == (False, 3)
    assert "Broken at entry 3" in auditor.get("/audit/verify").text
    # Read-only: no reveal, no decision.
    item = case.items["lone-a.png"]
    assert auditor.api("POST", f"/api/items/{item}/reveals").status_code == 403
    assert "reveal-form" not in auditor.get(f"/items/{item}").text


def test_a_reviewer_reaches_no_admin_page(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    for path in ("/admin/users", "/admin/settings", "/admin/banks", "/audit", "/api/users"):
        answer = reviewer.get(path)
        assert answer.status_code == 403, path
        assert ACCOUNTS[Role.ADMIN] not in answer.text
    page = reviewer.get("/queue").text
    assert "/admin/" not in page and 'href="/audit"' not in page
    forged = reviewer.form(
        "/admin/users", {"name": "mallory", "role": "admin", "password": PASSWORD}
    )
    assert forged.status_code == 403
    assert case.sign_in(Role.ADMIN).get("/api/users").text.count("mallory") == 0


def test_a_supervisor_exports_and_the_export_is_audited_with_its_digest(
    case: ReviewCase,
) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    reviewer.api(
        "POST",
        f"/api/items/{case.items['lone-a.png']}/decisions",
        {"category": "0", "origin": "camera", "victim_identified": "unknown"},
    )
    supervisor = case.sign_in(Role.SUPERVISOR)
    assert "Export and download" in supervisor.get("/supervise/export").text
    answer = supervisor.form("/supervise/export", {"format": "json", "select": "all"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith('attachment; filename="')
    assert answer.headers["cache-control"] == "no-store"
    digest = hashlib.sha256(answer.content).hexdigest()
    assert answer.headers["x-export-sha256"] == digest
    export = case.store.audit_log().entries(newest_first=True, limit=1)[0]
    assert (export.actor, export.action, export.detail["sha256"]) == (
        ACCOUNTS[Role.SUPERVISOR],
        "export",
        digest,
    )
    by_api = supervisor.api("POST", "/api/exports", {"format": "csv"})
    assert by_api.status_code == 200 and by_api.headers["content-type"].startswith("text/csv")
    assert supervisor.api("POST", "/api/exports", {"format": "cybertip"}).status_code == 400
    assert reviewer.api("POST", "/api/exports", {"format": "json"}).status_code == 403


def test_a_supervisor_sees_every_decision(case: ReviewCase) -> None:
    for name in (ACCOUNTS[Role.REVIEWER], SECOND_REVIEWER):
        browser = case.sign_in(Role.REVIEWER, name)
        browser.api(
            "POST",
            f"/api/items/{case.items['lone-b.png']}/decisions",
            {"category": "0", "origin": "unsure", "victim_identified": "unknown"},
        )
    supervisor = case.sign_in(Role.SUPERVISOR)
    decisions = supervisor.get("/api/decisions").json()
    assert {d["reviewer"] for d in decisions} == {ACCOUNTS[Role.REVIEWER], SECOND_REVIEWER}
    page = supervisor.get("/supervise/decisions").text
    assert SECOND_REVIEWER in page and ACCOUNTS[Role.REVIEWER] in page
    assert "lone-b.png</a>" in page  # the file's name, not its row number
    assert case.sign_in(Role.AUDITOR).get("/api/decisions").status_code == 200
    assert TestClient(case.app).get("/api/decisions").status_code == 401


def test_the_last_active_admin_cannot_disable_themselves(case: ReviewCase) -> None:
    admin = case.sign_in(Role.ADMIN)
    name = ACCOUNTS[Role.ADMIN]
    by_form = admin.form(f"/admin/users/{name}/disable")
    assert by_form.status_code == 400 and "is the last active admin" in by_form.text
    by_api = admin.api("POST", f"/api/users/{name}/disable")
    assert by_api.status_code == 400
    assert by_api.json()["detail"].startswith(f"'{name}' is the last active admin account")
    assert admin.get("/api/me").status_code == 200  # still signed in, still an admin
    second = {"name": "ida.admin", "role": "admin", "password": PASSWORD}
    assert admin.api("POST", "/api/users", second).status_code == 201
    assert admin.api("POST", "/api/users/ida.admin/disable").status_code == 200
    assert admin.api("POST", f"/api/users/{name}/disable").status_code == 400
    assert admin.api("POST", "/api/users/ida.admin/enable").status_code == 200
    # With another admin active, an admin may step down, and is signed out at once.
    assert admin.api("POST", f"/api/users/{name}/disable").json()["disabled"] is True
    assert admin.get("/api/me").status_code == 401
    other = sign_in(case.app, "ida.admin", PASSWORD)
    assert other.api("POST", "/api/users/ida.admin/disable").status_code == 400
    actions = [(e.action, e.subject) for e in case.store.audit_log().entries()]
    assert actions.count(("user-disabled", f"account:{name}")) == 1
