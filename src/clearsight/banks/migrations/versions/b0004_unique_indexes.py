"""The bank store's two unique constraints become named unique indexes.

``bank_entries (bank_id, identity)`` and ``bank_entry_signals (entry_id, kind)`` were
table-level UNIQUE constraints. On SQLite such a constraint's index
(``sqlite_autoindex_...``) cannot be dropped, so a large import had to insert into the
identity index in random order; as a named unique index it can be set aside inside
the import's transaction and built once, sorted, before the commit (see
:mod:`clearsight.banks.value_index`). The uniqueness is the same either way.

SQLite cannot drop a constraint, so both tables are rebuilt. Alembic's batch mode
would drop ``bank_entries`` while ``bank_entry_signals`` still refers to it, and with
foreign keys on (every clearsight connection, and a migration runs inside a
transaction, where the setting cannot change) that implicit DELETE cascades to every
signal. So the signals are first moved to a holding table without foreign keys, the
entries table is rebuilt with nothing referring to it, then the signals table is made
again and filled. PostgreSQL drops the constraint and creates the index in place.

Revision ID: b0004
Revises: b0003
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0004"
down_revision: str | None = "b0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IDENTITY = "uq_bank_entries_identity"
_ENTRY_KIND = "uq_bank_entry_signals_entry_kind"
_ENTRY_COLUMNS = (
    "id, bank_id, identity, external_id, category, series, victim_identified, "
    "offender_identified, tags, comments, date"
)
_SIGNAL_COLUMNS = "id, entry_id, bank_id, kind, value"


def _entries_table(*unique: sa.UniqueConstraint) -> None:
    op.create_table(
        "bank_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("series", sa.Text(), nullable=True),
        sa.Column("victim_identified", sa.Boolean(), nullable=True),
        sa.Column("offender_identified", sa.Boolean(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("date", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        *unique,
    )


def _signals_table(*unique: sa.UniqueConstraint) -> None:
    op.create_table(
        "bank_entry_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entry_id"], ["bank_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        *unique,
    )


def _rebuild_sqlite(as_indexes: bool) -> None:
    """Both tables made again, with the uniqueness as indexes or as constraints."""
    run = op.get_bind().exec_driver_sql
    run(f"CREATE TABLE _b0004_signals AS SELECT {_SIGNAL_COLUMNS} FROM bank_entry_signals")
    run("DROP TABLE bank_entry_signals")  # its indexes go with it
    run(f"CREATE TABLE _b0004_entries AS SELECT {_ENTRY_COLUMNS} FROM bank_entries")
    run("DROP TABLE bank_entries")  # nothing refers to it now: no cascade
    if as_indexes:
        _entries_table()
    else:
        _entries_table(sa.UniqueConstraint("bank_id", "identity", name=_IDENTITY))
    run(f"INSERT INTO bank_entries ({_ENTRY_COLUMNS}) SELECT {_ENTRY_COLUMNS} FROM _b0004_entries")
    run("DROP TABLE _b0004_entries")
    if as_indexes:
        _signals_table()
    else:
        _signals_table(sa.UniqueConstraint("entry_id", "kind", name=_ENTRY_KIND))
    run(
        f"INSERT INTO bank_entry_signals ({_SIGNAL_COLUMNS}) "
        f"SELECT {_SIGNAL_COLUMNS} FROM _b0004_signals"
    )
    run("DROP TABLE _b0004_signals")
    if as_indexes:
        op.create_index(_IDENTITY, "bank_entries", ["bank_id", "identity"], unique=True)
        op.create_index(_ENTRY_KIND, "bank_entry_signals", ["entry_id", "kind"], unique=True)
    op.create_index("ix_bank_entry_signals_bank_id", "bank_entry_signals", ["bank_id"])
    op.create_index("ix_bank_entry_signals_kind_value", "bank_entry_signals", ["kind", "value"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(as_indexes=True)
        return
    op.drop_constraint(_IDENTITY, "bank_entries", type_="unique")
    op.create_index(_IDENTITY, "bank_entries", ["bank_id", "identity"], unique=True)
    op.drop_constraint(_ENTRY_KIND, "bank_entry_signals", type_="unique")
    op.create_index(_ENTRY_KIND, "bank_entry_signals", ["entry_id", "kind"], unique=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(as_indexes=False)
        return
    op.drop_index(_IDENTITY, table_name="bank_entries")
    op.create_unique_constraint(_IDENTITY, "bank_entries", ["bank_id", "identity"])
    op.drop_index(_ENTRY_KIND, table_name="bank_entry_signals")
    op.create_unique_constraint(_ENTRY_KIND, "bank_entry_signals", ["entry_id", "kind"])
