"""The exchanges a bank store knows: their settings and fetch state (table ``exchanges``).

An exchange is a name, an API (``ncmec``, ``stop_ncii``, ``fb_threatexchange``,
``tat``, ``file``), the bank it keeps in sync and the API's settings as JSON. Its
checkpoint is written by the fetch (:mod:`clearsight.exchanges.fetch`) in the same
transaction as the entries: :meth:`ExchangeBook.after_batch` gives the fetch the step
that writes it (and a snapshot's withdrawals) inside the batch's transaction, so every
statement on the table stays here, in the bank store's package.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, update

from clearsight.banks.models import ENTRIES, EXCHANGES, SIGNALS, VIDEOS
from clearsight.errors import UserError
from clearsight.store.engines import utc_now

API_NAMES = ("ncmec", "stop_ncii", "fb_threatexchange", "tat", "file")
_DELETE_CHUNK = 500

# A step run inside a batch's transaction (BankStore.apply_batch's ``then``): given the
# connection and the bank's id, it returns how many entries it removed.
AfterBatch = Callable[[Connection, int], int]


@dataclass(frozen=True)
class ExchangeInfo:
    """One exchange as stored: settings, then the state its last fetch left."""

    name: str
    api: str
    bank: str
    config: dict[str, Any]
    enabled: bool
    checkpoint: dict[str, Any] | None
    checkpoint_at: datetime | None
    fetched: int
    started_at: datetime | None
    finished_at: datetime | None
    up_to_date: bool
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat() + "Z"

        return {
            "name": self.name,
            "api": self.api,
            "bank": self.bank,
            "config": self.config,
            "enabled": self.enabled,
            "checkpoint": self.checkpoint,
            "checkpoint_at": when(self.checkpoint_at),
            "fetched": self.fetched,
            "started_at": when(self.started_at),
            "finished_at": when(self.finished_at),
            "up_to_date": self.up_to_date,
            "last_error": self.last_error,
        }


class ExchangeBook:
    """Adds, lists, changes and removes exchanges in the bank store on ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, name: str, api: str, bank: str, config: dict[str, Any]) -> ExchangeInfo:
        if api not in API_NAMES:
            raise UserError(f"unknown exchange API {api!r}: one of {', '.join(API_NAMES)}")
        if not name.strip() or not bank.strip():
            raise UserError("an exchange needs a name and a bank")
        now = utc_now()
        with self._engine.begin() as connection:
            if connection.scalar(select(EXCHANGES.c.id).where(EXCHANGES.c.name == name)):
                raise UserError(f"exchange {name!r} exists already")
            connection.execute(
                insert(EXCHANGES).values(
                    name=name,
                    api=api,
                    bank=bank,
                    config=json.dumps(config, sort_keys=True),
                    enabled=True,
                    created_at=now,
                    updated_at=now,
                    fetched=0,
                    up_to_date=False,
                )
            )
        return self.get(name)

    def get(self, name: str) -> ExchangeInfo:
        with self._engine.connect() as connection:
            row = connection.execute(select(EXCHANGES).where(EXCHANGES.c.name == name)).first()
        if row is None:
            raise UserError(f"no exchange named {name!r}: see `clearsight exchange list`")
        return _info(row._mapping)

    def all(self) -> list[ExchangeInfo]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(EXCHANGES).order_by(EXCHANGES.c.name)).all()
        return [_info(row._mapping) for row in rows]

    def set_enabled(self, name: str, enabled: bool) -> ExchangeInfo:
        self._update(name, enabled=enabled, updated_at=utc_now())
        return self.get(name)

    def remove(self, name: str) -> None:
        """Forget exchange ``name``; its bank, and the entries it fetched, stay."""
        self.get(name)
        with self._engine.begin() as connection:
            connection.execute(delete(EXCHANGES).where(EXCHANGES.c.name == name))

    def note_start(self, name: str) -> None:
        self._update(name, started_at=utc_now(), last_error=None)

    def claim(self, name: str, *, due_after: float, abandoned_after: float) -> bool:
        """Mark a fetch of exchange ``name`` started, and say so, unless it is disabled, a
        fetch of it is running (started and not finished, less than ``abandoned_after``
        seconds ago: one older is taken as died), or the last one finished less than
        ``due_after`` seconds ago. One statement: of several service workers that ask
        at once, one gets it."""
        now = utc_now()
        column = EXCHANGES.c
        idle = or_(
            column.started_at.is_(None),
            and_(column.finished_at.is_not(None), column.finished_at >= column.started_at),
            column.started_at <= now - timedelta(seconds=abandoned_after),
        )
        due = or_(
            column.finished_at.is_(None),
            column.finished_at <= now - timedelta(seconds=due_after),
        )
        with self._engine.begin() as connection:
            done = connection.execute(
                update(EXCHANGES)
                .where(column.name == name, column.enabled.is_(True), idle, due)
                .values(started_at=now, last_error=None)
            )
        return bool(done.rowcount)

    def note_end(self, name: str, *, up_to_date: bool, error: str | None) -> None:
        self._update(name, finished_at=utc_now(), up_to_date=up_to_date, last_error=error)

    def after_batch(
        self, name: str, *, updates: int, checkpoint: str | None, withdraw_unseen: Set[str] | None
    ) -> AfterBatch:
        """The step that records a committed batch of exchange ``name``: ``updates`` more
        fetched, the ``checkpoint`` (saved JSON) of the last page it completes if any, and
        for the end of a complete snapshot the removal of entries whose identity is not
        in ``withdraw_unseen``."""

        def step(connection: Connection, bank_id: int) -> int:
            removed = 0
            if withdraw_unseen is not None:
                removed = _remove_unseen(connection, bank_id, withdraw_unseen)
            values: dict[str, Any] = {"fetched": EXCHANGES.c.fetched + updates}
            if checkpoint is not None:
                values["checkpoint"] = checkpoint
                values["checkpoint_at"] = utc_now()
            connection.execute(update(EXCHANGES).where(EXCHANGES.c.name == name).values(values))
            return removed

        return step

    def _update(self, name: str, **values: Any) -> None:
        with self._engine.begin() as connection:
            done = connection.execute(
                update(EXCHANGES).where(EXCHANGES.c.name == name).values(**values)
            )
        if not done.rowcount:
            raise UserError(f"no exchange named {name!r}: see `clearsight exchange list`")


