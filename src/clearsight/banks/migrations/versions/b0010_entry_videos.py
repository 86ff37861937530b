"""Video signals of bank entries (vPDQ), kept beside the other signals, unindexed by value.

A vPDQ signal is a bag of frame hashes: one a second, so tens of kilobytes for a long
video. ``bank_entry_signals`` indexes (kind, value) for exact lookups, and PostgreSQL
refuses a B-tree key over about 2.7 kB, so these values live in a table of their own
with the same columns and no value index: they are never looked up by value, only read
whole per bank to build the frame index matching uses.

Revision ID: b0010
Revises: b0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0010"
down_revision: str | None = "b0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_entry_videos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("bank_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "bank_id",
            sa.Integer(),
            sa.ForeignKey("banks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_index(
        "uq_bank_entry_videos_entry_kind", "bank_entry_videos", ["entry_id", "kind"], unique=True
    )
    op.create_index("ix_bank_entry_videos_bank_id", "bank_entry_videos", ["bank_id"])


def downgrade() -> None:
    op.drop_index("ix_bank_entry_videos_bank_id", table_name="bank_entry_videos")
    op.drop_index("uq_bank_entry_videos_entry_kind", table_name="bank_entry_videos")
    op.drop_table("bank_entry_videos")
