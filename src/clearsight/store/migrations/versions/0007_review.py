"""Review: accounts, login sessions, the audit log, decisions, reveals and settings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("accounts.id"), nullable=nullable)


def _item(name: str) -> sa.Column[int]:
    return sa.Column(
        name, sa.Integer(), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=80), nullable=False, unique=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("blur", sa.Integer(), nullable=True),
        sa.Column("greyscale", sa.Boolean(), nullable=True),
        sa.Column("reveal_mode", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        _account("account_id"),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_login_attempts_name_at", "login_attempts", ["name", "at"])
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        # Unique: two writers that read the same head cannot both append after it.
        sa.Column("prev_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("hash", sa.String(length=64), nullable=False, unique=True),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _item("item_id"),
        _account("account_id"),
        sa.Column("stack_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("series", sa.Text(), nullable=True),
        sa.Column("victim_identified", sa.String(length=10), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False, server_default=""),
        sa.Column("viewed_unblurred", sa.Boolean(), nullable=False),
        sa.Column("confirms", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_decisions_item_id", "decisions", ["item_id"])
    op.create_index("ix_decisions_account_id", "decisions", ["account_id"])
    op.create_table(
        "reveals",
        sa.Column("id", sa.Integer(), primary_key=True),
        _item("item_id"),
        _account("account_id"),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False, server_default="0"),
    )
    op.create_index("ix_reveals_account_started", "reveals", ["account_id", "started_at"])
    op.create_index("ix_reveals_item_account", "reveals", ["item_id", "account_id"])
    op.create_table(
        "exposure_extensions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _account("account_id"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        _account("granted_by"),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
    )
    op.create_index(
        "ix_exposure_extensions_account_day", "exposure_extensions", ["account_id", "day"]
    )
    op.create_table(
        "assignments",
        _item("item_id"),
        _account("account_id"),
        _account("assigned_by"),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "account_id"),
    )
    op.create_index("ix_assignments_account_id", "assignments", ["account_id"])
    op.create_table(
        "review_settings",
        sa.Column("key", sa.String(length=80), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "review_settings",
        "assignments",
        "exposure_extensions",
        "reveals",
        "decisions",
        "audit_log",
        "login_attempts",
        "login_sessions",
        "accounts",
    ):
        op.drop_table(table)
