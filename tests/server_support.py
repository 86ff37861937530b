"""Shared pieces of the review-server tests: a small benign case, accounts of every
role, and a browser-like client that signs in through the real login form.

The case is built from generated pictures (coloured noise patterns, see
``conftest.photo_like``), fingerprinted by the real scan code once per test session
and recorded into a fresh store (SQLite or PostgreSQL) per test. It holds two lone
items, a near-duplicate stack of two, a series of two (linked by the test's linker),
an item matched in a bank, and an item whose generator prompt was kept.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.exceptions import StarletteDeprecationWarning

from clearsight import Case, __version__
from clearsight.review.accounts import Role
from clearsight.scan.fingerprint import FingerprintOptions, fingerprint_file
from clearsight.series.stacks import Stack
from clearsight.server import ServerConfig, create_app
from clearsight.store.engines import utc_now
from clearsight.store.interface import ScannedFile, ScanTally, SceneLinkRecord, TriageItem
from clearsight.store.models import Item, Match, OriginRow
from clearsight.store.sql import SqlCaseStore, engine_of
from clearsight.triage.priority import load_config
from clearsight.triage.run import run_triage

from .conftest import CLEARSIGHT, empty_postgres, photo_like

with warnings.catch_warnings():
    # Starlette now prefers httpx2 for its TestClient and warns at import when it runs
    # on httpx, which the project installs; the client works the same on either.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient as TestClient

PASSWORD = "benign test passphrase"
# A cheap Argon2 for tests: the server verifies whatever parameters a hash names.
HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ACCOUNTS = {
    Role.ADMIN: "ada.admin",
    Role.SUPERVISOR: "sam.supervisor",
    Role.REVIEWER: "rita.reviewer",
    Role.AUDITOR: "aud.auditor",
}
SECOND_REVIEWER = "rene.reviewer"
PROMPT = "a watercolour of a lighthouse at dusk"
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def write_evidence(folder: Path) -> dict[str, ScannedFile]:
    """Generated pictures in ``folder``, fingerprinted by the scan's own code."""
    folder.mkdir(parents=True, exist_ok=True)
    pictures = {
        "lone-a.png": photo_like(11),
        "lone-b.png": photo_like(12),
        "stack-big.png": photo_like(13),
        "series-a.png": photo_like(14),
        "series-b.png": photo_like(15),
        "matched.png": photo_like(16),
        "prompted.png": photo_like(17),
    }
    for name, picture in pictures.items():
        picture.save(folder / name)
    # A smaller JPEG copy: a near-duplicate of stack-big.png.
    photo_like(13).resize((288, 216), Image.Resampling.LANCZOS).save(
        folder / "stack-small.jpg", quality=95
    )
    options = FingerprintOptions()
    return {
        path.name: fingerprint_file(str(path), path.name, options)
        for path in sorted(folder.iterdir())
    }


