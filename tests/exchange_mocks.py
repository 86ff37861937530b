"""Local mock servers (127.0.0.1) that answer as NCMEC, StopNCII, the Graph API and TAT do.

Each answers in the shapes python-threatexchange's clients read (the same shapes
tests/test_interop_stopncii_ncmec.py checks files against): NCMEC ``queryResult``
XML pages with ``<paging><next>`` and ``deletedImage`` entries, filtered by the
``from``/``to`` window the client asks for; StopNCII ``FetchHashes`` JSON pages whose
records carry ``hashStatus`` (``Withdrawn`` for a withdrawal); Graph API
``threat_updates`` pages with ``should_delete`` and ``paging.next``; TAT's token
and hash-list endpoints. Each checks its credentials (401 otherwise), counts its
requests, can answer 500 to chosen requests, and can hold a request (``hold``) so a
test can kill the client in the middle of a fetch. Entries are benign: generated
hashes and neutral labels.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

_NCMEC_TIME = "%Y-%m-%dT%H:%M:%SZ"


def pdq_of(n: int) -> str:
    """A generated 64-digit PDQ hash, different for each ``n``."""
    return hashlib.sha256(f"pdq-{n}".encode()).hexdigest()


def md5_of(n: int) -> str:
    return hashlib.md5(f"md5-{n}".encode()).hexdigest()


@dataclass
class Behaviour:
    """What a mock does beyond answering: statuses to send instead, and a held request."""

    # Request number (1-based, counted over the server's life) -> status to answer.
    fail: dict[int, int] = field(default_factory=dict)
    # Hold the first request for which this says yes until ``release`` is set.
    hold_when: Callable[[], bool] | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[str] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> int:
        with self.lock:
            self.requests.append(path)
            return len(self.requests)


class _Handler(BaseHTTPRequestHandler):
    mock: Any

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def setup(self) -> None:
        super().setup()
        behaviour: Behaviour = self.mock.behaviour
        with behaviour.lock:
            behaviour.connections += 1

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        behaviour: Behaviour = self.mock.behaviour
        number = behaviour.count(self.path)
        hold = behaviour.hold_when
        if hold is not None and not behaviour.held.is_set() and hold():
            behaviour.held.set()
            behaviour.release.wait(60)
        status = behaviour.fail.get(number)
        if status is not None:
            self._send(status, b"failing on purpose", "text/plain")
            return
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload, kind = self.mock.answer(method, url.path, query, self.headers, body)
        self._send(status, payload, kind)

    def _send(self, status: int, payload: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client the test killed


@contextmanager
def serving(mock: Any, *, keep_alive: bool = False) -> Iterator[str]:
    """Serve ``mock`` on 127.0.0.1 in a thread; yields its base URL. ``keep_alive``:
    HTTP/1.1, where a client may send several requests on one connection."""
    protocol = "HTTP/1.1" if keep_alive else "HTTP/1.0"
    handler = type("Handler", (_Handler,), {"mock": mock, "protocol_version": protocol})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        mock.behaviour.release.set()
        server.shutdown()
        server.server_close()


# NCMEC hash sharing


@dataclass(frozen=True)
class NcmecRecord:
    id: str
    member: int
    timestamp: int
    deleted: bool = False
    pdq: str | None = None
    md5: str | None = None
    classification: str = "label-a"

    @property
    def key(self) -> str:
        """How python-threatexchange keys it: ``member-id``."""
        return f"{self.member}-{self.id}"


def ncmec_records(
    count: int, start: int, *, member: int = 7, per_second: int = 1
) -> list[NcmecRecord]:
    """``count`` image entries, ``per_second`` a second from ``start``, each with a PDQ
    and an MD5."""
    return [
        NcmecRecord(f"e{n}", member, start + n // per_second, pdq=pdq_of(n), md5=md5_of(n))
        for n in range(count)
    ]


class NcmecMock:
    """The hash-sharing API's ``/v2/entries``: Basic auth, windows, pages, deletes."""

    def __init__(
        self, records: list[NcmecRecord], *, page_size: int, user: str, password: str
    ) -> None:
        self.records = sorted(records, key=lambda r: r.timestamp)
        self.page_size = page_size
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.behaviour = Behaviour()

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, bytes, str]:
        if headers.get("Authorization") != self._auth:
            return 401, b"<error>unauthorized</error>", "application/xml"
        if method != "GET" or path != "/v2/entries":
            return 404, b"<error>not found</error>", "application/xml"
        start, end = _ncmec_time(query["from"]), _ncmec_time(query["to"])
        offset = int(query.get("start", 0))
        window = [r for r in self.records if start <= r.timestamp < end]
        page = window[offset : offset + self.page_size]
        following = offset + len(page)
        next_url = ""
        if following < len(window):
            next_url = "/v2/entries?" + urllib.parse.urlencode(
                {
                    "from": query["from"],
                    "to": query["to"],
                    "start": following,
                    "size": self.page_size,
                    "max": len(window),
                }
            )
        return 200, ncmec_page(page, next_url).encode(), "application/xml"


