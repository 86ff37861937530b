"""Filing a CyberTipline report from a case: submit, upload, fileinfo, finish; retract on failure.

The report says what the CyberTipline export says (:mod:`clearsight.report.cybertip`
writes both, so they cannot disagree): ``fileViewedByEsp`` only where a person's
decision records an unblurred view, ``generativeAi`` only where a final decision says
AI-generated or AI-edited, ``industryClassification`` from the category scheme, the
file's MD5 as ``originalFileHash``. A selection holding an item whose decision awaits
a second reviewer is refused before anything is sent.

Every step goes into the case's audit log (action ``cybertip``) with NCMEC's report
id, so the log is also the journal of a submission: a report with a ``submitted``
entry and no ``finished`` or ``retracted`` one is open. A failure after ``submit``
retracts the report; a submission cut off before it could (a kill, a lost network)
leaves it open, and :func:`open_reports` finds it for ``clearsight cybertip resume``
(which uploads what was not yet described) or ``clearsight cybertip retract``. Never a
half-filed report left unknown.

Each file is read again and its MD5 checked against the one scanned before it is sent:
a file changed since the review is not the file the decisions are about. Where the
platform's policy keeps files from leaving it (``hashes_only``), none is uploaded:
the submitted report lists each selected file's MD5 and SHA-256 in its
``additionalInfo``, and is finished.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from clearsight.case.core import Case
from clearsight.cybertip.client import IspwsClient
from clearsight.errors import UserError
from clearsight.report.case_rows import CaseRows
from clearsight.report.classification import classification_of
from clearsight.report.cybertip import file_details, submission_report
from clearsight.report.request import CybertipOptions, IncidentType, Reporter
from clearsight.report.rows import ReportRow
from clearsight.report.selection import parse_selection
from clearsight.review.audit import AuditAction
from clearsight.review.decisions import DecisionStatus

FileOpener = Callable[[ReportRow], bytes]


@dataclass(frozen=True)
class CybertipRequest:
    """What is filed: the items (``--select``), the incident and the reporter."""

    selection: str
    incident_type: IncidentType
    incident_time: datetime
    reporter: Reporter = field(default_factory=Reporter)
    publicly_available: bool | None = None
    # The platform's policy: files never leave it, the report carries their hashes.
    hashes_only: bool = False

    def as_detail(self) -> dict[str, Any]:
        return {
            "selection": self.selection,
            "incident_type": self.incident_type.key,
            "incident_time": self.incident_time.isoformat(),
            "reporter": [self.reporter.first_name, self.reporter.last_name, self.reporter.email],
            "publicly_available": self.publicly_available,
            "hashes_only": self.hashes_only,
        }

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> CybertipRequest:
        first, last, email = detail["reporter"]
        return cls(
            detail["selection"],
            IncidentType.from_key(detail["incident_type"]),
            datetime.fromisoformat(detail["incident_time"]),
            Reporter(first, last, email),
            detail["publicly_available"],
            bool(detail.get("hashes_only", False)),
        )


@dataclass
class Submission:
    """What a submission did: NCMEC's report id and the files it described."""

    report_id: str
    environment: str
    files: list[tuple[int, str]] = field(default_factory=list)  # (item id, file id)
    finished: bool = False
    retracted: bool = False


@dataclass(frozen=True)
class OpenReport:
    """A report submitted and neither finished nor retracted, from the audit log."""

    report_id: str
    environment: str
    request: CybertipRequest
    described: frozenset[int]  # items whose fileDetails NCMEC accepted


def read_file(row: ReportRow) -> bytes:
    return Path(row.location).read_bytes()


def submit(
    case: Case,
    request: CybertipRequest,
    client: IspwsClient,
    *,
    actor: str,
    environment: str,
    open_file: FileOpener = read_file,
) -> Submission:
    """File ``request`` from ``case`` through ``client``; retract it if a step fails."""
    if open_reports(case):
        first = open_reports(case)[0]
        raise UserError(
            f"report {first.report_id} is still open: `clearsight cybertip resume` or "
            "`clearsight cybertip retract` it first"
        )
    options, rows = _prepare(case, request)
    report_id = client.submit(submission_report(options, rows if request.hashes_only else ()))
    detail = {"step": "submitted", "report_id": report_id, "environment": environment}
    _audit(case, actor, report_id, {**detail, "request": request.as_detail(), "items": len(rows)})
    submission = Submission(report_id, environment)
    uploads = [] if request.hashes_only else rows
    return _describe_and_finish(case, client, submission, uploads, options, actor, open_file)


def resume(
    case: Case, client: IspwsClient, *, actor: str, open_file: FileOpener = read_file
) -> Submission:
    """Finish the open report: describe the files not yet described, then ``finish``."""
    found = open_reports(case)
    if not found:
        raise UserError("no open CyberTipline report in this case")
    report = found[0]
    options, rows = _prepare(case, report.request)
    submission = Submission(report.report_id, report.environment)
    left = [row for row in rows if row.item_id not in report.described]
    if report.request.hashes_only:
        left = []  # the report carries their hashes: nothing to upload
    _audit(case, actor, report.report_id, {"step": "resumed", "left": len(left)})
    return _describe_and_finish(case, client, submission, left, options, actor, open_file)


