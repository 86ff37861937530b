"""Filing CyberTipline reports through a local mock of NCMEC's reporting API (ISPWS).

The mock (ispws_mock.py) checks Basic auth, the report id flow and the schema's
element order (4100 otherwise). The case is the report tests' fixed benign case; its
"files" are the bytes its recorded digests were made from, written to a temporary
folder. NCMEC's real test environment is never called.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

from clearsight import __version__
from clearsight.case.core import Case
from clearsight.cli import main
from clearsight.cybertip.client import IspwsClient, IspwsError
from clearsight.cybertip.submission import (
    CybertipRequest,
    open_reports,
    resume,
    submit,
)
from clearsight.errors import UserError
from clearsight.exchanges.credentials import CredentialStore
from clearsight.report.request import IncidentType
from clearsight.report.rows import ReportRow
from clearsight.store.sql import SqlCaseStore
from tests.exchange_mocks import serving
from tests.ispws_mock import IspwsMock
from tests.test_report_case import build_case

pytest.importorskip("httpx")

USER, PASSWORD = "esp-user", "esp-password"
REQUEST = CybertipRequest(
    "series:S-1", IncidentType.CHILD_PORNOGRAPHY, datetime(2026, 3, 1, 14, tzinfo=UTC)
)


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    store = SqlCaseStore.open_folder(tmp_path / "case", __version__)
    build_case(store)
    store.close()
    return tmp_path / "case"


def _opener(row: ReportRow) -> bytes:
    # The bytes test_report_case.digests(n) hashed for item n.
    return f"test-file-{row.item_id}".encode()


@pytest.fixture
def ispws() -> Iterator[tuple[IspwsMock, IspwsClient]]:
    mock = IspwsMock(USER, PASSWORD)
    with serving(mock) as url:
        client = IspwsClient(url, USER, PASSWORD)
        try:
            yield mock, client
        finally:
            client.close()


def _steps(case: Case) -> list[tuple[str, object]]:
    return [
        (entry.detail["step"], entry.detail.get("item_id"))
        for entry in case.audit_log().entries()
        if entry.action == "cybertip"
    ]


def test_a_report_is_filed_in_schema_order_and_audited(
    case_dir: Path, ispws: tuple[IspwsMock, IspwsClient]
) -> None:
    mock, client = ispws
    with Case.open(case_dir) as case:
        done = submit(case, REQUEST, client, actor="test", environment="test", open_file=_opener)
        steps = _steps(case)
    report = mock.reports[done.report_id]
    assert done.finished and report.state == "finished"
    assert sorted(item for item, _ in done.files) == [1, 2, 3]
    assert sorted(report.files.values()) == sorted(
        hashlib.md5(f"test-file-{n}".encode()).hexdigest() for n in (1, 2, 3)
    )
    details = {item: report.details[file_id].decode() for item, file_id in done.files}
    # Item 2: a decision records an unblurred view; item 3: a final decision says AI.
    assert "<fileViewedByEsp>true</fileViewedByEsp>" in details[2]
    assert "<generativeAi/>" in details[3] and "generativeAi" not in details[2]
    assert 'hashType="MD5"' in details[1]
    assert steps[0] == ("submitted", None) and steps[-1] == ("finished", None)
    assert ("described", 2) in steps and ("uploaded", 3) in steps


def test_a_hashes_only_report_sends_no_file(
    case_dir: Path, ispws: tuple[IspwsMock, IspwsClient]
) -> None:
    mock, client = ispws

    def refuse(row: ReportRow) -> bytes:
        raise AssertionError(f"item {row.item_id} was read to be sent")

    request = replace(REQUEST, hashes_only=True)
    with Case.open(case_dir) as case:
        done = submit(case, request, client, actor="test", environment="test", open_file=refuse)
        steps = _steps(case)
    report = mock.reports[done.report_id]
    assert done.finished and report.state == "finished" and not report.files
    schema = (resources.files("clearsight.report") / "schema" / "cybertip.xsd").read_bytes()
    submitted = etree.fromstring(report.xml)
    etree.XMLSchema(etree.fromstring(schema)).assertValid(submitted)
    info = submitted.findtext("additionalInfo") or ""
    for n in (1, 2, 3):
        assert f"MD5 {hashlib.md5(f'test-file-{n}'.encode()).hexdigest()}" in info
    assert [step for step, _ in steps] == ["submitted", "finished"]


def test_wrong_element_order_is_answered_4100(ispws: tuple[IspwsMock, IspwsClient]) -> None:
    mock, client = ispws
    report_id = client.submit(
        b"<report><incidentSummary><incidentType>Child Sex Tourism</incidentType>"
        b"<incidentDateTime>2026-03-01T14:00:00Z</incidentDateTime></incidentSummary></report>"
    )
    file_id = client.upload(report_id, "a.png", b"benign bytes").file_id
    misordered = (
        f"<fileDetails><reportId>{report_id}</reportId><fileId>{file_id}</fileId>"
        '<originalFileHash hashType="MD5">00</originalFileHash>'
        "<originalFileName>a.png</originalFileName></fileDetails>"
    ).encode()
    with pytest.raises(IspwsError) as refused:
        client.fileinfo(misordered)
    assert refused.value.code == 4100 and "4100" in str(refused.value)


def test_basic_auth_is_checked(ispws: tuple[IspwsMock, IspwsClient]) -> None:
    mock, _ = ispws
    url = f"http://127.0.0.1:{_port(ispws[1])}"
    wrong = IspwsClient(url, USER, "not-the-password")
    try:
        with pytest.raises(IspwsError, match="credentials were refused") as refused:
            wrong.submit(b"<report/>")
    finally:
        wrong.close()
    assert "not-the-password" not in str(refused.value) and not mock.reports


def _port(client: IspwsClient) -> int:
    return int(client._base.rsplit(":", 1)[1])


def test_a_failure_mid_upload_retracts_the_report(case_dir: Path) -> None:
    mock = IspwsMock(USER, PASSWORD, fail_upload=2)
    with serving(mock) as url, Case.open(case_dir) as case:
        client = IspwsClient(url, USER, PASSWORD)
        with pytest.raises(UserError, match="was retracted"):
            submit(case, REQUEST, client, actor="test", environment="test", open_file=_opener)
        client.close()
        steps = [step for step, _ in _steps(case)]
        assert open_reports(case) == []
    (report,) = mock.reports.values()
    assert report.state == "retracted" and len(report.details) == 1
    assert steps[-2:] == ["failed", "retracted"]


def test_items_awaiting_a_second_reviewer_are_refused(
    case_dir: Path, ispws: tuple[IspwsMock, IspwsClient]
) -> None:
    mock, client = ispws
    with Case.open(case_dir) as case:
        case.review_settings().set("two_reviewer_banks", ["test-bank"], actor="test")
        with pytest.raises(UserError, match="await a second reviewer"):
            submit(case, REQUEST, client, actor="test", environment="test", open_file=_opener)
    assert mock.reports == {}


def test_a_report_cut_off_is_resumed_or_retracted(
    case_dir: Path, ispws: tuple[IspwsMock, IspwsClient], capsys: pytest.CaptureFixture[str]
) -> None:
    mock, client = ispws

    def cut_off(row: ReportRow) -> bytes:
        if row.item_id == 2:
            raise KeyboardInterrupt  # Ctrl-C, or a kill: no chance to retract
        return _opener(row)

    with Case.open(case_dir) as case:
        with pytest.raises(KeyboardInterrupt):
            submit(case, REQUEST, client, actor="test", environment="test", open_file=cut_off)
        (left,) = open_reports(case)
        assert left.described == {3}  # files go by path: generated/ before holiday/
        # A new submission is refused while one is open.
        with pytest.raises(UserError, match="still open"):
            submit(case, REQUEST, client, actor="test", environment="test", open_file=_opener)
        done = resume(case, client, actor="test", open_file=_opener)
        assert open_reports(case) == []
    assert done.report_id == left.report_id and sorted(i for i, _ in done.files) == [1, 2]
    assert mock.reports[done.report_id].state == "finished"
    assert len(mock.reports[done.report_id].details) == 3

    # Cut off again, then retracted from the command line.
    with Case.open(case_dir) as case:
        with pytest.raises(KeyboardInterrupt):
            submit(case, REQUEST, client, actor="test", environment="test", open_file=cut_off)
    CredentialStore().set("cybertip", f"{USER}:{PASSWORD}")
    url = f"http://127.0.0.1:{_port(client)}"
    assert main(["cybertip", "retract", "--case", str(case_dir), "--base-url", url]) == 0
    assert "retracted" in capsys.readouterr().out
    assert [r.state for r in mock.reports.values()] == ["finished", "retracted"]
