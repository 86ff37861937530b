"""Match every item of a case against the enabled banks, and record why each hit is one.

Exact digests (md5, sha1, sha256) are looked up by the bank store's index. PDQ hashes
are searched within each bank's own threshold, for the item as stored and for its seven
rotations and flips; the transform that matched is recorded. An item whose PDQ quality
is too low to trust gets a note instead of a PDQ lookup. Each run replaces the matches
against the banks it checked, so re-running after a bank update is always correct.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clearsight.banks.records import EntryMetadata
from clearsight.banks.store import BankHit, BankStore, BankTarget
from clearsight.match.pdq_index import BruteForcePdqIndex
from clearsight.signals.pdq import DIHEDRAL_TRANSFORMS, PDQ_MIN_QUALITY
from clearsight.store.interface import MatchLedger, MatchQuery, MatchRecord, MatchView

ORIGINAL = "original"
DIGESTS = ("md5", "sha1", "sha256")


@dataclass(frozen=True)
class MatchReport:
    banks: tuple[str, ...]
    items: int
    matched_items: int
    matches: int
    low_quality: int


def match_case(
    ledger: MatchLedger, banks: BankStore, names: Sequence[str] | None = None
) -> MatchReport:
    targets = banks.match_targets(names)
    queries = list(ledger.iter_match_queries())
    matches = _exact_matches(queries, banks, targets)
    pdq_matches, notes = _pdq_matches(queries, banks, targets)
    matches += pdq_matches
    ledger.replace_matches([target.name for target in targets], matches, notes)
    return MatchReport(
        banks=tuple(target.name for target in targets),
        items=len(queries),
        matched_items=len({match.item_id for match in matches}),
        matches=len(matches),
        low_quality=len(notes),
    )


def _exact_matches(
    queries: Sequence[MatchQuery], banks: BankStore, targets: Sequence[BankTarget]
) -> list[MatchRecord]:
    found: list[MatchRecord] = []
    for kind in DIGESTS:
        items_by_value: dict[str, list[int]] = {}
        for query in queries:
            if kind in query.digests:
                items_by_value.setdefault(query.digests[kind], []).append(query.item_id)
        for value, hits in banks.exact_hits(kind, items_by_value, targets).items():
            for item_id in items_by_value[value]:
                found += [_record(item_id, hit, kind, 0, ORIGINAL) for hit in hits]
    return found


def _pdq_matches(
    queries: Sequence[MatchQuery], banks: BankStore, targets: Sequence[BankTarget]
) -> tuple[list[MatchRecord], list[tuple[int, str]]]:
    codes = banks.pdq_codes(targets)
    index = BruteForcePdqIndex(codes.hashes)
    radius = max((target.pdq_threshold for target in targets), default=0)
    best: dict[tuple[int, int], tuple[int, str]] = {}  # (item, code) -> distance, transform
    notes: list[tuple[int, str]] = []
    for query in queries:
        if query.pdq is None or not len(index):
            continue
        if (query.pdq_quality or 0) < PDQ_MIN_QUALITY:
            notes.append(
                (
                    query.item_id,
                    f"PDQ quality {query.pdq_quality} is below {PDQ_MIN_QUALITY}: "
                    "not matched by PDQ",
                )
            )
            continue
        variants = zip((ORIGINAL, *DIHEDRAL_TRANSFORMS), (query.pdq, *query.dihedral), strict=False)
        for transform, pdq in variants:
            for hit in index.search(pdq, radius):
                if hit.distance > codes.banks[hit.position].pdq_threshold:
                    continue
                key = (query.item_id, hit.position)
                if key not in best or hit.distance < best[key][0]:
                    best[key] = (hit.distance, transform)
    metadata = banks.entry_metadata(codes.entry_ids[position] for _, position in best)
    records = [
        _record(
            item_id,
            BankHit(
                codes.banks[position],
                codes.entry_ids[position],
                metadata[codes.entry_ids[position]],
            ),
            "pdq",
            distance,
            transform,
        )
        for (item_id, position), (distance, transform) in best.items()
    ]
    return records, notes


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
