"""Match the items of a case against the enabled banks, and record why each hit is one.

Exact digests (md5, sha1, sha256) are looked up by the bank store's index. PDQ hashes
are searched in each bank's own index within that bank's threshold, for the item as
stored and for its seven rotations and flips, all in one batch; the transform that
matched is recorded. An item whose PDQ quality is too low to trust gets a note instead
of a PDQ lookup.

Matching is incremental per bank. The case remembers, for each bank, which bank
(its uid), which content (its revision), which settings and up to which item it was
matched. While all of that still holds, only the items added since are checked;
otherwise every item is checked again and the bank's old matches are replaced. So a
re-run is cheap when nothing changed and right when anything did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from clearsight.banks.records import EntryMetadata
from clearsight.banks.store import BankHit, BankTarget
from clearsight.match.index_cache import EntryIds, PdqIndexCache
from clearsight.match.pdq_index import Codes, pack_pdq
from clearsight.signals.pdq import DIHEDRAL_TRANSFORMS, PDQ_MIN_QUALITY
from clearsight.store.interface import BankCheck, MatchLedger, MatchQuery, MatchRecord, MatchView

ORIGINAL = "original"
TRANSFORMS = (ORIGINAL, *DIHEDRAL_TRANSFORMS)
DIGESTS = ("md5", "sha1", "sha256")


class BankLookup(Protocol):
    """What matching needs of the bank store."""

    def match_targets(self, names: Sequence[str] | None = None) -> list[BankTarget]: ...

    def exact_hits(
        self, kind: str, values: Iterable[str], targets: Sequence[BankTarget]
    ) -> dict[str, list[BankHit]]: ...

    def pdq_arrays(self, bank_id: int) -> tuple[Codes, EntryIds]: ...

    def entry_metadata(self, entry_ids: Iterable[int]) -> dict[int, EntryMetadata]: ...


@dataclass(frozen=True)
class BankRun:
    """What one run did for one bank: ``mode`` is "all items", "new items" or "up to date"."""

    bank: str
    mode: str
    items_checked: int
    matches_found: int
    pdq_index: str


@dataclass(frozen=True)
class MatchReport:
    """One run, with the case's totals against the banks it covered afterwards."""

    banks: tuple[str, ...]
    items: int
    matched_items: int
    matches: int
    low_quality: int
    runs: tuple[BankRun, ...]


@dataclass(frozen=True)
class _PdqQueries:
    """Every usable item's PDQ hash and its dihedral variants, packed for one batch."""

    codes: Codes
    item_ids: npt.NDArray[np.int64]
    transforms: npt.NDArray[np.int64]

    @classmethod
    def of(cls, queries: Sequence[MatchQuery]) -> _PdqQueries:
        hashes: list[str] = []
        item_ids: list[int] = []
        transforms: list[int] = []
        for query in queries:
            if query.pdq is None or (query.pdq_quality or 0) < PDQ_MIN_QUALITY:
                continue
            for number, value in enumerate((query.pdq, *query.dihedral)):
                hashes.append(value)
                item_ids.append(query.item_id)
                transforms.append(number)
        codes = pack_pdq(hashes) if hashes else np.zeros((0, 4), dtype=np.uint64)
        return cls(codes, np.array(item_ids, dtype=np.int64), np.array(transforms, np.int64))

    def after(self, item_id: int) -> _PdqQueries:
        keep = self.item_ids > item_id
        return _PdqQueries(self.codes[keep], self.item_ids[keep], self.transforms[keep])


