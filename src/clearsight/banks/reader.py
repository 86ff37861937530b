"""The bank store's read side: what banks there are, and what their entries hold.

Everything a matcher, a report or a listing reads of the banks is a query here; the
store (:mod:`clearsight.banks.store`) adds opening, importing, settings and removal.
This class implements :class:`clearsight.banks.lookup.BankLookup`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session

from clearsight.banks.entry_upsert import FEATURES_KIND, PDQ_VARIANT_PREFIX
from clearsight.banks.lookup import BankHit, BankSummary, BankTarget
from clearsight.banks.models import Bank, BankEntry, BankEntrySignal, BankEntryVideo
from clearsight.banks.prepared import KEYED_KINDS, value_key
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.errors import UserError
from clearsight.index.cache import PdqArrays
from clearsight.signals.pdq import PDQ_WORDS, PdqSignal

_BATCH = 1000
_PDQ_PAGE = 50_000  # rows per query when reading PDQ codes: about 6 MB of strings


class BankReader:
    """Read queries over one bank database (``engine``), which the caller owns."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def summaries(self) -> list[BankSummary]:
        with Session(self._engine) as session:
            return [
                self._summary(session, bank)
                for bank in session.scalars(select(Bank).order_by(Bank.name))
            ]

    def summary(self, name: str) -> BankSummary:
        with Session(self._engine) as session:
            return self._summary(session, self._bank(session, name))

    def match_targets(self, names: Sequence[str] | None = None) -> list[BankTarget]:
        """The enabled banks, or those named (each must exist)."""
        with Session(self._engine) as session:
            if names:
                banks = [self._bank(session, name) for name in dict.fromkeys(names)]
            else:
                banks = list(session.scalars(select(Bank).order_by(Bank.name)))
            featured = set(
                session.scalars(
                    select(BankEntrySignal.bank_id)
                    .where(BankEntrySignal.kind == FEATURES_KIND)
                    .distinct()
                )
            )
            return [
                BankTarget(
                    id=bank.id,
                    name=bank.name,
                    allow=bank.allow,
                    pdq_threshold=bank.pdq_threshold,
                    uid=bank.uid,
                    revision=bank.revision,
                    has_features=bank.id in featured,
                )
                for bank in banks
                if bank.enabled
            ]

    def exact_hits(
        self, kind: str, values: Iterable[str], targets: Sequence[BankTarget]
    ) -> dict[str, list[BankHit]]:
        """The entries of ``targets`` holding each of ``values`` as signal ``kind``.

        A digest is found by its value's key (the index of migration b0009), then
        kind and value are compared; the bank is checked on the rows found, since
        named in the query it could lead SQLite's planner to the index of signals by
        bank, which holds a whole bank. Other kinds have no key: they are read by bank.
        """
        by_id = {target.id: target for target in targets}
        found: dict[str, list[BankHit]] = {}
        wanted = list(dict.fromkeys(values))
        with Session(self._engine) as session:
            for start in range(0, len(wanted), _BATCH):
                chunk = wanted[start : start + _BATCH]
                rows = session.execute(
                    select(BankEntrySignal.value, BankEntry)
                    .join(BankEntry, BankEntry.id == BankEntrySignal.entry_id)
                    .where(
                        _found_by(kind, chunk, list(by_id)),
                        BankEntrySignal.kind == kind,
                        BankEntrySignal.value.in_(chunk),
                    )
                ).all()
                for value, entry in rows:
                    target = by_id.get(entry.bank_id)
                    if target is not None:
                        hit = BankHit(target, entry.id, _metadata_of(entry))
                        found.setdefault(value, []).append(hit)
        return found

    def video_signals(self, bank_id: int) -> list[tuple[int, str]]:
        """Bank ``bank_id``'s vPDQ signals, as (entry id, signal string), by entry."""
        with Session(self._engine) as session:
            return [
                (entry_id, value)
                for entry_id, value in session.execute(
                    select(BankEntryVideo.entry_id, BankEntryVideo.value)
                    .where(BankEntryVideo.bank_id == bank_id, BankEntryVideo.kind == "vpdq")
                    .order_by(BankEntryVideo.entry_id)
                )
            ]

    def pdq_arrays(self, bank_id: int) -> PdqArrays:
        """Bank ``bank_id``'s PDQ codes, of the pictures and of their variants.

        Ordered by signal id. Read in pages by key, each decoded at once into arrays
        sized by a count first, so ten million codes cost their arrays and one page.
        """
        is_pdq = (BankEntrySignal.kind == "pdq") | BankEntrySignal.kind.startswith(
            PDQ_VARIANT_PREFIX, autoescape=True
        )
        wanted = (BankEntrySignal.bank_id == bank_id, is_pdq)
        names: dict[str, int] = {"pdq": 0}
        # A Connection, not a Session: the ORM's work per row would cost more than the SQL.
        with self._engine.connect() as connection:
            total = connection.scalar(
                select(func.count()).select_from(BankEntrySignal).where(*wanted)
            )
            words = np.empty((total or 0, PDQ_WORDS), dtype=np.uint64)
            entry_ids = np.empty(total or 0, dtype=np.int64)
            variants = np.zeros(total or 0, dtype=np.int16)
            filled, last = 0, 0
            while True:
                rows = connection.execute(
                    select(
                        BankEntrySignal.id,
                        BankEntrySignal.value,
                        BankEntrySignal.entry_id,
                        BankEntrySignal.kind,
                    )
                    .where(*wanted, BankEntrySignal.id > last)
                    .order_by(BankEntrySignal.id)
                    .limit(_PDQ_PAGE)
                ).all()
                if not rows:
                    break
                end = filled + len(rows)
                if end > len(words):  # an import added codes since the count
                    words = np.resize(words, (end, PDQ_WORDS))
                    entry_ids = np.resize(entry_ids, end)
                    variants = np.resize(variants, end)
                _, values, ids, kinds = zip(*rows, strict=True)
                words[filled:end] = PdqSignal.pack(values)
                entry_ids[filled:end] = ids
                variants[filled:end] = [names.setdefault(kind, len(names)) for kind in kinds]
                filled, last = end, rows[-1][0]
        variant_names = tuple(kind.removeprefix(PDQ_VARIANT_PREFIX) for kind in names)
        return PdqArrays(
            words[:filled], entry_ids[:filled], variants[:filled], ("", *variant_names[1:])
        )

    def entry_features(self, entry_ids: Iterable[int]) -> dict[int, str]:
        """The packed local features of those entries that have them."""
        wanted = list(set(entry_ids))
        found: dict[int, str] = {}
        with self._engine.connect() as connection:
            for start in range(0, len(wanted), _BATCH):
                rows = connection.execute(
                    select(BankEntrySignal.entry_id, BankEntrySignal.value).where(
                        BankEntrySignal.kind == FEATURES_KIND,
                        BankEntrySignal.entry_id.in_(wanted[start : start + _BATCH]),
                    )
                )
                # Rows unpack as tuples (Result.tuples() is deprecated in SQLAlchemy 2.1).
                found.update((int(entry), str(value)) for entry, value in rows)
        return found

    def entry_metadata(self, entry_ids: Iterable[int]) -> dict[int, EntryMetadata]:
        wanted = list(set(entry_ids))
        found: dict[int, EntryMetadata] = {}
        with Session(self._engine) as session:
            for start in range(0, len(wanted), _BATCH):
                for entry in session.scalars(
                    select(BankEntry).where(BankEntry.id.in_(wanted[start : start + _BATCH]))
                ):
                    found[entry.id] = _metadata_of(entry)
        return found

    def iter_entries(self, name: str) -> Iterator[ImportedEntry]:
        """Every entry of bank ``name`` with its signals, in the order they were added."""
        with Session(self._engine) as session:
            bank_id = self._bank(session, name).id
            last = 0
            while True:
                rows = session.scalars(
                    select(BankEntry)
                    .where(BankEntry.bank_id == bank_id, BankEntry.id > last)
                    .order_by(BankEntry.id)
                    .limit(_BATCH)
                ).all()
                if not rows:
                    return
                signals: dict[int, list[tuple[BankSignal, str]]] = {}
                variants: dict[int, list[tuple[str, str]]] = {}
                features: dict[int, str] = {}
                ids = [row.id for row in rows]
                stored = [
                    (entry_id, kind, value)
                    for table in (BankEntrySignal, BankEntryVideo)
                    for entry_id, kind, value in session.execute(
                        select(table.entry_id, table.kind, table.value).where(
                            table.entry_id.in_(ids)
                        )
                    )
                ]
                for entry_id, kind, value in sorted(stored, key=lambda row: (row[0], row[1])):
                    if kind == FEATURES_KIND:
                        features[entry_id] = value
                    elif kind.startswith(PDQ_VARIANT_PREFIX):
                        name = kind.removeprefix(PDQ_VARIANT_PREFIX)
                        variants.setdefault(entry_id, []).append((name, value))
                    else:
                        signals.setdefault(entry_id, []).append((BankSignal(kind), value))
                for row in rows:
                    yield ImportedEntry(
                        tuple(signals.get(row.id, ())),
                        _metadata_of(row),
                        pdq_variants=tuple(variants.get(row.id, ())),
                        features=features.get(row.id),
                    )
                last = rows[-1].id
                session.expunge_all()

    def _bank(self, session: Session, name: str) -> Bank:
        bank = session.scalar(select(Bank).where(Bank.name == name))
        if bank is None:
            raise UserError(f"no bank named {name!r}")
        return bank

    def _summary(self, session: Session, bank: Bank) -> BankSummary:
        entries = session.scalar(
            select(func.count()).select_from(BankEntry).where(BankEntry.bank_id == bank.id)
        )
        signal_counts = [
            (kind, count)
            for table in (BankEntrySignal, BankEntryVideo)
            for kind, count in session.execute(
                select(table.kind, func.count())
                .where(table.bank_id == bank.id)
                .group_by(table.kind)
            )
        ]
        return BankSummary(
            name=bank.name,
            source=bank.source,
            description=bank.description,
            enabled=bank.enabled,
            allow=bank.allow,
            pdq_threshold=bank.pdq_threshold,
            entries=entries or 0,
            signals=_fold_variants(signal_counts),
            updated_at=bank.updated_at,
            uid=bank.uid,
            revision=bank.revision,
        )


def _found_by(kind: str, values: list[str], bank_ids: list[int]) -> ColumnElement[bool]:
    """What an index finds ``values`` of ``kind`` by: their keys, or else their banks."""
    if kind in KEYED_KINDS:
        keys = {key for value in values if (key := value_key(kind, value)) is not None}
        return BankEntrySignal.value_key.in_(keys)
    return BankEntrySignal.bank_id.in_(bank_ids)


def _fold_variants(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Signal counts by kind, the PDQ hashes of all variants counted as one kind."""
    folded: dict[str, int] = {}
    for kind, count in counts:
        key = "pdq-variants" if kind.startswith(PDQ_VARIANT_PREFIX) else kind
        folded[key] = folded.get(key, 0) + count
    return folded


def _metadata_of(row: BankEntry) -> EntryMetadata:
    return EntryMetadata(
        external_id=row.external_id,
        category=row.category,
        series=row.series,
        victim_identified=row.victim_identified,
        offender_identified=row.offender_identified,
        tags=tuple(json.loads(row.tags)) if row.tags else (),
        comments=row.comments,
        date=row.date,
    )
