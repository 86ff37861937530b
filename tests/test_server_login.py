"""Signing in and out of the review server: cookies, CSRF, the brake on guessing."""

from __future__ import annotations

from clearsight.review.accounts import Role

from .server_support import (
    ACCOUNTS,
    HASHER,
    PASSWORD,
    ReviewCase,
    TestClient,
    login_token,
)


def test_sign_in_sets_a_strict_http_only_cookie_and_lands_on_the_role_page(
    case: ReviewCase,
) -> None:
    client = TestClient(case.app)
    token = login_token(client)
    answer = client.post(
        "/login",
        data={"name": ACCOUNTS[Role.REVIEWER], "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(
        value
        for name, value in answer.headers.multi_items()
        if name == "set-cookie" and value.startswith("clearsight=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    assert client.get("/", follow_redirects=False).headers["location"] == "/queue"
    entries = case.store.audit_log().entries(newest_first=True, limit=1)
    assert (entries[0].action, entries[0].actor) == ("login", ACCOUNTS[Role.REVIEWER])


def test_over_https_the_cookie_is_secure_and_host_bound(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER, base_url="https://testserver")
    cookies = browser.client.cookies
    assert "__Host-clearsight" in cookies and "clearsight" not in cookies
    page = browser.get("/queue")
    assert page.status_code == 200
    assert page.headers["strict-transport-security"].startswith("max-age=")
    client = TestClient(case.app, base_url="https://testserver")
    token = login_token(client)
    answer = client.post(
        "/login",
        data={"name": ACCOUNTS[Role.REVIEWER], "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-clearsight=") and "Secure" in cookie


def test_a_wrong_password_an_unknown_name_and_a_disabled_account_get_one_answer(
    case: ReviewCase,
) -> None:
    case.store.accounts(HASHER).disable(ACCOUNTS[Role.AUDITOR], actor="test")
    answers = set()
    for name, password in (
        (ACCOUNTS[Role.REVIEWER], "not the password at all"),
        ("no.such.person", PASSWORD),
        (ACCOUNTS[Role.AUDITOR], PASSWORD),
    ):
        client = TestClient(case.app)
        answer = client.post(
            "/login", data={"name": name, "password": password, "login_token": login_token(client)}
        )
        assert answer.status_code == 401
        assert "That name and password did not sign in." in answer.text
        assert "clearsight" not in client.cookies
        api = TestClient(case.app).post("/api/login", json={"name": name, "password": password})
        answers.add((api.status_code, api.text))
    assert answers == {(401, '{"detail":"That name and password did not sign in."}')}


def test_the_login_form_needs_its_own_token(case: ReviewCase) -> None:
    client = TestClient(case.app)
    login_token(client)
    answer = client.post(
        "/login",
        data={"name": ACCOUNTS[Role.REVIEWER], "password": PASSWORD, "login_token": "forged"},
    )
    assert answer.status_code == 403 and answer.headers["x-clearsight-refused"] == "csrf"
    fresh = TestClient(case.app)  # no cookie from the form at all
    answer = fresh.post(
        "/login", data={"name": ACCOUNTS[Role.REVIEWER], "password": PASSWORD, "login_token": "x"}
    )
    assert answer.status_code == 403


def test_the_api_login_takes_json_only_and_returns_the_csrf_token(case: ReviewCase) -> None:
    client = TestClient(case.app)
    name = ACCOUNTS[Role.SUPERVISOR]
    as_form = client.post("/api/login", data={"name": name, "password": PASSWORD})
    assert as_form.status_code in (415, 422)
    answer = client.post("/api/login", json={"name": name, "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["name"], body["role"]) == (name, "supervisor")
    me = client.get("/api/me").json()
    assert me["name"] == name and me["allowance_s"] == 1800
    refused = client.post("/api/logout")
    assert refused.status_code == 403  # no CSRF token
    out = client.post("/api/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert out.status_code == 204
    assert client.get("/api/me").status_code == 401


def test_sign_out_ends_the_session_on_the_server(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER)
    stolen = dict(browser.client.cookies)
    out = browser.form("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert browser.get("/queue", follow_redirects=False).status_code == 303
    replay = TestClient(case.app, cookies=stolen)
    assert replay.get("/api/queue").status_code == 401
    assert case.store.audit_log().entries(newest_first=True, limit=1)[0].action == "logout"


def test_the_form_post_without_its_csrf_token_is_refused(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER)
    answer = browser.client.post("/logout", data={}, follow_redirects=False)
    assert answer.status_code == 403 and "security token" in answer.text
    assert browser.get("/api/me").status_code == 200  # still signed in


def test_too_many_failures_answer_429_with_retry_after(case: ReviewCase) -> None:
    name = ACCOUNTS[Role.REVIEWER]
    client = TestClient(case.app)
    statuses = []
    for _ in range(6):
        answer = client.post(
            "/login",
            data={"name": name, "password": "guess " * 3, "login_token": login_token(client)},
        )
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    assert 1 <= int(answer.headers["retry-after"]) <= 15 * 60
    assert "Too many failed sign-ins" in answer.text
    # Even the right password waits now, and the API says the same.
    api = client.post("/api/login", json={"name": name, "password": PASSWORD})
    assert api.status_code == 429 and int(api.headers["retry-after"]) >= 1
    # Once the window has passed, the owner gets in.
    case.clock.advance(16 * 60)
    assert client.post("/api/login", json={"name": name, "password": PASSWORD}).status_code == 200
