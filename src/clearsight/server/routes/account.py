"""A reviewer's own preview preferences: blur, greyscale, and hold or toggle to reveal.

Each can be left to the organisation's default. Only roles that see previews have
them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearsight.errors import UserError
from clearsight.review.preferences import OwnPreferences
from clearsight.review.settings import MAX_BLUR, MIN_BLUR, RevealMode
from clearsight.server.access import REVIEW_READERS, Viewer
from clearsight.server.pages import render
from clearsight.server.services import services_of

router = APIRouter()
DEFAULT = "default"


@router.get("/account", include_in_schema=False)
def account_page(
    request: Request, viewer: Annotated[Viewer, Depends(REVIEW_READERS)]
) -> HTMLResponse:
    services = services_of(request)
    return render(
        request,
        "account.html",
        viewer,
        title="My preferences",
        own=services.preferences.own(viewer.account.id),
        organisation=services.settings(),
        blur_range=range(MIN_BLUR, MAX_BLUR + 1),
        modes=[m.value for m in RevealMode],
    )


@router.post("/account/preferences", include_in_schema=False)
def preferences_form(
    request: Request,
    viewer: Annotated[Viewer, Depends(REVIEW_READERS)],
    blur: Annotated[str, Form(max_length=10)] = DEFAULT,
    greyscale: Annotated[str, Form(max_length=10)] = DEFAULT,
    reveal_mode: Annotated[str, Form(max_length=10)] = DEFAULT,
) -> Response:
    chosen = OwnPreferences(
        blur=None if blur == DEFAULT else _whole(blur),
        greyscale=None if greyscale == DEFAULT else greyscale == "yes",
        reveal_mode=None if reveal_mode == DEFAULT else _mode(reveal_mode),
    )
    services_of(request).preferences.set(viewer.account.id, chosen)
    return RedirectResponse("/account", status_code=303)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError("blur: expected a whole number of percent") from None


def _mode(text: str) -> RevealMode:
    try:
        return RevealMode(text)
    except ValueError:
        raise UserError("reveal mode: expected hold or toggle") from None
