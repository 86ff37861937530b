"""A bank entry as the import's write path takes it, and a batch of them in columns.

The parsing side (maybe another process, see :mod:`clearsight.banks.parse_ahead`)
turns each :class:`~clearsight.banks.records.ImportedEntry` into a
:data:`PreparedEntry`: its identity, its metadata columns, and its signals as their
kinds and one flat tuple of cells, all plain values that pickle cheaply. It then
sends them a batch at a time as a :class:`PreparedBatch`, already in the rows the SQL
inserts take, so that a first import into an empty SQLite bank (every batch of a
national list) hands them to the driver as they come, with no Python work per row in
the importing process: that process is the one that also runs SQLite, and the one
that bounds the import.

No SQL here: the formats' fast readers build these too.

Each signal also carries its value's key (:func:`value_key`): the exact-match
index of the bank store is over that 60-bit integer, not over the hex text (migration
b0009). The parsing side computes it, so the importing process does no work per row.

An entry's signals travel as one row, ``(seq, value, key, value, key, ...)``, under
the kinds they share with the entries around them (:data:`SignalRun`), not as a row per
signal: a VICS Media's four signals are then one tuple to build, send and bind instead
of four, and one multi-row INSERT writes them (about a third of the signals' cost on
both sides of the pipe).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, NamedTuple

from clearsight.banks.records import BankSignal, ImportedEntry, RejectedLine
from clearsight.signals.registry import DIGEST_NAMES

# Signal kinds for what only own banks hold: ``pdq:<variant>`` and packed features.
PDQ_VARIANT_PREFIX = "pdq:"
FEATURES_KIND = "orb"

_KIND_TEXT = {kind: kind.value for kind in BankSignal}
_json_text = json.dumps

# The kinds matched exactly by value (file digests), so the only ones given a key.
KEYED_KINDS = frozenset(DIGEST_NAMES)
# Hex digits of a value that make its key: 60 bits, a positive 64-bit integer.
KEY_DIGITS = 15

Metadata = tuple[Any, ...]
SignalRow = tuple[str, str]
# A signal row: (seq, kind, value, value key), seq being its entry's place in its batch.
BatchSignalRow = tuple[int, str, str, int | None]
# An entry as the write path needs it: identity, metadata columns (in the order of
# entry_upsert's METADATA_COLUMNS), the kinds of its signals (sorted), their cells in
# the same order, flat ``(value, value key, value, value key, ...)``, and whether the
# list withdraws it. The cells are the parameters of the entry's one signal insert.
PreparedEntry = tuple[str, Metadata, tuple[str, ...], tuple[Any, ...], bool]
# Consecutive entries of a batch whose signals are of the same kinds: those kinds, and
# a row ``(seq, *cells)`` for each entry.
SignalRun = tuple[tuple[str, ...], list[tuple[Any, ...]]]


class PreparedBatch(NamedTuple):
    """A batch of prepared entries in the rows the inserts take, and the batch's other
    events (rejected lines, not-importable counts) in their order.

    ``entry_rows`` hold ``(seq, identity, *metadata)``: ``seq`` is the entry's place in
    the batch, so an entry's id is the first id the batch takes plus ``seq``.
    ``signal_runs`` hold its signals a run of entries of the same kinds at a time (a
    national list is one run a batch): one row per entry, ``(seq, *cells)``, all of an
    entry's signal rows written by one statement. ``removals`` are the places of the
    entries the list withdraws. :meth:`entries` gives the entries back in order.
    """

    entry_rows: list[tuple[Any, ...]]
    signal_runs: list[SignalRun]
    removals: list[int]
    others: list[RejectedLine]

    def entries(self) -> list[PreparedEntry]:
        """The batch's entries as :data:`PreparedEntry` tuples, in the file's order."""
        signals: list[tuple[tuple[str, ...], tuple[Any, ...]]] = [((), ())] * len(self.entry_rows)
        for kinds, run in self.signal_runs:
            for row in run:
                signals[row[0]] = (kinds, row[1:])
        removed = set(self.removals)
        return [(row[1], row[2:], *signals[row[0]], row[0] in removed) for row in self.entry_rows]


class BatchBuilder:
    """Collects prepared entries and other events into a :class:`PreparedBatch`."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._entry_rows: list[tuple[Any, ...]] = []
        self._signal_runs: list[SignalRun] = []
        self._kinds: tuple[str, ...] | None = None
        self._run: list[tuple[Any, ...]] = []
        self._removals: list[int] = []
        self._others: list[RejectedLine] = []

    def __len__(self) -> int:
        return len(self._entry_rows) + len(self._others)

    def add(self, entry: PreparedEntry) -> None:
        identity, metadata, kinds, cells, remove = entry
        seq = len(self._entry_rows)
        self._entry_rows.append((seq, identity, *metadata))
        if kinds:
            if kinds != self._kinds:
                self._kinds, self._run = kinds, []
                self._signal_runs.append((kinds, self._run))
            self._run.append((seq, *cells))
        if remove:
            self._removals.append(seq)

    def add_other(self, line: RejectedLine) -> None:
        self._others.append(line)

    def take(self) -> PreparedBatch:
        """The batch so far; the builder starts a new one."""
        batch = PreparedBatch(self._entry_rows, self._signal_runs, self._removals, self._others)
        self._clear()
        return batch


