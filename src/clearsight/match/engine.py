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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import numpy as np
import numpy.typing as npt

from clearsight.banks.records import EntryMetadata
from clearsight.banks.store import BankHit, BankTarget, PdqArrays
from clearsight.match.index_cache import BankIndex, PdqIndexCache
from clearsight.match.pdq_index import Codes, PdqHits, pack_pdq
from clearsight.signals.features import LocalFeatures, verify
from clearsight.signals.pdq import DIHEDRAL_TRANSFORMS, PDQ_MIN_QUALITY
from clearsight.signals.registry import DIGEST_NAMES
from clearsight.store.interface import BankCheck, MatchLedger, MatchQuery, MatchRecord, MatchView

ORIGINAL = "original"
TRANSFORMS = (ORIGINAL, *DIHEDRAL_TRANSFORMS)
DIGESTS = DIGEST_NAMES
# Names the way this module matches; a case matched another way is matched again.
MATCHER = "pdq-variants-1"
# For banks that keep local features: PDQ pairs this close are candidates that the
# features may confirm. Unrelated photos come this close about once in 10^5 code pairs,
# a crop or turn between the bank's stored ones rarely goes further.
CANDIDATE_RADIUS = 64
# Of one item's candidates in one bank, only this many closest are checked.
CANDIDATES_PER_ITEM = 8


class BankLookup(Protocol):
    """What matching needs of the bank store."""

    def match_targets(self, names: Sequence[str] | None = None) -> list[BankTarget]: ...

    def exact_hits(
        self, kind: str, values: Iterable[str], targets: Sequence[BankTarget]
    ) -> dict[str, list[BankHit]]: ...

    def pdq_arrays(self, bank_id: int) -> PdqArrays: ...

    def entry_metadata(self, entry_ids: Iterable[int]) -> dict[int, EntryMetadata]: ...

    def entry_features(self, entry_ids: Iterable[int]) -> dict[int, str]: ...


class ItemFeatures(Protocol):
    """Local features of a case's items, read from their files when asked."""

    def features_of(self, item_ids: Sequence[int]) -> Mapping[int, LocalFeatures]:
        """Features of those items whose files can still be read as they were scanned."""
        ...


@dataclass(frozen=True)
class BankRun:
    """What one run did for one bank: ``mode`` is "all items", "new items" or "up to date".

    ``candidates`` counts the pairs PDQ left open that local features were asked to
    settle, ``confirmed`` those they confirmed (both zero for banks without features).
    """

    bank: str
    mode: str
    items_checked: int
    matches_found: int
    pdq_index: str
    candidates: int = 0
    confirmed: int = 0


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
class PdqQueries:
    """Every usable item's PDQ hashes in one batch: the hash, its seven rotations and
    flips, and the hashes of its views. Row ``i`` is item ``item_ids[i]`` turned by
    ``TRANSFORMS[transforms[i]]``, or its view ``variant_names[variants[i]]``."""

    codes: Codes
    item_ids: npt.NDArray[np.int64]
    transforms: npt.NDArray[np.int64]
    variants: npt.NDArray[np.int64]
    variant_names: tuple[str, ...]

    @classmethod
    def of(cls, queries: Sequence[MatchQuery]) -> PdqQueries:
        hashes: list[str] = []
        item_ids: list[int] = []
        transforms: list[int] = []
        variants: list[int] = []
        names: dict[str, int] = {"": 0}
        for query in queries:
            if query.pdq is not None and (query.pdq_quality or 0) >= PDQ_MIN_QUALITY:
                for number, value in enumerate((query.pdq, *query.dihedral)):
                    hashes.append(value)
                    item_ids.append(query.item_id)
                    transforms.append(number)
                    variants.append(0)
            for variant in query.variants:  # each of good quality on its own
                hashes.append(variant.hex)
                item_ids.append(query.item_id)
                transforms.append(0)
                variants.append(names.setdefault(variant.name, len(names)))
        codes = pack_pdq(hashes) if hashes else np.zeros((0, 4), dtype=np.uint64)
        return cls(
            codes,
            np.array(item_ids, dtype=np.int64),
            np.array(transforms, dtype=np.int64),
            np.array(variants, dtype=np.int64),
            tuple(names),
        )

    def after(self, item_id: int) -> PdqQueries:
        keep = self.item_ids > item_id
        return PdqQueries(
            self.codes[keep],
            self.item_ids[keep],
            self.transforms[keep],
            self.variants[keep],
            self.variant_names,
        )


