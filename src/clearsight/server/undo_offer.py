"""The offer, on every page a reviewer sees next, to take back the last decision.

A number key records a decision at once and the page moves on, so a key pressed by
mistake must be easy to take back: for ``undo_window_s`` seconds each page shows what
was recorded, with an Undo button (key ``u``) and the seconds left. The decision book
decides whether the offer stands; the page only counts down.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from clearsight.errors import UserError
from clearsight.server.access import REVIEWERS, Viewer
from clearsight.server.services import ReviewServices


@dataclass(frozen=True)
class UndoOffer:
    decision_id: int
    item_id: int
    file_name: str
    others: int  # further members of the stack decided with it
    category: str  # as the scheme labels it
    seconds_left: float


def undo_offer(services: ReviewServices, viewer: Viewer) -> UndoOffer | None:
    """What ``viewer`` may still take back now, if anything."""
    if not viewer.may(REVIEWERS):
        return None
    last = services.decisions().undoable(viewer.account)
    if last is None:
        return None
    item_id = last.item_ids[0]
    facts = services.store.item_facts(item_id)
    try:
        category = services.scheme.by_code(last.category).label
    except UserError:
        category = last.category
    return UndoOffer(
        last.decision_id,
        item_id,
        PurePath(facts.location).name if facts else f"item {item_id}",
        len(last.item_ids) - 1,
        category,
        last.seconds_left,
    )
