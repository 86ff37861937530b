"""StopNCII and NCMEC files are read as python-threatexchange reads them: the oracle.

Each test writes a file the way the service sends it (a StopNCII FetchHashes page, an
NCMEC hash-sharing ``queryResult``), lets python-threatexchange's own client parse it
(its HTTP session answered from the file, so the whole client path runs: ``_get``,
the namespace stripping, ``dacite``, ``GetEntriesResponse.from_xml``), and checks that
every record that library accepts, clearsight imports too, with the same hashes and
the same deletions. Hypothesis writes the records, in the value shapes the API uses.

Every hash is generated, never taken from any list; ids and tags are neutral words.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from threatexchange.exchanges.clients.ncmec.hash_api import (
    GetEntriesResponse,
    NCMECEnvironment,
    NCMECHashAPI,
)
from threatexchange.exchanges.clients.stopncii.api import (
    FetchHashesResponse,
    StopNCIIAPI,
    StopNCIICaseStatus,
    StopNCIICSPFeedbackValue,
    StopNCIISignalType,
)

from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.ncmec_xml import parse_ncmec_xml
from clearsight.banks.formats.stopncii import parse_stopncii, record_event
from clearsight.banks.formats.stopncii_fast import plain_record_entry
from clearsight.banks.records import BankSignal, ImportedEntry, NextPage, NotImportable
from clearsight.banks.store import BankStore

from .conftest import run_cli

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class _FileAnswer(requests.adapters.BaseAdapter):
    """Answers every request with one file's bytes, as the service would send them."""

    def __init__(self, body: bytes, content_type: str) -> None:
        super().__init__()
        self.body = body
        self.content_type = content_type

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = self.body
        response.headers["Content-Type"] = self.content_type
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def _answering(body: bytes, content_type: str) -> Callable[..., requests.Session]:
    def session(*_args: object) -> requests.Session:
        answered = requests.Session()
        answered.mount("https://", _FileAnswer(body, content_type))
        return answered

    return session


def stopncii_oracle(path: Path) -> FetchHashesResponse:
    api = StopNCIIAPI("test-subscription-key", "test-function-key")
    api._get_session = _answering(path.read_bytes(), "application/json")  # type: ignore[method-assign]
    return api.fetch_hashes()


def ncmec_oracle(path: Path) -> GetEntriesResponse:
    api = NCMECHashAPI("test-user", "test-password", NCMECEnvironment.test_NGO)
    api._get_session = _answering(path.read_bytes(), "application/xml")  # type: ignore[method-assign]
    return api.get_entries(start_timestamp=1, end_timestamp=2)


# --- StopNCII -----------------------------------------------------------------------------

_HEX = "0123456789abcdefABCDEF"
_WORDS = st.text("abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=12)


def _hash_value(signal_type: str) -> st.SearchStrategy[str]:
    if signal_type == "ImagePDQ":
        return st.text(_HEX, min_size=64, max_size=64)
    if signal_type == "VideoMD5":
        return st.text(_HEX, min_size=32, max_size=32)
    return st.text(min_size=1, max_size=40)  # text, URLs, TMK: kept by nobody here


@st.composite
def stopncii_records(draw: st.DrawFn) -> dict[str, Any]:
    signal_type = draw(st.sampled_from([member.value for member in StopNCIISignalType]))
    statuses = st.sampled_from([member.value for member in StopNCIICaseStatus])
    cases = draw(st.dictionaries(st.integers(1, 10**9).map(str), statuses, max_size=3))
    feedbacks = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "feedbackValue": st.sampled_from(
                        [member.value for member in StopNCIICSPFeedbackValue]
                    ),
                    "tags": st.lists(_WORDS, max_size=2),
                    "source": _WORDS,
                }
            ),
            max_size=2,
        )
    )
    record = {
        "lastModtimestamp": draw(st.integers(0, 2**32)),
        "signalType": signal_type,
        "hashValue": draw(_hash_value(signal_type)),
        "hashStatus": draw(statuses),
        "caseNumbers": cases if bool(cases) or draw(st.booleans()) else [],  # [] as some send
        "CSPFeedbacks": feedbacks,
    }
    return record


