"""The bank import's write path: entries upserted a batch at a time in bulk SQL.

A national list holds millions of entries, so an import can afford neither an ORM
object nor a query per entry. Each batch of a few thousand entries costs a handful of
statements whatever its size: one IN query finds the identities the bank already holds
(with their metadata), one reads those entries' signals, then executemany inserts the
new entries (under ids taken up front) and all new signal rows, and bulk statements
update changed entries and delete withdrawn ones. A batch of a first import into an
empty SQLite bank that holds only new entries skips all that: its rows, which the
parsing side made in the inserts' own columns, go to the driver as they came. Stored and imported
values are compared as plain tuples and sets, so an unchanged entry costs no write:
re-importing a file writes nothing, and the caller leaves the revision alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from clearsight.banks.bulk_rows import insert_rows, next_entry_ids
from clearsight.banks.models import ENTRIES, SIGNALS, VIDEO_KINDS, VIDEOS
from clearsight.banks.prepared import FEATURES_KIND as FEATURES_KIND
from clearsight.banks.prepared import PDQ_VARIANT_PREFIX as PDQ_VARIANT_PREFIX
from clearsight.banks.prepared import (
    Metadata,
    PreparedBatch,
    PreparedEntry,
    run_signal_rows,
    signal_pairs,
)
from clearsight.banks.prepared import prepare as prepare
from clearsight.banks.prepared import signal_identity as signal_identity
from clearsight.banks.prepared import signal_rows as signal_rows
from clearsight.banks.records import ImportedEntry, RejectedLine
from clearsight.banks.value_index import DeferredValueIndex
from clearsight.banks.written_identities import IdentityKeys, WrittenIdentities

_KEPT_REJECTIONS = 20
# The metadata columns of an entry, in the order _metadata_tuple gives them.
_METADATA_COLUMNS = (
    "external_id",
    "category",
    "series",
    "victim_identified",
    "offender_identified",
    "tags",
    "comments",
    "date",
)

_SignalRows = set[tuple[str, str]]


@dataclass
class ImportReport:
    """What an import did. ``rejected`` keeps the first reasons; ``rejected_count`` all."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected_count: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)
    # Records of kinds clearsight does not keep (StopNCII VideoTMK, Text, URL), by kind.
    not_importable: dict[str, int] = field(default_factory=dict)
    # Where the list's next page is, when the file is one page of more (NCMEC paging).
    next_page: str | None = None

    def reject(self, line: RejectedLine) -> None:
        self.rejected_count += 1
        if len(self.rejected) < _KEPT_REJECTIONS:
            self.rejected.append(line)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def identity_of(entry: ImportedEntry) -> str:
    """How an entry is recognised on re-import: its list's id, or else its signals.

    Signals are named by a 128-bit BLAKE2b digest of their sorted ``kind:value`` list,
    not the list itself: a VICS Media without MediaID has four hashes, and their 230
    characters in the unique index made it the largest thing an import wrote.
    """
    if entry.metadata.external_id:
        return f"id:{entry.metadata.external_id}"
    return signal_identity(
        "|".join(sorted(f"{kind.value}:{value}" for kind, value in entry.signals))
    )


@dataclass(frozen=True)
class _Stored:
    """An entry the bank already holds: its row id and metadata columns."""

    id: int
    metadata: Metadata


@dataclass
class EntryChanges:
    """The entries one transaction added and removed, for a feed's change log (see
    :func:`clearsight.banks.service_edits.log_feed_changes`). ``rewritten``: an entry's
    signals were replaced in place, which the log cannot say (it has additions and
    removals of entry ids only)."""

    added: list[range | list[int]] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    rewritten: bool = False

    def __len__(self) -> int:
        return sum(len(ids) for ids in self.added) + len(self.removed)


