"""A fetch's few additions and withdrawals reach a live index through its delta.

An NCMEC exchange fetched (through python-threatexchange's client, from the local
mock) into a bank that a live index (the matching service's) holds: the next fetch's
commit writes its entries to the change log, so the index catches up without loading
the bank again, and answers as a brute-force search of the bank does. A commit of
more changes than the log takes makes it load the bank again instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clearsight.banks import service_edits
from clearsight.banks.exchange_book import ExchangeBook
from clearsight.banks.service_edits import BankEdits
from clearsight.banks.store import BankStore
from clearsight.exchanges.credentials import CredentialStore
from clearsight.exchanges.fetch import fetch_exchange
from clearsight.index.cache import PdqIndexCache
from clearsight.match.live_index import LiveIndex
from clearsight.signals.pdq import PdqSignal
from tests.exchange_mocks import NcmecMock, NcmecRecord, ncmec_records, pdq_of, serving
from tests.test_api_live_index import expected

pytest.importorskip("threatexchange")

USER, PASSWORD = "example-user", "s3cret-pass-word"
COUNT = 30


@pytest.fixture
def fetched(tmp_path: Path) -> Iterator[tuple[NcmecMock, BankStore, LiveIndex]]:
    """A bank of COUNT entries fetched from the mock, and a live index of it."""
    mock = NcmecMock(
        ncmec_records(COUNT, int(time.time()) - 2000, per_second=10),
        page_size=4,
        user=USER,
        password=PASSWORD,
    )
    with serving(mock) as url:
        store = BankStore.open()
        try:
            config = {"environment": "test_Industry", "base_url": url}
            ExchangeBook(store.engine).add("feed", "ncmec", "FEED", config)
            CredentialStore().set("ncmec", f"{USER}:{PASSWORD}")
            assert fetch_exchange(store, "feed").added == COUNT
            cache = PdqIndexCache(tmp_path / "indexes", brute_force_below=10).mapped()
            index = LiveIndex(BankEdits(store.engine), store, cache)
            index.refresh()
            yield mock, store, index
        finally:
            store.close()


def _news(mock: NcmecMock, store: BankStore) -> None:
    """NCMEC adds three entries and withdraws e5, stamped after the checkpoint; wait
    until the client's window (which ends 5 s before now) covers them."""
    checkpoint = ExchangeBook(store.engine).get("feed").checkpoint
    assert checkpoint is not None
    stamped = int(checkpoint["state"]["get_entries_max_ts"])
    mock.records += [NcmecRecord(f"n{n}", 8, stamped, pdq=pdq_of(100 + n)) for n in range(3)]
    mock.records.append(NcmecRecord("e5", 7, stamped, deleted=True))
    while int(time.time()) - 5 <= stamped:
        time.sleep(0.1)


def _hits(index: LiveIndex, values: list[str]) -> set[tuple[int, int, int]]:
    found = index.search_pdq(PdqSignal.pack(values))
    return {(hit.query, hit.entry_id, hit.distance) for hit in found}


def test_a_fetch_is_caught_up_through_the_delta(
    fetched: tuple[NcmecMock, BankStore, LiveIndex],
) -> None:
    mock, store, index = fetched
    snapshot = index.snapshot
    assert snapshot is not None
    first = snapshot.banks["FEED"]
    assert first.base is not None
    _news(mock, store)
    report = fetch_exchange(store, "feed")
    assert (report.added, report.removed) == (3, 1)
    index.refresh()
    live = index.snapshot.banks["FEED"]  # type: ignore[union-attr]
    assert live.base is first.base  # caught up, not loaded again
    assert live.delta_codes.shape[0] == 3 and live.tombstones.shape[0] == 1
    queries = [pdq_of(n) for n in range(COUNT)] + [pdq_of(100 + n) for n in range(3)]
    hits = _hits(index, queries)
    assert hits == expected(store, "FEED", queries)
    assert {query for query, _, _ in hits} == set(range(len(queries))) - {5}


def test_a_large_commit_loads_the_bank_again(
    fetched: tuple[NcmecMock, BankStore, LiveIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    mock, store, index = fetched
    first = index.snapshot.banks["FEED"]  # type: ignore[union-attr]
    monkeypatch.setattr(service_edits, "FEED_LOG_AT_MOST", 2)
    _news(mock, store)
    fetch_exchange(store, "feed")
    index.refresh()
    live = index.snapshot.banks["FEED"]  # type: ignore[union-attr]
    assert live.base is not first.base and live.delta_codes.shape[0] == 0
    queries = [pdq_of(n) for n in range(COUNT)] + [pdq_of(100 + n) for n in range(3)]
    assert _hits(index, queries) == expected(store, "FEED", queries)
