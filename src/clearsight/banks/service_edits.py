"""What the matching service changes in the banks, one entry at a time, and the change
log it reads back to keep its index current.

A bulk import rewrites a bank in one transaction (:mod:`clearsight.banks.store`); the
service instead adds or removes one entry per request, as HMA's curation API does. Each
such edit bumps the bank's revision and writes a ``bank_changes`` row naming that
revision, in the edit's own transaction, under the bank's write lock. A service that
holds an index of the bank at revision R can then catch up to R+k by reading k rows and
the PDQ codes of the entries added (:meth:`BankEdits.changes_after`): no rebuild. Where
the rows do not account for every revision between (an import came in between), it
knows to load the bank's index again instead.

Entries made here have no identity from a list: each gets a fresh one, so adding the
same hash twice makes two entries, as HMA does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from clearsight.banks.lookup import BankTarget
from clearsight.banks.models import (
    BANKS,
    DEFAULT_PDQ_THRESHOLD,
    ENTRIES,
    SIGNALS,
    VIDEO_KINDS,
    VIDEOS,
)
from clearsight.banks.prepared import value_key
from clearsight.banks.records import BankSignal, EntryMetadata, normalise_signal
from clearsight.banks.service_models import BANK_CHANGES, SIGNAL_TYPE_SETTINGS
from clearsight.banks.write_lock import import_transaction
from clearsight.errors import UserError
from clearsight.signals.pdq import PdqSignal
from clearsight.store.engines import utc_now

_BATCH = 900  # values per IN list: under SQLite's default limit of bound parameters


class NoSuchBank(UserError):
    pass


class NoSuchEntry(UserError):
    pass


class BankExists(UserError):
    pass


@dataclass(frozen=True)
class BankState:
    """A bank as the service indexes it: enabled or not, its content's uid and revision.

    ``enabled_ratio`` is HMA's ``matching_enabled_ratio``: the share of lookups that see
    the bank (0 where it is disabled, 1 where it is enabled without a fraction).
    """

    target: BankTarget
    enabled: bool
    enabled_ratio: float


@dataclass(frozen=True)
class BankChange:
    revision: int
    entry_id: int
    removed: bool


@dataclass(frozen=True)
class ContentRecord:
    """One entry as HMA's curation API shows it."""

    id: int
    bank: str
    bank_enabled_ratio: float
    disabled_until: int
    signals: dict[str, str]
    metadata: EntryMetadata = field(default_factory=EntryMetadata)