def ncmec_page(page: list[NcmecRecord], next_url: str) -> str:
    """One ``queryResult`` page as the service writes it (default namespace included)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>']
    parts.append('<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">')
    if page:
        newest = max(r.timestamp for r in page)
        parts.append(f'<images count="{len(page)}" maxTimestamp="{_ncmec_text(newest)}">')
        for r in page:
            parts.append(ncmec_entry(r))
        parts.append("</images>")
    parts.append('<videos count="0"/>')
    if next_url:
        parts.append(f"<paging><next>{escape(next_url)}</next></paging>")
    parts.append("</queryResult>")
    return "".join(parts)


def ncmec_entry(r: NcmecRecord) -> str:
    member = f'<member id="{r.member}">Example Member</member>'
    stamp = f"<timestamp>{_ncmec_text(r.timestamp)}</timestamp>"
    if r.deleted:
        return f"<deletedImage><id>{r.id}</id>{member}{stamp}</deletedImage>"
    prints = "".join(
        f"<{kind}>{value}</{kind}>" for kind, value in (("md5", r.md5), ("pdq", r.pdq)) if value
    )
    return (
        f"<image><id>{r.id}</id><classification>{r.classification}</classification>"
        f"{member}{stamp}<fingerprints>{prints}</fingerprints></image>"
    )


def _ncmec_time(text: str) -> int:
    return int(datetime.strptime(text, _NCMEC_TIME).replace(tzinfo=UTC).timestamp())


def _ncmec_text(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime(_NCMEC_TIME)


# StopNCII


@dataclass(frozen=True)
class StopNciiRecord:
    hash_value: str
    timestamp: int
    status: str = "Active"  # "Withdrawn" or "Deleted" withdraws it
    signal_type: str = "ImagePDQ"

    def as_json(self) -> dict[str, Any]:
        return {
            "lastModtimestamp": self.timestamp,
            "signalType": self.signal_type,
            "hashValue": self.hash_value,
            "hashStatus": self.status,
            "caseNumbers": {"case-1": self.status},
            "CSPFeedbacks": [{"feedbackValue": "Blocked", "tags": [], "source": "Example"}],
        }


class StopNciiMock:
    """``/FetchHashes``: key headers, records from ``startTimestamp``, token paging."""

    def __init__(
        self, records: list[StopNciiRecord], *, page_size: int, function_key: str, key: str
    ) -> None:
        self.records = sorted(records, key=lambda r: r.timestamp)
        self.page_size = page_size
        self._keys = (function_key, key)
        self.behaviour = Behaviour()

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, bytes, str]:
        given = (headers.get("x-functions-key"), headers.get("Ocp-Apim-Subscription-Key"))
        if given != self._keys:
            return 401, b'{"error": "unauthorized"}', "application/json"
        if path != "/FetchHashes":
            return 404, b"{}", "application/json"
        since = int(query.get("startTimestamp", 0))
        offset = int(query.get("nextPageToken", 0))
        chosen = [r for r in self.records if r.timestamp >= since]
        page = chosen[offset : offset + self.page_size]
        more = offset + len(page) < len(chosen)
        answer = {
            "count": len(page),
            "nextPageToken": str(offset + len(page)) if more else None,
            "nextSetTimestamp": max((r.timestamp for r in page), default=since),
            "hasMoreRecords": more,
            "hashRecords": [r.as_json() for r in page],
        }
        return 200, json.dumps(answer).encode(), "application/json"


# ThreatExchange (Graph API)


@dataclass(frozen=True)
class ThreatUpdate:
    id: int
    indicator: str
    timestamp: int
    should_delete: bool = False
    type: str = "HASH_PDQ"
    tags: tuple[str, ...] = ("label-a",)

    def as_json(self) -> dict[str, Any]:
        update: dict[str, Any] = {
            "id": str(self.id),
            "indicator": self.indicator,
            "type": self.type,
            "last_updated": self.timestamp,
            "should_delete": self.should_delete,
        }
        if not self.should_delete:
            update["descriptors"] = {
                "data": [
                    {
                        "id": str(self.id * 10),
                        "owner": {"id": "1234567890"},
                        "status": "MALICIOUS",
                        "tags": list(self.tags),
                    }
                ]
            }
        return update


class GraphMock:
    """``/{group}/threat_updates/``: the token in the query, cursor pages."""

    def __init__(self, updates: list[ThreatUpdate], *, page_size: int, token: str) -> None:
        self.updates = sorted(updates, key=lambda u: u.timestamp)
        self.page_size = page_size
        self.token = token
        self.behaviour = Behaviour()
        self.base = ""

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, bytes, str]:
        if query.get("access_token") != self.token:
            return 401, b'{"error": {"message": "Invalid OAuth access token"}}', "application/json"
        parts = path.strip("/").split("/")
        if len(parts) != 2 or parts[1] != "threat_updates":
            return 404, b"{}", "application/json"
        since = int(query.get("start_time") or 0)
        offset = int(query.get("after", 0))
        chosen = [u for u in self.updates if u.timestamp >= since]
        page = chosen[offset : offset + self.page_size]
        answer: dict[str, Any] = {"data": [u.as_json() for u in page]}
        if offset + len(page) < len(chosen):
            following = {"access_token": self.token, "start_time": since}
            following["after"] = offset + len(page)
            answer["paging"] = {"next": f"{self.base}{path}?{urllib.parse.urlencode(following)}"}
        return 200, json.dumps(answer).encode(), "application/json"


# Tech Against Terrorism


class TatMock:
    """``token-auth/tcap/`` (user and password to a token) and the hash list by offset."""

    def __init__(
        self, entries: list[dict[str, Any]], *, page_size: int, user: str, password: str
    ) -> None:
        self.entries = entries
        self.page_size = page_size
        self._login = (user, password)
        self.behaviour = Behaviour()
        self.base = ""

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, bytes, str]:
        if path == "/token-auth/tcap/" and method == "POST":
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
            if (form.get("username"), form.get("password")) != self._login:
                return 401, b'{"error": "bad login"}', "application/json"
            return 200, b'{"token": "session-token"}', "application/json"
        if headers.get("Authorization") != "Bearer session-token":
            return 401, b'{"error": "no token"}', "application/json"
        # The client appends the previous page's whole ``next`` URL after a "?".
        offset = 0
        for key, value in query.items():
            if key.endswith("offset"):
                offset = int(value)
        page = self.entries[offset : offset + self.page_size]
        more = offset + len(page) < len(self.entries)
        answer = {
            "count": len(self.entries),
            "next": f"offset={offset + len(page)}" if more else None,
            "previous": None,
            "checkpoint": f"{time.time():.0f},{offset + len(page)}" if page else "",
            "results": page,
        }
        return 200, json.dumps(answer).encode(), "application/json"


def tat_entry(n: int, *, deleted: bool = False) -> dict[str, Any]:
    return {
        "hash_digest": pdq_of(n),
        "algorithm": "PDQ",
        "ideology": "all",
        "file_type": "jpg",
        "deleted": deleted,
        "updated_on": 1_700_000_000.0 + n,
        "created_on": "2024-01-01T00:00:00Z",
        "id": n,
    }


Answer = Callable[[str, str, dict[str, str], Any, bytes], tuple[int, bytes, str]]
