"""The exposure meter: how long each reviewer has looked at unblurred material today.

Every reveal is a row in ``reveals`` and an entry in the audit log, written together.
The browser reports how long a reveal lasted, but the meter believes it only within
what the clock allows (never more than the time since the reveal began, plus a little
slack for the network), and a reveal the browser never ended counts from its start,
up to :data:`OPEN_REVEAL_CAP_S`. Once a reviewer's seconds today reach the daily
budget plus any extensions a supervisor granted for today, new reveals are refused
with a kind message; blurred review goes on. Days are UTC days; a reveal counts on
the day it began.

The meter also suggests breaks: reveals and decisions with gaps under
:data:`ACTIVITY_GAP_S` make one stretch of continuous review.

Two reveals started at the same instant by the same reviewer may both pass the budget
check; the budget is a wellbeing limit, not an access control, and each such reveal
is still counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from clearsight.errors import UserError
from clearsight.store.engines import utc_now
from clearsight.store.interface import RevealRecord
from clearsight.store.models import Item, VideoFrameRow
from clearsight.store.review.accounts import subject_of
from clearsight.store.review.audit import AuditAction, record
from clearsight.store.review.settings import ReviewSettings
from clearsight.store.review_models import (
    AccountRow,
    DecisionRow,
    ExposureExtensionRow,
    RevealRow,
)

Clock = Callable[[], datetime]
"""Returns the current time as naive UTC, like :func:`utc_now`."""

# How much longer than the server's clock a browser may say a reveal lasted (latency).
REVEAL_SLACK_S = 2.0
# What a reveal never ended counts for: long enough to be honest about a closed tab,
# short enough that a crash does not eat the day's budget.
OPEN_REVEAL_CAP_S = 300.0
# A pause at least this long ends a stretch of continuous review.
ACTIVITY_GAP_S = 300.0
MAX_EXTENSION_S = 24 * 3600
# A reveal that was ended is never stored as 0 seconds: 0 marks one still open.
_ENDED_FLOOR_S = 0.001
# How far back break_due looks; longer stretches are due a break anyway.
_ACTIVITY_WINDOW = timedelta(hours=24)


def read_reveal(engine: Engine, reveal_id: int) -> RevealRecord | None:
    with Session(engine) as session:
        row = session.get(RevealRow, reveal_id)
        if row is None:
            return None
        return RevealRecord(
            row.id, row.account_id, row.item_id, row.started_at, row.seconds, row.frame_number
        )


def revealed_frames(engine: Engine, item_id: int) -> tuple[int, ...]:
    """The frames of the video ``item_id`` that anyone saw unblurred, in order."""
    with Session(engine) as session:
        numbers = session.scalars(
            select(RevealRow.frame_number)
            .where(RevealRow.item_id == item_id, RevealRow.frame_number.is_not(None))
            .distinct()
        )
        return tuple(sorted(number for number in numbers if number is not None))


def revealed_among(engine: Engine, item_ids: Sequence[int]) -> set[int]:
    """Those of ``item_ids`` that anyone ever revealed (saw unblurred)."""
    if not item_ids:
        return set()
    with Session(engine) as session:
        return set(
            session.scalars(
                select(RevealRow.item_id).where(RevealRow.item_id.in_(list(item_ids))).distinct()
            )
        )


@dataclass(frozen=True)
class RevealOutcome:
    """The answer to a request to reveal: a reveal id, or the reason there is none."""

    reveal_id: int | None
    seconds_today: float
    allowance_s: float
    refusal: str | None = None

    @property
    def allowed(self) -> bool:
        return self.reveal_id is not None

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.allowance_s - self.seconds_today)


class ExposureMeter:
    """Reveals, their durations, and the daily budget of one case database."""

    def __init__(self, engine: Engine, settings: ReviewSettings, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock

    def start_reveal(
        self, account_id: int, item_id: int, frame_number: int | None = None
    ) -> RevealOutcome:
        """Record that the reviewer is about to see ``item_id`` unblurred (or, with
        ``frame_number``, that frame of the video), unless today's budget is spent.
        The reveal and its audit entry commit together."""
        with Session(self._engine) as session, session.begin():
            account = _account(session, account_id)
            if session.get(Item, item_id) is None:
                raise UserError(f"no item {item_id} in this case")
            if frame_number is not None and not _has_frame(session, item_id, frame_number):
                raise UserError(f"item {item_id} has no video frame {frame_number}")
            now = self._clock()
            used = _seconds_on(session, account_id, now.date(), now)
            allowance = self._settings.daily_exposure_budget_s + _extended(
                session, account_id, now.date()
            )
            if used >= allowance:
                return RevealOutcome(None, used, allowance, _refusal(allowance))
            reveal = RevealRow(
                item_id=item_id,
                account_id=account_id,
                started_at=now,
                seconds=0.0,
                frame_number=frame_number,
            )
            session.add(reveal)
            session.flush()
            details: dict[str, int] = {"reveal": reveal.id}
            if frame_number is not None:
                details["frame"] = frame_number
            record(session, account.name, AuditAction.REVEAL, f"item:{item_id}", details)
            return RevealOutcome(reveal.id, used, allowance)

    def end_reveal(self, reveal_id: int, seconds: float, *, account_id: int | None = None) -> float:
        """Record that the reveal lasted ``seconds``, as far as the clock allows, and
        return what was recorded. Calling again (a browser's heartbeat) only ever
        lengthens it. The server should pass ``account_id``: a reveal can be ended only
        by the account that started it."""
        with Session(self._engine) as session, session.begin():
            reveal = session.get(RevealRow, reveal_id)
            if reveal is None or (account_id is not None and reveal.account_id != account_id):
                raise UserError(f"no reveal {reveal_id} of this account")
            elapsed = (self._clock() - reveal.started_at).total_seconds()
            reported = 0.0 if math.isnan(seconds) else seconds
            believed = min(max(reported, 0.0), max(elapsed, 0.0) + REVEAL_SLACK_S)
            reveal.seconds = max(reveal.seconds, believed, _ENDED_FLOOR_S)
            return reveal.seconds

    def seconds_today(self, account_id: int) -> float:
        """Seconds of unblurred viewing the reviewer has had today (UTC)."""
        now = self._clock()
        with Session(self._engine) as session:
            return _seconds_on(session, account_id, now.date(), now)

    def allowance_today(self, account_id: int) -> float:
        """Today's budget: the organisation's, plus extensions granted for today."""
        with Session(self._engine) as session:
            extended = _extended(session, account_id, self._clock().date())
        return float(self._settings.daily_exposure_budget_s + extended)

    def extend(self, account_id: int, seconds: int, granted_by: int) -> float:
        """Give the reviewer ``seconds`` more for today, audited under the name of the
        account that granted it; return today's new allowance. Whether ``granted_by``
        may do this (a supervisor) is the caller's to check."""
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise UserError(f"an extension is a whole number of seconds, not {seconds!r}")
        if not 1 <= seconds <= MAX_EXTENSION_S:
            raise UserError(f"an extension must be 1-{MAX_EXTENSION_S} seconds, not {seconds}")
        with Session(self._engine) as session, session.begin():
            reviewer = _account(session, account_id)
            granter = _account(session, granted_by)
            now = self._clock()
            session.add(
                ExposureExtensionRow(
                    account_id=account_id,
                    day=now.date(),
                    seconds=seconds,
                    granted_by=granted_by,
                    granted_at=now,
                )
            )
            session.flush()
            record(
                session,
                granter.name,
                AuditAction.EXPOSURE_EXTENDED,
                subject_of(reviewer.name),
                {"seconds": seconds, "day": now.date().isoformat()},
            )
            extended = _extended(session, account_id, now.date())
        return float(self._settings.daily_exposure_budget_s + extended)

    def continuous_review_s(self, account_id: int, now: datetime | None = None) -> float:
        """How long the reviewer has been reviewing without a pause of
        :data:`ACTIVITY_GAP_S`, up to ``now``; 0 if they have paused since."""
        moment = now or self._clock()
        with Session(self._engine) as session:
            spans = _activity(session, account_id, moment)
        if not spans:
            return 0.0
        spans.sort()
        start, end = spans[0]
        for span_start, span_end in spans[1:]:
            if (span_start - end).total_seconds() >= ACTIVITY_GAP_S:
                start = span_start
            end = max(end, span_end)
        if (moment - end).total_seconds() >= ACTIVITY_GAP_S:
            return 0.0
        return (moment - start).total_seconds()

    def break_due(self, account_id: int, now: datetime | None = None) -> bool:
        """Whether the reviewer has reviewed continuously for ``break_after_min``."""
        return self.continuous_review_s(account_id, now) >= self._settings.break_after_min * 60


def _account(session: Session, account_id: int) -> AccountRow:
    account = session.get(AccountRow, account_id)
    if account is None:
        raise UserError(f"no account {account_id}")
    return account


def _seconds_on(session: Session, account_id: int, day: date, now: datetime) -> float:
    start = datetime.combine(day, time())
    rows = session.execute(
        select(RevealRow.started_at, RevealRow.seconds).where(
            RevealRow.account_id == account_id,
            RevealRow.started_at >= start,
            RevealRow.started_at < start + timedelta(days=1),
        )
    ).all()
    return sum(_duration(started, seconds, now) for started, seconds in rows)


def _duration(started: datetime, seconds: float, now: datetime) -> float:
    if seconds > 0:
        return seconds
    return min(max((now - started).total_seconds(), 0.0), OPEN_REVEAL_CAP_S)


def _extended(session: Session, account_id: int, day: date) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(ExposureExtensionRow.seconds), 0)).where(
            ExposureExtensionRow.account_id == account_id, ExposureExtensionRow.day == day
        )
    )
    return int(total or 0)