class Clock:
    """A clock the test moves; starts at the real time so "today" is today."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class ReviewCase:
    store: SqlCaseStore
    folder: Path
    items: dict[str, int]  # file name -> item id
    clock: Clock
    app: FastAPI = field(init=False)

    def __post_init__(self) -> None:
        self.app = create_app(
            Case(self.store), ServerConfig(clock=self.clock, password_hasher=HASHER)
        )

    def restart(self, config: ServerConfig | None = None) -> FastAPI:
        self.app = create_app(
            Case(self.store), config or ServerConfig(clock=self.clock, password_hasher=HASHER)
        )
        return self.app

    def sign_in(self, role: Role, name: str | None = None, **client: Any) -> Browser:
        return sign_in(self.app, name or ACCOUNTS[role], PASSWORD, **client)

    def session(self) -> Session:
        return Session(engine_of(self.store))


def open_review_case(
    database: str, tmp_path: Path, scanned: dict[str, ScannedFile], folder: Path
) -> Iterator[ReviewCase]:
    """A fresh case on ``database`` holding ``scanned`` (from ``folder``), triaged,
    with one account per role and a second reviewer."""
    if database == "sqlite":
        store = SqlCaseStore.open_folder(tmp_path / "case", __version__)
    else:
        store = SqlCaseStore.open_url(empty_postgres(), "test-case", __version__)
    try:
        items = record_case(store, folder, scanned)
        book = store.accounts(HASHER)
        for role, name in ACCOUNTS.items():
            book.add(name, role, PASSWORD, actor="test")
        book.add(SECOND_REVIEWER, Role.REVIEWER, PASSWORD, actor="test")
        yield ReviewCase(store, folder, items, Clock())
    finally:
        store.close()


def record_case(
    store: SqlCaseStore, folder: Path, scanned: dict[str, ScannedFile]
) -> dict[str, int]:
    source = store.open_source(str(folder))
    scan = store.start_scan([str(folder)])
    store.record_files(scan, [(source, scanned[name]) for name in sorted(scanned)])
    store.finish_scan(scan, ScanTally(len(scanned), len(scanned)), completed=True)
    with Session(engine_of(store)) as session:
        items = {path: item_id for item_id, path in session.execute(select(Item.id, Item.path))}
    match_in_bank(store, items["matched.png"], "bank-1")
    keep_prompt(store, items["prompted.png"], PROMPT)
    series_pair = (items["series-a.png"], items["series-b.png"])

    def linker(members: Sequence[TriageItem], stacks: Sequence[Stack]) -> list[SceneLinkRecord]:
        return [SceneLinkRecord(*series_pair, 120, 0.8, 0.9, "test link: shared scene")]

    run_triage(store, load_config(), linker)
    return items


def match_in_bank(store: SqlCaseStore, item_id: int, bank: str) -> None:
    """Record that ``item_id`` matched an entry of ``bank`` (as matching would)."""
    with Session(engine_of(store)) as session, session.begin():
        session.add(
            Match(
                item_id=item_id,
                bank=bank,
                entry_id=7,
                external_id="E-7",
                signal="pdq",
                distance=4,
                transform="original",
                variant="query:trim-border",
                allow=False,
                category="test-category-1",
                series=None,
                victim_identified=None,
                matched_at=utc_now(),
            )
        )


def keep_prompt(store: SqlCaseStore, item_id: int, prompt: str) -> None:
    with Session(engine_of(store)) as session, session.begin():
        found = session.get(OriginRow, item_id)
        if found is None:
            session.add(
                OriginRow(
                    item_id=item_id,
                    verdict="ai-generated",
                    score=0.9,
                    reasons=json.dumps(["test: generator metadata"]),
                    evidence="[]",
                    prompts=json.dumps([prompt]),
                    examiner="test",
                    examined_at=utc_now(),
                )
            )
        else:
            session.execute(
                update(OriginRow)
                .where(OriginRow.item_id == item_id)
                .values(prompts=json.dumps([prompt]), verdict="ai-generated")
            )


@dataclass
class Browser:
    """A TestClient signed in through the login form, with its CSRF token."""

    client: TestClient
    csrf: str
    name: str

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return cast(httpx.Response, self.client.get(url, **kwargs))

    def form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        answer = self.client.post(
            url, data={"csrf_token": self.csrf, **(data or {})}, follow_redirects=False, **kwargs
        )
        return cast(httpx.Response, answer)

    def api(self, method: str, url: str, body: Any = None) -> httpx.Response:
        answer = self.client.request(
            method, url, json=body if body is not None else {}, headers={"X-CSRF-Token": self.csrf}
        )
        return cast(httpx.Response, answer)

    def close(self) -> None:
        self.client.close()


LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200, page.text
    found = LOGIN_TOKEN.search(page.text)
    assert found, page.text
    return found.group(1)


def sign_in(app: FastAPI, name: str, password: str, **client: Any) -> Browser:
    browser = TestClient(app, **client)
    token = login_token(browser)
    landed = browser.post("/login", data={"name": name, "password": password, "login_token": token})
    assert landed.status_code == 200, landed.text
    found = CSRF_META.search(landed.text)
    assert found and found.group(1), landed.text
    return Browser(browser, found.group(1), name)


@pytest.fixture(scope="session")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, ScannedFile]]:
    """The test pictures, written and fingerprinted once per test process (tests only
    read them: each records them into a store of its own)."""
    folder = tmp_path_factory.mktemp("evidence")
    return folder, write_evidence(folder)


@pytest.fixture(params=DATABASES)
def case(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    evidence: tuple[Path, dict[str, ScannedFile]],
) -> Iterator[ReviewCase]:
    """A fresh review case on each database (imported by the server test modules)."""
    folder, scanned = evidence
    yield from open_review_case(request.param, tmp_path, scanned, folder)


def resident_kib(pid: int) -> int:
    """A process's resident memory (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def serving(
    case: Path, log: Path, *options: str, tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """``clearsight serve`` in its own process until the block ends; yields its URL.
    ``tls``: the server speaks HTTPS, with a certificate this context trusts."""
    with serving_process(case, log, *options, tls=tls) as (base, _):
        yield base


@contextmanager
def serving_process(
    case: Path, log: Path, *options: str, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like :func:`serving`, and yields the server's process too."""
    scheme = "https" if tls else "http"
    port = free_port()
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(CLEARSIGHT), "serve", "--case", str(case), "--port", str(port), *options],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"{scheme}://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/login", timeout=2, verify=tls or True)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
            yield base, server
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)
