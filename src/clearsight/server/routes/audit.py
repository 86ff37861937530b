"""The audit log for auditors (and admins): newest first, keyset-paged, and a check
of the hash chain. Verifying walks the whole log, so it is a page of its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from clearsight.review.audit import AuditEntry
from clearsight.server.access import AUDIT_READERS, Viewer
from clearsight.server.ids import RowId
from clearsight.server.pages import render
from clearsight.server.services import services_of

router = APIRouter()
PAGE = 100


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, object]
    hash: str


class ChainOut(BaseModel):
    intact: bool
    entries: int
    head: str
    broken_at: int | None
    problem: str | None


@router.get("/audit", include_in_schema=False)
def audit_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(AUDIT_READERS)],
    before: Annotated[RowId | None, Query()] = None,
) -> HTMLResponse:
    entries = services_of(request).audit.entries(after=before or 0, limit=PAGE, newest_first=True)
    older = entries[-1].id if len(entries) == PAGE and entries[-1].id > 1 else None
    return render(request, "audit.html", viewer, title="Audit log", entries=entries, older=older)


@router.get("/audit/verify", include_in_schema=False)
async def verify_page(
    request: Request, viewer: Annotated[Viewer, Depends(AUDIT_READERS)]
) -> HTMLResponse:
    check = await run_in_threadpool(services_of(request).audit.verify)
    return render(request, "audit_verify.html", viewer, title="Audit chain", check=check)


@router.get("/api/audit", response_model=list[AuditEntryOut], tags=["audit"])
def audit_api(
    request: Request,
    viewer: Annotated[Viewer, Depends(AUDIT_READERS)],
    before: Annotated[RowId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = PAGE,
) -> list[AuditEntryOut]:
    """Audit entries, newest first; page on with ``before`` = the last id."""
    entries = services_of(request).audit.entries(after=before or 0, limit=limit, newest_first=True)
    return [_entry_out(entry) for entry in entries]


@router.get("/api/audit/verify", response_model=ChainOut, tags=["audit"])
async def verify_api(
    request: Request, viewer: Annotated[Viewer, Depends(AUDIT_READERS)]
) -> ChainOut:
    """Walk the hash chain; name the first entry that breaks it."""
    check = await run_in_threadpool(services_of(request).audit.verify)
    return ChainOut(
        intact=check.intact,
        entries=check.entries,
        head=check.head,
        broken_at=check.broken_at,
        problem=check.problem,
    )


def _entry_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=entry.id,
        at=entry.at.isoformat() + "Z",
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        detail=entry.detail,
        hash=entry.hash,
    )
