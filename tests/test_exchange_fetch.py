"""`clearsight exchange fetch` against a local NCMEC mock, through the library's client.

The real python-threatexchange NCMEC exchange and client fetch from a mock on
127.0.0.1 that answers in the hash-sharing API's shapes (exchange_mocks.py): XML
pages with ``<paging><next>``, ``deletedImage`` entries, Basic auth. A fetch killed
in the middle resumes from its committed checkpoint with nothing lost or doubled; a
refused credential is one line and exit 3; a 500 is retried, and one that persists
ends the fetch with exit 3 and a resume that completes it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from clearsight.banks.exchange_book import ExchangeBook
from clearsight.banks.models import ENTRIES
from clearsight.banks.store import BankStore
from clearsight.cli import main
from clearsight.exchanges.credentials import CredentialStore
from clearsight.exchanges.fetch import fetch_exchange
from tests.conftest import CLEARSIGHT, run_cli
from tests.exchange_mocks import NcmecMock, NcmecRecord, ncmec_records, serving

pytest.importorskip("threatexchange")

USER, PASSWORD = "example-user", "s3cret-pass-word"
COUNT = 30


def _records() -> list[NcmecRecord]:
    start = int(time.time()) - 2000
    # Ten a second: however narrow the client's probing makes a window, one that holds
    # entries holds more than a page of 4.
    records = ncmec_records(COUNT, start, per_second=10)
    # A later withdrawal of entry e3, as NCMEC sends it.
    records.append(NcmecRecord("e3", 7, start + COUNT + 5, deleted=True))
    return records


@pytest.fixture
def ncmec() -> Iterator[tuple[NcmecMock, str]]:
    mock = NcmecMock(_records(), page_size=4, user=USER, password=PASSWORD)
    with serving(mock) as url:
        yield mock, url


def _add(url: str, secret: str = f"{USER}:{PASSWORD}") -> None:
    store = BankStore.open()
    try:
        ExchangeBook(store.engine).add(
            "ncmec-test", "ncmec", "ncmec", {"environment": "test_Industry", "base_url": url}
        )
    finally:
        store.close()
    CredentialStore().set("ncmec", secret)


def _identities() -> list[str]:
    store = BankStore.open()
    try:
        with store.engine.connect() as connection:
            return [row[0] for row in connection.execute(select(ENTRIES.c.identity))]
    finally:
        store.close()


EXPECTED = sorted(f"id:7-e{n}" for n in range(COUNT) if n != 3)


@pytest.mark.parametrize("own_process", [True, False], ids=["child", "in-process"])
def test_a_fetch_pages_through_and_applies_deletes_then_resumes(
    ncmec: tuple[NcmecMock, str], own_process: bool
) -> None:
    mock, url = ncmec
    _add(url)
    store = BankStore.open()
    try:
        first = fetch_exchange(store, "ncmec-test", batch_entries=8, own_process=own_process)
        assert (first.added, first.removed, first.up_to_date) == (COUNT, 1, True)
        assert sorted(_identities()) == EXPECTED
        assert any("start=" in path for path in mock.behaviour.requests)  # it paged
        info = ExchangeBook(store.engine).get("ncmec-test")
        assert info.checkpoint is not None and info.up_to_date and info.fetched == COUNT + 1

        # A new entry at NCMEC, stamped after the checkpoint: the next fetch starts from
        # the checkpoint and adds it (once the client's window, which ends 5 s before
        # now, reaches past it).
        stamped = info.checkpoint["state"]["get_entries_max_ts"]
        mock.records.append(NcmecRecord("new1", 8, stamped, md5="ab" * 16))
        while int(time.time()) - 5 <= stamped:
            time.sleep(0.1)
        before = len(mock.behaviour.requests)
        second = fetch_exchange(store, "ncmec-test", own_process=own_process)
        assert second.resumed and (second.added, second.removed) == (1, 0)
        asked = mock.behaviour.requests[before:]
        assert all("1970-01-01" not in path for path in asked), "it started from scratch"
    finally:
        store.close()
    assert sorted(_identities()) == sorted([*EXPECTED, "id:8-new1"])


def _count(home: Path) -> int:
    try:
        with sqlite3.connect(home / "banks.sqlite", timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM bank_entries").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_a_fetch_killed_in_the_middle_resumes_with_nothing_lost_or_doubled(
    ncmec: tuple[NcmecMock, str], clearsight_home: Path
) -> None:
    mock, url = ncmec
    _add(url)
    # Hold the first request made once the bank holds 8 entries: mid-fetch, whatever
    # windows the client's probing chose.
    mock.behaviour.hold_when = lambda: _count(clearsight_home) >= 8
    command = [str(CLEARSIGHT), "exchange", "fetch", "ncmec-test", "--batch", "4", "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as fetch:
        try:
            assert mock.behaviour.held.wait(60), "the fetch never reached the held page"
            fetching = _fetching_children(clearsight_home)
            assert len(fetching) == 1, "the pages are fetched in a child process"
            os.kill(fetch.pid, signal.SIGKILL)
            fetch.wait(30)
        finally:
            fetch.kill()
    assert fetch.returncode == -signal.SIGKILL
    kept = _identities()
    assert 0 < len(kept) < COUNT, "the kill should land in the middle of the fetch"
    assert sorted(kept) == sorted(f"id:7-e{n}" for n in range(len(kept)))

    # The orphaned child gets its page, finds nobody to send it to, and ends.
    mock.behaviour.release.set()
    deadline = time.monotonic() + 30
    while _fetching_children(clearsight_home) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _fetching_children(clearsight_home), "the fetching child outlived the fetch"
    before = len(mock.behaviour.requests)
    resumed = run_cli("exchange", "fetch", "ncmec-test", "--json", timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    # It resumed from the committed checkpoint, not from scratch.
    assert "1970-01-01" not in mock.behaviour.requests[before]
    report = json.loads(resumed.stdout)[0]
    assert report["resumed"] is True
    assert len(kept) + report["added"] == COUNT  # no entry was added twice
    identities = _identities()
    assert sorted(identities) == EXPECTED and len(identities) == len(set(identities))


def _fetching_children(home: Path) -> list[int]:
    """Live fetching children (fetch_ahead's) started for the store in ``home``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        mine = f"CLEARSIGHT_HOME={home}".encode() in environ.split(b"\0")
        if b"fetch_ahead import serve" in cmdline and mine and state != "Z":
            found.append(int(proc.name))
    return found


def test_refused_credentials_are_one_line_and_exit_3(
    ncmec: tuple[NcmecMock, str], capsys: pytest.CaptureFixture[str], clearsight_home: Path
) -> None:
    _, url = ncmec
    wrong = "example-user:not-the-password"
    _add(url, wrong)
    assert main(["exchange", "fetch", "ncmec-test"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "refused the credentials (HTTP 401)" in err
    assert "exchange credentials ncmec" in err
    written = "".join(
        p.read_text(errors="replace") for p in clearsight_home.rglob("*.log") if p.is_file()
    )
    assert "not-the-password" not in err + written
    assert _identities() == []
    # status says what failed, and only whether credentials are set.
    assert main(["exchange", "status"]) == 0
    out = capsys.readouterr().out
    assert "credentials set (file)" in out and "refused the credentials" in out
    assert "not-the-password" not in out


def test_a_500_is_retried_and_one_that_persists_stops_then_resumes(
    ncmec: tuple[NcmecMock, str], capsys: pytest.CaptureFixture[str]
) -> None:
    mock, url = ncmec
    _add(url)
    # Pass 1: two 500s on one request; the library's retries see it through.
    mock.behaviour.fail = {3: 500, 4: 500}
    store = BankStore.open()
    try:
        report = fetch_exchange(store, "ncmec-test", batch_entries=4)
    finally:
        store.close()
    assert report.up_to_date and sorted(_identities()) == EXPECTED
    assert mock.behaviour.requests[2] == mock.behaviour.requests[4]  # asked again

    # Pass 2: a server that keeps failing mid-fetch: exit 3, what was committed stays.
    # (Twelve new entries stamped at the checkpoint, which the next window covers once
    # it ends, 5 s before now, past that second.)
    stamped = _checkpoint_time()
    mock.records.extend(NcmecRecord(f"n{n}", 9, stamped, md5=f"{n:032x}") for n in range(12))
    while int(time.time()) - 5 <= stamped:
        time.sleep(0.1)
    before = len(mock.behaviour.requests)
    mock.behaviour.fail = {before + 2 + i: 500 for i in range(10)}  # its second page on
    assert main(["exchange", "fetch", "ncmec-test", "--batch", "1"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "kept failing" in err, err
    assert len(_identities()) == len(EXPECTED) + 4  # the first page, committed
    mock.behaviour.fail = {}
    resumed_at = len(mock.behaviour.requests)
    assert main(["exchange", "fetch", "ncmec-test", "--json"]) == 0
    assert "start=4" in mock.behaviour.requests[resumed_at]  # at the page that failed
    assert len(_identities()) == len(EXPECTED) + 12


def _checkpoint_time() -> int:
    store = BankStore.open()
    try:
        checkpoint = ExchangeBook(store.engine).get("ncmec-test").checkpoint
    finally:
        store.close()
    assert checkpoint is not None
    return int(checkpoint["state"]["get_entries_max_ts"])
