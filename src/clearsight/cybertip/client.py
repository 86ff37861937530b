"""A client for NCMEC's CyberTipline reporting API (ISPWS), on httpx.

The PyPI package ``ncmec-cybertip`` (0.1.1, a typed async client on httpx and
pydantic-xml) was read and not used: it requires Python 3.13 (clearsight supports
3.11), is a single author's first release, and adds pydantic-xml for documents
clearsight already writes with lxml. This client is the five calls a submission makes,
synchronous, with Basic auth:

* ``submit`` the report XML, answered with its ``reportId``;
* ``upload`` a file (multipart, with ``id``), answered with its ``fileId`` and MD5;
* ``fileinfo`` the file's ``fileDetails``;
* ``finish`` the report; ``retract`` it instead.

Every answer is a ``reportResponse`` (or ``reportDoneResponse``) whose
``responseCode`` is 0 on success; any other code (4100: the XML failed the schema) is
an :class:`IspwsError` naming code and description. Credentials never appear in an
error, and the address is only ever one of the two NCMEC environments or an explicit
``base_url`` (tests use a mock on 127.0.0.1; they never reach NCMEC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from clearsight.errors import DependencyError

ENVIRONMENTS = {
    "production": "https://report.cybertip.org/ispws",
    "test": "https://exttest.cybertip.org/ispws",
}


class IspwsError(DependencyError):
    """ISPWS refused a call: its response code and description, or an HTTP failure."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class IspwsAnswer:
    code: int
    description: str
    report_id: str | None = None
    file_id: str | None = None
    md5: str | None = None


class IspwsClient:
    """The reporting API at ``base_url`` as ``user``; close it after use."""

    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 60.0) -> None:
        try:
            import httpx
        except ImportError:  # the [exchange] extra
            raise DependencyError(
                "CyberTipline reporting needs httpx: pip install 'clearsight[exchange]'"
            ) from None
        self._httpx = httpx
        self._base = base_url.rstrip("/")
        self._client = httpx.Client(auth=(user, password), timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def submit(self, report_xml: bytes) -> str:
        answer = self._post("submit", content=report_xml, headers=_XML)
        if not answer.report_id:
            raise IspwsError("ISPWS submit: the answer gave no reportId")
        return answer.report_id

    def upload(self, report_id: str, name: str, data: bytes) -> IspwsAnswer:
        answer = self._post(
            "upload",
            data={"id": report_id},
            files={"file": (name, data, "application/octet-stream")},
        )
        if not answer.file_id:
            raise IspwsError("ISPWS upload: the answer gave no fileId")
        return answer

    def fileinfo(self, details_xml: bytes) -> None:
        self._post("fileinfo", content=details_xml, headers=_XML)

    def finish(self, report_id: str) -> None:
        self._post("finish", data={"id": report_id})

    def retract(self, report_id: str) -> None:
        self._post("retract", data={"id": report_id})

    def _post(self, call: str, **kwargs: Any) -> IspwsAnswer:
        httpx = self._httpx
        try:
            response = self._client.post(f"{self._base}/{call}", **kwargs)
        except httpx.HTTPError as error:
            raise IspwsError(f"ISPWS {call}: could not reach it ({type(error).__name__})") from None
        if response.status_code in (401, 403):
            raise IspwsError(
                f"ISPWS {call}: the credentials were refused (HTTP {response.status_code}); "
                "set them with `clearsight exchange credentials cybertip`"
            )
        answer = _answer(response.content) if response.content else None
        if answer is None:
            raise IspwsError(f"ISPWS {call}: HTTP {response.status_code} with no reportResponse")
        if answer.code != 0:
            raise IspwsError(
                f"ISPWS {call}: response code {answer.code} ({answer.description})", answer.code
            )
        return answer


_XML = {"Content-Type": "text/xml; charset=utf-8"}


def _answer(content: bytes) -> IspwsAnswer | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError:
        return None

    def text(tag: str) -> str | None:
        found = root.find(tag)
        return None if found is None or found.text is None else found.text.strip()

    code = text("responseCode")
    if code is None or not code.lstrip("-").isdigit():
        return None
    return IspwsAnswer(
        int(code), text("responseDescription") or "", text("reportId"), text("fileId"), text("hash")
    )