def match_case(
    ledger: MatchLedger,
    banks: BankLookup,
    names: Sequence[str] | None = None,
    *,
    cache: PdqIndexCache,
    item_features: ItemFeatures | None = None,
) -> MatchReport:
    """Match the case's items against ``names`` (default: every enabled bank).

    ``item_features`` reads items again to confirm candidates in banks that keep local
    features; without it only PDQ within the threshold and exact digests match.
    """
    targets = banks.match_targets(names)
    checks = ledger.bank_checks()
    starts = {target.name: _checked_through(target, checks.get(target.name)) for target in targets}
    first = min(starts.values(), default=0)
    queries = list(ledger.iter_match_queries(after_item=first))
    last_item = max((query.item_id for query in queries), default=first)
    notes = _low_quality_notes(queries)
    ledger.record_match_notes(notes, after_item=first)
    pdq_queries = PdqQueries.of(queries)

    runs: list[BankRun] = []
    for target in targets:
        start = starts[target.name]
        mine = [query for query in queries if query.item_id > start]
        pdq_mine = pdq_queries.after(start)
        mode = "all items" if start == 0 else "new items" if mine else "up to date"
        found = _exact_matches(mine, banks, target)
        index_origin = "none"
        candidates = confirmed = 0
        if pdq_mine.codes.shape[0]:
            bank_index = cache.index_for(target, partial(banks.pdq_arrays, target.id))
            index_origin = bank_index.origin
            hits = bank_index.index.search_many(pdq_mine.codes, target.pdq_threshold)
            pdq_found = _pdq_records(
                _closest_pairs(pdq_mine, bank_index, hits), banks, target, inliers=None
            )
            found += pdq_found
            if target.has_features and item_features is not None:
                confirmations = _confirm_candidates(
                    pdq_mine, bank_index, banks, target, item_features, pdq_found
                )
                candidates, confirmed = confirmations.checked, len(confirmations.records)
                found += confirmations.records
        check = BankCheck(
            bank=target.name,
            bank_uid=target.uid,
            bank_revision=target.revision,
            pdq_threshold=target.pdq_threshold,
            allow=target.allow,
            through_item=max(last_item, start),
            matcher=MATCHER,
        )
        ledger.record_bank_matches(check, found, after_item=start)
        runs.append(
            BankRun(target.name, mode, len(mine), len(found), index_origin, candidates, confirmed)
        )

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
    same = (
        check.bank_uid,
        check.bank_revision,
        check.pdq_threshold,
        check.allow,
        check.matcher,
    ) == (target.uid, target.revision, target.pdq_threshold, target.allow, MATCHER)
    return check.through_item if same else 0


