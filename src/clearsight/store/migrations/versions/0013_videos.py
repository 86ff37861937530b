"""Videos: each one's container and stream facts, and its sampled frames' vPDQ hashes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "video_facts",
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("container", sa.String(100), nullable=False),
        sa.Column("codec", sa.String(100), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("frame_rate", sa.Float(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("frames_decoded", sa.Integer(), nullable=False),
        sa.Column("has_audio", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("stopped", sa.Text(), nullable=True),
    )
    op.create_table(
        "video_frames",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("pdq", sa.String(64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("mirror", sa.String(64), nullable=True),
        sa.Column("trimmed", sa.String(64), nullable=True),
        sa.Column("representative", sa.Boolean(), nullable=False),
        sa.Column("exact", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_video_frames_item_id", "video_frames", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_video_frames_item_id", table_name="video_frames")
    op.drop_table("video_frames")
    op.drop_table("video_facts")
