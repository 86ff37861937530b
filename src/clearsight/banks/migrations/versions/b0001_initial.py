"""Initial bank schema: banks, entries and their signals.

Revision ID: b0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("allow", sa.Boolean(), nullable=False),
        sa.Column("pdq_threshold", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("series", sa.Text(), nullable=True),
        sa.Column("victim_identified", sa.Boolean(), nullable=True),
        sa.Column("offender_identified", sa.Boolean(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("date", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bank_id", "identity", name="uq_bank_entries_identity"),
    )
    op.create_table(
        "bank_entry_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entry_id"], ["bank_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "kind", name="uq_bank_entry_signals_entry_kind"),
    )
    with op.batch_alter_table("bank_entry_signals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_entry_signals_bank_id"), ["bank_id"], unique=False
        )
        batch_op.create_index("ix_bank_entry_signals_kind_value", ["kind", "value"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bank_entry_signals", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_entry_signals_kind_value")
        batch_op.drop_index(batch_op.f("ix_bank_entry_signals_bank_id"))

    op.drop_table("bank_entry_signals")
    op.drop_table("bank_entries")
    op.drop_table("banks")
