"""Match the items of a case against the enabled banks, and record why each hit is one.

The lookups are :class:`~clearsight.match.bank_matcher.BankMatcher`'s, the same a
case-free caller makes; this module is the case's part: which items each bank still
has to see, the notes for items too weak to PDQ-match, and the ledger writes. An item
whose PDQ quality is too low to trust gets a note instead of a PDQ lookup.

Matching is incremental per bank. The case remembers, for each bank, which bank
(its uid), which content (its revision), which settings and up to which item it was
matched. While all of that still holds, only the items added since are checked;
otherwise every item is checked again and the bank's old matches are replaced. So a
re-run is cheap when nothing changed and right when anything did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clearsight.banks.lookup import BankTarget
from clearsight.match.bank_matcher import BankMatcher, ItemFeatures, PdqQueries
from clearsight.signals.pdq import PDQ_MIN_QUALITY
from clearsight.store.interface import BankCheck, MatchLedger, MatchQuery, MatchRecord

# Names the way this module matches; a case matched another way is matched again.
MATCHER = "pdq-variants-2"


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


def match_case(
    ledger: MatchLedger,
    matcher: BankMatcher,
    *,
    item_features: ItemFeatures | None = None,
) -> MatchReport:
    """Match the case's items against the matcher's banks (read again first).

    ``item_features`` reads items again to confirm candidates in banks that keep local
    features; without it only PDQ within the threshold and exact digests match.
    """
    matcher.refresh()
    targets = matcher.targets
    checks = ledger.bank_checks()
    starts = {target.name: _checked_through(target, checks.get(target.name)) for target in targets}
    first = min(starts.values(), default=0)
    queries = list(ledger.iter_match_queries(after_item=first))
    last_item = max((query.item_id for query in queries), default=first)
    notes = _low_quality_notes(queries)
    ledger.record_match_notes(notes, after_item=first)
    pdq_queries = PdqQueries.of(queries)
    video_queries = list(ledger.iter_video_queries(after_item=first))

    runs: list[BankRun] = []
    for target in targets:
        start = starts[target.name]
        mine = [query for query in queries if query.item_id > start]
        pdq_mine = pdq_queries.after(start)
        mode = "all items" if start == 0 else "new items" if mine else "up to date"
        matches = matcher.match_bank(target, mine, pdq_mine, item_features)
        videos = [video for video in video_queries if video.item_id > start]
        found = [
            MatchRecord(item_id, match.view())
            for item_id, match in (*matches.found, *matcher.match_videos(target, videos))
        ]
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
            BankRun(
                target.name,
                mode,
                len(mine),
                len(found),
                matches.pdq_index,
                matches.candidates,
                matches.confirmed,
            )
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
