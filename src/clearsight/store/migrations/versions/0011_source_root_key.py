"""Sources unique by a digest of their root's bytes, not by the root's text.

A source root can be as long as a path (4095 bytes, more through bind mounts), and
PostgreSQL's btree index refuses an entry over 2704 bytes, so a scan of a root longer
than that failed on the unique ``(case_id, root)``. Sources get ``root_key``, the
SHA-256 of ``root_raw``, and are unique, and found, by ``(case_id, root_key)``, as items
are by their ``path_key`` (see :mod:`clearsight.store.paths`). PostgreSQL drops the old
constraint; SQLite, which has no such limit, keeps it (dropping it would mean
rebuilding ``sources``, which items and scans refer to), where it is equivalent to the
new key, the display form being injective.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clearsight.store.paths import root_key

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # NOT NULL needs a default on SQLite's ADD COLUMN; every row is filled below.
    op.add_column(
        "sources", sa.Column("root_key", sa.LargeBinary(), nullable=False, server_default="")
    )
    bind = op.get_bind()
    keys = [
        {"id": row_id, "root_key": root_key(bytes(raw))}
        for row_id, raw in bind.execute(sa.text("SELECT id, root_raw FROM sources"))
    ]
    if keys:
        bind.execute(sa.text("UPDATE sources SET root_key = :root_key WHERE id = :id"), keys)
    if postgres:
        op.drop_constraint("uq_sources_case_root", "sources", type_="unique")
        op.alter_column("sources", "root_key", server_default=None)
    op.create_index("uq_sources_case_root_key", "sources", ["case_id", "root_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_sources_case_root_key", "sources")
    op.drop_column("sources", "root_key")
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint("uq_sources_case_root", "sources", ["case_id", "root"])