def _low_quality_notes(queries: Sequence[MatchQuery]) -> list[tuple[int, str]]:
    return [
        (
            query.item_id,
            f"PDQ quality {query.pdq_quality} is below {PDQ_MIN_QUALITY}: "
            "the picture's own hash is not matched",
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


@dataclass(frozen=True)
class _Pairs:
    """One row per (item, entry): the closest code pair that joined them, and how."""

    items: npt.NDArray[np.int64]
    entries: npt.NDArray[np.int64]
    distances: npt.NDArray[np.int32]
    transforms: npt.NDArray[np.int64]
    variants: list[str | None]

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def select(self, keep: npt.NDArray[np.bool_]) -> _Pairs:
        return _Pairs(
            self.items[keep],
            self.entries[keep],
            self.distances[keep],
            self.transforms[keep],
            [name for name, kept in zip(self.variants, keep, strict=True) if kept],
        )


def _closest_pairs(queries: PdqQueries, bank_index: BankIndex, hits: PdqHits) -> _Pairs:
    """One pair per (item, entry): the closest, and of equals the one with the fewest
    variants, then the least transformed."""
    items = queries.item_ids[hits.queries]
    transforms = queries.transforms[hits.queries]
    query_variants = queries.variants[hits.queries]
    entries = bank_index.entry_ids[hits.positions]
    bank_variants = bank_index.variants[hits.positions].astype(np.int64)
    extra = (query_variants > 0).astype(np.int64) + (bank_variants > 0)
    order = np.lexsort((transforms, extra, hits.distances, entries, items))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = (items[order][1:] != items[order][:-1]) | (
        entries[order][1:] != entries[order][:-1]
    )
    chosen = order[first]
    names = [
        _variant_label(
            queries.variant_names[int(query_variants[at])],
            bank_index.variant_names[int(bank_variants[at])],
        )
        for at in chosen
    ]
    return _Pairs(items[chosen], entries[chosen], hits.distances[chosen], transforms[chosen], names)


def _variant_label(query: str, bank: str) -> str | None:
    parts = [f"query:{query}"] if query else []
    if bank:
        parts.append(f"bank:{bank}")
    return "+".join(parts) or None


def _pdq_records(
    pairs: _Pairs, banks: BankLookup, target: BankTarget, *, inliers: Sequence[int] | None
) -> list[MatchRecord]:
    metadata = banks.entry_metadata(int(entry) for entry in pairs.entries)
    return [
        _record(
            int(pairs.items[at]),
            BankHit(target, int(pairs.entries[at]), metadata[int(pairs.entries[at])]),
            "pdq",
            int(pairs.distances[at]),
            TRANSFORMS[int(pairs.transforms[at])],
            variant=pairs.variants[at],
            inliers=None if inliers is None else inliers[at],
        )
        for at in range(len(pairs))
    ]


@dataclass(frozen=True)
class _Confirmations:
    checked: int
    records: list[MatchRecord]


def _confirm_candidates(
    queries: PdqQueries,
    bank_index: BankIndex,
    banks: BankLookup,
    target: BankTarget,
    item_features: ItemFeatures,
    matched: Sequence[MatchRecord],
) -> _Confirmations:
    """Pairs beyond the threshold but within CANDIDATE_RADIUS, kept where the item's
    and the entry's local features show the same scene under one similarity."""
    hits = bank_index.index.search_many(queries.codes, CANDIDATE_RADIUS)
    pairs = _closest_pairs(queries, bank_index, hits)
    done = {(record.item_id, record.match.entry_id) for record in matched}
    open_ = np.array(
        [(int(i), int(e)) not in done for i, e in zip(pairs.items, pairs.entries, strict=True)],
        dtype=bool,
    )
    pairs = pairs.select(open_ & _closest_per_item(pairs, CANDIDATES_PER_ITEM))
    if not len(pairs):
        return _Confirmations(0, [])
    item_side = item_features.features_of(sorted({int(item) for item in pairs.items}))
    entry_side = {
        entry: LocalFeatures.from_text(text)
        for entry, text in banks.entry_features(int(entry) for entry in pairs.entries).items()
    }
    inliers: list[int] = []
    for item, entry in zip(pairs.items, pairs.entries, strict=True):
        query_features, entry_features = item_side.get(int(item)), entry_side.get(int(entry))
        if query_features is None or entry_features is None:
            inliers.append(0)
            continue
        verdict = verify(query_features, entry_features)
        inliers.append(verdict.inliers if verdict.confirmed else 0)
    kept = np.array(inliers) > 0
    records = _pdq_records(pairs.select(kept), banks, target, inliers=[n for n in inliers if n > 0])
    return _Confirmations(len(pairs), records)


def _closest_per_item(pairs: _Pairs, limit: int) -> npt.NDArray[np.bool_]:
    """Mark, for each item, its ``limit`` closest pairs."""
    order = np.lexsort((pairs.distances, pairs.items))
    rank = np.zeros(len(pairs), dtype=np.int64)
    items = pairs.items[order]
    starts = np.r_[0, np.flatnonzero(items[1:] != items[:-1]) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(items)]))
    rank[order] = np.arange(len(items)) - run_start
    return rank < limit


def _record(
    item_id: int,
    hit: BankHit,
    signal: str,
    distance: int,
    transform: str,
    *,
    variant: str | None = None,
    inliers: int | None = None,
) -> MatchRecord:
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
        variant=variant,
        inliers=inliers,
    )
    return MatchRecord(item_id, view)