def match_case(
    ledger: MatchLedger,
    banks: BankLookup,
    names: Sequence[str] | None = None,
    *,
    cache: PdqIndexCache,
) -> MatchReport:
    targets = banks.match_targets(names)
    checks = ledger.bank_checks()
    starts = {target.name: _checked_through(target, checks.get(target.name)) for target in targets}
    first = min(starts.values(), default=0)
    queries = list(ledger.iter_match_queries(after_item=first))
    last_item = max((query.item_id for query in queries), default=first)
    notes = _low_quality_notes(queries)
    ledger.record_match_notes(notes, after_item=first)
    pdq_queries = _PdqQueries.of(queries)

    runs: list[BankRun] = []
    for target in targets:
        start = starts[target.name]
        mine = [query for query in queries if query.item_id > start]
        pdq_mine = pdq_queries.after(start)
        mode = "all items" if start == 0 else "new items" if mine else "up to date"
        found = _exact_matches(mine, banks, target)
        index_origin = "none"
        if pdq_mine.codes.shape[0]:
            pdq_found, index_origin = _pdq_matches(pdq_mine, banks, target, cache)
            found += pdq_found
        check = BankCheck(
            bank=target.name,
            bank_uid=target.uid,
            bank_revision=target.revision,
            pdq_threshold=target.pdq_threshold,
            allow=target.allow,
            through_item=max(last_item, start),
        )
        ledger.record_bank_matches(check, found, after_item=start)
        runs.append(BankRun(target.name, mode, len(mine), len(found), index_origin))

    names_done = [target.name for target in targets]
    totals = ledger.match_totals(names_done)
    return MatchReport(
        banks=tuple(names_done),
        items=len(queries),
        matched_items=totals.matched_items,
        matches=totals.matches,
        low_quality=totals.noted_items,
        runs=tuple(runs),
    )


def _checked_through(target: BankTarget, check: BankCheck | None) -> int:
    """The last item already matched against this very bank, or 0 to check them all."""
    if check is None:
        return 0
    same = (check.bank_uid, check.bank_revision, check.pdq_threshold, check.allow) == (
        target.uid,
        target.revision,
        target.pdq_threshold,
        target.allow,
    )
    return check.through_item if same else 0


def _low_quality_notes(queries: Sequence[MatchQuery]) -> list[tuple[int, str]]:
    return [
        (
            query.item_id,
            f"PDQ quality {query.pdq_quality} is below {PDQ_MIN_QUALITY}: not matched by PDQ",
        )
        for query in queries
        if query.pdq is not None and (query.pdq_quality or 0) < PDQ_MIN_QUALITY
    ]


def _exact_matches(
    queries: Sequence[MatchQuery], banks: BankLookup, target: BankTarget
) -> list[MatchRecord]:
    found: list[MatchRecord] = []
    for kind in DIGESTS:
        items_by_value: dict[str, list[int]] = {}
        for query in queries:
            if kind in query.digests:
                items_by_value.setdefault(query.digests[kind], []).append(query.item_id)
        for value, hits in banks.exact_hits(kind, items_by_value, [target]).items():
            for item_id in items_by_value[value]:
                found += [_record(item_id, hit, kind, 0, ORIGINAL) for hit in hits]
    return found


def _pdq_matches(
    queries: _PdqQueries, banks: BankLookup, target: BankTarget, cache: PdqIndexCache
) -> tuple[list[MatchRecord], str]:
    bank_index = cache.index_for(target, lambda: banks.pdq_arrays(target.id))
    hits = bank_index.index.search_many(queries.codes, target.pdq_threshold)
    items = queries.item_ids[hits.queries]
    transforms = queries.transforms[hits.queries]
    entries = bank_index.entry_ids[hits.positions]
    # One match per (item, entry): the closest, and of equals the least transformed.
    order = np.lexsort((transforms, hits.distances, entries, items))
    items, entries = items[order], entries[order]
    distances, transforms = hits.distances[order], transforms[order]
    first = np.ones(items.shape[0], dtype=bool)
    first[1:] = (items[1:] != items[:-1]) | (entries[1:] != entries[:-1])
    chosen = np.flatnonzero(first)
    metadata = banks.entry_metadata(int(entry) for entry in entries[chosen])
    records = [
        _record(
            int(items[at]),
            BankHit(target, int(entries[at]), metadata[int(entries[at])]),
            "pdq",
            int(distances[at]),
            TRANSFORMS[int(transforms[at])],
        )
        for at in chosen
    ]
    return records, bank_index.origin


def _record(item_id: int, hit: BankHit, signal: str, distance: int, transform: str) -> MatchRecord:
    meta: EntryMetadata = hit.metadata
    view = MatchView(
        bank=hit.bank.name,
        entry_id=hit.entry_id,
        external_id=meta.external_id,
        signal=signal,
        distance=distance,
        transform=transform,
        allow=hit.bank.allow,
        category=meta.category,
        series=meta.series,
        victim_identified=meta.victim_identified,
    )
    return MatchRecord(item_id, view)