class EntryUpsert:
    """Applies batches of entries to one bank, on a connection inside its transaction."""

    def __init__(self, connection: Connection, bank_id: int, report: ImportReport) -> None:
        self._connection = connection
        self._bank_id = bank_id
        self._report = report
        # A SQLite bank that holds nothing yet holds, until the commit, only what this
        # import writes: its identities are kept here (by hash, 16 bytes an entry),
        # found here instead of in the identity index, which can then be set aside.
        self._written: WrittenIdentities | None = None
        if connection.dialect.name == "sqlite" and _holds_nothing(connection, bank_id):
            self._written = WrittenIdentities()
        self._value_index = DeferredValueIndex(connection, with_identity=self._written is not None)
        self.changes = EntryChanges()

    def finish(self) -> None:
        """Leave the store's indexes whole; call once, after the last batch."""
        self._value_index.restore()

    def apply_batch(self, batch: PreparedBatch) -> None:
        """Upsert one batch as the parsing side sent it (see :meth:`apply`).

        A batch of a first import into an empty SQLite bank (every batch of a national
        list, unless it repeats or withdraws entries) holds only new entries: its rows
        go to the driver as they came, ids added in SQL, no Python work per row here.
        """
        written = self._written
        if written is not None and batch.entry_rows and not batch.removals:
            keys = written.new_keys([row[1] for row in batch.entry_rows])
            if keys is not None:
                self._insert_new_rows(batch, keys)
                return
        self.apply(batch.entries())

    def apply(self, entries: Sequence[PreparedEntry]) -> None:
        """Upsert one batch; within it, the last entry with an identity wins."""
        latest = {entry[0]: entry for entry in entries}
        stored = self._stored(list(latest))
        stored_signals = self._stored_signals([row.id for row in stored.values()])
        new: list[PreparedEntry] = []
        changed: dict[int, PreparedEntry] = {}
        removed: list[tuple[str, int]] = []
        if not stored:  # the common case of a first import: nothing to compare
            for entry in latest.values():
                if not entry[4]:
                    new.append(entry)
        else:
            for identity, entry in latest.items():
                row = stored.get(identity)
                if entry[4]:
                    if row is not None:
                        removed.append((identity, row.id))
                elif row is None:
                    new.append(entry)
                else:
                    same_signals = stored_signals.get(row.id, set()) == set(signal_pairs(entry))
                    if row.metadata == entry[1] and same_signals:
                        self._report.unchanged += 1
                        continue
                    self.changes.rewritten |= not same_signals
                    changed[row.id] = entry
        self._remove(removed)
        self._update(changed)
        self._insert(new)

    def _stored(self, identities: list[str]) -> dict[str, _Stored]:
        if not identities:
            return {}
        if self._written is not None:
            return self._stored_written(identities)
        if self._connection.dialect.name == "sqlite":
            # The statement written out: SQLAlchemy's expanding IN names each of the
            # batch's parameters, 2 µs an entry. (SQLite reads booleans back as 0 and 1,
            # which compare equal to False and True.)
            rows: Iterable[Sequence[Any]] = self._connection.exec_driver_sql(
                f"SELECT identity, id, {', '.join(_METADATA_COLUMNS)} FROM bank_entries "
                f"WHERE bank_id = ? AND identity IN ({', '.join('?' * len(identities))})",
                (self._bank_id, *identities),
            )
        else:
            metadata = [ENTRIES.c[name] for name in _METADATA_COLUMNS]
            rows = self._connection.execute(
                select(ENTRIES.c.identity, ENTRIES.c.id, *metadata).where(
                    ENTRIES.c.bank_id == self._bank_id, ENTRIES.c.identity.in_(identities)
                )
            )
        return {row[0]: _Stored(row[1], tuple(row[2:])) for row in rows}

    def _stored_written(self, identities: list[str]) -> dict[str, _Stored]:
        """:meth:`_stored` for a bank that held nothing: the ids from memory, the rows
        by primary key (a first import's batches find none and read nothing). Memory
        names candidates; a row counts only where its identity is one asked for."""
        written = self._written
        assert written is not None
        ids = written.candidates(identities)
        if not ids:
            return {}
        asked = set(identities)
        rows = self._connection.exec_driver_sql(
            f"SELECT id, identity, {', '.join(_METADATA_COLUMNS)} FROM bank_entries "
            f"WHERE id IN ({', '.join('?' * len(ids))})",
            tuple(ids),
        )
        return {row[1]: _Stored(row[0], tuple(row[2:])) for row in rows if row[1] in asked}

    def _stored_signals(self, entry_ids: list[int]) -> dict[int, _SignalRows]:
        found: dict[int, _SignalRows] = {}
        if entry_ids:
            for table in (SIGNALS, VIDEOS):
                for entry_id, kind, value in self._connection.execute(
                    select(table.c.entry_id, table.c.kind, table.c.value).where(
                        table.c.entry_id.in_(entry_ids)
                    )
                ):
                    found.setdefault(entry_id, set()).add((kind, value))
        return found

    def _remove(self, removed: list[tuple[str, int]]) -> None:
        if removed:
            entry_ids = [entry_id for _, entry_id in removed]
            if self._written is not None:
                self._written.forget(removed)
            self._connection.execute(delete(SIGNALS).where(SIGNALS.c.entry_id.in_(entry_ids)))
            self._connection.execute(delete(VIDEOS).where(VIDEOS.c.entry_id.in_(entry_ids)))
            self._connection.execute(delete(ENTRIES).where(ENTRIES.c.id.in_(entry_ids)))
            self._report.removed += len(entry_ids)
            self.changes.removed += entry_ids

    def _update(self, changed: dict[int, PreparedEntry]) -> None:
        """Rewrite changed entries' metadata, and their signals whole."""
        if not changed:
            return
        self._connection.execute(
            update(ENTRIES)
            .where(ENTRIES.c.id == bindparam("entry_id"))
            .values({name: bindparam(name) for name in _METADATA_COLUMNS}),
            [
                {"entry_id": entry_id, **dict(zip(_METADATA_COLUMNS, entry[1], strict=True))}
                for entry_id, entry in changed.items()
            ],
        )
        self._connection.execute(delete(SIGNALS).where(SIGNALS.c.entry_id.in_(list(changed))))
        self._connection.execute(delete(VIDEOS).where(VIDEOS.c.entry_id.in_(list(changed))))
        self._insert_signals(changed.items())
        self._report.updated += len(changed)

    def _insert(self, new: list[PreparedEntry]) -> None:
        """Insert new entries under ids taken up front, then their signals."""
        if not new:
            return
        ids = next_entry_ids(self._connection, len(new))
        bank_id = self._bank_id
        insert_rows(
            self._connection,
            ENTRIES,
            ("id", "bank_id", "identity", *_METADATA_COLUMNS),
            [
                (entry_id, bank_id, entry[0], *entry[1])
                for entry_id, entry in zip(ids, new, strict=True)
            ],
        )
        self._insert_signals(zip(ids, new, strict=True))
        if self._written is not None:
            self._written.add([entry[0] for entry in new], ids)
        self._report.added += len(new)
        self.changes.added.append(list(ids))

    def _insert_new_rows(self, batch: PreparedBatch, keys: IdentityKeys) -> None:
        """Insert a batch of only new entries (SQLite), its rows passed on as they are:
        each row's ``seq`` plus the batch's first id is its entry's id."""
        first = next_entry_ids(self._connection, 1)[0]
        bank_id = int(self._bank_id)
        self._connection.exec_driver_sql(
            f"INSERT INTO bank_entries (id, bank_id, identity, {', '.join(_METADATA_COLUMNS)}) "
            f"VALUES (? + {first}, {bank_id}, ?, {', '.join('?' * len(_METADATA_COLUMNS))})",
            batch.entry_rows,
        )
        # A row per signal (SQLite's multi-row VALUES, an entry's run row as it came,
        # measured slower). A video's signals (vPDQ) go to their own table, which has no
        # value index and no key column: rare, so their rows are cut down here.
        rows = [row for run in batch.signal_runs for row in run_signal_rows(run)]
        signal_rows = [row for row in rows if row[1] not in VIDEO_KINDS]
        video_rows = [row[:3] for row in rows if row[1] in VIDEO_KINDS]
        self._value_index.wrote(len(signal_rows))
        if signal_rows:
            self._connection.exec_driver_sql(
                "INSERT INTO bank_entry_signals (entry_id, bank_id, kind, value, value_key) "
                f"VALUES (? + {first}, {bank_id}, ?, ?, ?)",
                signal_rows,
            )
        if video_rows:
            self._connection.exec_driver_sql(
                "INSERT INTO bank_entry_videos (entry_id, bank_id, kind, value) "
                f"VALUES (? + {first}, {bank_id}, ?, ?)",
                video_rows,
            )
        assert self._written is not None
        self._written.add_keys(keys, first)
        self._report.added += len(keys)
        self.changes.added.append(range(first, first + len(keys)))

    def _insert_signals(self, entries: Iterable[tuple[int, PreparedEntry]]) -> None:
        bank_id = self._bank_id
        rows = [
            (entry_id, bank_id, kind, cells[2 * at], cells[2 * at + 1])
            for entry_id, (_, _, kinds, cells, _) in entries
            for at, kind in enumerate(kinds)
        ]
        # A video's signals (vPDQ) go to their own table, which has no value index.
        signal_rows = [row for row in rows if row[2] not in VIDEO_KINDS]
        video_rows = [row[:4] for row in rows if row[2] in VIDEO_KINDS]
        self._value_index.wrote(len(signal_rows))
        columns = ("entry_id", "bank_id", "kind", "value")
        insert_rows(self._connection, SIGNALS, (*columns, "value_key"), signal_rows)
        insert_rows(self._connection, VIDEOS, columns, video_rows)


def _holds_nothing(connection: Connection, bank_id: int) -> bool:
    return (
        connection.scalar(select(ENTRIES.c.id).where(ENTRIES.c.bank_id == bank_id).limit(1)) is None
    )


def _metadata_tuple(entry: ImportedEntry) -> Metadata:
    meta = entry.metadata
    return (
        meta.external_id,
        meta.category,
        meta.series,
        meta.victim_identified,
        meta.offender_identified,
        json.dumps(list(meta.tags)) if meta.tags else None,
        meta.comments,
        meta.date,
    )
