"""Indexes that let the review server page through the queue in score order.

Each kind of queue unit (series, stacks, lone items) is read from an index on
(score, id), so a page is a short index range however long the queue is. Lone items
(in neither a stack nor a series) get a partial index of their own; the members of a
series are read in score order for its representative and for the series page.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LONE = sa.text("stack_id IS NULL AND series_id IS NULL")


def upgrade() -> None:
    op.create_index("ix_series_score_id", "series", ["score", "id"])
    op.create_index("ix_stacks_score_id", "stacks", ["score", "id"])
    op.create_index(
        "ix_item_triage_lone_score",
        "item_triage",
        ["score", "item_id"],
        postgresql_where=_LONE,
        sqlite_where=_LONE,
    )
    op.create_index("ix_item_triage_series_score", "item_triage", ["series_id", "score", "item_id"])
    op.create_index("ix_item_triage_stack_score", "item_triage", ["stack_id", "score", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_item_triage_stack_score", "item_triage")
    op.drop_index("ix_item_triage_series_score", "item_triage")
    op.drop_index("ix_item_triage_lone_score", "item_triage")
    op.drop_index("ix_stacks_score_id", "stacks")
    op.drop_index("ix_series_score_id", "series")
