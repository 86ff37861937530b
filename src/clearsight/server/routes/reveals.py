"""Revealing an item: a CSRF-checked POST starts a reveal on the exposure meter.

The answer names the one URL that serves the unblurred picture for that reveal, and
carries the item's generator prompts, which are hidden behind the same reveal. At the
day's budget the reveal is refused with the meter's kind message. The browser ends a
reveal (or reports its length while it lasts) with a second POST; the meter believes
no more time than its own clock allows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from clearsight.review.exposure import RevealOutcome
from clearsight.server.access import REVIEWERS, Viewer
from clearsight.server.ids import RowId
from clearsight.server.queue_params import queue_field
from clearsight.server.reveal_grants import REVEAL_WINDOW_S
from clearsight.server.routes.items import item_page
from clearsight.server.services import services_of

router = APIRouter()
# "The reveal lasted until now": the meter caps a reported length at its own clock.
_UNTIL_NOW = 24 * 3600.0


class RevealOut(BaseModel):
    reveal_id: int
    image_url: str
    prompts: list[str]
    seconds_today: float
    allowance_s: float
    valid_for_s: float


class RevealEnd(BaseModel):
    seconds: float = Field(ge=0, le=24 * 3600)


class RevealEnded(BaseModel):
    seconds: float


@router.post("/items/{item_id}/reveal", include_in_schema=False)
def reveal_form(
    request: Request,
    item_id: RowId,
    viewer: Annotated[Viewer, Depends(REVIEWERS)],
    queue: Annotated[str, Form(max_length=1000)] = "",
    frame: Annotated[int | None, Form(ge=0, le=2**31 - 1)] = None,
) -> Response:
    services = services_of(request)
    view = queue_field(queue, viewer, services.settings())
    outcome = _start(request, viewer, item_id, frame)
    if outcome.reveal_id is None:
        return item_page(request, item_id, viewer, view, message=outcome.refusal, status_code=403)
    return RedirectResponse(
        f"/items/{item_id}" + view.query(reveal=outcome.reveal_id), status_code=303
    )


@router.post(
    "/api/items/{item_id}/reveals",
    status_code=201,
    response_model=RevealOut,
    responses={403: {"description": "refused: today's exposure budget is spent"}},
    tags=["review"],
)
def reveal_api(
    request: Request,
    item_id: RowId,
    viewer: Annotated[Viewer, Depends(REVIEWERS)],
    frame: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
) -> Response:
    """Start a reveal of the item (audited, counted on the exposure meter). Fetch the
    unblurred picture from ``image_url`` at once: it serves only this account, only
    until the reveal is ended, and for ``valid_for_s`` at most. For a video, ``frame``
    reveals that one of its frames alone (one the item's frames list), and the record
    keeps which frame was seen."""
    outcome = _start(request, viewer, item_id, frame)
    if outcome.reveal_id is None:
        return JSONResponse(
            {
                "detail": outcome.refusal,
                "seconds_today": outcome.seconds_today,
                "allowance_s": outcome.allowance_s,
            },
            status_code=403,
        )
    prompts = services_of(request).store.prompts(item_id)
    body = RevealOut(
        reveal_id=outcome.reveal_id,
        image_url=f"/reveals/{outcome.reveal_id}/image",
        prompts=list(prompts),
        seconds_today=outcome.seconds_today,
        allowance_s=outcome.allowance_s,
        valid_for_s=REVEAL_WINDOW_S,
    )
    return JSONResponse(body.model_dump(), status_code=201)


@router.post("/reveals/{reveal_id}/end", include_in_schema=False)
def end_reveal_form(
    request: Request,
    reveal_id: RowId,
    viewer: Annotated[Viewer, Depends(REVIEWERS)],
    item_id: Annotated[RowId, Form()],
    queue: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    services = services_of(request)
    view = queue_field(queue, viewer, services.settings())
    services.meter().end_reveal(reveal_id, _UNTIL_NOW, account_id=viewer.account.id)
    return RedirectResponse(f"/items/{item_id}" + view.query(), status_code=303)


@router.post("/api/reveals/{reveal_id}/end", response_model=RevealEnded, tags=["review"])
def end_reveal_api(
    request: Request,
    reveal_id: RowId,
    ended: RevealEnd,
    viewer: Annotated[Viewer, Depends(REVIEWERS)],
) -> RevealEnded:
    """Report how long the reveal has lasted (its end, or a heartbeat while it lasts);
    returns what the meter recorded."""
    meter = services_of(request).meter()
    recorded = meter.end_reveal(reveal_id, ended.seconds, account_id=viewer.account.id)
    return RevealEnded(seconds=recorded)


def _start(
    request: Request, viewer: Viewer, item_id: int, frame: int | None = None
) -> RevealOutcome:
    return services_of(request).meter().start_reveal(viewer.account.id, item_id, frame)