def run_signal_rows(run: SignalRun) -> list[BatchSignalRow]:
    """A run's signals, each as its own row ``(seq, kind, value, value key)``, in order."""
    kinds, rows = run
    places = [(kind, 1 + 2 * at, 2 + 2 * at) for at, kind in enumerate(kinds)]
    return [(row[0], kind, row[value], row[key]) for row in rows for kind, value, key in places]


def signal_pairs(entry: PreparedEntry) -> tuple[SignalRow, ...]:
    """An entry's signals as (kind, value) pairs."""
    return tuple(zip(entry[2], entry[3][::2], strict=True))


def entry_cells(rows: tuple[SignalRow, ...]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The kinds and cells (see :data:`PreparedEntry`) of sorted (kind, value) rows."""
    cells: list[Any] = []
    for kind, value in rows:
        cells += (value, value_key(kind, value))
    return tuple([kind for kind, _ in rows]), tuple(cells)


def value_key(kind: str, value: str) -> int | None:
    """The key a signal is found by in an exact match: its value's first 60 bits, for
    the digest kinds; None for the others (PDQ, PhotoDNA, variants, features), which
    are never looked up by value.

    An index of 64-bit integers is built in half the time of one over the hex text
    (four million rows: 4 against 9 µs an entry), and most of a national list's import
    after its last row was that build. A key names candidates; a lookup also compares
    the kind and the whole value. A value that is not hex (no valid digest is) has none.
    """
    if kind not in KEYED_KINDS:
        return None
    try:
        return int(value[:KEY_DIGITS], 16)
    except ValueError:
        return None


def signal_identity(joined: str) -> str:
    """The identity of an entry known by its signals, from their joined ``kind:value``
    list (migration b0003 rewrote the stored lists into these)."""
    return "sig:" + hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


def prepared_identity(external_id: str | None, texts: list[SignalRow]) -> str:
    """An entry's identity from its external id, or else its (kind text, value) signals."""
    if external_id:
        return "id:" + external_id
    return signal_identity("|".join(sorted([kind + ":" + value for kind, value in texts])))


def tags_column(tags: tuple[str, ...]) -> str | None:
    """The ``tags`` column: the tags as a JSON list, or NULL for none."""
    return _json_text(list(tags)) if tags else None


def prepare(entry: ImportedEntry) -> PreparedEntry:
    """An entry as the write path takes it (see :data:`PreparedEntry`).

    The same as entry_upsert's ``identity_of``, ``_metadata_tuple`` and ``signal_rows``
    sorted, written out once: it runs for every entry of a national list.
    """
    meta = entry.metadata
    texts = [(_KIND_TEXT[kind], value) for kind, value in entry.signals]
    identity = prepared_identity(meta.external_id, texts)
    if entry.pdq_variants or entry.features is not None:
        rows = tuple(sorted(signal_rows(entry)))
    else:
        rows = tuple(sorted(set(texts))) if len(texts) > 1 else tuple(texts)
    kinds, cells = entry_cells(rows)
    metadata = (
        meta.external_id,
        meta.category,
        meta.series,
        meta.victim_identified,
        meta.offender_identified,
        tags_column(meta.tags),
        meta.comments,
        meta.date,
    )
    return identity, metadata, kinds, cells, entry.remove


def signal_rows(entry: ImportedEntry) -> set[SignalRow]:
    """Every (kind, value) row an entry is stored as."""
    rows = {(kind.value, value) for kind, value in entry.signals}
    rows.update((PDQ_VARIANT_PREFIX + name, value) for name, value in entry.pdq_variants)
    if entry.features is not None:
        rows.add((FEATURES_KIND, entry.features))
    return rows
