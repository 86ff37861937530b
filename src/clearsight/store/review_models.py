"""SQLAlchemy models of the human step: accounts, sessions, audit, decisions, exposure.

They live apart from :mod:`clearsight.store.models` because scanning never touches
them; the schema is owned by migration 0007. Times are naive UTC (see ``utc_now``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clearsight.store.models import Base


class AccountRow(Base):
    """A person who signs in. ``blur``, ``greyscale`` and ``reveal_mode`` are their own
    preview settings; NULL means the organisation's default (``review_settings``)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(default=False)
    blur: Mapped[int | None] = mapped_column(Integer)
    greyscale: Mapped[bool | None]
    reveal_mode: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]


class LoginSessionRow(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored, so a copy
    of the database does not sign anyone in."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)


class LoginAttemptRow(Base):
    """One try at signing in, kept so that failures can be rate-limited across workers."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_name_at", "name", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]
    at: Mapped[datetime]


class AuditEntryRow(Base):
    """One entry of the append-only audit log; ``hash`` covers the entry and
    ``prev_hash``, so editing or deleting any entry breaks the chain after it."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON object
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class DecisionRow(Base):
    """What a reviewer decided about one item. The newest row per item is current.

    ``viewed_unblurred`` is True only if this reviewer revealed this item before
    deciding; exports claim a file was viewed on no other ground. ``stack_id`` is set
    when one decision was made for a whole near-duplicate stack. ``confirms`` points at
    the decision a second reviewer agreed with."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    stack_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(20))
    series: Mapped[str | None] = mapped_column(Text)
    victim_identified: Mapped[str] = mapped_column(String(10))  # yes / no / unknown
    notes: Mapped[str] = mapped_column(Text, default="")
    viewed_unblurred: Mapped[bool]
    confirms: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    decided_at: Mapped[datetime]


class RevealRow(Base):
    """One time a reviewer saw an item unblurred, and for how long (the exposure meter)."""

    __tablename__ = "reveals"
    __table_args__ = (
        Index("ix_reveals_account_started", "account_id", "started_at"),
        Index("ix_reveals_item_account", "item_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    started_at: Mapped[datetime]
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # The frame of a video that was shown (its number in the video's frames); None
    # where the item itself was: a picture, or a video's contact sheet.
    frame_number: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ExposureExtensionRow(Base):
    """Extra seconds of revealed content a supervisor granted a reviewer for one day."""

    __tablename__ = "exposure_extensions"
    __table_args__ = (Index("ix_exposure_extensions_account_day", "account_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    day: Mapped[date] = mapped_column(Date)
    seconds: Mapped[int] = mapped_column(Integer)
    granted_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    granted_at: Mapped[datetime]


class AssignmentRow(Base):
    """An item a supervisor gave to a reviewer."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_account_id", "account_id"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    assigned_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    assigned_at: Mapped[datetime]


class ReviewSettingRow(Base):
    """An organisation-wide review setting (JSON value): blur, budget, scheme, ..."""

    __tablename__ = "review_settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
