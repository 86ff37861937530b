"""Pictures: blurred previews and thumbnails, and the unblurred picture of a reveal.

All are drawn in memory for each request (never cached: see the headers) and never
logged. A preview and a thumbnail are always blurred, whatever is asked; the only
route that sends unblurred bytes is the reveal's, under :mod:`reveal_grants`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from clearsight.review.preview import Preview
from clearsight.server.access import REVIEW_READERS, REVIEWERS, Viewer
from clearsight.server.ids import RowId
from clearsight.server.reveal_grants import revealed_item
from clearsight.server.services import services_of

router = APIRouter()


@router.get("/items/{item_id}/preview", include_in_schema=False)
def preview(
    request: Request, item_id: RowId, viewer: Annotated[Viewer, Depends(REVIEW_READERS)]
) -> Response:
    services = services_of(request)
    prefs = services.preferences.effective(viewer.account.id, services.settings())
    return _picture(services.renderer.render(item_id, prefs))


@router.get("/items/{item_id}/thumbnail", include_in_schema=False)
def thumbnail(
    request: Request, item_id: RowId, viewer: Annotated[Viewer, Depends(REVIEW_READERS)]
) -> Response:
    services = services_of(request)
    prefs = services.preferences.effective(viewer.account.id, services.settings())
    return _picture(services.renderer.thumbnail(item_id, prefs))


@router.get("/reveals/{reveal_id}/image", include_in_schema=False)
def revealed_picture(
    request: Request, reveal_id: RowId, viewer: Annotated[Viewer, Depends(REVIEWERS)]
) -> Response:
    services = services_of(request)
    item_id = revealed_item(services.store, reveal_id, viewer.account.id, services.config.clock())
    if item_id is None:
        raise HTTPException(404, "no open reveal of yours by that number")
    prefs = services.preferences.effective(viewer.account.id, services.settings())
    return _picture(services.renderer.render(item_id, prefs, revealed=True))


def _picture(picture: Preview) -> Response:
    return Response(picture.data, media_type=picture.media_type)
