"""When the server may send an item's unblurred picture: only for an open reveal.

A reveal is started by a CSRF-checked POST, which records it (and its audit entry)
on the exposure meter. Its picture, and the item's generator prompts, are then
served to the account that started it, for that item, for :data:`REVEAL_WINDOW_S`
after it began and only until the browser ends it. Anything else, whether another
account, an ended reveal or an old one, gets the blurred preview or nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clearsight.store.interface import RevealRecord

# Long enough to load the picture after the POST; short enough that a link copied
# from the page, or left in history, shows nothing unblurred later.
REVEAL_WINDOW_S = 20.0


class Reveals(Protocol):
    def reveal(self, reveal_id: int) -> RevealRecord | None: ...


def revealed_item(reveals: Reveals, reveal_id: int, account_id: int, now: datetime) -> int | None:
    """The item an open reveal of ``account_id`` shows, or None."""
    reveal = open_reveal(reveals, reveal_id, account_id, now)
    return None if reveal is None else reveal.item_id


def open_reveal(
    reveals: Reveals, reveal_id: int, account_id: int, now: datetime
) -> RevealRecord | None:
    """An open reveal of ``account_id`` (its item, and the video frame it shows where
    it shows one), or None."""
    reveal = reveals.reveal(reveal_id)
    if reveal is None or reveal.account_id != account_id:
        return None
    # The exposure meter stores 0 seconds while a reveal is open; the first report
    # of its length (its end, or a heartbeat) closes it for fetching.
    if reveal.seconds > 0:
        return None
    age = (now - reveal.started_at).total_seconds()
    if not 0 <= age <= REVEAL_WINDOW_S:
        return None
    return reveal
