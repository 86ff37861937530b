"""HMA's per-signal-type ``enabled_ratio`` (``PUT /c/signal_type/<name>``).

HMA keeps an override per signal type and lists it in ``GET /c/signal_type``; a signal
type without one has ratio 1.0. (HMA itself still treats every ratio, 0 included, as
enabled: its SignalTypeConfig.enabled is ``ratio >= 0``, a coin flip being a TODO, and
clearsight does the same.) One row per overridden signal type.

Revision ID: b0016
Revises: b0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0016"
down_revision: str | None = "b0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signal_type_settings",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("enabled_ratio", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("signal_type_settings")
