"""The append-only, hash-chained audit log of a case.

Every entry's hash covers its own fields and the hash of the entry before it, so an
entry edited or deleted in the database breaks the chain at that point and ``verify``
names it. Deleting entries from the end leaves a shorter, consistent chain; that is
caught by comparing the head with one recorded elsewhere (reports print the head).

Appends serialise on the head: PostgreSQL takes a transaction-scoped advisory lock,
SQLite takes its write lock with a no-op write, and ``prev_hash`` is unique besides,
so two writers can never both append after the same entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from clearsight.store.engines import utc_now
from clearsight.store.review_models import AuditEntryRow

GENESIS = "0" * 64
# Any constant: the advisory lock that orders appends on PostgreSQL.
_POSTGRES_LOCK = 0x636C6561
_PAGE = 1000


class AuditAction(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login-failed"
    LOGOUT = "logout"
    REVEAL = "reveal"
    DECISION = "decision"
    DECISION_UNDONE = "decision-undone"
    EXPORT = "export"
    ASSIGNMENT = "assignment"
    EXPOSURE_EXTENDED = "exposure-extended"
    SETTING_CHANGED = "setting-changed"
    USER_ADDED = "user-added"
    USER_DISABLED = "user-disabled"
    USER_ENABLED = "user-enabled"
    PASSWORD_RESET = "password-reset"
    BANK_CHANGED = "bank-changed"
    CYBERTIP = "cybertip"  # a step of a CyberTipline submission (clearsight.cybertip)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainCheck:
    """What ``verify`` found: how many entries hold together, and the first that breaks."""

    entries: int
    head: str
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def canonical_detail(detail: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    entry_id: int, at: datetime, actor: str, action: str, subject: str, detail: str, prev: str
) -> str:
    body = json.dumps(
        [entry_id, at.isoformat(timespec="microseconds"), actor, action, subject, detail, prev],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(
    session: Session,
    actor: str,
    action: AuditAction,
    subject: str,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry inside the caller's transaction, so that what it records (a
    decision, a reveal) and the entry commit together or not at all."""
    _lock_head(session)
    last = session.execute(
        select(AuditEntryRow.id, AuditEntryRow.hash).order_by(AuditEntryRow.id.desc()).limit(1)
    ).first()
    entry_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = utc_now()
    body = canonical_detail(detail)
    digest = entry_hash(entry_id, at, actor, action.value, subject, body, prev)
    session.add(
        AuditEntryRow(
            id=entry_id,
            at=at,
            actor=actor,
            action=action.value,
            subject=subject,
            detail=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    session.flush()
    return AuditEntry(entry_id, at, actor, action.value, subject, json.loads(body), prev, digest)


class AuditLog:
    """The audit log of one case database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(
        self,
        actor: str,
        action: AuditAction,
        subject: str,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry in a transaction of its own."""
        with Session(self._engine) as session, session.begin():
            return record(session, actor, action, subject, detail)

    def entries(
        self, *, after: int = 0, limit: int | None = None, newest_first: bool = False
    ) -> list[AuditEntry]:
        order = AuditEntryRow.id.desc() if newest_first else AuditEntryRow.id
        query = select(AuditEntryRow).order_by(order)
        if after:
            query = query.where(
                AuditEntryRow.id < after if newest_first else AuditEntryRow.id > after
            )
        if limit is not None:
            query = query.limit(limit)
        with Session(self._engine) as session:
            return [_entry_of(row) for row in session.scalars(query)]

    def head(self) -> str:
        with Session(self._engine) as session:
            last = session.scalar(select(AuditEntryRow.hash).order_by(AuditEntryRow.id.desc()))
        return last or GENESIS

    def verify(self, expected_head: str | None = None) -> ChainCheck:
        """Walk the chain from the first entry; stop at the first entry that breaks it."""
        prev, count, expected_id = GENESIS, 0, 1
        for row in self._rows():
            if row.id != expected_id:
                return ChainCheck(count, prev, expected_id, f"entry {expected_id} is missing")
            if row.prev_hash != prev:
                return ChainCheck(
                    count, prev, row.id, "does not follow the entry before it (deleted or edited)"
                )
            digest = entry_hash(
                row.id, row.at, row.actor, row.action, row.subject, row.detail, row.prev_hash
            )
            if digest != row.hash:
                return ChainCheck(
                    count, prev, row.id, "its contents do not match its hash (edited)"
                )
            prev, count, expected_id = row.hash, count + 1, expected_id + 1
        if expected_head is not None and expected_head != prev:
            return ChainCheck(
                count,
                prev,
                expected_id,
                f"the chain ends at {prev[:12]}…, not at the recorded head {expected_head[:12]}… "
                "(entries removed from the end)",
            )
        return ChainCheck(count, prev)

    def _rows(self) -> Iterator[AuditEntryRow]:
        after = 0
        while True:
            with Session(self._engine) as session:
                page = list(
                    session.scalars(
                        select(AuditEntryRow)
                        .where(AuditEntryRow.id > after)
                        .order_by(AuditEntryRow.id)
                        .limit(_PAGE)
                    )
                )
            if not page:
                return
            yield from page
            after = page[-1].id


def _lock_head(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_LOCK})
    else:
        # A write that changes nothing still takes SQLite's write lock for the transaction,
        # so the head read next cannot change before this entry is written.
        session.execute(text("UPDATE audit_log SET id = id WHERE 1 = 0"))


def _entry_of(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        row.id,
        row.at,
        row.actor,
        row.action,
        row.subject,
        json.loads(row.detail),
        row.prev_hash,
        row.hash,
    )
