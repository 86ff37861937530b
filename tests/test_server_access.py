"""Who may reach every route of the review server: a table, checked route by route.

``EXPECTED`` names who may use each (method, path). The first test walks
``app.routes``: a route missing from the table, or one whose access rule admits other
roles than the table says, fails it, so a new route cannot go unchecked. The second
sends a real request to every route as an anonymous visitor and as each role, with a
valid CSRF token, and checks that exactly the expected ones get past the door (the
server marks a refusal with ``X-Clearsight-Refused``). The third sends every
state-changing request without its token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount

from clearsight.review.accounts import Role
from clearsight.server.access import AccessRule

from .server_support import (
    ACCOUNTS,
    PASSWORD,
    SECOND_REVIEWER,
    Browser,
    ReviewCase,
    TestClient,
)

ANYONE = "anyone"
EVERY_ROLE = frozenset(Role)
READERS = frozenset({Role.SUPERVISOR, Role.REVIEWER, Role.AUDITOR})
REVIEWERS = frozenset({Role.SUPERVISOR, Role.REVIEWER})
SUPERVISOR = frozenset({Role.SUPERVISOR})
DECISION_READERS = frozenset({Role.SUPERVISOR, Role.AUDITOR})
EXPORTERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
AUDIT_READERS = frozenset({Role.AUDITOR, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})

EXPECTED: dict[tuple[str, str], str | frozenset[Role]] = {
    ("GET", "/static"): ANYONE,
    ("GET", "/login"): ANYONE,
    ("POST", "/login"): ANYONE,
    ("POST", "/api/login"): ANYONE,
    ("POST", "/logout"): EVERY_ROLE,
    ("POST", "/api/logout"): EVERY_ROLE,
    ("GET", "/"): EVERY_ROLE,
    ("GET", "/api/me"): EVERY_ROLE,
    ("GET", "/api/openapi.json"): EVERY_ROLE,
    ("GET", "/queue"): READERS,
    ("GET", "/api/queue"): READERS,
    ("GET", "/series/{series_id}"): READERS,
    ("GET", "/api/series/{series_id}"): READERS,
    ("GET", "/items/{item_id}"): READERS,
    ("GET", "/api/items/{item_id}"): READERS,
    ("GET", "/items/{item_id}/preview"): READERS,
    ("GET", "/items/{item_id}/thumbnail"): READERS,
    ("GET", "/items/{item_id}/frames/{frame_number}/preview"): READERS,
    ("GET", "/reveals/{reveal_id}/image"): REVIEWERS,
    ("POST", "/items/{item_id}/reveal"): REVIEWERS,
    ("POST", "/api/items/{item_id}/reveals"): REVIEWERS,
    ("POST", "/reveals/{reveal_id}/end"): REVIEWERS,
    ("POST", "/api/reveals/{reveal_id}/end"): REVIEWERS,
    ("POST", "/items/{item_id}/decision"): REVIEWERS,
    ("POST", "/api/items/{item_id}/decisions"): REVIEWERS,
    ("GET", "/api/items/{item_id}/decisions"): READERS,
    ("POST", "/decisions/{decision_id}/undo"): REVIEWERS,
    ("POST", "/api/decisions/{decision_id}/undo"): REVIEWERS,
    ("GET", "/supervise/decisions"): DECISION_READERS,
    ("GET", "/api/decisions"): DECISION_READERS,
    ("GET", "/supervise/exposure"): SUPERVISOR,
    ("GET", "/api/exposure"): SUPERVISOR,
    ("POST", "/supervise/exposure/{name}"): SUPERVISOR,
    ("POST", "/api/exposure/{name}/extensions"): SUPERVISOR,
    ("POST", "/items/{item_id}/assignment"): SUPERVISOR,
    ("POST", "/series/{series_id}/assignment"): SUPERVISOR,
    ("POST", "/api/assignments"): SUPERVISOR,
    ("GET", "/supervise/export"): EXPORTERS,
    ("POST", "/supervise/export"): EXPORTERS,
    ("POST", "/api/exports"): EXPORTERS,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("POST", "/admin/users/{name}/disable"): ADMIN,
    ("POST", "/admin/users/{name}/enable"): ADMIN,
    ("POST", "/admin/users/{name}/password"): ADMIN,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/users"): ADMIN,
    ("POST", "/api/users/{name}/disable"): ADMIN,
    ("POST", "/api/users/{name}/enable"): ADMIN,
    ("POST", "/api/users/{name}/password"): ADMIN,
    ("GET", "/admin/settings"): ADMIN,
    ("POST", "/admin/settings/{key}"): ADMIN,
    ("GET", "/api/settings"): ADMIN,
    ("PUT", "/api/settings/{key}"): ADMIN,
    ("GET", "/admin/banks"): ADMIN,
    ("POST", "/admin/banks/{name}/two-reviewers"): ADMIN,
    ("POST", "/admin/banks/{name}/enabled"): ADMIN,
    ("GET", "/api/banks"): ADMIN,
    ("PUT", "/api/banks/{name}"): ADMIN,
    ("GET", "/audit"): AUDIT_READERS,
    ("GET", "/audit/verify"): AUDIT_READERS,
    ("GET", "/api/audit"): AUDIT_READERS,
    ("GET", "/api/audit/verify"): AUDIT_READERS,
    ("GET", "/account"): READERS,
    ("POST", "/account/preferences"): READERS,
}
SAFE = {"GET", "HEAD", "OPTIONS"}


def flat_routes(app: FastAPI) -> list[BaseRoute]:
    """The app's routes with included routers opened (newer FastAPI keeps an included
    router as one route of its own; older versions copied its routes in)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(app.routes)
    return [context.original_route for context in iter_route_contexts(app.routes)]


