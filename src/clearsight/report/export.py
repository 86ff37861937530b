"""Run one export: check the permission, write the output, then audit it.

The audit entry (who, which format, which selection, how many items, and the SHA-256
and size of the bytes written) goes in its own transaction once the output is
complete, so the log never names a file that was not finished. A refused export is
logged too. ``export_to_file`` writes beside the target and renames into place, so a
file under the target's name is always a whole report.

Everything here takes an ``actor`` (``cli:<user>`` from the command line, the account
name from the review server) and an :class:`ExportPermission`.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from clearsight import __version__
from clearsight.errors import DependencyError, UserError
from clearsight.report.case_rows import CaseRows, ReportSource
from clearsight.report.csv_items import write_csv
from clearsight.report.cybertip import write_cybertip
from clearsight.report.hash_lists import write_bank_csv, write_vics_hashset
from clearsight.report.html_report import write_html
from clearsight.report.json_items import write_json
from clearsight.report.output import DigestingOutput
from clearsight.report.permission import ExportPermission, ExportRefused
from clearsight.report.request import ExportContext, ExportRequest, ReportFormat, Thumbnails
from clearsight.report.rows import ReportRow
from clearsight.report.vics_case import write_vics_case
from clearsight.review.audit import AuditAction, AuditEntry
from clearsight.store.engines import utc_now

_DISK_FAILURES = (errno.ENOSPC, errno.EDQUOT, errno.EIO)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # as schema/cybertip.xsd checks it

Writer = Callable[[CaseRows, ExportContext, DigestingOutput], int]
RowsWriter = Callable[[Iterable[ReportRow], ExportContext, DigestingOutput], int]


def _over_rows(write: RowsWriter) -> Writer:
    """A writer of the item stream, fed the selected items."""

    def run(case: CaseRows, context: ExportContext, out: DigestingOutput) -> int:
        return write(case.rows(context.request.selection), context, out)

    return run


WRITERS: dict[ReportFormat, Writer] = {
    ReportFormat.HTML: write_html,  # reads the case in several passes of its own
    ReportFormat.JSON: _over_rows(write_json),
    ReportFormat.CSV: _over_rows(write_csv),
    ReportFormat.VICS: _over_rows(write_vics_case),
    ReportFormat.CYBERTIP: _over_rows(write_cybertip),
    ReportFormat.BANK_CSV: write_bank_csv,  # reads a video's frames besides its row
    ReportFormat.VICS_HASHSET: write_vics_hashset,
}


@dataclass(frozen=True)
class WrittenReport:
    """What was written: the request as resolved, the case, and the bytes' digest."""

    request: ExportRequest
    case_name: str
    items: int
    sha256: str
    bytes: int


@dataclass(frozen=True)
class ExportResult:
    written: WrittenReport
    audit: AuditEntry


def write_report(
    source: ReportSource,
    request: ExportRequest,
    out: BinaryIO,
    *,
    actor: str,
    permission: ExportPermission,
    now: datetime | None = None,
) -> WrittenReport:
    """Write the report to ``out`` (nothing is audited yet: see ``record_export``)."""
    case = CaseRows(source)
    refusal = permission.refusal(request.format)
    if refusal is not None:
        detail = {
            "format": request.format.value,
            "selection": request.selection.text(),
            "refused": refusal,
        }
        case.source.audit_log().append(actor, AuditAction.EXPORT, _subject(case), detail)
        raise ExportRefused(refusal)
    _check(request)
    request = replace(request, selection=case.resolve(request.selection))
    context = ExportContext(
        case=case.case,
        request=request,
        version=__version__,
        generated_at=now or utc_now(),
        audit_head=case.source.audit_log().head(),
    )
    output = DigestingOutput(out)
    count = WRITERS[request.format](case, context, output)
    output.flush()
    return WrittenReport(request, case.case.name, count, output.sha256, output.bytes_written)


def record_export(
    source: ReportSource, actor: str, written: WrittenReport, destination: str | None = None
) -> AuditEntry:
    """Append the audit entry of a finished export, in a transaction of its own."""
    detail: dict[str, object] = {
        "format": written.request.format.value,
        "selection": written.request.selection.text(),
        "items": written.items,
        "sha256": written.sha256,
        "bytes": written.bytes,
    }
    if written.request.format is ReportFormat.HTML:
        detail["thumbnails"] = written.request.thumbnails.value
    if destination is not None:
        detail["destination"] = destination
    return source.audit_log().append(actor, AuditAction.EXPORT, f"case:{written.case_name}", detail)


def export_report(
    source: ReportSource,
    request: ExportRequest,
    out: BinaryIO,
    *,
    actor: str,
    permission: ExportPermission,
    destination: str | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Write to ``out`` and, once written, audit it."""
    written = write_report(source, request, out, actor=actor, permission=permission, now=now)
    return ExportResult(written, record_export(source, actor, written, destination))


def export_to_file(
    source: ReportSource,
    request: ExportRequest,
    path: Path,
    *,
    actor: str,
    permission: ExportPermission,
    now: datetime | None = None,
) -> ExportResult:
    """Write to ``path`` through a partial file renamed into place, then audit it."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as out:
            written = write_report(
                source, request, out, actor=actor, permission=permission, now=now
            )
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        # A full disk is a failing dependency (exit 3); a bad --out is the user's (exit 2).
        failure = DependencyError if error.errno in _DISK_FAILURES else UserError
        raise failure(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ExportResult(written, record_export(source, actor, written, str(path.resolve())))


def _check(request: ExportRequest) -> None:
    if request.format is ReportFormat.CYBERTIP:
        if request.cybertip is None:
            raise UserError("a CyberTipline report needs an incident type and time")
        email = request.cybertip.reporter.email
        if email is not None and not _EMAIL.fullmatch(email):
            raise UserError(f"the reporter's email is not an email address: {email!r}")
    if request.thumbnails is Thumbnails.BLURRED and request.format is not ReportFormat.HTML:
        raise UserError("thumbnails go only in the HTML report")


def _subject(case: CaseRows) -> str:
    return f"case:{case.case.name}"
