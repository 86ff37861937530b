"""The audit log of the matching service: every change made through it, hash-chained.

The chain is the case audit log's (:mod:`clearsight.store.review.audit`): each entry's
hash covers its fields and the hash before it, so an entry edited or deleted in the
database breaks the chain where it was. It lives in the bank store, beside the banks it
records changes to. Appends serialise on the head: ``prev_hash`` is unique, and an
append that lost the race to another writer tries again on the new head.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clearsight.banks.service_models import ApiAuditRow
from clearsight.store.engines import utc_now
from clearsight.store.review.audit import GENESIS, ChainCheck, canonical_detail, entry_hash

_ATTEMPTS = 20


@dataclass(frozen=True)
class ServiceAuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    hash: str


class ServiceAuditLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(
        self, actor: str, action: str, subject: str, detail: Mapping[str, Any] | None = None
    ) -> ServiceAuditEntry:
        body = canonical_detail(detail)
        for _ in range(_ATTEMPTS):
            try:
                with Session(self._engine) as session, session.begin():
                    last = session.execute(
                        select(ApiAuditRow.id, ApiAuditRow.hash)
                        .order_by(ApiAuditRow.id.desc())
                        .limit(1)
                    ).first()
                    entry_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                    at = utc_now()
                    digest = entry_hash(entry_id, at, actor, action, subject, body, prev)
                    session.add(
                        ApiAuditRow(
                            id=entry_id,
                            at=at,
                            actor=actor,
                            action=action,
                            subject=subject,
                            detail=body,
                            prev_hash=prev,
                            hash=digest,
                        )
                    )
                detail_back = json.loads(body)
                return ServiceAuditEntry(entry_id, at, actor, action, subject, detail_back, digest)
            except IntegrityError:
                continue  # another writer appended after the same head: read it again
        raise RuntimeError("the service audit log stayed contended; the change was not recorded")

    def entries(self) -> list[ServiceAuditEntry]:
        with Session(self._engine) as session:
            rows = session.scalars(select(ApiAuditRow).order_by(ApiAuditRow.id)).all()
            return [
                ServiceAuditEntry(
                    row.id,
                    row.at,
                    row.actor,
                    row.action,
                    row.subject,
                    json.loads(row.detail),
                    row.hash,
                )  # fmt: skip
                for row in rows
            ]

    def verify(self) -> ChainCheck:
        prev, count, expected = GENESIS, 0, 1
        with Session(self._engine) as session:
            for row in session.scalars(select(ApiAuditRow).order_by(ApiAuditRow.id)):
                if row.id != expected:
                    return ChainCheck(count, prev, expected, f"entry {expected} is missing")
                if row.prev_hash != prev:
                    return ChainCheck(count, prev, row.id, "does not follow the entry before it")
                digest = entry_hash(
                    row.id, row.at, row.actor, row.action, row.subject, row.detail, row.prev_hash
                )
                if digest != row.hash:
                    return ChainCheck(count, prev, row.id, "its contents do not match its hash")
                prev, count, expected = row.hash, count + 1, expected + 1
        return ChainCheck(count, prev)