def _activity(session: Session, account_id: int, now: datetime) -> list[tuple[datetime, datetime]]:
    since = now - _ACTIVITY_WINDOW
    spans: list[tuple[datetime, datetime]] = []
    for started, seconds in session.execute(
        select(RevealRow.started_at, RevealRow.seconds).where(
            RevealRow.account_id == account_id,
            RevealRow.started_at >= since,
            RevealRow.started_at <= now,
        )
    ):
        spans.append((started, started + timedelta(seconds=_duration(started, seconds, now))))
    for decided in session.scalars(
        select(DecisionRow.decided_at).where(
            DecisionRow.account_id == account_id,
            DecisionRow.decided_at >= since,
            DecisionRow.decided_at <= now,
        )
    ):
        spans.append((decided, decided))
    return spans


def _refusal(allowance: float) -> str:
    return (
        f"You have reached today's limit of {_spoken(allowance)} of unblurred viewing. "
        "Take a break; a supervisor can extend it."
    )


def _spoken(seconds: float) -> str:
    """A duration as a person says it: "30 minutes", "1 hour 15 minutes"."""
    whole = int(round(seconds))
    if whole < 60:
        return _count(whole, "second")
    hours, minutes = divmod(round(whole / 60), 60)
    parts = [_count(hours, "hour")] if hours else []
    if minutes or not hours:
        parts.append(_count(minutes, "minute"))
    return " ".join(parts)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _has_frame(session: Session, item_id: int, frame_number: int) -> bool:
    """Whether the scan kept ``frame_number`` of the video ``item_id`` at full
    resolution (one of vPDQ's frames: those a reviewer is shown)."""
    found = session.scalar(
        select(VideoFrameRow.id).where(
            VideoFrameRow.item_id == item_id,
            VideoFrameRow.number == frame_number,
            VideoFrameRow.exact.is_(True),
        )
    )
    return found is not None
