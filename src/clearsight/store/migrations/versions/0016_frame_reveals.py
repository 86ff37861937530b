"""A reveal may show one frame of a video, and says which.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch rebuild: SQLite copes, and no row is touched.
    op.add_column("reveals", sa.Column("frame_number", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reveals") as batch:
        batch.drop_column("frame_number")
