"""The exposure meter, on SQLite and PostgreSQL: reveals are audited, durations are
believed only as far as the clock allows, the daily budget refuses kindly, supervisors
extend it, and continuous review is noticed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearsight.errors import UserError
from clearsight.media.sniff import MediaKind
from clearsight.review.audit import AuditAction
from clearsight.review.exposure import (
    OPEN_REVEAL_CAP_S,
    REVEAL_SLACK_S,
    ExposureMeter,
)
from clearsight.review.settings import ReviewSettings
from clearsight.signals.digests import digest_bytes
from clearsight.store.interface import ScannedFile, ScanTally
from clearsight.store.models import Item
from clearsight.store.review_models import AccountRow, DecisionRow, RevealRow
from clearsight.store.sql import SqlCaseStore, engine_of

START = datetime(2026, 3, 2, 9, 0, 0)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def add_accounts(store: SqlCaseStore, *names: str) -> list[int]:
    with Session(engine_of(store)) as session, session.begin():
        rows = [
            AccountRow(
                name=name,
                role="supervisor" if name.startswith("sup") else "reviewer",
                password_hash="not-a-real-hash",
                created_at=START,
                password_changed_at=START,
            )
            for name in names
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def add_items(store: SqlCaseStore, count: int) -> list[int]:
    source = store.open_source("/evidence")
    scan = store.start_scan(["/evidence"])
    files = [
        ScannedFile(
            path=f"landscape-{n}.png",
            media_type="image/png",
            kind=MediaKind.IMAGE,
            digests=digest_bytes(f"landscape {n}".encode()),
        )
        for n in range(count)
    ]
    store.record_files(scan, [(source, f) for f in files])
    store.finish_scan(scan, ScanTally(count, count, 0, 0), completed=True)
    with Session(engine_of(store)) as session:
        return list(session.scalars(select(Item.id).order_by(Item.id)))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def people(case_store: SqlCaseStore) -> list[int]:
    return add_accounts(case_store, "rev-a", "rev-b", "sup-c")


@pytest.fixture
def items(case_store: SqlCaseStore) -> list[int]:
    return add_items(case_store, 3)


def meter_for(
    store: SqlCaseStore, clock: Clock, *, budget_s: int = 1800, break_after_min: int = 45
) -> ExposureMeter:
    settings = ReviewSettings(daily_exposure_budget_s=budget_s, break_after_min=break_after_min)
    return store.exposure(settings, clock)


def test_a_reveal_is_recorded_with_its_audit_entry(
    case_store: SqlCaseStore, clock: Clock, people: list[int], items: list[int]
) -> None:
    meter = meter_for(case_store, clock)
    outcome = meter.start_reveal(people[0], items[1])
    assert outcome.allowed and outcome.refusal is None
    assert outcome.seconds_left == 1800
    log = case_store.audit_log()
    [entry] = log.entries()
    assert entry.action == AuditAction.REVEAL
    assert (entry.actor, entry.subject) == ("rev-a", f"item:{items[1]}")
    assert entry.detail == {"reveal": outcome.reveal_id}
    assert log.verify().intact
    with Session(engine_of(case_store)) as session:
        reveal = session.get(RevealRow, outcome.reveal_id)
        assert reveal is not None and reveal.started_at == START


def test_reported_durations_are_clamped_to_the_clock(
    case_store: SqlCaseStore, clock: Clock, people: list[int], items: list[int]
) -> None:
    meter = meter_for(case_store, clock)
    first = meter.start_reveal(people[0], items[0]).reveal_id
    assert first is not None
    clock.advance(10)
    # A browser cannot claim more than happened, nor a negative time...
    assert meter.end_reveal(first, 3600, account_id=people[0]) == 10 + REVEAL_SLACK_S
    second = meter.start_reveal(people[0], items[1]).reveal_id
    assert second is not None
    clock.advance(4)
    assert 0 < meter.end_reveal(second, -50) < 0.01
    # ...and a later report (a heartbeat) can lengthen a reveal, never shorten it.
    clock.advance(4)
    assert meter.end_reveal(second, 7.5) == 7.5
    assert meter.end_reveal(second, 1) == 7.5
    assert meter.end_reveal(second, float("nan")) == 7.5
    assert meter.seconds_today(people[0]) == pytest.approx(10 + REVEAL_SLACK_S + 7.5)
    assert meter.seconds_today(people[1]) == 0


def test_a_reveal_can_only_be_ended_by_its_own_account(
    case_store: SqlCaseStore, clock: Clock, people: list[int], items: list[int]
) -> None:
    meter = meter_for(case_store, clock)
    reveal = meter.start_reveal(people[0], items[0]).reveal_id
    assert reveal is not None
    with pytest.raises(UserError, match="no reveal"):
        meter.end_reveal(reveal, 5, account_id=people[1])
    with pytest.raises(UserError, match="no reveal"):
        meter.end_reveal(reveal + 100, 5)
    with pytest.raises(UserError, match="no item"):
        meter.start_reveal(people[0], items[-1] + 100)
    with pytest.raises(UserError, match="no account"):
        meter.start_reveal(people[-1] + 100, items[0])


def test_an_unended_reveal_counts_from_its_start_up_to_a_cap(
    case_store: SqlCaseStore, clock: Clock, people: list[int], items: list[int]
) -> None:
    meter = meter_for(case_store, clock)
    assert meter.start_reveal(people[0], items[0]).allowed
    clock.advance(90)
    assert meter.seconds_today(people[0]) == 90
    clock.advance(3 * 3600)
    assert meter.seconds_today(people[0]) == OPEN_REVEAL_CAP_S


def test_the_daily_budget_refuses_kindly_and_a_supervisor_extends_it(
    case_store: SqlCaseStore, clock: Clock, people: list[int], items: list[int]
) -> None:
    reviewer, other, supervisor = people
    meter = meter_for(case_store, clock, budget_s=60)
    reveal = meter.start_reveal(reviewer, items[0]).reveal_id
    assert reveal is not None
    clock.advance(61)
    meter.end_reveal(reveal, 61)
    audited = len(case_store.audit_log().entries())

    refused = meter.start_reveal(reviewer, items[1])
    assert not refused.allowed and refused.reveal_id is None
    assert refused.refusal == (
        "You have reached today's limit of 1 minute of unblurred viewing. "
        "Take a break; a supervisor can extend it."
    )
    assert refused.seconds_left == 0
    # A refusal records nothing, and other reviewers are unaffected.
    assert len(case_store.audit_log().entries()) == audited
    with Session(engine_of(case_store)) as session:
        assert session.scalar(select(func.count()).select_from(RevealRow)) == 1
    assert meter.start_reveal(other, items[1]).allowed

    assert meter.extend(reviewer, 1800, granted_by=supervisor) == 1860
    entry = case_store.audit_log().entries(newest_first=True, limit=1)[0]
    assert (entry.action, entry.actor, entry.subject) == (
        AuditAction.EXPOSURE_EXTENDED,
        "sup-c",
        "account:rev-a",
    )
    assert entry.detail == {"seconds": 1800, "day": "2026-03-02"}
    assert meter.allowance_today(reviewer) == 1860
    assert meter.start_reveal(reviewer, items[1]).allowed

    # A new UTC day starts from nothing, and yesterday's extension is gone.
    clock.now = datetime(2026, 3, 3, 0, 0, 1)
    assert meter.seconds_today(reviewer) == 0
    assert meter.allowance_today(reviewer) == 60


def test_a_longer_allowance_is_named_in_hours_and_minutes(
    case_store: SqlCaseStore, clock: Clock, people: list[int], items: list[int]
) -> None:
    meter = meter_for(case_store, clock, budget_s=0)
    meter.extend(people[0], 4500, granted_by=people[2])
    reveal = meter.start_reveal(people[0], items[0]).reveal_id
    assert reveal is not None
    clock.advance(4500)
    meter.end_reveal(reveal, 4500)
    refusal = meter.start_reveal(people[0], items[0]).refusal
    assert refusal is not None and "limit of 1 hour 15 minutes of" in refusal


@pytest.mark.parametrize("seconds", [0, -5, 10**9])
def test_an_extension_must_be_a_sensible_number_of_seconds(
    case_store: SqlCaseStore, clock: Clock, people: list[int], seconds: int
) -> None:
    with pytest.raises(UserError, match="extension"):
        meter_for(case_store, clock).extend(people[0], seconds, granted_by=people[2])
    assert case_store.audit_log().entries() == []


def _decide(store: SqlCaseStore, account: int, item: int, at: datetime) -> None:
    with Session(engine_of(store)) as session, session.begin():
        session.add(
            DecisionRow(
                item_id=item,
                account_id=account,
                category="0",
                origin="unsure",
                victim_identified="unknown",
                viewed_unblurred=False,
                decided_at=at,
            )
        )


def test_a_break_is_due_after_continuous_review(
    case_store: SqlCaseStore, clock: Clock, people: list[int], items: list[int]
) -> None:
    meter = meter_for(case_store, clock, break_after_min=45)
    reviewer = people[0]
    assert not meter.break_due(reviewer)
    # Activity every four minutes: a reveal, then a decision, alternating.
    for step in range(12):
        if step % 2:
            _decide(case_store, reviewer, items[0], clock.now)
        else:
            reveal = meter.start_reveal(reviewer, items[0]).reveal_id
            assert reveal is not None
            clock.advance(20)
            meter.end_reveal(reveal, 20)
        clock.advance(4 * 60 - (0 if step % 2 else 20))
    assert meter.continuous_review_s(reviewer) == pytest.approx(48 * 60)
    assert meter.break_due(reviewer)
    assert not meter.break_due(people[1])
    # After five quiet minutes the break has been taken.
    assert not meter.break_due(reviewer, clock.now + timedelta(minutes=6))


def test_a_pause_of_five_minutes_starts_a_new_stretch(
    case_store: SqlCaseStore, clock: Clock, people: list[int], items: list[int]
) -> None:
    meter = meter_for(case_store, clock, break_after_min=30)
    reviewer = people[0]
    for minute in (0, 4, 8, 12, 20, 24, 28, 32, 36, 40):
        _decide(case_store, reviewer, items[0], START + timedelta(minutes=minute))
    now = START + timedelta(minutes=42)
    # The gap from minute 12 to 20 ended the first stretch; the second is 22 minutes.
    assert meter.continuous_review_s(reviewer, now) == 22 * 60
    assert not meter.break_due(reviewer, now)
    for minute in (44, 48):
        _decide(case_store, reviewer, items[0], START + timedelta(minutes=minute))
    assert meter.break_due(reviewer, START + timedelta(minutes=50))
