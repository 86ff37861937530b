"""The matching service: API keys, its audit chain, and the change log of its edits.

- ``api_keys``: who may call the service (``clearsight api-key``). A key is kept as the
  SHA-256 of its secret, never the secret (see :mod:`clearsight.banks.access_keys`).
- ``api_audit``: an append-only, hash-chained record of every change made through the
  service (banks made, renamed, removed; content added, changed, removed; exchanges).
- ``bank_changes``: each entry the service added or removed, with the bank revision
  that change made. A running service catches its index up from these rows alone (a
  small delta beside the big index, removals as tombstones), where an import, which
  writes none, makes it load the bank's index again in the background.
- ``bank_entries.disabled_until``: HMA's per-content ``disable_until_ts`` (seconds
  since the epoch; 0 or NULL: enabled).

Revision ID: b0008
Revises: b0010 (after the video signals)
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0008"
down_revision: str | None = "b0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("uq_api_keys_name", "api_keys", ["name"], unique=True)
    op.create_index("uq_api_keys_secret", "api_keys", ["secret_sha256"], unique=True)
    op.create_table(
        "api_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    )
    op.create_index("uq_api_audit_prev_hash", "api_audit", ["prev_hash"], unique=True)
    op.create_table(
        "bank_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_bank_changes_bank_revision", "bank_changes", ["bank_id", "revision"])
    # A plain ADD COLUMN: SQLite and PostgreSQL both add a nullable column without
    # rewriting the table, which may hold tens of millions of entries.
    op.add_column("bank_entries", sa.Column("disabled_until", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Not a batch rebuild: on SQLite that drops and remakes bank_entries, and the drop
    # would cascade to every signal. SQLite 3.35+ drops a column in place.
    op.execute("ALTER TABLE bank_entries DROP COLUMN disabled_until")
    op.drop_index("ix_bank_changes_bank_revision", table_name="bank_changes")
    op.drop_table("bank_changes")
    op.drop_index("uq_api_audit_prev_hash", table_name="api_audit")
    op.drop_table("api_audit")
    op.drop_index("uq_api_keys_secret", table_name="api_keys")
    op.drop_index("uq_api_keys_name", table_name="api_keys")
    op.drop_table("api_keys")
