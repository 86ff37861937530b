"""A bank's share of lookups that see it, as HMA's ``matching_enabled_ratio``.

HMA lets a bank be enabled for a fraction of lookups (a bank being tried out, or
wound down): each lookup flips one coin, seeded by the caller's ``seed`` where given,
and sees the banks whose ratio is at least the coin. ``enabled`` stays what the rest
of clearsight reads (a ratio above 0); this column holds the fraction of an enabled
bank, NULL meaning all of it. Downgrading drops the column.

Revision ID: b0013
Revises: b0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0013"
down_revision: str | None = "b0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("banks", sa.Column("matching_enabled_ratio", sa.Float(), nullable=True))


def downgrade() -> None:
    # Not a batch rebuild: on SQLite that drops and remakes banks, and the drop would
    # cascade to every entry. SQLite 3.35+ drops a column in place.
    op.execute("ALTER TABLE banks DROP COLUMN matching_enabled_ratio")
