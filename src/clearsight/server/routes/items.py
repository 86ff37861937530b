"""The item view: the blurred preview, the machine's facts beside it, and the forms.

Beside the preview: file facts, bank matches with variant and distance, origin
evidence and reasons, the stack and series (blurred thumbnails). The decision form
decides for the whole near-duplicate stack by default. Generator prompts appear only
on the page of an open reveal (``?reveal=ID``, checked like the reveal's picture).

A reviewer sees only their own earlier decisions on the item, so that a second
reviewer decides without being led; supervisors and auditors see them all.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from clearsight.categories import HumanOrigin, VictimIdentified
from clearsight.review.accounts import Role
from clearsight.review.assignments import ASSIGNABLE
from clearsight.review.decisions import ReviewDecision
from clearsight.review.item_facts import GroupFacts, ItemFacts
from clearsight.server.access import REVIEW_READERS, REVIEWERS, SUPERVISORS, Viewer
from clearsight.server.ids import RowId
from clearsight.server.pages import file_name, render
from clearsight.server.queue_params import QueueView, queue_view
from clearsight.server.reveal_grants import revealed_item
from clearsight.server.services import services_of
from clearsight.store.sql import SqlCaseStore

router = APIRouter()


class MatchOut(BaseModel):
    bank: str
    entry_id: int
    external_id: str | None
    signal: str
    distance: int
    transform: str
    variant: str | None
    inliers: int | None
    coverage: float | None  # share of the picture the confirming features span
    allow: bool
    category: str | None
    series: str | None
    victim_identified: bool | None


class OriginOut(BaseModel):
    verdict: str
    score: float
    reasons: list[str]
    evidence: list[dict[str, object]]
    has_prompts: bool


class GroupOut(BaseModel):
    id: int
    label: str
    size: int
    members: list[int]


class FrameOut(BaseModel):
    """A frame of a video that a reviewer may be shown (one of vPDQ's, at full
    resolution): blurred at ``/items/{id}/frames/{number}/preview``, unblurred through
    a reveal with ``frame=number``."""

    number: int
    timestamp: float
    representative: bool  # the first frame of a shot
    seen_unblurred: bool  # someone revealed this frame


class ItemOut(BaseModel):
    id: int
    location: str
    media_type: str
    kind: str
    size: int | None
    width: int | None
    height: int | None
    signals: dict[str, str]
    pdq_quality: int | None
    errors: list[str]
    notes: list[str]
    matches: list[MatchOut]
    origin: OriginOut | None
    score: float | None
    reasons: list[str]
    stack: GroupOut | None
    series: GroupOut | None
    status: str
    video_frames: list[FrameOut] = []


@router.get("/items/{item_id}", include_in_schema=False)
def item_view(
    request: Request,
    item_id: RowId,
    viewer: Annotated[Viewer, Depends(REVIEW_READERS)],
    reveal: Annotated[RowId | None, Query()] = None,
) -> HTMLResponse:
    view = queue_view(request.query_params, viewer, services_of(request).settings())
    return item_page(request, item_id, viewer, view, reveal_id=reveal)


@router.get("/api/items/{item_id}", response_model=ItemOut, tags=["review"])
def item_api(
    request: Request, item_id: RowId, viewer: Annotated[Viewer, Depends(REVIEW_READERS)]
) -> ItemOut:
    """What the machine found about the item (never its generator prompts: those come
    only with a reveal)."""
    services = services_of(request)
    facts = _facts(request, item_id)
    return ItemOut(
        id=facts.id,
        location=facts.location,
        media_type=facts.media_type,
        kind=facts.kind,
        size=facts.size,
        width=facts.width,
        height=facts.height,
        signals=facts.signals,
        pdq_quality=facts.pdq_quality,
        errors=list(facts.errors),
        notes=list(facts.notes),
        matches=[MatchOut(**asdict(m)) for m in facts.matches],
        origin=OriginOut(**asdict(facts.origin)) if facts.origin else None,
        score=facts.score,
        reasons=list(facts.reasons),
        stack=_group(facts.stack),
        series=_group(facts.series),
        status=services.decisions().status(item_id).value,
        video_frames=_video_frames(services.store, item_id),
    )


def _video_frames(store: SqlCaseStore, item_id: int) -> list[FrameOut]:
    video = store.video(item_id)
    if video is None:
        return []
    seen = set(store.revealed_frames(item_id))
    return [
        FrameOut(
            number=frame.number,
            timestamp=frame.timestamp,
            representative=frame.representative,
            seen_unblurred=frame.number in seen,
        )
        for frame in video.frames
        if frame.exact
    ]


def item_page(
    request: Request,
    item_id: int,
    viewer: Viewer,
    view: QueueView,
    *,
    reveal_id: int | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The item view; also drawn by a refused reveal or a rejected decision."""
    services = services_of(request)
    settings = services.settings()
    facts = _facts(request, item_id)
    decisions = services.decisions(settings)
    unit = services.queue.unit_of_item(item_id, view.filters)
    previous = next_ = None
    if unit is not None:
        previous = services.queue.neighbour(unit.position, view.filters, forward=False)
        next_ = services.queue.neighbour(unit.position, view.filters, forward=True)
    revealed = None
    revealed_frame = None  # the video frame the open reveal shows, where it shows one
    reveal_age = 0.0  # seconds the open reveal has lasted, for the live meter
    prompts: tuple[str, ...] = ()
    if reveal_id is not None and viewer.may(REVIEWERS):
        now = services.config.clock()
        shown = revealed_item(services.store, reveal_id, viewer.account.id, now)
        record = services.store.reveal(reveal_id) if shown == item_id else None
        if record is not None:
            revealed = reveal_id
            revealed_frame = record.frame_number
            reveal_age = max(0.0, (now - record.started_at).total_seconds())
            prompts = services.store.prompts(item_id)
    history = visible_history(decisions.history(item_id), viewer)
    reviewers = (
        [a.name for a in services.accounts.list() if a.role in ASSIGNABLE and not a.disabled]
        if viewer.may(SUPERVISORS)
        else []
    )
    return render(
        request,
        "item.html",
        viewer,
        status_code,
        title=file_name(facts.location),
        facts=facts,
        origin_reasons=_uncovered_reasons(facts),
        unit=unit,
        previous=previous,
        next=next_,
        view=view,
        revealed=revealed,
        revealed_frame=revealed_frame,
        # A video's shots, one frame each, to preview and reveal one by one.
        shots=[frame for frame in _video_frames(services.store, item_id) if frame.representative],
        reveal_age=reveal_age,
        prompts=prompts,
        prefs=services.preferences.effective(viewer.account.id, settings),
        may_review=viewer.may(REVIEWERS),
        may_assign=viewer.may(SUPERVISORS),
        reviewers=reviewers,
        assigned=services.assignments.assigned_to([item_id]).get(item_id, []),
        history=history,
        status=decisions.status(item_id),
        two_reviewers=bool(decisions.needs_two_reviewers([item_id])),
        categories=services.scheme.categories,
        origins=[o.value for o in HumanOrigin],
        victim_choices=[v.value for v in VictimIdentified],
        message=message,
    )


def visible_history(decisions: list[ReviewDecision], viewer: Viewer) -> list[ReviewDecision]:
    """What of an item's decisions ``viewer`` may see (a reviewer: their own)."""
    if viewer.role is Role.REVIEWER:
        return [d for d in decisions if d.reviewer == viewer.account.name]
    return decisions


def _uncovered_reasons(facts: ItemFacts) -> list[str]:
    """The origin reasons that the evidence table does not already say: a reason that
    quotes an evidence's detail would show the same words twice."""
    if facts.origin is None:
        return []
    details = [str(e.get("detail") or "") for e in facts.origin.evidence]
    return [r for r in facts.origin.reasons if not any(d and d in r for d in details)]


def _facts(request: Request, item_id: int) -> ItemFacts:
    facts = services_of(request).store.item_facts(item_id)
    if facts is None:
        raise HTTPException(404, f"no item {item_id} in this case")
    return facts


def _group(group: GroupFacts | None) -> GroupOut | None:
    if group is None:
        return None
    return GroupOut(id=group.id, label=group.label, size=group.size, members=list(group.members))
