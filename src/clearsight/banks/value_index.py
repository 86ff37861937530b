"""The signals' secondary indexes, set aside during a large SQLite import, built at its end.

Exact matching looks digests up by their value's key (an integer, see
``banks.prepared.value_key``), and hash values arrive in random order, so every
imported digest lands on a random page of that index: on SQLite that is most of an
import's cost. Building the index once from the finished table sorts instead, about
three times cheaper. The index of signals by bank is set aside with it:
its rows arrive in order, but each is one more B-tree insert per signal, and rebuilt
it is one pass over integers. So once an import has written more signal rows
than the table held when it began (and a good many), it drops the index inside its
transaction and creates it again before committing. Readers are not affected: in WAL
mode they see the committed schema, index included, until the import commits, and a
rolled-back import rolls the drop back too. A small import into a large store keeps
the index (rebuilding it would cost more than it saves). PostgreSQL keeps it always:
there a dropped index would lock readers out for the whole import.

The unique index of entries by (bank, identity) is set aside with them when the
importing bank held no entries before (migration b0004 made it an index that can be
dropped): its keys are digests, so its inserts are random too. The import then knows
every identity the bank holds, having written them all, and finds them in memory
instead (see :class:`clearsight.banks.entry_upsert.EntryUpsert`). Its rebuild is also
the check: duplicates make it fail, and the import rolls back with one line. The
(entry, kind) unique index stays: a fresh entry's ids rise and its kinds are sorted,
so its inserts are appends, and the import's own lookups of signals by entry use it.
"""

from __future__ import annotations

from sqlalchemy import Connection, Index, func, select
from sqlalchemy.exc import IntegrityError

from clearsight.banks.models import ENTRIES, SIGNALS
from clearsight.errors import UserError

VALUE_INDEX = "ix_bank_entry_signals_value_key"
# Below this many rows written, random inserts cost less than a rebuild.
_WORTH_DEFERRING = 100_000
# A first batch of at least this many rows is a list's (one batch of a bank import is
# 5,000 entries): into a table of fewer than _WORTH_DEFERRING rows, the indexes go
# before it. Dropped later, they leave their pages free inside the file, and inserts
# that reuse those pages cost half as much again (and the first batches pay for the
# random inserts meanwhile).
_LIST_BATCH = 5_000
BANK_INDEX = "ix_bank_entry_signals_bank_id"
IDENTITY_INDEX = "uq_bank_entries_identity"


class DeferredValueIndex:
    """Counts an import's signal rows and drops the value index once that pays."""

    def __init__(self, connection: Connection, *, with_identity: bool = False) -> None:
        """``with_identity``: the identity index may go too (the caller then looks
        identities up without it)."""
        self._connection = connection
        self._with_identity = with_identity
        self._applies = connection.dialect.name == "sqlite"
        # The largest id is the table's size, near enough, and costs one index step.
        held = connection.scalar(select(func.max(SIGNALS.c.id))) if self._applies else 0
        self._threshold = max(held or 0, _WORTH_DEFERRING)
        self._held_few = (held or 0) < _WORTH_DEFERRING
        self._written = 0
        self.dropped = False

    def wrote(self, rows: int) -> None:
        """Note ``rows`` more signal rows, about to be written; drop the indexes once they
        outnumber the table's, or at once for a first batch of a list into a small table."""
        first_of_a_list = not self._written and rows >= _LIST_BATCH and self._held_few
        self._written += rows
        if (
            self._applies
            and not self.dropped
            and (self._written > self._threshold or first_of_a_list)
        ):
            for index in self._indexes():
                index.drop(self._connection)
            self.dropped = True

    def restore(self) -> None:
        """Build the index again if it was dropped; call before the import commits."""
        if self.dropped:
            for index in self._indexes():
                try:
                    index.create(self._connection)
                except IntegrityError as exc:  # the import wrote a duplicate identity
                    raise UserError(
                        f"bank import stopped, nothing imported: rebuilding {index.name}"
                        " found duplicate entries"
                    ) from exc
            self.dropped = False

    def _indexes(self) -> list[Index]:
        chosen = [index for index in SIGNALS.indexes if index.name in (VALUE_INDEX, BANK_INDEX)]
        if self._with_identity:
            chosen += [index for index in ENTRIES.indexes if index.name == IDENTITY_INDEX]
        return chosen