def routes_of(app: FastAPI) -> Iterator[tuple[str, str, APIRoute | Mount]]:
    """Every route of the app, through the routers it includes."""
    for route in flat_routes(app):
        if isinstance(route, APIRoute):
            for method in sorted(route.methods or ()):
                yield method, route.path, route
        elif isinstance(route, Mount):
            yield "GET", route.path, route
        else:
            pytest.fail(f"route {route!r} is of a kind the access table cannot check")


def rules_of(route: APIRoute) -> list[AccessRule]:
    found: list[AccessRule] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, AccessRule):
            found.append(dependency.call)
        pending.extend(dependency.dependencies)
    return found


def admitted(rule: AccessRule) -> str | frozenset[Role]:
    if rule.public:
        return ANYONE
    return frozenset(role for role in Role if rule.admits(role))


def test_every_route_has_the_access_rule_the_table_expects(case: ReviewCase) -> None:
    seen = set()
    for method, path, route in routes_of(case.app):
        key = (method, path)
        assert key in EXPECTED, f"{method} {path} has no entry in the access table"
        seen.add(key)
        if isinstance(route, Mount):
            assert path == "/static"
            continue
        rules = rules_of(route)
        assert len(rules) == 1, f"{method} {path} must name exactly one access rule: {rules}"
        assert admitted(rules[0]) == EXPECTED[key], f"{method} {path}: {rules[0].name}"
    assert seen == set(EXPECTED), f"table entries with no route: {set(EXPECTED) - seen}"


def fill(path: str, case: ReviewCase, reveal_id: int) -> str:
    values = {
        "item_id": str(case.items["stack-big.png"]),
        "series_id": "1",
        "reveal_id": str(reveal_id),
        "name": SECOND_REVIEWER,
        "key": "break_after_min",
        "decision_id": "1",
        "frame_number": "0",
    }
    filled = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    return "/static/review.js" if filled == "/static" else filled


def send(client: TestClient, method: str, path: str, csrf: str | None) -> tuple[int, str | None]:
    headers = {"X-CSRF-Token": csrf} if csrf and path.startswith("/api/") else {}
    if method in SAFE:
        response = client.request(method, path, follow_redirects=False)
    elif path.startswith("/api/"):
        response = client.request(method, path, json={}, headers=headers, follow_redirects=False)
    else:
        form = {"csrf_token": csrf} if csrf else {}
        response = client.request(method, path, data=form, follow_redirects=False)
    return response.status_code, response.headers.get("x-clearsight-refused")


def test_each_role_reaches_exactly_the_routes_the_table_allows(case: ReviewCase) -> None:
    browsers = {role: case.sign_in(role) for role in Role}
    anonymous = TestClient(case.app)
    # A reveal for the routes that take one: the reviewer's own.
    reveal = browsers[Role.REVIEWER].api("POST", f"/api/items/{case.items['lone-a.png']}/reveals")
    assert reveal.status_code == 201, reveal.text
    reveal_id = reveal.json()["reveal_id"]
    failures = []
    for method, template, _ in routes_of(case.app):
        path = fill(template, case, reveal_id)
        for role in (None, *Role):
            expected = EXPECTED[method, template]
            allowed = expected == ANYONE or (role is not None and role in expected)
            if role is None:
                status, refused = send(anonymous, method, path, None)
            else:
                browser = browsers[role]
                if template.endswith("/logout"):
                    browser = case.sign_in(role)  # signing out ends the session
                status, refused = send(browser.client, method, path, browser.csrf)
            if allowed and refused is not None:
                failures.append(f"{role}: {method} {path} refused ({status} {refused})")
            if not allowed:
                wanted = "sign-in" if role is None else "role"
                if refused != wanted or status not in (303, 401, 403):
                    failures.append(f"{role}: {method} {path} not refused ({status} {refused})")
                if role is None and method == "GET" and not path.startswith("/api/"):
                    assert status == 303, (method, path, status)
    assert failures == []