def retract(case: Case, client: IspwsClient, *, actor: str, reason: str) -> str:
    """Retract the open report; its id."""
    found = open_reports(case)
    if not found:
        raise UserError("no open CyberTipline report in this case")
    report_id = found[0].report_id
    client.retract(report_id)
    _audit(case, actor, report_id, {"step": "retracted", "reason": reason})
    return report_id


def open_reports(case: Case) -> list[OpenReport]:
    """Reports this case submitted and neither finished nor retracted, oldest first."""
    opened: dict[str, dict[str, Any]] = {}
    described: dict[str, set[int]] = {}
    for entry in case.audit_log().entries():
        if entry.action != AuditAction.CYBERTIP.value:
            continue
        detail = entry.detail
        report_id = str(detail.get("report_id"))
        step = detail.get("step")
        if step == "submitted":
            opened[report_id] = detail
            described[report_id] = set()
        elif step == "described" and report_id in described:
            described[report_id].add(int(detail["item_id"]))
        elif step in ("finished", "retracted"):
            opened.pop(report_id, None)
    return [
        OpenReport(
            report_id,
            str(detail.get("environment")),
            CybertipRequest.from_detail(detail["request"]),
            frozenset(described[report_id]),
        )
        for report_id, detail in opened.items()
    ]


def _prepare(case: Case, request: CybertipRequest) -> tuple[CybertipOptions, list[ReportRow]]:
    options = CybertipOptions(
        incident_type=request.incident_type,
        incident_time=request.incident_time,
        reporter=request.reporter,
        publicly_available=request.publicly_available,
        classification=classification_of(case.category_scheme()),
    )
    rows_source = CaseRows(case.store)
    selection = parse_selection(request.selection)
    if selection.everything:
        raise UserError("a CyberTipline report covers chosen files: --select series:… or items:…")
    rows = list(rows_source.rows(rows_source.resolve(selection)))
    waiting = [r.item_id for r in rows if r.decision_status is DecisionStatus.AWAITING_CONFIRMATION]
    if waiting:
        shown = ", ".join(map(str, waiting[:10]))
        raise UserError(f"items await a second reviewer, nothing was sent: {shown}")
    rows = [row for row in rows if row.item.md5]
    if not rows:
        raise UserError("no selected file has an MD5 (unreadable files cannot be reported)")
    return options, rows


def _describe_and_finish(
    case: Case,
    client: IspwsClient,
    submission: Submission,
    rows: list[ReportRow],
    options: CybertipOptions,
    actor: str,
    open_file: FileOpener,
) -> Submission:
    report_id = submission.report_id
    try:
        for row in rows:
            data = open_file(row)
            if hashlib.md5(data).hexdigest() != row.item.md5:
                raise UserError(f"item {row.item_id}: the file changed since it was scanned")
            answer = client.upload(report_id, Path(row.item.path).name or "file", data)
            if answer.md5 and answer.md5.lower() != row.item.md5:
                raise UserError(f"item {row.item_id}: NCMEC received other bytes (MD5 differs)")
            file_id = answer.file_id or ""
            _audit(
                case,
                actor,
                report_id,
                {"step": "uploaded", "item_id": row.item_id, "file_id": file_id},
            )
            client.fileinfo(_details_xml(row, options, report_id, file_id))
            _audit(
                case,
                actor,
                report_id,
                {"step": "described", "item_id": row.item_id, "file_id": file_id},
            )
            submission.files.append((row.item_id, file_id))
        client.finish(report_id)
    except Exception as error:
        reason = str(error)
        _audit(case, actor, report_id, {"step": "failed", "reason": reason})
        try:
            client.retract(report_id)
        except Exception as retract_error:  # still open: resume or retract it later
            _audit(case, actor, report_id, {"step": "retract-failed", "reason": str(retract_error)})
            raise UserError(
                f"report {report_id} failed ({reason}) and could not be retracted "
                f"({retract_error}): run `clearsight cybertip retract` or `resume`"
            ) from None
        _audit(case, actor, report_id, {"step": "retracted", "reason": reason})
        submission.retracted = True
        raise UserError(f"report {report_id} was retracted: {reason}") from None
    _audit(case, actor, report_id, {"step": "finished", "files": len(submission.files)})
    submission.finished = True
    return submission


def _details_xml(row: ReportRow, options: CybertipOptions, report_id: str, file_id: str) -> bytes:
    """The file's ``fileDetails`` as the export writes them, with the ids ISPWS needs
    first, as its schema orders them."""
    details = file_details(row, options)
    assert details is not None  # rows without an MD5 were left out
    head = [etree.Element("reportId"), etree.Element("fileId")]
    head[0].text, head[1].text = report_id, file_id
    for place, element in enumerate(head):
        details.insert(place, element)
    return etree.tostring(details, xml_declaration=True, encoding="utf-8")


def _audit(case: Case, actor: str, report_id: str, detail: dict[str, Any]) -> None:
    detail = {**detail, "report_id": report_id}
    case.audit_log().append(actor, AuditAction.CYBERTIP, f"cybertip report {report_id}", detail)