def stopncii_page(records: list[dict[str, Any]], more: bool = False) -> dict[str, Any]:
    return {
        "count": len(records),
        "nextPageToken": "test-page-token" if more else None,
        "nextSetTimestamp": 1_700_000_000,
        "hasMoreRecords": more,
        "hashRecords": records,
    }


_KEPT = {StopNCIISignalType.ImagePDQ: BankSignal.PDQ, StopNCIISignalType.VideoMD5: BankSignal.MD5}
_REMOVES = {StopNCIICaseStatus.Withdrawn, StopNCIICaseStatus.Deleted}


@HYPOTHESIS
@given(records=st.lists(stopncii_records(), max_size=12), more=st.booleans())
def test_stopncii_pages_read_as_threatexchange_reads_them(
    tmp_path: Path, records: list[dict[str, Any]], more: bool
) -> None:
    path = tmp_path / "stopncii-page.json"
    path.write_text(json.dumps(stopncii_page(records, more)), encoding="utf-8")
    oracle = stopncii_oracle(path)
    assert len(oracle.hashRecords) == len(records)  # every generated record is valid
    assert oracle.hasMoreRecords is more

    events = list(parse_stopncii(path))
    expected = [
        (_KEPT[record.signalType], record.hashValue.lower(), record.hashStatus in _REMOVES)
        for record in oracle.hashRecords
        if record.signalType in _KEPT
    ]
    entries = [event for event in events if isinstance(event, ImportedEntry)]
    assert [(*entry.signals[0], entry.remove) for entry in entries] == expected
    not_kept: dict[str, int] = {}
    for record in oracle.hashRecords:
        if record.signalType not in _KEPT:
            not_kept[record.signalType.value] = not_kept.get(record.signalType.value, 0) + 1
    summaries = {e.kind: e.count for e in events if isinstance(e, NotImportable)}
    assert summaries == not_kept
    assert len(events) == len(entries) + len(summaries)  # nothing rejected


def test_stopncii_record_keeps_cases_feedback_and_time(tmp_path: Path) -> None:
    value = "ab" * 32
    record = {
        "lastModtimestamp": 1_700_000_000,
        "signalType": "ImagePDQ",
        "hashValue": value.upper(),
        "hashStatus": "Active",
        "caseNumbers": {"1234": "Active", "5678": "Received"},
        "CSPFeedbacks": [{"feedbackValue": "Blocked", "tags": [], "source": "test-csp"}],
    }
    path = tmp_path / "page.json"
    path.write_text(json.dumps(stopncii_page([record])), encoding="utf-8")
    assert stopncii_oracle(path).hashRecords[0].caseNumbers == {
        "1234": StopNCIICaseStatus.Active,
        "5678": StopNCIICaseStatus.Received,
    }
    [entry] = parse_stopncii(path)
    assert isinstance(entry, ImportedEntry)
    assert entry.signals == ((BankSignal.PDQ, value),)
    assert entry.metadata.tags == (
        "status:Active",
        "case:1234",
        "case:5678",
        "feedback:test-csp:Blocked",
    )
    assert entry.metadata.date == "2023-11-14T22:13:20Z"