def test_no_state_changing_route_takes_a_request_without_its_csrf_token(
    case: ReviewCase,
) -> None:
    browsers: dict[Role, Browser] = {}
    for method, template, _ in routes_of(case.app):
        expected = EXPECTED[method, template]
        if method in SAFE or expected == ANYONE:
            continue
        assert isinstance(expected, frozenset)
        role = sorted(expected)[0]
        browser = browsers.get(role) or browsers.setdefault(role, case.sign_in(role))
        path = fill(template, case, 1)
        status, refused = send(browser.client, method, path, None)
        assert (status, refused) == (403, "csrf"), (method, path)
        wrong = send(browser.client, method, path, "not-the-token")
        assert wrong == (403, "csrf"), (method, path)


def test_a_request_from_another_site_is_refused_even_with_the_token(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER)
    item = case.items["lone-a.png"]
    response = browser.client.post(
        f"/api/items/{item}/reveals",
        json={},
        headers={"X-CSRF-Token": browser.csrf, "Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 403
    assert response.headers["x-clearsight-refused"] == "csrf"
    fetched = browser.client.post(
        f"/api/items/{item}/reveals",
        json={},
        headers={"X-CSRF-Token": browser.csrf, "Sec-Fetch-Site": "cross-site"},
    )
    assert fetched.status_code == 403
    for headers in (
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        # What a browser sends with a form under Referrer-Policy: no-referrer.
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    ):
        same = browser.client.post(
            f"/api/items/{item}/reveals", json={}, headers={"X-CSRF-Token": browser.csrf, **headers}
        )
        assert same.status_code == 201, headers


def test_every_answer_carries_the_security_headers(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER)
    anonymous = TestClient(case.app)
    item = case.items["lone-a.png"]
    answers = [
        anonymous.get("/login"),
        anonymous.get("/queue", follow_redirects=False),
        anonymous.get("/static/review.css"),
        anonymous.get("/api/queue"),
        browser.get("/queue"),
        browser.get(f"/items/{item}"),
        browser.get(f"/items/{item}/preview"),
        browser.get(f"/items/{item}/thumbnail"),
        browser.get("/items/999999"),
        browser.get("/admin/users"),
        browser.get("/api/queue?bank=nonsense"),
    ]
    for answer in answers:
        headers = answer.headers
        assert headers["cache-control"] == "no-store", answer.url
        assert headers["content-security-policy"] == (
            "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "etag" not in headers and "last-modified" not in headers


def test_no_interactive_docs_and_the_openapi_description_needs_a_sign_in(
    case: ReviewCase,
) -> None:
    anonymous = TestClient(case.app)
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert anonymous.get(path, follow_redirects=False).status_code == 404, path
    assert anonymous.get("/api/openapi.json").status_code == 401
    browser = case.sign_in(Role.AUDITOR)
    described = browser.get("/api/openapi.json")
    assert described.status_code == 200
    paths = described.json()["paths"]
    assert "/api/queue" in paths and "/api/items/{item_id}/reveals" in paths
    assert not any(path.startswith(("/items", "/admin", "/login")) for path in paths)


def test_pages_hold_no_inline_script_or_style(case: ReviewCase) -> None:
    browser = case.sign_in(Role.SUPERVISOR)
    for path in ("/queue", f"/items/{case.items['stack-big.png']}", "/series/1", "/account"):
        page = browser.get(path).text
        assert "<script>" not in page and "style=" not in page and "<style" not in page
        assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/review.js" defer>']


def test_the_login_page_is_the_same_for_a_name_that_exists_and_one_that_does_not(
    case: ReviewCase,
) -> None:
    answers = []
    for name in (ACCOUNTS[Role.REVIEWER], "nobody.at.all"):
        client = TestClient(case.app)
        token = client.get("/login").text.split('name="login_token" value="')[1].split('"')[0]
        answer = client.post(
            "/login", data={"name": name, "password": PASSWORD + "x", "login_token": token}
        )
        answers.append((answer.status_code, re.sub(r'value="[^"]*"', "", answer.text)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
