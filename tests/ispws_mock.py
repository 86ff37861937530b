"""A mock of NCMEC's CyberTipline reporting API (ISPWS) on 127.0.0.1, for tests.

It checks Basic auth (401 otherwise), the report id flow (a file belongs to an open
report, fileinfo names an uploaded file, finish and retract close a report), and the
element order and required fields of ``report`` and ``fileDetails`` as the schema has
them, answering NCMEC's way: a ``reportResponse`` whose ``responseCode`` is 0, or
4100 where the XML breaks the schema. ``fail_upload`` makes the n-th upload fail with
a 500, as a server that goes away mid-report does.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from lxml import etree

from tests.exchange_mocks import Behaviour

REPORT_ORDER = ["incidentSummary", "reporter", "additionalInfo"]
SUMMARY_ORDER = ["incidentType", "incidentDateTime"]
FILE_ORDER = [
    "reportId",
    "fileId",
    "originalFileName",
    "fileViewedByEsp",
    "exifViewedByEsp",
    "publiclyAvailable",
    "fileAnnotations",
    "industryClassification",
    "originalFileHash",
    "details",
]
FILE_REQUIRED = {"reportId", "fileId", "originalFileName", "originalFileHash"}


@dataclass
class MockReport:
    state: str = "open"  # open, finished, retracted
    xml: bytes = b""  # the report as submitted
    files: dict[str, str] = field(default_factory=dict)  # file id -> MD5
    details: dict[str, bytes] = field(default_factory=dict)  # file id -> fileDetails


class IspwsMock:
    def __init__(self, user: str, password: str, *, fail_upload: int | None = None) -> None:
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.behaviour = Behaviour()
        self.reports: dict[str, MockReport] = {}
        self.fail_upload = fail_upload
        self._uploads = 0
        self._next_id = 9000

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, bytes, str]:
        if headers.get("Authorization") != self._auth:
            return 401, b"", "text/plain"
        call = path.rstrip("/").rsplit("/", 1)[-1]
        handler = getattr(self, f"_{call}", None)
        if method != "POST" or handler is None:
            return 404, b"", "text/plain"
        result: tuple[int, bytes, str] = handler(headers, body)
        return result

    def _submit(self, headers: Any, body: bytes) -> tuple[int, bytes, str]:
        root = _parse(body)
        if (
            root is None
            or root.tag != "report"
            or not _in_order(root, REPORT_ORDER, {"incidentSummary"})
        ):
            return _response(4100, "Submitted XML failed validation")
        summary = root.find("incidentSummary")
        assert summary is not None
        if not _in_order(summary, SUMMARY_ORDER, set(SUMMARY_ORDER)):
            return _response(4100, "Submitted XML failed validation")
        self._next_id += 1
        report_id = str(self._next_id)
        self.reports[report_id] = MockReport(xml=body)
        return _response(0, "Success", reportId=report_id)

    def _upload(self, headers: Any, body: bytes) -> tuple[int, bytes, str]:
        self._uploads += 1
        if self.fail_upload is not None and self._uploads == self.fail_upload:
            return 500, b"upstream failure", "text/plain"
        fields = _multipart(headers, body)
        report = self.reports.get(fields.get("id", b"").decode())
        if report is None or report.state != "open" or "file" not in fields:
            return _response(1000, "No open report with that id")
        file_id = hashlib.sha1(fields["file"] + str(len(report.files)).encode()).hexdigest()[:16]
        report.files[file_id] = hashlib.md5(fields["file"]).hexdigest()
        report_id = fields["id"].decode()
        return _response(
            0, "Success", reportId=report_id, fileId=file_id, hash=report.files[file_id]
        )

    def _fileinfo(self, headers: Any, body: bytes) -> tuple[int, bytes, str]:
        root = _parse(body)
        if (
            root is None
            or root.tag != "fileDetails"
            or not _in_order(root, FILE_ORDER, FILE_REQUIRED)
        ):
            return _response(4100, "Submitted XML failed validation")
        report = self.reports.get(root.findtext("reportId") or "")
        file_id = root.findtext("fileId") or ""
        if report is None or report.state != "open" or file_id not in report.files:
            return _response(1000, "No such file in an open report")
        report.details[file_id] = body
        return _response(0, "Success")

    def _finish(self, headers: Any, body: bytes) -> tuple[int, bytes, str]:
        return self._close(body, "finished")

    def _retract(self, headers: Any, body: bytes) -> tuple[int, bytes, str]:
        return self._close(body, "retracted")

    def _close(self, body: bytes, state: str) -> tuple[int, bytes, str]:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        report = self.reports.get(form.get("id", ""))
        if report is None or report.state != "open":
            return _response(1000, "No open report with that id")
        report.state = state
        return _response(0, "Success", reportId=form["id"])


def _parse(body: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None


def _in_order(parent: etree._Element, order: list[str], required: set[str]) -> bool:
    """Children only of known names, in the schema's order, the required ones present."""
    tags = [child.tag for child in parent if isinstance(child.tag, str)]
    if any(tag not in order for tag in tags):
        return False
    places = [order.index(tag) for tag in tags]
    return places == sorted(places) and required <= set(tags)


def _multipart(headers: Any, body: bytes) -> dict[str, bytes]:
    head = f"Content-Type: {headers.get('Content-Type')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload
    return fields


def _response(code: int, description: str, **values: str) -> tuple[int, bytes, str]:
    root = etree.Element("reportResponse")
    etree.SubElement(root, "responseCode").text = str(code)
    etree.SubElement(root, "responseDescription").text = description
    for tag, value in values.items():
        etree.SubElement(root, tag).text = value
    return 200, etree.tostring(root, xml_declaration=True, encoding="utf-8"), "text/xml"
