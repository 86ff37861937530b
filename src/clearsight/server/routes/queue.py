"""The review queue and the series pages: units in priority order, filtered, keyset-paged.

A series opens as a list of its own units (its stacks and its lone items), read from
the same queue with the series as a filter.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from clearsight.review.accounts import Role
from clearsight.review.assignments import ASSIGNABLE
from clearsight.review.queue import (
    MAX_PAGE,
    BankStatus,
    DecisionState,
    QueuePage,
    QueueUnit,
    SeriesScope,
)
from clearsight.server.access import REVIEW_READERS, Viewer
from clearsight.server.ids import RowId
from clearsight.server.pages import render
from clearsight.server.queue_params import VERDICTS, QueueView, position_param, queue_view
from clearsight.server.services import ReviewServices, services_of
from clearsight.triage.unreadable import unreadable_files

router = APIRouter()
UNREADABLE_SHOWN = 100  # files that could not be read, listed under the queue
Limit = Annotated[int | None, Query(ge=1, le=MAX_PAGE)]


class UnitOut(BaseModel):
    kind: str
    id: int
    label: str
    size: int
    score: float
    reasons: list[str]
    representative: int
    location: str
    undecided: bool
    link: str


class QueuePageOut(BaseModel):
    units: list[UnitOut]
    before: str | None  # pass as ?before= for the page before
    after: str | None  # pass as ?after= for the page after


class SeriesOut(BaseModel):
    id: int
    label: str
    name: str | None
    size: int
    victim_identified: bool | None
    reasons: list[str]
    units: QueuePageOut


@router.get("/queue", include_in_schema=False)
def queue_page(
    request: Request, viewer: Annotated[Viewer, Depends(REVIEW_READERS)], limit: Limit = None
) -> HTMLResponse:
    services = services_of(request)
    view = queue_view(request.query_params, viewer, services.settings())
    page = _page(request, services, view, limit)
    return render(
        request,
        "queue.html",
        viewer,
        view=view,
        page=page,
        options=_filter_options(),
        unreadable=unreadable_files(services.store, UNREADABLE_SHOWN),
        unreadable_cap=UNREADABLE_SHOWN,
        title="Review queue",
    )


@router.get("/api/queue", response_model=QueuePageOut, tags=["review"])
def queue_api(
    request: Request,
    viewer: Annotated[Viewer, Depends(REVIEW_READERS)],
    bank: BankStatus = BankStatus.ANY,
    origin: str | None = None,
    series: str = SeriesScope.ANY.value,
    state: DecisionState = DecisionState.ANY,
    assigned: str = "any",
    after: str | None = None,
    before: str | None = None,
    limit: Limit = None,
) -> QueuePageOut:
    """A page of the queue: series, stacks outside a series, and items in neither,
    by priority. ``series`` is any, in-series, no-series, or a series id (its units).
    Page on with the ``after``/``before`` tokens of the answer."""
    services = services_of(request)
    view = queue_view(request.query_params, viewer, services.settings())
    return _page_out(view, _page(request, services, view, limit))


@router.get("/series/{series_id}", include_in_schema=False)
def series_page(
    request: Request,
    series_id: RowId,
    viewer: Annotated[Viewer, Depends(REVIEW_READERS)],
    limit: Limit = None,
) -> HTMLResponse:
    services = services_of(request)
    series = services.store.series_facts(series_id)
    if series is None:
        raise HTTPException(404, f"no series {series_id}")
    view = queue_view(request.query_params, viewer, services.settings())
    inside = _inside(view, series_id)
    page = _page(request, services, inside, limit)
    reviewers = (
        [a.name for a in services.accounts.list() if a.role in ASSIGNABLE and not a.disabled]
        if viewer.role is Role.SUPERVISOR
        else []
    )
    return render(
        request,
        "series.html",
        viewer,
        series=series,
        view=inside,
        outer=view,
        page=page,
        reviewers=reviewers,
        title=f"Series {series.label}",
    )


@router.get("/api/series/{series_id}", response_model=SeriesOut, tags=["review"])
def series_api(
    request: Request,
    series_id: RowId,
    viewer: Annotated[Viewer, Depends(REVIEW_READERS)],
    after: str | None = None,
    before: str | None = None,
    limit: Limit = None,
) -> SeriesOut:
    """A series and a page of its units (its stacks and its items outside a stack)."""
    services = services_of(request)
    series = services.store.series_facts(series_id)
    if series is None:
        raise HTTPException(404, f"no series {series_id}")
    view = queue_view(request.query_params, viewer, services.settings())
    inside = _inside(view, series_id)
    return SeriesOut(
        id=series.id,
        label=series.label,
        name=series.name,
        size=series.size,
        victim_identified=series.victim_identified,
        reasons=list(series.reasons),
        units=_page_out(inside, _page(request, services, inside, limit)),
    )


def _inside(view: QueueView, series_id: int) -> QueueView:
    """The view of one series' own units, with the other filters kept."""
    filters = replace(view.filters, series_id=series_id, series_scope=SeriesScope.ANY)
    return QueueView(filters, {**view.params, "series": str(series_id)})


def _page(
    request: Request, services: ReviewServices, view: QueueView, limit: int | None
) -> QueuePage:
    return services.queue.page(
        view.filters,
        after=position_param(request, "after"),
        before=position_param(request, "before"),
        limit=limit or services.config.page_size,
    )


def _unit_out(view: QueueView, unit: QueueUnit) -> UnitOut:
    return UnitOut(
        kind=unit.kind.value,
        id=unit.id,
        label=unit.label,
        size=unit.size,
        score=unit.score,
        reasons=list(unit.reasons),
        representative=unit.representative,
        location=unit.location,
        undecided=unit.undecided,
        link=view.link_to(unit),
    )


def _page_out(view: QueueView, page: QueuePage) -> QueuePageOut:
    return QueuePageOut(
        units=[_unit_out(view, unit) for unit in page.units],
        before=page.before.token() if page.before else None,
        after=page.after.token() if page.after else None,
    )


def _filter_options() -> dict[str, list[str]]:
    return {
        "bank": [b.value for b in BankStatus],
        "origin": ["", *VERDICTS],
        "series": [s.value for s in SeriesScope],
        "state": [s.value for s in DecisionState],
        "assigned": ["any", "me"],
    }
