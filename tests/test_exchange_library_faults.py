"""Faults in python-threatexchange (1.2.17) that clearsight fixes at its boundary.

Each test shows the fault in the library as installed, then that the exchange
clearsight builds (clearsight.exchanges.apis) does not have it. Should a later
release fix one, its first assertion fails and the fix here can go.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import requests

pytest.importorskip("threatexchange")

from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
from threatexchange.exchanges.clients.ncmec import hash_api
from threatexchange.exchanges.clients.stopncii import api as stopncii_api
from threatexchange.exchanges.impl import stop_ncii_api

from clearsight.banks.records import ImportedEntry
from clearsight.exchanges import apis
from tests.exchange_mocks import (
    GraphMock,
    NcmecMock,
    StopNciiMock,
    StopNciiRecord,
    ThreatUpdate,
    ncmec_records,
    pdq_of,
    serving,
)

TOKEN = "1234567890|exampleexampleexampleexample"


def test_stopncii_withdrawals_are_read_by_hash_status_not_hash_value() -> None:
    withdrawn = stopncii_api.StopNCIIHashRecord(
        lastModtimestamp=100,
        signalType=stopncii_api.StopNCIISignalType.ImagePDQ,
        hashValue=pdq_of(1),
        hashStatus=stopncii_api.StopNCIICaseStatus.Withdrawn,
        caseNumbers={},
    )
    # The fault: the library compares hashValue with the case states, so a withdrawn
    # hash comes back as a live record (metadata, not None) and is never deleted.
    _key, metadata = stop_ncii_api._get_delta_mapping(withdrawn)
    assert metadata is not None

    # The boundary: the same record through a real fetch is a removal.
    records = [StopNciiRecord(pdq_of(1), 100, "Withdrawn"), StopNciiRecord(pdq_of(2), 101)]
    mock = StopNciiMock(records, page_size=1, function_key="fk", key="sk")
    with serving(mock) as url:
        connected = apis.connect("stop_ncii", {"base_url": url}, "fk,sk")
        events = [
            event
            for delta in connected.api.fetch_iter(apis.SIGNAL_TYPES, None)
            for event in connected.translate(delta.updates)
        ]
    entries = [e for e in events if isinstance(e, ImportedEntry)]
    assert [(e.signals[0][1], e.remove) for e in entries] == [
        (pdq_of(1), True),
        (pdq_of(2), False),
    ]


def test_graph_api_requests_are_retried_through_the_session() -> None:
    mock = GraphMock([ThreatUpdate(1, pdq_of(1), 100)], page_size=5, token=TOKEN)
    with serving(mock) as url:
        mock.base = url
        # The fault: get_json_from_url calls requests.get beside its retrying session.
        mock.behaviour.fail = {1: 500}
        library = ThreatExchangeAPI(TOKEN, endpoint_override=url)
        with pytest.raises(requests.HTTPError):
            library.get_json_from_url(f"{url}/42/threat_updates/", {"access_token": TOKEN})
        # The boundary: the same 500 is retried and the fetch goes through.
        mock.behaviour.fail = {2: 500}
        connected = apis.connect("fb_threatexchange", {"base_url": url, "privacy_group": 42}, TOKEN)
        deltas = list(connected.api.fetch_iter(apis.SIGNAL_TYPES, None))
    assert len(mock.behaviour.requests) == 3
    assert [key for delta in deltas for key in delta.updates] == [("HASH_PDQ", pdq_of(1))]


@pytest.fixture
def new_york_time() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.usefixtures("new_york_time")
def test_ncmec_windows_are_asked_for_in_utc() -> None:
    # The fault: local time, labelled Z (five hours off in New York in winter).
    assert hash_api._date_format(0) != "1970-01-01T00:00:00Z"
    assert apis.utc_text(0) == "1970-01-01T00:00:00Z"


def test_ncmec_pages_come_over_one_connection_and_parse_the_same() -> None:
    start = int(time.time()) - 600
    mock = NcmecMock(ncmec_records(10, start), page_size=3, user="u", password="p")
    # A day either side: the library's window is in local time (the fault above).
    early, late = start - 86400, start + 86400
    with serving(mock, keep_alive=True) as url:
        library = hash_api.NCMECHashAPI("u", "p", hash_api.NCMECEnvironment.test_Industry)
        library._base_url = url
        theirs = list(library.get_entries_iter(start_timestamp=early, end_timestamp=late))
        # The fault: a new session, and a new connection, for every page.
        assert mock.behaviour.connections == len(theirs) == 4
        ours = apis._NCMECClient("u", "p", hash_api.NCMECEnvironment.test_Industry, url)
        before = mock.behaviour.connections
        mine = list(ours.get_entries_iter(start_timestamp=early, end_timestamp=late))
        assert mock.behaviour.connections == before + 1
    assert mine == theirs  # the library's own dataclasses, from the same trees
    assert sum(len(page.updates) for page in mine) == 10
