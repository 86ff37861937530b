"""Banks gain a uid and a content revision, so a PDQ index cache can tell a bank changed.

The columns are added in place, never by rebuilding ``banks``: on SQLite a rebuild
drops the old table, and with foreign keys on that drop first deletes its rows, which
ON DELETE CASCADE carries to every entry and signal. So ``uid`` is added NOT NULL with
a placeholder default, filled row by row, made unique by an index (SQLite can add an
index but not a constraint in place), and loses the placeholder where the database can
alter a column in place (SQLite keeps it; the bank store always gives a uid).

Revision ID: b0002
Revises: b0001
Create Date: 2026-12-01
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0002"
down_revision: str | None = "b0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "banks", sa.Column("uid", sa.String(length=36), server_default="", nullable=False)
    )
    op.add_column("banks", sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
    banks = sa.table("banks", sa.column("id", sa.Integer()), sa.column("uid", sa.String()))
    connection = op.get_bind()
    for (bank_id,) in connection.execute(sa.select(banks.c.id)).all():
        connection.execute(banks.update().where(banks.c.id == bank_id).values(uid=uuid.uuid4().hex))
    op.create_index("ix_banks_uid", "banks", ["uid"], unique=True)
    if connection.dialect.name != "sqlite":
        op.alter_column("banks", "uid", existing_type=sa.String(length=36), server_default=None)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), for the same reason the upgrade avoids a rebuild.
    op.drop_index("ix_banks_uid", table_name="banks")
    op.drop_column("banks", "revision")
    op.drop_column("banks", "uid")
