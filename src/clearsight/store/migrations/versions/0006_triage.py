"""Triage: near-duplicate stacks, scene links, series, and each item's priority.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _item(name: str, *, primary_key: bool = False) -> sa.Column[int]:
    return sa.Column(
        name,
        sa.Integer(),
        sa.ForeignKey("items.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "stacks",
        sa.Column("id", sa.Integer(), primary_key=True),
        _item("representative_item_id"),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("victim_identified", sa.Boolean(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
    )
    op.create_table(
        "scene_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        _item("item_a"),
        _item("item_b"),
        sa.Column("inliers", sa.Integer(), nullable=False),
        sa.Column("overlap", sa.Float(), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_scene_links_item_a", "scene_links", ["item_a"])
    op.create_index("ix_scene_links_item_b", "scene_links", ["item_b"])
    op.create_table(
        "item_triage",
        _item("item_id", primary_key=True),
        sa.Column("stack_id", sa.Integer(), sa.ForeignKey("stacks.id"), nullable=True),
        sa.Column("series_id", sa.Integer(), sa.ForeignKey("series.id"), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
    )
    op.create_index("ix_item_triage_stack_id", "item_triage", ["stack_id"])
    op.create_index("ix_item_triage_series_id", "item_triage", ["series_id"])
    op.create_index("ix_item_triage_score", "item_triage", ["score"])


def downgrade() -> None:
    op.drop_table("item_triage")
    op.drop_table("scene_links")
    op.drop_table("series")
    op.drop_table("stacks")
