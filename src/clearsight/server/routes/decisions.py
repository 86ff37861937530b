"""Recording decisions, from the item view's form or from the API, and taking the last
one back.

The form decides for the whole near-duplicate stack unless unticked, then shows the
next unit of the same queue. Whether the reviewer viewed each file unblurred is not a
field: the decision book reads it from the reveals (:mod:`clearsight.review.decisions`).
A number key decides at once, so the next page offers to undo it for a few seconds; the
decision book, not the page, says whether an undo is still allowed (409 when not).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from clearsight.categories import HumanOrigin, VictimIdentified
from clearsight.review.decisions import (
    MAX_NOTES,
    MAX_SERIES,
    DecisionInput,
    ReviewDecision,
    UndoRefused,
)
from clearsight.review.queue import UnitKind
from clearsight.server.access import REVIEW_READERS, REVIEWERS, Viewer
from clearsight.server.ids import RowId
from clearsight.server.queue_params import QueueView, queue_field
from clearsight.server.routes.items import visible_history
from clearsight.server.services import ReviewServices, services_of

router = APIRouter()


class DecisionIn(BaseModel):
    category: str = Field(max_length=40)
    origin: HumanOrigin
    victim_identified: VictimIdentified
    series: str | None = Field(default=None, max_length=MAX_SERIES)
    notes: str = Field(default="", max_length=MAX_NOTES)
    whole_stack: bool = True


class DecisionOut(BaseModel):
    id: int
    item_id: int
    reviewer: str
    stack_id: int | None
    category: str
    origin: str
    series: str | None
    victim_identified: str
    notes: str
    viewed_unblurred: bool
    confirms: int | None
    decided_at: str


class DecidedOut(BaseModel):
    decisions: list[DecisionOut]
    status: str


@router.post("/items/{item_id}/decision", include_in_schema=False)
def decide_form(
    request: Request,
    item_id: RowId,
    viewer: Annotated[Viewer, Depends(REVIEWERS)],
    category: Annotated[str, Form(max_length=40)],
    origin: Annotated[HumanOrigin, Form()] = HumanOrigin.UNSURE,
    victim_identified: Annotated[VictimIdentified, Form()] = VictimIdentified.UNKNOWN,
    series_name: Annotated[str, Form(max_length=MAX_SERIES)] = "",
    notes: Annotated[str, Form(max_length=MAX_NOTES)] = "",
    whole_stack: Annotated[str, Form(max_length=10)] = "",
    queue: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    services = services_of(request)
    view = queue_field(queue, viewer, services.settings())
    decision = DecisionInput(category, origin, victim_identified, series_name or None, notes)
    services.decisions().decide(viewer.account, item_id, decision, whole_stack=bool(whole_stack))
    return RedirectResponse(_after_decision(services, item_id, view), status_code=303)


@router.post(
    "/api/items/{item_id}/decisions",
    status_code=201,
    response_model=DecidedOut,
    tags=["review"],
)
def decide_api(
    request: Request,
    item_id: RowId,
    decision: DecisionIn,
    viewer: Annotated[Viewer, Depends(REVIEWERS)],
) -> Response:
    """Decide about the item (and, with ``whole_stack``, every member of its stack).
    ``viewed_unblurred`` in the answer is what the server found in the reveals."""
    book = services_of(request).decisions()
    recorded = book.decide(
        viewer.account,
        item_id,
        DecisionInput(
            decision.category,
            decision.origin,
            decision.victim_identified,
            decision.series,
            decision.notes,
        ),
        whole_stack=decision.whole_stack,
    )
    body = DecidedOut(
        decisions=[decision_out(d) for d in recorded], status=book.status(item_id).value
    )
    return JSONResponse(body.model_dump(), status_code=201)


@router.get("/api/items/{item_id}/decisions", response_model=DecidedOut, tags=["review"])
def decisions_api(
    request: Request, item_id: RowId, viewer: Annotated[Viewer, Depends(REVIEW_READERS)]
) -> DecidedOut:
    """The item's decisions, oldest first (a reviewer sees only their own)."""
    book = services_of(request).decisions()
    return DecidedOut(
        decisions=[decision_out(d) for d in visible_history(book.history(item_id), viewer)],
        status=book.status(item_id).value,
    )


class UndoneOut(BaseModel):
    undone: list[DecisionOut]
    status: str


@router.post("/decisions/{decision_id}/undo", include_in_schema=False)
def undo_form(
    request: Request,
    decision_id: RowId,
    viewer: Annotated[Viewer, Depends(REVIEWERS)],
    queue: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Take back the last decision and go back to its item, to decide it again."""
    services = services_of(request)
    view = queue_field(queue, viewer, services.settings())
    undone = _undo(request, viewer, decision_id)
    return RedirectResponse(f"/items/{undone[0].item_id}" + view.query(), status_code=303)


@router.post(
    "/api/decisions/{decision_id}/undo",
    response_model=UndoneOut,
    responses={409: {"description": "refused: too late, not yours, or not the last"}},
    tags=["review"],
)
def undo_api(
    request: Request, decision_id: RowId, viewer: Annotated[Viewer, Depends(REVIEWERS)]
) -> UndoneOut:
    """Take back your last decision (all of it, for a stack decision) within the undo
    window (the ``undo_window_s`` setting), while nobody has decided its items since."""
    undone = _undo(request, viewer, decision_id)
    status = services_of(request).decisions().status(undone[0].item_id)
    return UndoneOut(undone=[decision_out(d) for d in undone], status=status.value)


def _undo(request: Request, viewer: Viewer, decision_id: int) -> list[ReviewDecision]:
    try:
        return services_of(request).decisions().undo(viewer.account, decision_id)
    except UndoRefused as refused:
        raise HTTPException(409, str(refused)) from None


def decision_out(decision: ReviewDecision) -> DecisionOut:
    return DecisionOut(
        id=decision.id,
        item_id=decision.item_id,
        reviewer=decision.reviewer,
        stack_id=decision.stack_id,
        category=decision.category,
        origin=decision.origin,
        series=decision.series,
        victim_identified=decision.victim_identified,
        notes=decision.notes,
        viewed_unblurred=decision.viewed_unblurred,
        confirms=decision.confirms,
        decided_at=decision.decided_at.isoformat() + "Z",
    )


def _after_decision(services: ReviewServices, item_id: int, view: QueueView) -> str:
    """The next unit of the queue the item was decided in, else that queue's list."""
    unit = services.queue.unit_of_item(item_id, view.filters)
    following = (
        services.queue.neighbour(unit.position, view.filters, forward=True) if unit else None
    )
    if following is not None and not (
        following.kind is UnitKind.SERIES and view.filters.series_id is not None
    ):
        return view.link_to(following)
    if view.filters.series_id is not None:
        return f"/series/{view.filters.series_id}" + view.without_series().query()
    return "/queue" + view.query()
