"""The banks' PDQ indexes as a matching service keeps them: live, and never rebuilt on
the request path.

Each bank is searched as three parts: its big index (from the index cache, memory-mapped
so that every worker shares its pages), a small delta of codes added since that index
was built, searched by brute force, and tombstones, the entries removed since, whose
hits are dropped. :meth:`LiveIndex.refresh`, run by a background thread about once a
second, reads which revision each bank is at; where the bank's change log
(:mod:`clearsight.banks.service_edits`) accounts for every revision since, it adds the
new codes to the delta and the removed entries to the tombstones, which takes
milliseconds at any bank size. Where it does not (an import or a feed changed the
bank), or once the delta grows past ``merge_at`` codes, the bank's index is loaded or
built again on that thread, saved to the cache for the other workers, and swapped in;
lookups meanwhile use the state before. The state is one immutable snapshot replaced
whole, so a lookup never sees half an update.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from clearsight.banks.lookup import BankLookup
from clearsight.banks.service_edits import BankEdits, BankState
from clearsight.index.cache import BankIndex, PdqIndexCache
from clearsight.index.pdq_index import Codes, distances_to

MERGE_AT = 50_000
"""Delta codes past which a bank's index is rebuilt in the background."""

_EMPTY_CODES = np.zeros((0, 4), dtype=np.uint64)
_EMPTY_IDS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class PdqFound:
    """Query ``query`` (its row in the batch) met entry ``entry_id`` of ``bank``."""

    query: int
    bank: str
    entry_id: int
    distance: int


@dataclass(frozen=True)
class LiveBank:
    state: BankState
    base: BankIndex | None  # None: the bank has no PDQ codes indexed
    base_revision: int
    delta_codes: Codes = field(default_factory=lambda: _EMPTY_CODES)
    delta_entries: npt.NDArray[np.int64] = field(default_factory=lambda: _EMPTY_IDS)
    tombstones: npt.NDArray[np.int64] = field(default_factory=lambda: _EMPTY_IDS)  # sorted

    @property
    def revision(self) -> int:
        return self.state.target.revision

    @property
    def size(self) -> int:
        base = 0 if self.base is None else len(self.base.index)
        return base + int(self.delta_codes.shape[0]) - int(self.tombstones.shape[0])

    def search(self, codes: Codes, radius: int | None = None) -> list[PdqFound]:
        radius = self.state.target.pdq_threshold if radius is None else radius
        queries: list[npt.NDArray[np.int64]] = []
        entries: list[npt.NDArray[np.int64]] = []
        distances: list[npt.NDArray[np.int32]] = []
        if self.base is not None and len(self.base.index):
            hits = self.base.index.search_many(codes, radius)
            queries.append(hits.queries)
            entries.append(self.base.entry_ids[hits.positions].astype(np.int64))
            distances.append(hits.distances)
        for row in range(codes.shape[0]) if self.delta_codes.shape[0] else ():
            near = distances_to(self.delta_codes, codes[row])
            kept = np.flatnonzero(near <= radius)
            queries.append(np.full(kept.shape[0], row, dtype=np.int64))
            entries.append(self.delta_entries[kept])
            distances.append(near[kept])
        if not queries:
            return []
        query = np.concatenate(queries)
        entry = np.concatenate(entries)
        distance = np.concatenate(distances)
        if self.tombstones.shape[0]:
            alive = ~np.isin(entry, self.tombstones)
            query, entry, distance = query[alive], entry[alive], distance[alive]
        # One hit per (query, entry): the closest of its codes (a picture and its views).
        order = np.lexsort((distance, entry, query))
        query, entry, distance = query[order], entry[order], distance[order]
        first = np.ones(query.shape[0], dtype=bool)
        first[1:] = (query[1:] != query[:-1]) | (entry[1:] != entry[:-1])
        name = self.state.target.name
        return [
            PdqFound(int(q), name, int(e), int(d))
            for q, e, d in zip(query[first], entry[first], distance[first], strict=True)
        ]


@dataclass(frozen=True)
class IndexSnapshot:
    banks: dict[str, LiveBank] = field(default_factory=dict)

    def pdq_size(self) -> int:
        return sum(bank.size for bank in self.banks.values())


