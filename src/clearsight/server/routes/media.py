"""Pictures: blurred previews and thumbnails, and the unblurred picture of a reveal.

All are drawn in memory for each request (never cached: see the headers) and never
logged. A preview and a thumbnail are always blurred, whatever is asked; the only
route that sends unblurred bytes is the reveal's, under :mod:`reveal_grants`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import Response

from clearsight.review.preview import Preview
from clearsight.server.access import REVIEW_READERS, REVIEWERS, Viewer
from clearsight.server.ids import RowId
from clearsight.server.reveal_grants import open_reveal
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
    reveal = open_reveal(services.store, reveal_id, viewer.account.id, services.config.clock())
    if reveal is None:
        raise HTTPException(404, "no open reveal of yours by that number")
    prefs = services.preferences.effective(viewer.account.id, services.settings())
    if reveal.frame_number is not None:
        frame = services.renderer.render_frame(
            reveal.item_id, reveal.frame_number, prefs, revealed=True
        )
        return _picture(frame)
    return _picture(services.renderer.render(reveal.item_id, prefs, revealed=True))


@router.get("/items/{item_id}/frames/{frame_number}/preview", include_in_schema=False)
def frame_preview(
    request: Request,
    item_id: RowId,
    frame_number: Annotated[int, Path(ge=0, le=2**31 - 1)],
    viewer: Annotated[Viewer, Depends(REVIEW_READERS)],
) -> Response:
    """One frame of a video, always blurred (a reveal of the frame shows it unblurred)."""
    services = services_of(request)
    if frame_number not in _kept_frames(request, item_id):
        raise HTTPException(404, "no such frame kept for this item")
    prefs = services.preferences.effective(viewer.account.id, services.settings())
    return _picture(services.renderer.render_frame(item_id, frame_number, prefs))


def _kept_frames(request: Request, item_id: int) -> set[int]:
    """The frames a reviewer may be shown: vPDQ's full-resolution frames the scan kept."""
    video = services_of(request).store.video(item_id)
    return set() if video is None else {frame.number for frame in video.frames if frame.exact}


def _picture(picture: Preview) -> Response:
    return Response(picture.data, media_type=picture.media_type)
