"""StopNCII, ThreatExchange, TAT and local-file exchanges, fetched into banks.

Each API's real python-threatexchange client fetches from a local mock
(exchange_mocks.py) in its recorded shapes; withdrawals (StopNCII ``Withdrawn``,
Graph ``should_delete``, TAT ``deleted``, a line gone from a file) remove entries.
Also the administration commands and the credentials file.
"""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from clearsight.banks.exchange_book import ExchangeBook
from clearsight.banks.models import SIGNALS
from clearsight.banks.store import BankStore
from clearsight.cli import main
from clearsight.exchanges.credentials import CREDENTIALS_FILE, CredentialStore
from clearsight.exchanges.fetch import fetch_exchange
from tests.exchange_mocks import (
    GraphMock,
    StopNciiMock,
    StopNciiRecord,
    TatMock,
    ThreatUpdate,
    pdq_of,
    serving,
    tat_entry,
)

pytest.importorskip("threatexchange")

TOKEN = "1234567890|exampleexampleexampleexample"


def _pdqs(bank: str) -> set[str]:
    store = BankStore.open()
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(select(SIGNALS.c.value).where(SIGNALS.c.kind == "pdq")).all()
        return {row[0] for row in rows}
    finally:
        store.close()


def _fetch(name: str, api: str, config: dict[str, object], secret: str | None) -> dict[str, object]:
    if secret is not None:
        CredentialStore().set(api, secret)
    store = BankStore.open()
    try:
        book = ExchangeBook(store.engine)
        if name not in [info.name for info in book.all()]:
            book.add(name, api, name, config)
        return fetch_exchange(store, name, batch_entries=2).as_dict()
    finally:
        store.close()


def test_stopncii_pages_and_withdrawals() -> None:
    records = [StopNciiRecord(pdq_of(n), 100 + n) for n in range(5)]
    records.append(StopNciiRecord("ab" * 16, 105, signal_type="VideoTMK"))
    mock = StopNciiMock(records, page_size=2, function_key="fk", key="sk")
    with serving(mock) as url:
        first = _fetch("sncii", "stop_ncii", {"base_url": url}, "fk,sk")
        assert first["added"] == 5 and first["not_importable"] == {"VideoTMK": 1}
        # StopNCII sends the current state: hash 2 is now withdrawn.
        mock.records.append(StopNciiRecord(pdq_of(2), 200, "Withdrawn"))
        second = _fetch("sncii", "stop_ncii", {"base_url": url}, None)
    assert second["resumed"] and second["removed"] == 1
    assert _pdqs("sncii") == {pdq_of(n) for n in (0, 1, 3, 4)}


def test_threatexchange_pages_and_should_delete() -> None:
    updates = [ThreatUpdate(n, pdq_of(n), 100 + n) for n in range(4)]
    updates.append(ThreatUpdate(9, "https://example.org/", 104, type="URI"))
    mock = GraphMock(updates, page_size=2, token=TOKEN)
    with serving(mock) as url:
        mock.base = url
        config = {"base_url": url, "privacy_group": 42}
        first = _fetch("te", "fb_threatexchange", config, TOKEN)
        assert first["added"] == 4 and first["not_importable"] == {"URI": 1}
        mock.updates.append(ThreatUpdate(1, pdq_of(1), 300, should_delete=True))
        second = _fetch("te", "fb_threatexchange", config, None)
    assert second["removed"] == 1
    assert _pdqs("te") == {pdq_of(n) for n in (0, 2, 3)}
    assert all("access_token" in path for path in mock.behaviour.requests)


def test_tat_login_pages_and_deletions() -> None:
    entries = [tat_entry(n) for n in range(3)] + [tat_entry(1, deleted=True)]
    mock = TatMock(entries, page_size=3, user="tat-user", password="tat-pass")
    with serving(mock) as url:
        report = _fetch("tat", "tat", {"base_url": url}, "tat-user:tat-pass")
    assert report["added"] == 3 and report["removed"] == 1
    assert _pdqs("tat") == {pdq_of(0), pdq_of(2)}


def test_a_file_exchange_is_a_snapshot(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"pdq {pdq_of(n)}\n" for n in range(4)))
    assert _fetch("local", "file", {"filename": str(listing)}, None)["added"] == 4
    listing.write_text("".join(f"pdq {pdq_of(n)}\n" for n in (0, 2, 3, 5)))
    again = _fetch("local", "file", {"filename": str(listing)}, None)
    assert (again["added"], again["removed"]) == (1, 1)
    assert _pdqs("local") == {pdq_of(n) for n in (0, 2, 3, 5)}


def test_credentials_are_kept_0600_and_never_shown(
    clearsight_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "user-x:pass-that-must-not-show"
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    assert main(["exchange", "credentials", "ncmec", "--stdin"]) == 0
    path = clearsight_home / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert main(["exchange", "add", "n1", "--api", "ncmec", "--bank", "b1"]) == 0
    assert main(["exchange", "add", "s1", "--api", "stop_ncii", "--bank", "b2"]) == 0
    assert main(["exchange", "status", "--json"]) == 0
    out = capsys.readouterr().out
    assert "pass-that-must-not-show" not in out
    rows = {row["name"]: row for row in json.loads(out.splitlines()[-1])}
    assert rows["n1"]["credentials"] == "set (file)"
    assert rows["s1"]["credentials"] == "not set"
    monkeypatch.setenv("TX_STOPNCII_KEYS", "a,b")
    assert main(["exchange", "status", "s1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["credentials"] == "set (environment)"
    # A file others can read is refused, not used.
    path.chmod(0o644)
    assert main(["exchange", "status"]) == 3
    assert "chmod 600" in capsys.readouterr().err


def test_list_enable_disable_remove(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exchange", "add", "x", "--api", "file", "--bank", "bx"]) == 0
    assert main(["exchange", "add", "x", "--api", "file", "--bank", "bx"]) == 2
    assert main(["exchange", "disable", "x"]) == 0
    assert main(["exchange", "fetch", "x"]) == 2  # disabled
    assert main(["exchange", "fetch"]) == 2  # nothing enabled
    assert main(["exchange", "enable", "x"]) == 0
    capsys.readouterr()
    assert main(["exchange", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["api"], r["bank"], r["enabled"]) for r in listed] == [
        ("x", "file", "bx", True)
    ]
    assert main(["exchange", "remove", "x"]) == 0
    assert main(["exchange", "status", "x"]) == 2
