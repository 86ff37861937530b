"""Exchanges: feeds (NCMEC, StopNCII, ThreatExchange, TAT, a file) that keep a bank in sync.

A new table, not columns on ``banks``: an exchange names its bank by name (the bank is
made by its first fetch), its API and that API's settings, and carries its fetch state:
the library's checkpoint as JSON, written in the same transaction as the entries it
covers, and what the last fetch did. Credentials are never stored here.

Revision ID: b0007
Revises: b0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0007"
down_revision: str | None = "b0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchanges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api", sa.String(length=40), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("checkpoint_at", sa.DateTime(), nullable=True),
        sa.Column("fetched", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("up_to_date", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("uq_exchanges_name", "exchanges", ["name"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_exchanges_name", table_name="exchanges")
    op.drop_table("exchanges")