class BankEdits:
    """Edits of one bank store (``engine``) by the matching service."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Reading what the service indexes

    def bank_states(self) -> list[BankState]:
        """Every bank, enabled or not: one small query, run once a second by a service."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(BANKS).order_by(BANKS.c.name)).all()
        return [
            BankState(
                BankTarget(
                    id=row.id,
                    name=row.name,
                    allow=row.allow,
                    pdq_threshold=row.pdq_threshold,
                    uid=row.uid,
                    revision=row.revision,
                ),
                bool(row.enabled),
                enabled_ratio(bool(row.enabled), row.matching_enabled_ratio),
            )
            for row in rows
        ]

    def changes_after(self, bank_id: int, revision: int) -> list[BankChange]:
        """The service's edits of bank ``bank_id`` after ``revision``, in order."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(BANK_CHANGES.c.revision, BANK_CHANGES.c.entry_id, BANK_CHANGES.c.removed)
                .where(BANK_CHANGES.c.bank_id == bank_id, BANK_CHANGES.c.revision > revision)
                .order_by(BANK_CHANGES.c.revision, BANK_CHANGES.c.id)
            ).all()
        return [BankChange(row.revision, row.entry_id, bool(row.removed)) for row in rows]

    def pdq_of(self, entry_ids: Iterable[int]) -> tuple[npt.NDArray[np.uint64], list[int]]:
        """The PDQ codes of those entries that have one, packed, and their entry ids."""
        wanted = sorted(set(entry_ids))
        found: list[tuple[int, str]] = []
        with self._engine.connect() as connection:
            for start in range(0, len(wanted), _BATCH):
                found += connection.execute(
                    select(SIGNALS.c.entry_id, SIGNALS.c.value).where(
                        SIGNALS.c.kind == BankSignal.PDQ.value,
                        SIGNALS.c.entry_id.in_(wanted[start : start + _BATCH]),
                    )
                ).all()
        found.sort()
        return PdqSignal.pack([value for _, value in found]), [entry for entry, _ in found]

    def contents(self, entry_ids: Iterable[int]) -> list[ContentRecord]:
        """The entries asked for that exist, with their bank and signals."""
        wanted = sorted(set(entry_ids))
        records: list[ContentRecord] = []
        with self._engine.connect() as connection:
            for start in range(0, len(wanted), _BATCH):
                part = wanted[start : start + _BATCH]
                signals: dict[int, dict[str, str]] = {}
                for entry_id, kind, value in connection.execute(
                    select(SIGNALS.c.entry_id, SIGNALS.c.kind, SIGNALS.c.value).where(
                        SIGNALS.c.entry_id.in_(part),
                        SIGNALS.c.kind.in_([kind.value for kind in BankSignal]),
                    )
                ):
                    signals.setdefault(entry_id, {})[kind] = value
                for entry_id, kind, value in connection.execute(
                    select(VIDEOS.c.entry_id, VIDEOS.c.kind, VIDEOS.c.value).where(
                        VIDEOS.c.entry_id.in_(part)
                    )
                ):
                    signals.setdefault(entry_id, {})[kind] = value
                rows = connection.execute(
                    select(
                        ENTRIES,
                        BANKS.c.name.label("bank_name"),
                        BANKS.c.enabled.label("on"),
                        BANKS.c.matching_enabled_ratio.label("ratio"),
                    )
                    .join(BANKS, BANKS.c.id == ENTRIES.c.bank_id)
                    .where(ENTRIES.c.id.in_(part))
                ).all()
                records += [
                    ContentRecord(
                        id=row.id,
                        bank=row.bank_name,
                        bank_enabled_ratio=enabled_ratio(bool(row.on), row.ratio),
                        disabled_until=row.disabled_until or 0,
                        signals=signals.get(row.id, {}),
                        metadata=EntryMetadata(
                            external_id=row.external_id,
                            category=row.category,
                            series=row.series,
                            comments=row.comments,
                        ),
                    )
                    for row in rows
                ]
        return sorted(records, key=lambda record: record.id)

    # Banks

    def create_bank(self, name: str, *, ratio: float = 1.0) -> None:
        """Make bank ``name``, enabled for ``ratio`` of lookups (0: disabled)."""
        now = utc_now()
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(BANKS).values(
                        name=name,
                        **_stored_ratio(ratio),
                        allow=False,
                        pdq_threshold=DEFAULT_PDQ_THRESHOLD,
                        created_at=now,
                        updated_at=now,
                        source="api",
                    )
                )
        except IntegrityError:
            raise BankExists(f"bank {name!r} already exists") from None

    def set_enabled_ratio(self, name: str, ratio: float) -> None:
        """Enable bank ``name`` for ``ratio`` of lookups (0: disable it)."""
        with self._engine.begin() as connection:
            done = connection.execute(
                update(BANKS)
                .where(BANKS.c.name == name)
                .values(**_stored_ratio(ratio), updated_at=utc_now())
            )
        if not done.rowcount:
            raise NoSuchBank(f"no bank named {name!r}")

    def rename_bank(self, name: str, new_name: str) -> None:
        try:
            with self._engine.begin() as connection:
                done = connection.execute(
                    update(BANKS)
                    .where(BANKS.c.name == name)
                    .values(name=new_name, updated_at=utc_now())
                )
        except IntegrityError:
            raise BankExists(f"bank {new_name!r} already exists") from None
        if not done.rowcount:
            raise NoSuchBank(f"no bank named {name!r}")

    # Signal types

    def signal_type_ratios(self) -> dict[str, float]:
        """HMA's per-signal-type ``enabled_ratio`` overrides, by signal type name."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(SIGNAL_TYPE_SETTINGS.c.name, SIGNAL_TYPE_SETTINGS.c.enabled_ratio)
            )
            return {name: float(ratio) for name, ratio in rows}

    def set_signal_type_ratio(self, name: str, ratio: float) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                delete(SIGNAL_TYPE_SETTINGS).where(SIGNAL_TYPE_SETTINGS.c.name == name)
            )
            connection.execute(insert(SIGNAL_TYPE_SETTINGS).values(name=name, enabled_ratio=ratio))

    # Entries

    def add_content(
        self,
        bank: str,
        signals: Sequence[tuple[BankSignal, str]],
        metadata: EntryMetadata = EntryMetadata(),  # noqa: B008 - frozen, shared safely
    ) -> int:
        """Add one entry to ``bank``; returns its id. Values are checked (ValueError)."""
        checked = [(kind, normalise_signal(kind, value)) for kind, value in signals]
        if not checked:
            raise ValueError("no signals given")
        with self._engine.connect() as connection, import_transaction(connection, bank):
            bank_id = _bank_id(connection, bank)
            entry_id = connection.scalar(
                insert(ENTRIES)
                .values(
                    bank_id=bank_id,
                    identity=f"api:{uuid.uuid4().hex}",
                    external_id=metadata.external_id,
                    category=metadata.category,
                    series=metadata.series,
                    comments=metadata.comments,
                )
                .returning(ENTRIES.c.id)
            )
            assert entry_id is not None
            kept = dict(checked)
            # A video's vPDQ (a long string) lives in its own table, as imports keep it.
            videos = [
                {"entry_id": entry_id, "bank_id": bank_id, "kind": kind.value, "value": value}
                for kind, value in kept.items()
                if kind.value in VIDEO_KINDS
            ]
            rows = [
                {
                    "entry_id": entry_id,
                    "bank_id": bank_id,
                    "kind": kind.value,
                    "value": value,
                    "value_key": value_key(kind.value, value),
                }
                for kind, value in kept.items()
                if kind.value not in VIDEO_KINDS
            ]
            if rows:
                connection.execute(insert(SIGNALS), rows)
            if videos:
                connection.execute(insert(VIDEOS), videos)
            _log_change(connection, bank_id, entry_id, removed=False)
        return int(entry_id)

    def remove_content(self, bank: str, entry_id: int) -> int:
        """Remove entry ``entry_id`` of ``bank``; returns how many went (0 or 1)."""
        with self._engine.connect() as connection, import_transaction(connection, bank):
            bank_id = _bank_id(connection, bank)
            connection.execute(
                delete(SIGNALS).where(SIGNALS.c.entry_id == entry_id, SIGNALS.c.bank_id == bank_id)
            )
            connection.execute(
                delete(VIDEOS).where(VIDEOS.c.entry_id == entry_id, VIDEOS.c.bank_id == bank_id)
            )
            gone = connection.execute(
                delete(ENTRIES).where(ENTRIES.c.id == entry_id, ENTRIES.c.bank_id == bank_id)
            ).rowcount
            if gone:
                _log_change(connection, bank_id, entry_id, removed=True)
        return int(gone)

    def set_disabled_until(self, bank: str, entry_id: int, until: int) -> None:
        """HMA's ``disable_until_ts``: a setting, so the revision stays."""
        with self._engine.begin() as connection:
            bank_id = _bank_id(connection, bank)
            done = connection.execute(
                update(ENTRIES)
                .where(ENTRIES.c.id == entry_id, ENTRIES.c.bank_id == bank_id)
                .values(disabled_until=until or None)
            )
        if not done.rowcount:
            raise NoSuchEntry(f"content {entry_id} is not in bank {bank!r}")