def _info(row: Any) -> ExchangeInfo:
    checkpoint = row["checkpoint"]
    return ExchangeInfo(
        name=row["name"],
        api=row["api"],
        bank=row["bank"],
        config=json.loads(row["config"]),
        enabled=bool(row["enabled"]),
        checkpoint=None if checkpoint is None else json.loads(checkpoint),
        checkpoint_at=row["checkpoint_at"],
        fetched=int(row["fetched"] or 0),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        up_to_date=bool(row["up_to_date"]),
        last_error=row["last_error"],
    )


def _remove_unseen(connection: Connection, bank_id: int, seen: Set[str]) -> int:
    """Delete the bank's entries a complete snapshot no longer lists; how many went."""
    rows = connection.execute(
        select(ENTRIES.c.id, ENTRIES.c.identity).where(ENTRIES.c.bank_id == bank_id)
    ).all()
    gone = [row[0] for row in rows if row[1] not in seen]
    for start in range(0, len(gone), _DELETE_CHUNK):
        chunk = gone[start : start + _DELETE_CHUNK]
        connection.execute(delete(SIGNALS).where(SIGNALS.c.entry_id.in_(chunk)))
        connection.execute(delete(VIDEOS).where(VIDEOS.c.entry_id.in_(chunk)))
        connection.execute(delete(ENTRIES).where(ENTRIES.c.id.in_(chunk)))
    return len(gone)
