"""Exports, downloaded from the server by supervisors (and admins).

A thin shell over :mod:`clearsight.report`: the library checks the role
(:class:`RolePermission`), writes the export, and audits it (format, selection, size,
SHA-256) once complete; a refused export is audited too. The export is written to a
spooled temporary file first, so the audit entry names only exports that were
finished, then sent as an attachment.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from clearsight.errors import UserError
from clearsight.report import (
    CybertipOptions,
    ExportRequest,
    IncidentType,
    ReportFormat,
    RolePermission,
    Thumbnails,
    classification_of,
    parse_selection,
)
from clearsight.server.access import EXPORTERS, Viewer
from clearsight.server.pages import render
from clearsight.server.services import ReviewServices, services_of

router = APIRouter()
_IN_MEMORY = 32 * 1024 * 1024
_CHUNK = 256 * 1024
_SUFFIX = {
    ReportFormat.HTML: ("html", "text/html; charset=utf-8"),
    ReportFormat.JSON: ("json", "application/json"),
    ReportFormat.CSV: ("csv", "text/csv; charset=utf-8"),
    ReportFormat.VICS: ("json", "application/json"),
    ReportFormat.CYBERTIP: ("xml", "application/xml"),
    ReportFormat.BANK_CSV: ("csv", "text/csv; charset=utf-8"),
    ReportFormat.VICS_HASHSET: ("json", "application/json"),
}


class ExportIn(BaseModel):
    format: ReportFormat
    select: str = Field(default="all", max_length=10_000)
    thumbnails: Thumbnails = Thumbnails.NONE
    case_number: str | None = Field(default=None, max_length=200)
    incident_type: str | None = Field(default=None, max_length=80)
    incident_time: datetime | None = None


@router.get("/supervise/export", include_in_schema=False)
def export_page(request: Request, viewer: Annotated[Viewer, Depends(EXPORTERS)]) -> HTMLResponse:
    return render(
        request,
        "export.html",
        viewer,
        title="Export",
        formats=[f.value for f in ReportFormat],
        incident_types=[t.key for t in IncidentType],
    )


@router.post("/supervise/export", include_in_schema=False)
def export_form(
    request: Request,
    viewer: Annotated[Viewer, Depends(EXPORTERS)],
    format: Annotated[ReportFormat, Form()],
    select: Annotated[str, Form(max_length=10_000)] = "all",
    thumbnails: Annotated[Thumbnails, Form()] = Thumbnails.NONE,
    case_number: Annotated[str, Form(max_length=200)] = "",
    incident_type: Annotated[str, Form(max_length=80)] = "",
    incident_time: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    when = _incident_time(incident_time)
    return _export(
        services_of(request),
        viewer,
        ExportIn(
            format=format,
            select=select or "all",
            thumbnails=thumbnails,
            case_number=case_number or None,
            incident_type=incident_type or None,
            incident_time=when,
        ),
    )


@router.post(
    "/api/exports",
    tags=["supervision"],
    response_class=StreamingResponse,
    responses={200: {"description": "the export, as an attachment"}},
)
def export_api(
    request: Request, export: ExportIn, viewer: Annotated[Viewer, Depends(EXPORTERS)]
) -> Response:
    """Export the case (as ``clearsight report`` does); audited with its SHA-256."""
    return _export(services_of(request), viewer, export)


def _export(services: ReviewServices, viewer: Viewer, export: ExportIn) -> Response:
    cybertip = None
    if export.format is ReportFormat.CYBERTIP:
        if export.incident_type is None or export.incident_time is None:
            raise UserError("a CyberTipline report needs an incident type and time")
        try:
            incident = IncidentType.from_key(export.incident_type)
        except KeyError:
            raise UserError(f"unknown incident type {export.incident_type[:80]!r}") from None
        cybertip = CybertipOptions(
            incident_type=incident,
            incident_time=export.incident_time,
            classification=classification_of(services.scheme),
        )
    request = ExportRequest(
        format=export.format,
        selection=parse_selection(export.select),
        thumbnails=export.thumbnails,
        cybertip=cybertip,
        case_number=export.case_number,
    )
    spool = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)
    try:
        result = services.case.export(
            request,
            spool,  # type: ignore[arg-type]
            actor=viewer.account.name,
            permission=RolePermission(viewer.role),
            destination="download from the review server",
        )
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    suffix, media_type = _SUFFIX[export.format]
    name = f"{result.written.case_name}-{export.format.value}.{suffix}"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return StreamingResponse(
        _chunks(spool),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Export-SHA256": result.written.sha256,
        },
    )


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(_CHUNK):
            yield chunk
    finally:
        spool.close()


def _incident_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"incident time: not an ISO 8601 time: {text[:40]!r}") from None