def test_stopncii_withdrawals_remove_entries_and_other_types_are_one_line_each(
    tmp_path: Path,
) -> None:
    """Through the CLI, with --on-error stop: kinds not kept are no error."""
    pdq = [f"{n * 7919:064x}" for n in range(1, 5)]
    md5 = f"{4242:032x}"

    def record(signal_type: str, value: str, status: str = "Active") -> dict[str, Any]:
        return {
            "lastModtimestamp": 1_700_000_000,
            "signalType": signal_type,
            "hashValue": value,
            "hashStatus": status,
            "caseNumbers": {},
            "CSPFeedbacks": [],
        }

    first = tmp_path / "page-1.json"
    first.write_text(
        json.dumps(
            stopncii_page(
                [record("ImagePDQ", value) for value in pdq]
                + [record("VideoMD5", md5)]
                + [record("VideoTMK", "test-tmk-value")] * 3
                + [record("URL", "https://example.invalid/test"), record("Text", "test text")],
                more=True,
            )
        ),
        encoding="utf-8",
    )
    second = tmp_path / "page-2.json"
    second.write_text(
        json.dumps(
            stopncii_page(
                [record("ImagePDQ", pdq[0], "Withdrawn"), record("VideoMD5", md5, "Deleted")]
            )
        ),
        encoding="utf-8",
    )
    imported = run_cli("bank", "import", "stopncii", first, "--on-error", "stop")
    assert imported.returncode == 0, imported.stderr
    lines = imported.stdout.splitlines()
    assert "5 added" in lines[0]
    summaries = [line for line in lines if "not importable" in line]
    assert len(summaries) == 3
    assert any("3 VideoTMK" in line for line in summaries)
    assert any("1 URL" in line for line in summaries)

    removed = run_cli("bank", "import", "stopncii", second, "--on-error", "stop", "--json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["removed"] == 2
    store = BankStore.open()
    try:
        left = {entry.signals for entry in store.iter_entries("stopncii")}
    finally:
        store.close()
    assert left == {((BankSignal.PDQ, value),) for value in pdq[1:]}


# --- NCMEC --------------------------------------------------------------------------------

_NAMESPACE = "https://hashsharing.ncmec.org/hashsharing/v2"


@st.composite
def ncmec_entries(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["image", "video"]))
    deleted = draw(st.booleans())
    entry: dict[str, Any] = {
        "kind": kind,
        "deleted": deleted,
        "id": draw(_WORDS),
        "member": draw(st.integers(1, 10**6)),
        "classification": draw(st.none() | st.sampled_from(["A1", "A2", "B1", "B2"])),
        "fingerprints": {},
        "feedback": draw(st.lists(st.sampled_from(["Md5", "Sha1", "Pdq"]), max_size=2)),
    }
    if not deleted:
        fingerprints = {"md5": draw(st.text(_HEX, min_size=32, max_size=32))}
        if draw(st.booleans()):
            fingerprints["sha1"] = draw(st.text(_HEX, min_size=40, max_size=40))
        if kind == "image" and draw(st.booleans()):
            fingerprints["pdq"] = draw(st.text(_HEX, min_size=64, max_size=64))
        if kind == "image" and draw(st.booleans()):
            raw = draw(st.binary(min_size=144, max_size=144))
            fingerprints["pdna"] = raw.hex() if draw(st.booleans()) else _b64(raw)
        entry["fingerprints"] = fingerprints
    return entry


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _entry_xml(entry: dict[str, Any]) -> str:
    tag = ("deleted" + entry["kind"].capitalize()) if entry["deleted"] else entry["kind"]
    parts = [
        f'<member id="{entry["member"]}">Test Member</member>',
        "<timestamp>2017-10-24T15:00:00Z</timestamp>",
        f"<id>{escape(entry['id'])}</id>",
    ]
    if entry["classification"] is not None:
        parts.append(f"<classification>{entry['classification']}</classification>")
    if entry["fingerprints"]:
        prints = "".join(f"<{k}>{v}</{k}>" for k, v in entry["fingerprints"].items())
        vendor = '<tmk-pdqf rel="self" href="/v2/entries/1/fingerprints/TMK_PDQF"/>'
        parts.append(f"<fingerprints>{prints}{vendor}</fingerprints>")
    if entry["feedback"]:
        sentiments = "".join(
            f"<affirmativeFeedback type={quoteattr(kind)}><members>"
            f'<member id="42">Test Member</member></members></affirmativeFeedback>'
            for kind in entry["feedback"]
        )
        parts.append(
            f'<feedback lastUpdateTimestamp="2023-06-01T12:48:14Z">{sentiments}</feedback>'
        )
    return f"<{tag}>{''.join(parts)}</{tag}>"


