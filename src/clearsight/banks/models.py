"""SQLAlchemy models of the bank store, shared by every case on the machine.

An entry is identified within its bank by its external id, or, when the list gives
none, by its signals; that identity is what makes re-importing a file change nothing.
A bank's uid and revision name one state of its content: an index built from it stays
valid until either changes (a bank removed and made again under its name gets a new uid).
The schema is owned by the Alembic migrations beside this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DEFAULT_PDQ_THRESHOLD = 31


class BankBase(DeclarativeBase):
    pass


def new_bank_uid() -> str:
    return uuid.uuid4().hex


class Bank(BankBase):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    allow: Mapped[bool] = mapped_column(default=False)
    pdq_threshold: Mapped[int] = mapped_column(Integer, default=DEFAULT_PDQ_THRESHOLD)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    uid: Mapped[str] = mapped_column(String(36), default=new_bank_uid, index=True, unique=True)
    # Counts imports that changed entries; settings changes leave it alone.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # HMA's share of lookups that see an enabled bank (NULL: all); the matching service's.
    matching_enabled_ratio: Mapped[float | None] = mapped_column(Float)


class BankEntry(BankBase):
    __tablename__ = "bank_entries"
    # Unique indexes, not constraints (migration b0004): a large SQLite import sets
    # them aside and builds them sorted at its end (see banks.value_index).
    __table_args__ = (Index("uq_bank_entries_identity", "bank_id", "identity", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    series: Mapped[str | None] = mapped_column(Text)
    victim_identified: Mapped[bool | None]
    offender_identified: Mapped[bool | None]
    tags: Mapped[str | None] = mapped_column(Text)
    comments: Mapped[str | None] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(String(40))
    # HMA's disable_until_ts, set through the matching service (migration b0008).
    disabled_until: Mapped[int | None] = mapped_column(Integer)


_KEYED = text("value_key IS NOT NULL")


class BankEntrySignal(BankBase):
    """One signal of an entry. Exact matching finds a digest by ``value_key``, its
    value's first 60 bits as an integer (``banks.prepared.value_key``), then compares
    kind and value; other kinds (PDQ, PhotoDNA) have no key and no index by value:
    they are read by bank, never looked up (migration b0009)."""

    __tablename__ = "bank_entry_signals"
    __table_args__ = (
        Index("uq_bank_entry_signals_entry_kind", "entry_id", "kind", unique=True),
        Index(
            "ix_bank_entry_signals_value_key",
            "value_key",
            sqlite_where=_KEYED,
            postgresql_where=_KEYED,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(Text)
    value_key: Mapped[int | None] = mapped_column(BigInteger)


class BankEntryVideo(BankBase):
    """A video signal of an entry (vPDQ): long, never looked up by value, so kept out
    of ``bank_entry_signals`` and its value index (see migration b0010)."""

    __tablename__ = "bank_entry_videos"
    __table_args__ = (Index("uq_bank_entry_videos_entry_kind", "entry_id", "kind", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(Text)


class Exchange(BankBase):
    """A feed that keeps bank ``bank`` in sync (migration b0007; see clearsight.exchanges).

    ``checkpoint`` is the exchange library's checkpoint as JSON, written in the same
    transaction as the entries it covers. Credentials are never stored here."""

    __tablename__ = "exchanges"
    __table_args__ = (Index("uq_exchanges_name", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api: Mapped[str] = mapped_column(String(40))
    bank: Mapped[str] = mapped_column(String(200))
    config: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    checkpoint: Mapped[str | None] = mapped_column(Text)
    checkpoint_at: Mapped[datetime | None]
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    up_to_date: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(Text)


# The tables themselves, for the bulk statements of an import (Core, not the ORM).
BANKS = cast(Table, Bank.__table__)
ENTRIES = cast(Table, BankEntry.__table__)
SIGNALS = cast(Table, BankEntrySignal.__table__)
VIDEOS = cast(Table, BankEntryVideo.__table__)
VIDEO_KINDS = frozenset({"vpdq"})
"""Signal kinds kept in ``bank_entry_videos`` rather than ``bank_entry_signals``."""
EXCHANGES = cast(Table, Exchange.__table__)