class LiveIndex:
    """Every bank's PDQ index, kept current by :meth:`refresh`. Safe to share between
    threads: lookups read the current snapshot, one thread refreshes."""

    def __init__(
        self,
        edits: BankEdits,
        lookup: BankLookup,
        cache: PdqIndexCache,
        *,
        merge_at: int = MERGE_AT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._edits = edits
        self._lookup = lookup
        self._cache = cache
        self._merge_at = merge_at
        self._clock = clock
        self._snapshot: IndexSnapshot | None = None
        self._refresh_lock = threading.Lock()
        self.refreshed_at: float | None = None  # clock() of the last complete refresh

    @property
    def snapshot(self) -> IndexSnapshot | None:
        """The current state; None until the first refresh has loaded every bank."""
        return self._snapshot

    def refresh(self) -> bool:
        """Bring every bank up to its store's revision; True where anything changed."""
        with self._refresh_lock:
            now = self._clock()
            before = self._snapshot or IndexSnapshot()
            states = self._edits.bank_states()
            banks: dict[str, LiveBank] = {}
            for state in states:
                kept = _same_bank(before.banks.get(state.target.name), state)
                banks[state.target.name] = self._current(kept, state)
            changed = self._snapshot is None or _signature(banks) != _signature(before.banks)
            self._snapshot = IndexSnapshot(banks)
            self.refreshed_at = now
            return changed

    def search_pdq(
        self, codes: Codes, banks: Collection[str] | None = None, *, enabled_only: bool = True
    ) -> list[PdqFound]:
        """Every (query, entry) within each bank's threshold, in the banks named (None:
        all), enabled ones only unless told."""
        snapshot = self._snapshot
        if snapshot is None:
            raise IndexNotReady("the index is still loading")
        found: list[PdqFound] = []
        for name, bank in snapshot.banks.items():
            if banks is not None and name not in banks:
                continue
            if enabled_only and not bank.state.enabled:
                continue
            found += bank.search(codes)
        return found

    def _current(self, kept: LiveBank | None, state: BankState) -> LiveBank:
        if kept is not None and kept.revision == state.target.revision:
            return replace(kept, state=state)  # settings may have changed
        if kept is not None:
            caught_up = self._catch_up(kept, state)
            if caught_up is not None and caught_up.delta_codes.shape[0] < self._merge_at:
                return caught_up
        return self._load(state)

    def _catch_up(self, kept: LiveBank, state: BankState) -> LiveBank | None:
        """``kept`` brought to ``state``'s revision from the change log, or None where the
        log does not account for every revision between."""
        changes = self._edits.changes_after(state.target.id, kept.revision)
        expected = list(range(kept.revision + 1, state.target.revision + 1))
        if [change.revision for change in changes] != expected:
            return None
        added = [change.entry_id for change in changes if not change.removed]
        removed = {change.entry_id for change in changes if change.removed}
        codes, entry_ids = self._edits.pdq_of(added)
        entries = np.asarray(entry_ids, dtype=np.int64)
        delta_codes = np.concatenate([kept.delta_codes, codes])
        delta_entries = np.concatenate([kept.delta_entries, entries])
        if removed:
            keep = ~np.isin(delta_entries, list(removed))
            delta_codes, delta_entries = delta_codes[keep], delta_entries[keep]
        tombstones = np.union1d(kept.tombstones, np.fromiter(removed, dtype=np.int64))
        return LiveBank(
            state, kept.base, kept.base_revision, delta_codes, delta_entries, tombstones
        )

    def _load(self, state: BankState) -> LiveBank:
        """The bank's index: a cached one of any revision the change log can catch up
        from, else the current one from the cache or built (and saved)."""
        target = state.target
        cached = self._cache.load_cached(target)
        if cached is not None and cached[1] <= target.revision:
            index, revision = cached
            base = LiveBank(
                replace(state, target=replace(target, revision=revision)), index, revision
            )
            caught_up = base if revision == target.revision else self._catch_up(base, state)
            if caught_up is not None and caught_up.delta_codes.shape[0] < self._merge_at:
                return caught_up
        index = self._cache.index_for(target, lambda: self._lookup.pdq_arrays(target.id))
        if index.origin == "built":  # serve the saved copy, whose pages other workers share
            saved = self._cache.load_cached(target)
            if saved is not None and saved[1] == target.revision:
                index = saved[0]
        return LiveBank(state, index, target.revision)


class IndexNotReady(RuntimeError):
    pass


def _same_bank(kept: LiveBank | None, state: BankState) -> LiveBank | None:
    """``kept`` where it is of the same bank (a bank removed and made again under its
    name has a new uid, and starts afresh)."""
    if kept is None or kept.state.target.uid != state.target.uid:
        return None
    return kept


def _signature(banks: dict[str, LiveBank]) -> list[tuple[str, BankState]]:
    return sorted((name, bank.state) for name, bank in banks.items())