def ncmec_page(entries: list[dict[str, Any]], next_page: bool) -> str:
    sections = []
    for kind in ("image", "video"):
        mine = [entry for entry in entries if entry["kind"] == kind]
        if mine:
            sections.append(
                f'<{kind}s count="{len(mine)}" maxTimestamp="2017-10-24T15:10:00Z">'
                + "".join(_entry_xml(entry) for entry in mine)
                + f"</{kind}s>"
            )
    paging = (
        "<paging><next>/v2/entries?from=2017-10-20T00%3A00%3A00.000Z&amp;start=2001"
        "&amp;size=1000&amp;max=3000</next></paging>"
        if next_page
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<queryResult xmlns="{_NAMESPACE}">{"".join(sections)}{paging}</queryResult>'
    )


def _canonical_pdna(value: str) -> str:
    """The oracle keeps PhotoDNA as sent; clearsight stores base64 of the 144 bytes."""
    return _b64(bytes.fromhex(value)) if len(value) == 288 else value


_NCMEC_SIGNALS = {
    "md5": BankSignal.MD5,
    "sha1": BankSignal.SHA1,
    "pdq": BankSignal.PDQ,
    "pdna": BankSignal.PHOTODNA,
}


@HYPOTHESIS
@given(entries=st.lists(ncmec_entries(), max_size=10), next_page=st.booleans())
def test_ncmec_pages_read_as_threatexchange_reads_them(
    tmp_path: Path, entries: list[dict[str, Any]], next_page: bool
) -> None:
    path = tmp_path / "ncmec-page.xml"
    path.write_text(ncmec_page(entries, next_page), encoding="utf-8")
    oracle = ncmec_oracle(path)
    assert bool(oracle.next) is next_page

    events = list(parse_ncmec_xml(path))
    pages = [event for event in events if isinstance(event, NextPage)]
    assert [page.address for page in pages] == ([oracle.next] if oracle.next else [])
    events = [event for event in events if not isinstance(event, NextPage)]
    assert all(isinstance(event, ImportedEntry) for event in events)
    assert len(events) == len(oracle.updates)
    # The oracle reads images, then videos: so does the file, and so does clearsight.
    for update, event in zip(oracle.updates, events, strict=True):
        assert isinstance(event, ImportedEntry)
        assert event.remove is update.deleted
        assert event.metadata.external_id == update.id
        assert f"member:{update.member_id}" in event.metadata.tags
        expected = {
            (_NCMEC_SIGNALS[name], value.lower() if name != "pdna" else _canonical_pdna(value))
            for name, value in update.fingerprints.items()
            if name in _NCMEC_SIGNALS
        }
        assert set(event.signals) == expected
        if not update.deleted:
            assert event.metadata.category == update.classification
            for fingerprint_type in update.feedback:
                assert f"feedback:{fingerprint_type.lower()}:affirmative" in event.metadata.tags


