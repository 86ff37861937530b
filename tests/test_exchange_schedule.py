"""`clearsight api --fetch-every`: the matching service fetches its exchanges on a timer.

A real service process fetches an NCMEC exchange from the local mock
(exchange_mocks.py) through python-threatexchange's client. While a fetch waits on the
server, lookups are answered at once; once it completes, the entries match (the index
caught up through its delta); an entry NCMEC adds later is fetched by a later round
and matches too. Two service workers never fetch the same exchange at once (the claim
in the bank store).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from clearsight.banks.exchange_book import ExchangeBook
from clearsight.banks.store import BankStore
from clearsight.exchanges.credentials import CredentialStore
from tests.api_support import api_service, banks_url, wait_for
from tests.exchange_mocks import NcmecMock, NcmecRecord, ncmec_records, pdq_of, serving

pytest.importorskip("threatexchange")

USER, PASSWORD = "example-user", "s3cret-pass-word"
NAME = "NCMEC_FEED"
COUNT = 12


def _add(home: Path, url: str) -> None:
    store = BankStore.open(banks_url(home))
    try:
        config = {"environment": "test_Industry", "base_url": url}
        ExchangeBook(store.engine).add(NAME, "ncmec", NAME, config)
    finally:
        store.close()
    CredentialStore().set("ncmec", f"{USER}:{PASSWORD}")


def _matches(client: httpx.Client, pdq: str) -> bool:
    answer = client.get("/m/raw_lookup", params={"signal": pdq, "signal_type": "pdq"})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["matches"])


def _status(client: httpx.Client) -> dict[str, object]:
    answer: dict[str, object] = client.get(f"/c/exchange/{NAME}/status").json()
    return answer


def test_the_service_fetches_on_a_schedule_and_lookups_never_wait(clearsight_home: Path) -> None:
    start = int(time.time()) - 2000
    mock = NcmecMock(
        ncmec_records(COUNT, start, per_second=10), page_size=4, user=USER, password=PASSWORD
    )
    # Hold the third request: the first fetch is then under way, waiting on NCMEC.
    mock.behaviour.hold_when = lambda: len(mock.behaviour.requests) >= 3
    with serving(mock) as url:
        _add(clearsight_home, url)
        with api_service(clearsight_home, "--fetch-every", "2") as service:
            with service.client() as client:
                assert mock.behaviour.held.wait(60), "the schedule never fetched"
                assert _status(client)["running_fetch_start_ts"] is not None
                asked = time.monotonic()
                assert not _matches(client, pdq_of(COUNT - 1))
                assert time.monotonic() - asked < 5, "a lookup waited for the fetch"

                mock.behaviour.release.set()
                wait_for(lambda: _matches(client, pdq_of(COUNT - 1)), 60)
                assert all(_matches(client, pdq_of(n)) for n in range(COUNT))
                wait_for(lambda: _status(client)["last_fetch_succeeded"] is True, 30)

                # NCMEC adds an entry: a later round fetches it (once the client's
                # window, which ends 5 s before now, covers it) and it matches.
                mock.records.append(NcmecRecord("new", 8, int(time.time()), pdq=pdq_of(99)))
                wait_for(lambda: _matches(client, pdq_of(99)), 60)
    assert "s3cret" not in service.log.read_text()


def test_one_claim_at_a_time(clearsight_home: Path) -> None:
    """Of two workers asking at once, one fetches; none while it runs or soon after."""
    store = BankStore.open()
    try:
        book = ExchangeBook(store.engine)
        book.add(NAME, "file", NAME, {"filename": "/nonexistent"})
        assert book.claim(NAME, due_after=60, abandoned_after=3600)
        assert not book.claim(NAME, due_after=60, abandoned_after=3600)  # running
        assert book.claim(NAME, due_after=60, abandoned_after=0)  # taken as died
        book.note_end(NAME, up_to_date=True, error=None)
        assert not book.claim(NAME, due_after=60, abandoned_after=3600)  # not due yet
        assert book.claim(NAME, due_after=0, abandoned_after=3600)
        book.note_end(NAME, up_to_date=True, error=None)
        book.set_enabled(NAME, False)
        assert not book.claim(NAME, due_after=0, abandoned_after=3600)
    finally:
        store.close()
