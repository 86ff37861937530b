"""What a supervisor does: sees every decision, gives out work, extends exposure.

Auditors may read the decisions too (read-only). An extension of a reviewer's daily
exposure budget counts for today only and is audited under the supervisor's name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from clearsight.review.assignments import ASSIGNABLE
from clearsight.review.exposure import MAX_EXTENSION_S
from clearsight.server.access import DECISION_READERS, SUPERVISORS, Viewer
from clearsight.server.ids import RowId
from clearsight.server.pages import render
from clearsight.server.queue_params import queue_field
from clearsight.server.routes.decisions import DecisionOut, decision_out
from clearsight.server.services import ReviewServices, services_of

router = APIRouter()
PAGE = 100


class ExposureOut(BaseModel):
    name: str
    role: str
    seconds_today: float
    allowance_s: float


class ExtensionIn(BaseModel):
    seconds: int = Field(ge=1, le=MAX_EXTENSION_S)


class AssignmentIn(BaseModel):
    reviewer: str = Field(max_length=80)
    item_id: RowId | None = None
    series_id: RowId | None = None
    whole_stack: bool = True


class AssignedOut(BaseModel):
    newly_assigned: int


@router.get("/supervise/decisions", include_in_schema=False)
def decisions_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(DECISION_READERS)],
    before: Annotated[RowId | None, Query()] = None,
) -> HTMLResponse:
    services = services_of(request)
    found = services.decisions().latest(before=before, limit=PAGE)
    older = found[-1].id if len(found) == PAGE else None
    # A supervisor reads file names, not row numbers; one query for the page.
    files = services.store.item_files([d.item_id for d in found])
    names = {item: file.path for item, file in files.items()}
    return render(
        request,
        "decisions.html",
        viewer,
        title="Decisions",
        decisions=found,
        names=names,
        older=older,
    )


@router.get("/api/decisions", response_model=list[DecisionOut], tags=["supervision"])
def decisions_api(
    request: Request,
    viewer: Annotated[Viewer, Depends(DECISION_READERS)],
    before: Annotated[RowId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE,
) -> list[DecisionOut]:
    """Everyone's decisions, newest first; page on with ``before`` = the last id."""
    found = services_of(request).decisions().latest(before=before, limit=limit)
    return [decision_out(d) for d in found]


@router.get("/supervise/exposure", include_in_schema=False)
def exposure_page(
    request: Request, viewer: Annotated[Viewer, Depends(SUPERVISORS)]
) -> HTMLResponse:
    return render(
        request,
        "exposure.html",
        viewer,
        title="Exposure today",
        reviewers=_exposure(services_of(request)),
    )


@router.get("/api/exposure", response_model=list[ExposureOut], tags=["supervision"])
def exposure_api(
    request: Request, viewer: Annotated[Viewer, Depends(SUPERVISORS)]
) -> list[ExposureOut]:
    """Each reviewer's unblurred seconds today and today's allowance."""
    return _exposure(services_of(request))


@router.post("/supervise/exposure/{name}", include_in_schema=False)
def extend_form(
    request: Request,
    name: str,
    viewer: Annotated[Viewer, Depends(SUPERVISORS)],
    minutes: Annotated[int, Form(ge=1, le=MAX_EXTENSION_S // 60)],
) -> Response:
    _extend(services_of(request), name, minutes * 60, viewer)
    return RedirectResponse("/supervise/exposure", status_code=303)


@router.post("/api/exposure/{name}/extensions", response_model=ExposureOut, tags=["supervision"])
def extend_api(
    request: Request,
    name: str,
    extension: ExtensionIn,
    viewer: Annotated[Viewer, Depends(SUPERVISORS)],
) -> ExposureOut:
    """Give the reviewer ``seconds`` more unblurred viewing, for today only."""
    services = services_of(request)
    _extend(services, name, extension.seconds, viewer)
    return next(entry for entry in _exposure(services) if entry.name == name)


@router.post("/items/{item_id}/assignment", include_in_schema=False)
def assign_item_form(
    request: Request,
    item_id: RowId,
    viewer: Annotated[Viewer, Depends(SUPERVISORS)],
    reviewer: Annotated[str, Form(max_length=80)],
    whole_stack: Annotated[str, Form(max_length=10)] = "",
    queue: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    services = services_of(request)
    view = queue_field(queue, viewer, services.settings())
    services.assignments.assign_item(
        item_id, reviewer, by=viewer.account, whole_stack=bool(whole_stack)
    )
    return RedirectResponse(f"/items/{item_id}" + view.query(), status_code=303)


@router.post("/series/{series_id}/assignment", include_in_schema=False)
def assign_series_form(
    request: Request,
    series_id: RowId,
    viewer: Annotated[Viewer, Depends(SUPERVISORS)],
    reviewer: Annotated[str, Form(max_length=80)],
) -> Response:
    services_of(request).assignments.assign_series(series_id, reviewer, by=viewer.account)
    return RedirectResponse(f"/series/{series_id}", status_code=303)


@router.post("/api/assignments", response_model=AssignedOut, tags=["supervision"])
def assign_api(
    request: Request, assignment: AssignmentIn, viewer: Annotated[Viewer, Depends(SUPERVISORS)]
) -> AssignedOut:
    """Give an item (with its stack, unless ``whole_stack`` is false) or a whole series
    to a reviewer; name exactly one of ``item_id`` and ``series_id``."""
    book = services_of(request).assignments
    if (assignment.item_id is None) == (assignment.series_id is None):
        raise HTTPException(422, "name exactly one of item_id and series_id")
    if assignment.item_id is not None:
        count = book.assign_item(
            assignment.item_id,
            assignment.reviewer,
            by=viewer.account,
            whole_stack=assignment.whole_stack,
        )
    else:
        assert assignment.series_id is not None
        count = book.assign_series(assignment.series_id, assignment.reviewer, by=viewer.account)
    return AssignedOut(newly_assigned=count)


def _exposure(services: ReviewServices) -> list[ExposureOut]:
    meter = services.meter()
    return [
        ExposureOut(
            name=account.name,
            role=account.role.value,
            seconds_today=meter.seconds_today(account.id),
            allowance_s=meter.allowance_today(account.id),
        )
        for account in services.accounts.list()
        if account.role in ASSIGNABLE and not account.disabled
    ]


def _extend(services: ReviewServices, name: str, seconds: int, viewer: Viewer) -> None:
    account = services.accounts.get(name)
    if account is None or account.role not in ASSIGNABLE:
        raise HTTPException(404, f"no reviewer named {name[:80]!r}")
    services.meter().extend(account.id, seconds, viewer.account.id)