def test_ncmec_documented_sample_shapes(tmp_path: Path) -> None:
    """The shapes of the service's documentation: negative feedback with reasons too."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<queryResult xmlns="{_NAMESPACE}">\n'
        '<images count="2" maxTimestamp="2017-10-24T15:10:00Z">\n'
        '<image><member id="42">Test Member</member><timestamp>2017-10-24T15:00:00Z</timestamp>'
        "<id>test-image-1</id><classification>A1</classification><fingerprints>"
        f"<md5>{'a1' * 16}</md5><sha1>{'a1' * 20}</sha1><pdna>{'a1' * 27}...</pdna>"
        '</fingerprints><feedback lastUpdateTimestamp="2023-06-01T12:48:14Z">'
        '<negativeFeedback type="Sha1"><reasons><reason guid="0" name="Test Reason" '
        'type="Sha1"/><members><member id="42">Test Member</member></members></reasons>'
        "</negativeFeedback></feedback></image>\n"
        '<deletedImage><member id="43">Test Member</member><id>test-image-4</id>'
        "<timestamp>2017-10-24T15:10:00Z</timestamp></deletedImage>\n"
        "</images>\n"
        "<paging><next>/v2/entries?start=2001&amp;size=1000&amp;max=3000</next></paging>\n"
        "</queryResult>"
    )
    path = tmp_path / "ncmec.xml"
    path.write_text(xml, encoding="utf-8")
    oracle = ncmec_oracle(path)
    assert [update.deleted for update in oracle.updates] == [False, True]
    first, deleted, page = parse_ncmec_xml(path)
    assert isinstance(first, ImportedEntry) and isinstance(deleted, ImportedEntry)
    assert isinstance(page, NextPage) and page.address == oracle.next
    assert page.address == "/v2/entries?start=2001&size=1000&max=3000"
    assert first.metadata.tags == ("member:42", "feedback:sha1:negative")
    assert (BankSignal.PHOTODNA, f"{'a1' * 27}...") in first.signals  # opaque: kept as sent
    assert deleted.remove and deleted.metadata.external_id == "test-image-4"


def test_only_the_paging_next_is_the_next_page(tmp_path: Path) -> None:
    """``queryResult/paging/next`` is the next page wherever the paging stands; a
    ``<next>`` inside an entry is neither a page nor harm to the entry around it."""
    entry = {"kind": "image", "deleted": False, "id": "test-image-1", "member": 7}
    entry |= {"classification": "A1", "fingerprints": {"md5": "d1" * 16}, "feedback": []}
    inner = _entry_xml(entry).replace("<id>", "<next>not-a-page</next><id>")
    page = ncmec_page([entry], next_page=True)
    paging = page[page.index("<paging>") : page.index("</paging>") + len("</paging>")]
    moved = page.replace(paging, "").replace(_entry_xml(entry), inner)
    moved = moved.replace("<images", paging + "<images")
    path = tmp_path / "paging-first.xml"
    path.write_text(moved, encoding="utf-8")
    oracle = ncmec_oracle(path)
    page_event, read = parse_ncmec_xml(path)  # in the order of the file
    assert isinstance(page_event, NextPage) and page_event.address == oracle.next != ""
    assert isinstance(read, ImportedEntry)
    assert read.metadata.external_id == oracle.updates[0].id == "test-image-1"
    assert read.signals == ((BankSignal.MD5, "d1" * 16),)


@pytest.mark.parametrize("compress", [False, True])
def test_ncmec_page_imports_and_withdraws_through_the_cli(tmp_path: Path, compress: bool) -> None:
    added = {"kind": "video", "deleted": False, "id": "test-video-1", "member": 7}
    entries = [
        {**added, "classification": "A1", "fingerprints": {"md5": "b1" * 16}, "feedback": []},
        {
            **added,
            "id": "test-video-2",
            "classification": None,
            "fingerprints": {"md5": "c1" * 16},
            "feedback": [],
        },
    ]
    first = tmp_path / "first.xml"
    body = ncmec_page(entries, next_page=True).encode()
    first.write_bytes(gzip.compress(body) if compress else body)
    result = run_cli("bank", "import", "ncmec", first, "--on-error", "stop", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == 2
    # The page says where the next one is (as threatexchange reads it), and the import
    # passes that on, in JSON and in its text.
    plain = tmp_path / "plain.xml"
    plain.write_bytes(body)
    assert report["next_page"] == ncmec_oracle(plain).next != ""
    result = run_cli("bank", "import", "ncmec", first)
    assert result.returncode == 0, result.stderr
    assert f"next page: {report['next_page']} (" in result.stdout
    withdrawal = {**entries[0], "deleted": True, "fingerprints": {}}
    second = tmp_path / "second.xml"
    second.write_text(ncmec_page([withdrawal], next_page=False), encoding="utf-8")
    result = run_cli("bank", "import", "ncmec", second, "--on-error", "stop", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["removed"] == 1
    assert json.loads(result.stdout)["next_page"] is None  # the last page


@settings(max_examples=400, deadline=None)
@given(
    record=stopncii_records()
    | st.dictionaries(
        st.sampled_from(["lastModtimestamp", "signalType", "hashValue", "hashStatus", "id"])
        | st.sampled_from(["caseNumbers", "CSPFeedbacks", "signaltype"]),
        st.none()
        | st.booleans()
        | st.integers(-1, 2**40)
        | st.sampled_from(["ImagePDQ", "VideoMD5", "Active", "Withdrawn", " Active", ""])
        | st.text(_HEX, min_size=31, max_size=65)
        | st.dictionaries(st.sampled_from(["1", " 2", ""]), st.sampled_from(["Active"]))
        | st.lists(st.fixed_dictionaries({"feedbackValue": st.sampled_from(["Blocked", ""])})),
        max_size=7,
    )
)
def test_the_fast_path_agrees_with_the_general_path(record: dict[str, Any]) -> None:
    fast = plain_record_entry(record, "hashRecords[0]")
    if fast is not None:
        assert fast == record_event(record, "hashRecords[0]")


# --- NCMEC files in Latin-1 that do not say so ------------------------------------------

_LATIN1_ENTRY = (
    "<image><id>test-latin-1</id><classification>Caf\u00e9 r\u00e9sum\u00e9</classification>"
    f"<fingerprints><md5>{'c3' * 16}</md5></fingerprints></image>"
)


@pytest.mark.parametrize("declaration", ["", '<?xml version="1.0"?>\n'])
@pytest.mark.parametrize("ascii_before", [0, 3 * 1024 * 1024])
def test_an_ncmec_file_in_latin1_without_a_declared_encoding_reads_as_latin1(
    tmp_path: Path, declaration: str, ascii_before: int
) -> None:
    """Nothing declares the encoding and the bytes are not UTF-8: Latin-1, as written;
    also where the first byte past ASCII comes megabytes (reads) into the file."""
    padding = f"<!-- {'x' * ascii_before} -->" if ascii_before else ""
    xml = f"{declaration}<queryResult>{padding}<images>{_LATIN1_ENTRY}</images></queryResult>"
    path = tmp_path / "latin1.xml"
    path.write_bytes(xml.encode("latin-1"))
    (entry,) = parse_ncmec_xml(path)
    assert isinstance(entry, ImportedEntry)
    assert entry.metadata.category == "Caf\u00e9 r\u00e9sum\u00e9"
    assert entry.signals == ((BankSignal.MD5, "c3" * 16),)


def test_declared_and_utf8_ncmec_files_read_as_before(tmp_path: Path) -> None:
    body = f"<queryResult><images>{_LATIN1_ENTRY}</images></queryResult>"
    declared = tmp_path / "declared.xml"
    declared.write_bytes(f'<?xml version="1.0" encoding="ISO-8859-1"?>{body}'.encode("latin-1"))
    utf8 = tmp_path / "utf8.xml"
    utf8.write_bytes(body.encode("utf-8"))
    for path in (declared, utf8):
        (entry,) = parse_ncmec_xml(path)
        assert isinstance(entry, ImportedEntry)
        assert entry.metadata.category == "Caf\u00e9 r\u00e9sum\u00e9"


def test_an_ncmec_file_that_stops_being_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    """UTF-8 first, then a byte that is not: no reading can be right, so one line."""
    good = _LATIN1_ENTRY.encode("utf-8")
    bad = _LATIN1_ENTRY.replace("test-latin-1", "test-latin-2").encode("latin-1")
    path = tmp_path / "mixed.xml"
    path.write_bytes(b"<queryResult><images>" + good + bad + b"</images></queryResult>")
    with pytest.raises(BankFormatError) as raised:
        list(parse_ncmec_xml(path))
    message = str(raised.value)
    assert message.startswith("mixed.xml: not UTF-8 near byte ")
    assert "declares no encoding" in message and "\n" not in message
