"""Hostile requests get a 4xx with the usual headers: bodies over the limit (413) and ids
no database column can hold (422), and even an unforeseen failure (500) is answered
with the headers. The real server process under a huge body is in test_server_process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from clearsight.review.accounts import Role
from clearsight.server.headers import CONTENT_SECURITY_POLICY

from .server_support import SECOND_REVIEWER, ReviewCase, TestClient

HUGE = "99999999999999999999"  # over 2^64
ANONYMOUS_LIMIT = 16 * 1024
SIGNED_IN_LIMIT = 1024 * 1024


def assert_guarded(answer: httpx.Response) -> None:
    """The answer carries the security headers every answer must."""
    headers = answer.headers
    assert headers["cache-control"] == "no-store", (answer.request.url, answer.status_code)
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def chunks(total: int, size: int = 4096) -> Iterator[bytes]:
    """A body of ``total`` bytes sent chunked (no Content-Length)."""
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def test_a_sign_in_body_over_the_small_limit_is_refused_before_parsing(case: ReviewCase) -> None:
    anonymous = TestClient(case.app)
    password = "p" * (ANONYMOUS_LIMIT + 100)
    refused = anonymous.post("/api/login", json={"name": "rita.reviewer", "password": password})
    assert refused.status_code == 413
    assert str(ANONYMOUS_LIMIT) in refused.json()["detail"]
    assert_guarded(refused)
    form = anonymous.post("/login", data={"name": "x", "password": password, "login_token": "t"})
    assert form.status_code == 413 and "too large" in form.text
    assert_guarded(form)
    streamed = anonymous.post(
        "/api/login",
        content=chunks(ANONYMOUS_LIMIT * 4),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert_guarded(streamed)
    # Under the limit, the body is parsed, and its own checks answer.
    under = anonymous.post("/api/login", json={"name": "x", "password": "p" * 4096})
    assert under.status_code == 422


def test_a_signed_in_body_has_a_larger_limit(case: ReviewCase) -> None:
    reviewer = case.sign_in(Role.REVIEWER)
    item = case.items["lone-a.png"]
    decision = {"category": "1", "origin": "unsure", "victim_identified": "unknown"}
    # Over the anonymous limit but under the signed-in one: parsed (and too long a note).
    long_notes = reviewer.api(
        "POST", f"/api/items/{item}/decisions", {**decision, "notes": "n" * 100_000}
    )
    assert long_notes.status_code == 422
    huge_notes = reviewer.api(
        "POST", f"/api/items/{item}/decisions", {**decision, "notes": "n" * SIGNED_IN_LIMIT}
    )
    assert huge_notes.status_code == 413
    assert_guarded(huge_notes)
    streamed = reviewer.client.post(
        f"/api/items/{item}/decisions",
        content=chunks(SIGNED_IN_LIMIT + 1, 64 * 1024),
        headers={"X-CSRF-Token": reviewer.csrf, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    # The session is none the worse: the next request goes through.
    assert reviewer.api("POST", f"/api/items/{item}/decisions", decision).status_code == 201


def test_a_content_length_that_is_not_a_number_is_refused(case: ReviewCase) -> None:
    anonymous = TestClient(case.app)
    answer = anonymous.post("/api/login", content=b"{}", headers={"Content-Length": "12abc"})
    assert answer.status_code in (400, 413)


def test_ids_no_column_can_hold_are_refused_with_4xx(case: ReviewCase) -> None:
    supervisor = case.sign_in(Role.SUPERVISOR)
    reviewer = case.sign_in(Role.REVIEWER)
    item = case.items["lone-a.png"]
    answers = [
        supervisor.get(f"/api/items/{HUGE}"),
        supervisor.get(f"/items/{HUGE}"),
        supervisor.get(f"/items/{2**63}/preview"),
        supervisor.get(f"/items/{HUGE}/thumbnail"),
        supervisor.get(f"/series/{HUGE}"),
        supervisor.get(f"/api/series/{HUGE}"),
        supervisor.get(f"/api/items/{HUGE}/decisions"),
        supervisor.get(f"/items/{item}?reveal={HUGE}"),
        supervisor.get("/items/0"),
        supervisor.get("/items/-1"),
        supervisor.get(f"/api/decisions?before={HUGE}"),
        supervisor.get(f"/supervise/decisions?before={HUGE}"),
        supervisor.get(f"/api/queue?after=50.0_item_{HUGE}"),
        supervisor.get(f"/api/queue?before=50.0_item_{HUGE}"),
        supervisor.get(f"/api/queue?series={HUGE}"),
        supervisor.get(f"/queue?series={'9' * 5000}"),
        supervisor.get("/api/queue?series=\N{SUPERSCRIPT TWO}"),
        reviewer.get(f"/reveals/{HUGE}/image"),
        reviewer.api("POST", f"/api/items/{HUGE}/reveals"),
        reviewer.api("POST", f"/api/reveals/{HUGE}/end", {"seconds": 1}),
        reviewer.api(
            "POST",
            f"/api/items/{HUGE}/decisions",
            {"category": "1", "origin": "unsure", "victim_identified": "unknown"},
        ),
        reviewer.form(f"/items/{HUGE}/reveal"),
        reviewer.form(f"/reveals/{HUGE}/end", {"item_id": item}),
        reviewer.form("/reveals/1/end", {"item_id": HUGE}),
        reviewer.form(f"/items/{HUGE}/decision", {"category": "1"}),
        supervisor.api("POST", "/api/assignments", {"reviewer": SECOND_REVIEWER, "item_id": HUGE}),
        supervisor.api(
            "POST", "/api/assignments", {"reviewer": SECOND_REVIEWER, "series_id": int(HUGE)}
        ),
        supervisor.form(f"/items/{HUGE}/assignment", {"reviewer": SECOND_REVIEWER}),
        supervisor.form(f"/series/{HUGE}/assignment", {"reviewer": SECOND_REVIEWER}),
    ]
    case.sign_in(Role.AUDITOR)
    auditor = case.sign_in(Role.AUDITOR)
    answers += [auditor.get(f"/api/audit?before={HUGE}"), auditor.get(f"/audit?before={HUGE}")]
    for answer in answers:
        assert answer.status_code in (400, 404, 422), (answer.request.url, answer.text[:200])
        assert_guarded(answer)


def test_starlette_s_own_answers_and_an_unforeseen_failure_carry_the_headers(
    case: ReviewCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    anonymous = TestClient(case.app)
    not_found = anonymous.get("/no/such/page")
    assert not_found.status_code == 404
    wrong_method = anonymous.get("/api/login")
    assert wrong_method.status_code == 405
    not_json = anonymous.post(
        "/api/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    for answer in (not_found, wrong_method, not_json):
        assert_guarded(answer)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a failure nobody foresaw")

    reviewer = case.sign_in(Role.REVIEWER, raise_server_exceptions=False)
    strict = case.sign_in(Role.REVIEWER)
    monkeypatch.setattr(case.app.state.services.queue, "page", broken)
    for path in ("/api/queue", "/queue"):
        failed = reviewer.get(path)
        assert failed.status_code == 500, path
        assert "nobody foresaw" not in failed.text
        assert_guarded(failed)
    with pytest.raises(RuntimeError):  # the failure still reaches the server's log
        strict.get("/api/queue")


def test_the_limits_follow_the_server_config(case: ReviewCase) -> None:
    from clearsight.server import ServerConfig

    from .server_support import HASHER

    app = case.restart(
        ServerConfig(clock=case.clock, password_hasher=HASHER, anonymous_body_bytes=64)
    )
    anonymous = TestClient(app)
    body = json.dumps({"name": "rita.reviewer", "password": "p" * 80})
    assert anonymous.post("/api/login", content=body).status_code == 413
