"""Tables of the matching service in the bank store (migrations b0008, b0016).

Kept apart from :mod:`clearsight.banks.models`, which holds the banks themselves:
these record who may call the service, what it changed, and which entries it added or
removed, so that a running service can catch its index up without reloading it.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Float, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from clearsight.banks.models import BankBase


class ApiKeyRow(BankBase):
    __tablename__ = "api_keys"
    __table_args__ = (
        Index("uq_api_keys_name", "name", unique=True),
        Index("uq_api_keys_secret", "secret_sha256", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated ApiRole values
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiAuditRow(BankBase):
    __tablename__ = "api_audit"
    __table_args__ = (Index("uq_api_audit_prev_hash", "prev_hash", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class BankChangeRow(BankBase):
    __tablename__ = "bank_changes"
    __table_args__ = (Index("ix_bank_changes_bank_revision", "bank_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[int] = mapped_column(Integer)
    removed: Mapped[bool]


class SignalTypeSettingRow(BankBase):
    """HMA's per-signal-type ``enabled_ratio`` override (migration b0016)."""

    __tablename__ = "signal_type_settings"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    enabled_ratio: Mapped[float] = mapped_column(Float)


API_KEYS = cast(Table, ApiKeyRow.__table__)
BANK_CHANGES = cast(Table, BankChangeRow.__table__)
SIGNAL_TYPE_SETTINGS = cast(Table, SignalTypeSettingRow.__table__)
