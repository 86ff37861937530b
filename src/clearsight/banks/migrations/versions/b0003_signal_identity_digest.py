"""Entries known by their signals get a 128-bit digest of them as identity, not the list.

Before, such an entry's identity was ``sig:`` and its sorted ``kind:value`` list: for a
VICS Media without MediaID, four hashes and about 230 characters, so the unique index
on (bank, identity) grew larger than the entries themselves and every import wrote it
in random order. Now it is ``sig:`` and the BLAKE2b-128 hex digest of that same list
(:func:`clearsight.banks.entry_upsert.signal_identity`), so this migration rewrites
each stored list into its digest in place. An old identity holds a second colon
(``sig:md5:...``) and a digest none, so neither can meet the other, and a migration
stopped part-way is simply run again. Downgrading rebuilds the lists from each entry's
signal rows.

Revision ID: b0003
Revises: b0002
Create Date: 2026-12-05
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0003"
down_revision: str | None = "b0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGE = 10_000
# Signal kinds only own banks hold, which were never part of an identity.
_VARIANT_PREFIX = "pdq:"
_FEATURES_KIND = "orb"

_entries = sa.table(
    "bank_entries",
    sa.column("id", sa.Integer()),
    sa.column("identity", sa.Text()),
)
_signals = sa.table(
    "bank_entry_signals",
    sa.column("entry_id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("value", sa.Text()),
)


def _digest(joined: str) -> str:
    # As entry_upsert.signal_identity, copied: a migration must not change with the code.
    return "sig:" + hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


def _rewrite(rows: list[tuple[int, str]]) -> None:
    if rows:
        op.get_bind().execute(
            _entries.update()
            .where(_entries.c.id == sa.bindparam("entry_id"))
            .values(identity=sa.bindparam("new_identity")),
            [{"entry_id": entry_id, "new_identity": identity} for entry_id, identity in rows],
        )


def upgrade() -> None:
    connection = op.get_bind()
    old = _entries.c.identity.like("sig:%:%")
    last = 0
    while True:
        page = connection.execute(
            sa.select(_entries.c.id, _entries.c.identity)
            .where(old, _entries.c.id > last)
            .order_by(_entries.c.id)
            .limit(_PAGE)
        ).all()
        if not page:
            return
        _rewrite([(entry_id, _digest(identity[len("sig:") :])) for entry_id, identity in page])
        last = page[-1][0]


def downgrade() -> None:
    connection = op.get_bind()
    digest = _entries.c.identity.startswith("sig:") & ~_entries.c.identity.like("sig:%:%")
    last = 0
    while True:
        ids = list(
            connection.scalars(
                sa.select(_entries.c.id)
                .where(digest, _entries.c.id > last)
                .order_by(_entries.c.id)
                .limit(_PAGE)
            )
        )
        if not ids:
            return
        signals: dict[int, list[str]] = {}
        for entry_id, kind, value in connection.execute(
            sa.select(_signals.c.entry_id, _signals.c.kind, _signals.c.value).where(
                _signals.c.entry_id.in_(ids)
            )
        ):
            if kind != _FEATURES_KIND and not kind.startswith(_VARIANT_PREFIX):
                signals.setdefault(entry_id, []).append(f"{kind}:{value}")
        _rewrite([(i, "sig:" + "|".join(sorted(signals.get(i, ())))) for i in ids])
        last = ids[-1]
