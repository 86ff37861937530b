"""Matches say which variant matched and how many local features confirmed it; bank
checks remember the matcher they were made with.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch rebuild: SQLite copes, and no row is touched.
    op.add_column("matches", sa.Column("variant", sa.String(length=80), nullable=True))
    op.add_column("matches", sa.Column("inliers", sa.Integer(), nullable=True))
    op.add_column(
        "bank_checks",
        sa.Column("matcher", sa.String(length=40), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("bank_checks") as batch:
        batch.drop_column("matcher")
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("inliers")
        batch.drop_column("variant")
