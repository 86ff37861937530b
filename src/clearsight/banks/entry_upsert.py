"""The bank import's write path: entries upserted a batch at a time in bulk SQL.

A national list holds millions of entries, so an import can afford neither an ORM
object nor a query per entry. Each batch of a few thousand entries costs a handful of
statements whatever its size: one IN query finds the identities the bank already holds
(with their metadata), one reads those entries' signals, then executemany inserts the
new entries (their ids come back through RETURNING) and all new signal rows, and bulk
statements update changed entries and delete withdrawn ones. Stored and imported
values are compared as plain tuples and sets, so an unchanged entry costs no write:
re-importing a file writes nothing, and the caller leaves the revision alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from clearsight.banks.bulk_rows import insert_rows, next_entry_ids
from clearsight.banks.models import ENTRIES, SIGNALS
from clearsight.banks.records import ImportedEntry, RejectedLine
from clearsight.banks.value_index import DeferredValueIndex

# Signal kinds for what only own banks hold: ``pdq:<variant>`` and packed features.
PDQ_VARIANT_PREFIX = "pdq:"
FEATURES_KIND = "orb"
_KEPT_REJECTIONS = 20
# The metadata columns of an entry, in the order _metadata_values gives them.
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

_Metadata = tuple[Any, ...]
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

    def reject(self, line: RejectedLine) -> None:
        self.rejected_count += 1
        if len(self.rejected) < _KEPT_REJECTIONS:
            self.rejected.append(line)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def identity_of(entry: ImportedEntry) -> str:
    """How an entry is recognised on re-import: its list's id, or else its signals."""
    if entry.metadata.external_id:
        return f"id:{entry.metadata.external_id}"
    return "sig:" + "|".join(sorted(f"{kind.value}:{value}" for kind, value in entry.signals))


def signal_rows(entry: ImportedEntry) -> _SignalRows:
    """Every (kind, value) row an entry is stored as."""
    rows = {(kind.value, value) for kind, value in entry.signals}
    rows.update((PDQ_VARIANT_PREFIX + name, value) for name, value in entry.pdq_variants)
    if entry.features is not None:
        rows.add((FEATURES_KIND, entry.features))
    return rows


def metadata_values(entry: ImportedEntry) -> dict[str, Any]:
    """An entry's metadata as the columns of ``bank_entries`` hold it."""
    return dict(zip(_METADATA_COLUMNS, _metadata_tuple(entry), strict=True))


@dataclass(frozen=True)
class _Stored:
    """An entry the bank already holds: its row id and metadata columns."""

    id: int
    metadata: _Metadata


class EntryUpsert:
    """Applies batches of entries to one bank, on a connection inside its transaction."""

    def __init__(self, connection: Connection, bank_id: int, report: ImportReport) -> None:
        self._connection = connection
        self._bank_id = bank_id
        self._report = report
        self._value_index = DeferredValueIndex(connection)

    def finish(self) -> None:
        """Leave the store's indexes whole; call once, after the last batch."""
        self._value_index.restore()

    def apply(self, entries: Sequence[ImportedEntry]) -> None:
        """Upsert one batch; within it, the last entry with an identity wins."""
        latest = {identity_of(entry): entry for entry in entries}
        stored = self._stored(list(latest))
        stored_signals = self._stored_signals([row.id for row in stored.values()])
        new: dict[str, ImportedEntry] = {}
        changed: dict[int, ImportedEntry] = {}
        removed: list[int] = []
        for identity, entry in latest.items():
            row = stored.get(identity)
            if entry.remove:
                if row is not None:
                    removed.append(row.id)
            elif row is None:
                new[identity] = entry
            elif row.metadata == _metadata_tuple(entry) and stored_signals.get(
                row.id, set()
            ) == signal_rows(entry):
                self._report.unchanged += 1
            else:
                changed[row.id] = entry
        self._remove(removed)
        self._update(changed)
        self._insert(new)

    def _stored(self, identities: list[str]) -> dict[str, _Stored]:
        metadata = [ENTRIES.c[name] for name in _METADATA_COLUMNS]
        rows = self._connection.execute(
            select(ENTRIES.c.identity, ENTRIES.c.id, *metadata).where(
                ENTRIES.c.bank_id == self._bank_id, ENTRIES.c.identity.in_(identities)
            )
        )
        return {row[0]: _Stored(row[1], tuple(row[2:])) for row in rows}

    def _stored_signals(self, entry_ids: list[int]) -> dict[int, _SignalRows]:
        found: dict[int, _SignalRows] = {}
        if entry_ids:
            for entry_id, kind, value in self._connection.execute(
                select(SIGNALS.c.entry_id, SIGNALS.c.kind, SIGNALS.c.value).where(
                    SIGNALS.c.entry_id.in_(entry_ids)
                )
            ):
                found.setdefault(entry_id, set()).add((kind, value))
        return found

    def _remove(self, entry_ids: list[int]) -> None:
        if entry_ids:
            self._connection.execute(delete(SIGNALS).where(SIGNALS.c.entry_id.in_(entry_ids)))
            self._connection.execute(delete(ENTRIES).where(ENTRIES.c.id.in_(entry_ids)))
            self._report.removed += len(entry_ids)

    def _update(self, changed: dict[int, ImportedEntry]) -> None:
        """Rewrite changed entries' metadata, and their signals whole."""
        if not changed:
            return
        self._connection.execute(
            update(ENTRIES)
            .where(ENTRIES.c.id == bindparam("entry_id"))
            .values({name: bindparam(name) for name in _METADATA_COLUMNS}),
            [{"entry_id": entry_id, **metadata_values(e)} for entry_id, e in changed.items()],
        )
        self._connection.execute(delete(SIGNALS).where(SIGNALS.c.entry_id.in_(list(changed))))
        self._insert_signals(changed)
        self._report.updated += len(changed)

    def _insert(self, new: dict[str, ImportedEntry]) -> None:
        """Insert new entries under ids taken up front, then their signals."""
        if not new:
            return
        ids = next_entry_ids(self._connection, len(new))
        insert_rows(
            self._connection,
            ENTRIES,
            ("id", "bank_id", "identity", *_METADATA_COLUMNS),
            [
                (entry_id, self._bank_id, identity, *_metadata_tuple(entry))
                for entry_id, (identity, entry) in zip(ids, new.items(), strict=True)
            ],
        )
        self._insert_signals(dict(zip(ids, new.values(), strict=True)))
        self._report.added += len(new)

    def _insert_signals(self, entries: dict[int, ImportedEntry]) -> None:
        rows = [
            (entry_id, self._bank_id, kind, value)
            for entry_id, entry in entries.items()
            for kind, value in sorted(signal_rows(entry))
        ]
        self._value_index.wrote(len(rows))
        insert_rows(self._connection, SIGNALS, ("entry_id", "bank_id", "kind", "value"), rows)


def _metadata_tuple(entry: ImportedEntry) -> _Metadata:
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
