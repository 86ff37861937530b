"""Paths kept as the file system has them: raw bytes beside a display form.

A name that is not UTF-8 (``caf\\xe9.jpg``) could not be stored at all, and stopped
the scan for good. Items get ``path_raw`` (the exact bytes), ``path_head`` and
``path_key`` (the bounded unique key, see :mod:`clearsight.store.paths`); sources get
``root_raw``. ``path`` and ``root`` now hold the display form, which differs from the
old text only where a name holds a backslash or a character that does not print.

Existing rows were UTF-8 text (nothing else could be stored), so their bytes are their
UTF-8 encoding. PostgreSQL drops the old unique constraint on ``(source_id, path)``,
which refuses paths over 2704 bytes; SQLite keeps it, since dropping it would mean
rebuilding ``items``, and that deletes the rows that refer to it. On SQLite it is
equivalent to the new key (the display form is injective) and costs one index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from clearsight.file_paths import display_path
from clearsight.store.paths import path_values

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGE = 5000


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # NOT NULL needs a default on SQLite's ADD COLUMN; every row is filled below.
    op.add_column(
        "sources", sa.Column("root_raw", sa.LargeBinary(), nullable=False, server_default="")
    )
    for name, kind in (("path_raw", sa.LargeBinary()), ("path_head", sa.Text())):
        op.add_column("items", sa.Column(name, kind, nullable=False, server_default=""))
    op.add_column(
        "items", sa.Column("path_key", sa.LargeBinary(), nullable=False, server_default="")
    )
    if postgres:
        op.drop_constraint("uq_items_source_path", "items", type_="unique")
    _fill_sources()
    _fill_items()
    op.create_index(
        "uq_items_source_path_key", "items", ["source_id", "path_head", "path_key"], unique=True
    )
    if postgres:
        op.alter_column("sources", "root_raw", server_default=None)
        for name in ("path_raw", "path_head", "path_key"):
            op.alter_column("items", name, server_default=None)


def downgrade() -> None:
    # ``path`` keeps the display form: a name that is not UTF-8 has no other text form.
    op.drop_index("uq_items_source_path_key", "items")
    for name in ("path_key", "path_head", "path_raw"):
        op.drop_column("items", name)
    op.drop_column("sources", "root_raw")
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint("uq_items_source_path", "items", ["source_id", "path"])


def _fill_sources() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, root FROM sources")).all()
    updates = [
        {"id": row_id, "root": display_path(root.encode("utf-8")), "root_raw": root.encode("utf-8")}
        for row_id, root in rows
    ]
    # Longest first: a changed display form is longer than the text it replaces, so the
    # unique (case_id, root) never meets a value an unchanged row still holds.
    updates.sort(key=lambda values: -len(values["root"]))
    if updates:
        bind.execute(
            sa.text("UPDATE sources SET root = :root, root_raw = :root_raw WHERE id = :id"),
            updates,
        )


def _fill_items() -> None:
    bind = op.get_bind()
    changed: list[dict[str, Any]] = []
    for page in _item_pages():
        updates: list[dict[str, Any]] = []
        for row_id, path in page:
            values = {"id": row_id, **path_values(path.encode("utf-8"))}
            (changed if values["path"] != path else updates).append(values)
        if not updates:
            continue
        bind.execute(
            sa.text(
                "UPDATE items SET path_raw = :path_raw, path_head = :path_head, "
                "path_key = :path_key WHERE id = :id"
            ),
            [{k: v for k, v in values.items() if k != "path"} for values in updates],
        )
    # Where the display form differs (a backslash, a control character), longest first
    # for SQLite's old unique (source_id, path), as for sources above.
    changed.sort(key=lambda values: -len(values["path"]))
    if changed:
        bind.execute(
            sa.text(
                "UPDATE items SET path = :path, path_raw = :path_raw, path_head = :path_head, "
                "path_key = :path_key WHERE id = :id"
            ),
            changed,
        )


def _item_pages() -> Iterator[list[tuple[int, str]]]:
    bind = op.get_bind()
    last = 0
    while True:
        page = [
            (row_id, path)
            for row_id, path in bind.execute(
                sa.text("SELECT id, path FROM items WHERE id > :last ORDER BY id LIMIT :page"),
                {"last": last, "page": _PAGE},
            )
        ]
        if not page:
            return
        yield page
        last = page[-1][0]
