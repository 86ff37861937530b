"""One item as every export sees it: what the machine found, and what people decided.

An :class:`~clearsight.store.interface.ItemRow` carries the machine's findings; a
report adds the item's id, the human decisions on it (oldest first, the newest being
the current one), where the current one stands under the two-reviewer rule, and
whether anyone ever saw it unblurred. The rules that several formats share live here,
so that the HTML summary, the JSON and the CyberTipline XML can never disagree about an
item: its status, which decision is final, whether a person confirmed AI origin, and
what may be said about whether a person viewed the file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import PurePath

from clearsight.review.decisions import DecisionStatus, ReviewDecision
from clearsight.signals.registry import DIGEST_NAMES
from clearsight.store.interface import ItemRow, MatchView

# The origins a reviewer records; these two confirm that a generator made or changed it.
AI_ORIGINS = frozenset({"ai-generated", "ai-edited"})
# Bank signals that name the very bytes: a hit on one of these carries the bank's
# category over to the file (VICS "precategorized"); a near PDQ match does not.
EXACT_SIGNALS = frozenset(DIGEST_NAMES)


class ItemStatus(enum.StrEnum):
    """Where an item stands against the banks; each item has exactly one."""

    MATCHED = "matched"  # found in a bank of known material
    ALLOW_LISTED = "allow-listed"  # found only in allow lists (known benign)
    NEW = "new"  # in no bank
    ERROR = "error"  # unread or undecodable, and in no bank


def file_location(source: str, path: str) -> str:
    """Where an item's file is: its path under the source folder, or the source itself
    when the source was a single file (whose item path is then its name)."""
    root = PurePath(source)
    return source if root.name == path else str(root / path)


def status_of(matches: tuple[MatchView, ...], error: str | None) -> ItemStatus:
    """A bank hit outranks an error: a damaged copy of known material is still known."""
    if any(not match.allow for match in matches):
        return ItemStatus.MATCHED
    if matches:
        return ItemStatus.ALLOW_LISTED
    if error:
        return ItemStatus.ERROR
    return ItemStatus.NEW


# One reviewer's decision on one item: the store's one decision record.
HumanDecision = ReviewDecision


@dataclass(frozen=True)
class ReportRow:
    item_id: int
    item: ItemRow
    decisions: tuple[HumanDecision, ...] = ()  # oldest first
    revealed: bool = False  # someone saw it unblurred, whether or not they decided
    decision_status: DecisionStatus = DecisionStatus.UNDECIDED  # of the current decision

    @property
    def decision(self) -> HumanDecision | None:
        """The current decision: the newest, final or not."""
        return self.decisions[-1] if self.decisions else None

    @property
    def final_decision(self) -> HumanDecision | None:
        """The current decision where it is final: the one whose category, series,
        victim flag and origin an export may state as a person's. One awaiting a second
        reviewer states nothing yet, and neither does a confirmed decision that a newer,
        unconfirmed one has since replaced: the reviewers disagree until one confirms."""
        return self.decision if self.decision_status is DecisionStatus.FINAL else None

    @property
    def location(self) -> str:
        return file_location(self.item.source, self.item.path)

    @property
    def status(self) -> ItemStatus:
        return status_of(self.item.matches, self.item.error)

    @property
    def viewed_by_person(self) -> bool | None:
        """Whether an export may say a person viewed the file: True only on a decision
        that records it; False only where nobody ever saw it unblurred; otherwise
        (seen, but no decision says so) None, because the case cannot attest either."""
        if any(decision.viewed_unblurred for decision in self.decisions):
            return True
        if not self.revealed:
            return False
        return None

    @property
    def bank_category(self) -> MatchView | None:
        """The closest exact hit in a bank of known material that names a category."""
        for match in self.item.matches:  # closest first
            if not match.allow and match.signal in EXACT_SIGNALS and match.category:
                return match
        return None
