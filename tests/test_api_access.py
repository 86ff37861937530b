"""Every route of the matching service, anonymous, with a wrong role and a right one,
against a real ``clearsight api`` process.

The table names every route the service has (checked against ``/site-map``), so a new
route cannot escape the test. A route with "open" admits anyone; else no key gives
401, a key without the route's role 403, and a key with it anything but those two.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from .api_support import ApiService, api_service
from .conftest import photo_like

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    right: str  # a role that admits the call, or "open"
    wrong: str | None  # a role that does not (None: every role admits it)
    json: Any = None
    photo: bool = False


def png() -> bytes:
    buffer = io.BytesIO()
    photo_like(3).save(buffer, format="PNG")
    return buffer.getvalue()


CALLS = [
    Call("GET", "/status", "open", None),
    Call("GET", "/status/live", "open", None),
    Call("GET", "/site-map", "open", None),
    Call("GET", "/h/hash?url=http://127.0.0.1:9/x.png", "hasher", "matcher"),
    Call("POST", "/h/hash", "hasher", "curator", photo=True),
    Call("GET", f"/m/raw_lookup?signal_type=pdq&signal={PDQ}", "matcher", "hasher"),
    Call("GET", f"/m/lookup?signal_type=pdq&signal={PDQ}", "matcher", "curator"),
    Call("POST", "/m/lookup", "all", "hasher", photo=True),
    Call("GET", "/m/index/status", "matcher", "curator"),
    Call("POST", "/m/compare", "matcher", "hasher", json={"pdq": [PDQ, PDQ]}),
    Call("GET", "/c/banks", "curator", "matcher"),
    Call("POST", "/c/banks", "curator", "matcher", json={"name": "ACCESS_MADE"}),
    Call("GET", "/c/bank/ACCESS", "curator", "hasher"),
    Call("PUT", "/c/bank/ACCESS", "curator", "matcher", json={"enabled": True}),
    Call("DELETE", "/c/bank/ACCESS_GONE", "curator", "matcher"),
    Call("POST", "/c/bank/ACCESS/content", "all", "matcher", photo=True),
    Call("GET", "/c/bank/ACCESS/content/1", "curator", "matcher"),
    Call("PUT", "/c/bank/ACCESS/content/1", "curator", "hasher", json={"disable_until_ts": 0}),
    Call("DELETE", "/c/bank/ACCESS/content/999", "curator", "matcher"),
    Call("POST", "/c/bank/ACCESS/signal", "curator", "matcher", json={"md5": MD5}),
    Call("GET", "/c/signal_type", "matcher", None),
    Call("GET", "/c/signal_type/index", "hasher", None),
    Call("PUT", "/c/signal_type/md5", "curator", "matcher", json={"enabled_ratio": 1.0}),
    Call("GET", "/c/content_type", "curator", None),
    Call("GET", "/c/exchanges/apis", "curator", "matcher"),
    Call("GET", "/c/exchanges/api/file", "curator", "matcher"),
    Call("GET", "/c/exchanges/api/file/schema", "curator", "matcher"),
    Call("POST", "/c/exchanges/api/file", "curator", "matcher", json={}),
    Call("GET", "/c/exchanges", "curator", "hasher"),
    Call(
        "POST",
        "/c/exchanges",
        "curator",
        "matcher",
        json={"bank": "ACCESS_FEED", "api": "file", "api_json": {"path": "/nonexistent"}},
    ),
    Call("GET", "/c/exchange/ACCESS_FEED", "curator", "matcher"),
    Call("PUT", "/c/exchange/ACCESS_FEED", "curator", "matcher", json={"enabled": False}),
    Call("GET", "/c/exchange/ACCESS_FEED/status", "curator", "matcher"),
    Call("POST", "/c/exchange/ACCESS_FEED/fetch", "curator", "hasher"),
    Call("DELETE", "/c/exchange/ACCESS_FEED", "curator", "matcher"),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiService]:
    home = tmp_path_factory.mktemp("api-access")
    with api_service(home) as running:
        with running.client() as client:
            assert client.post("/c/banks", json={"name": "ACCESS"}).status_code == 201
            added = client.post("/c/bank/ACCESS/signal", json={"pdq": PDQ})
            assert added.status_code == 200 and added.json()["id"] == 1
        yield running


def send(client: httpx.Client, call: Call) -> httpx.Response:
    files = {"photo": ("picture.png", png(), "image/png")} if call.photo else None
    return client.request(call.method, call.path, json=call.json, files=files)


def test_the_table_names_every_route(service: ApiService) -> None:
    served = set(httpx.get(service.base + "/site-map").json())
    named = {call.path.split("?")[0] for call in CALLS}
    named = {path.replace("ACCESS_FEED", "<exchange_name>") for path in named}
    named = {path.replace("/c/bank/ACCESS_GONE", "/c/bank/<bank_name>") for path in named}
    named = {path.replace("/c/bank/ACCESS", "/c/bank/<bank_name>") for path in named}
    named = {path.replace("/content/1", "/content/<content_id>") for path in named}
    named = {path.replace("/content/999", "/content/<content_id>") for path in named}
    named = {path.replace("/api/file", "/api/<api_name>") for path in named}
    named = {path.replace("/signal_type/md5", "/signal_type/<signal_type_name>") for path in named}
    assert served == named


@pytest.mark.parametrize("call", CALLS, ids=lambda call: f"{call.method} {call.path[:40]}")
def test_anonymous_wrong_role_and_right_role(service: ApiService, call: Call) -> None:
    with service.client(None) as anonymous:
        answer = send(anonymous, call)
        if call.right == "open":
            assert answer.status_code == 200
            return
        assert answer.status_code == 401, answer.text
        assert answer.json() == {"message": answer.json()["message"]}
        assert answer.headers["www-authenticate"] == "Bearer"
    with httpx.Client(
        base_url=service.base, headers={"Authorization": "Bearer csk_not-a-key"}
    ) as forged:
        assert send(forged, call).status_code == 401
    if call.wrong is not None:
        with service.client(call.wrong) as wrong:
            answer = send(wrong, call)
            assert answer.status_code == 403, answer.text
            assert "role" in answer.json()["message"]
    with service.client(call.right) as right:
        answer = send(right, call)
        assert answer.status_code not in (401, 403), answer.text
        assert answer.status_code < 500 or call.path.startswith("/h/hash?url"), answer.text


def test_media_lookup_needs_both_matcher_and_hasher(service: ApiService) -> None:
    call = Call("POST", "/m/lookup", "all", None, photo=True)
    with service.client("matcher") as matcher:
        answer = send(matcher, call)
        assert answer.status_code == 403 and "hasher" in answer.json()["message"]
    with service.client("all") as both:
        assert send(both, call).status_code == 200


def test_no_token_reaches_the_log(service: ApiService, tmp_path: Path) -> None:
    with service.client("matcher") as client:
        client.get(f"/m/raw_lookup?signal_type=pdq&signal={PDQ}")
    text = service.log.read_text()
    assert all(token not in text for token in service.tokens.values())
    assert PDQ not in text
