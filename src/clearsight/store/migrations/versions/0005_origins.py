"""Origin verdicts, reasons and evidence per item.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "origins",
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("verdict", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("prompts", sa.Text(), nullable=True),
        sa.Column("examiner", sa.String(length=40), nullable=False),
        sa.Column("examined_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_origins_verdict", "origins", ["verdict"])


def downgrade() -> None:
    op.drop_index("ix_origins_verdict", table_name="origins")
    op.drop_table("origins")