def metadata_comments(content_uri: str | None, data: object, note: str | None) -> str | None:
    """HMA's free-form content metadata, kept as the entry's comments (JSON)."""
    kept = {
        key: value
        for key, value in (("content_uri", content_uri), ("json", data), ("note", note))
        if value is not None
    }
    return json.dumps(kept, sort_keys=True) if kept else None


def _bank_id(connection: Connection, name: str) -> int:
    bank_id = connection.scalar(select(BANKS.c.id).where(BANKS.c.name == name))
    if bank_id is None:
        raise NoSuchBank(f"no bank named {name!r}")
    return int(bank_id)


# A feed's commit with more changes than this is not logged: the service loads the
# bank's index again, as after an import (the first fetch of a national list), rather
# than keep a row a change for ever.
FEED_LOG_AT_MOST = 5_000


def log_feed_changes(
    connection: Connection, bank_id: int, added: Iterable[int], removed: Sequence[int]
) -> bool:
    """Bump the bank's revision once for each entry a feed's commit added or removed,
    with a change row naming each, in the commit's transaction; as if the service had
    made them one by one, so its index catches up through its delta. False (nothing
    written) where they are more than :data:`FEED_LOG_AT_MOST`."""
    changes = [(entry_id, True) for entry_id in removed]
    changes += [(entry_id, False) for entry_id in added]
    if not changes or len(changes) > FEED_LOG_AT_MOST:
        return False
    connection.execute(
        update(BANKS)
        .where(BANKS.c.id == bank_id)
        .values(revision=BANKS.c.revision + len(changes), updated_at=utc_now())
    )
    last = connection.scalar(select(BANKS.c.revision).where(BANKS.c.id == bank_id))
    assert last is not None
    first = int(last) - len(changes) + 1
    connection.execute(
        insert(BANK_CHANGES),
        [
            {"bank_id": bank_id, "revision": first + n, "entry_id": entry_id, "removed": gone}
            for n, (entry_id, gone) in enumerate(changes)
        ],
    )
    return True


def _log_change(connection: Connection, bank_id: int, entry_id: int, *, removed: bool) -> None:
    connection.execute(
        update(BANKS)
        .where(BANKS.c.id == bank_id)
        .values(revision=BANKS.c.revision + 1, updated_at=utc_now())
    )
    revision = connection.scalar(select(BANKS.c.revision).where(BANKS.c.id == bank_id))
    connection.execute(
        insert(BANK_CHANGES).values(
            bank_id=bank_id, revision=revision, entry_id=entry_id, removed=removed
        )
    )


def enabled_ratio(enabled: bool, stored: float | None) -> float:
    """The share of lookups that see a bank: 0 when disabled (``clearsight bank
    disable`` included), else its fraction, 1 unless the service set one."""
    if not enabled:
        return 0.0
    return 1.0 if stored is None else stored


def _stored_ratio(ratio: float) -> dict[str, object]:
    if not 0.0 <= ratio <= 1.0:
        raise UserError(f"an enabled ratio is 0 to 1, not {ratio}")
    return {"enabled": ratio > 0, "matching_enabled_ratio": ratio if 0 < ratio < 1 else None}
