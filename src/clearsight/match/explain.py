"""How a bank match was made, in words: the one formatter every shell uses.

The CLI, the queue's reasons, the HTML report and the review server all show a match
through :func:`how_matched` (one signal) or :func:`match_lines` (one line per bank
entry, its signals together), so a match reads the same everywhere. A PDQ match says
its distance and, where it was not the picture as it is, the rotation or flip and the
views (variants) that met. A match local features confirmed says so, with the agreeing
features and the share of the picture they cover: such a match lies beyond the PDQ
threshold, and its distance alone would read as no match at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from clearsight.store.interface import MatchView

ORIGINAL = "original"
EXACT = "exact"
FEATURES = "features"  # found by local features alone (an own bank's feature words)


def how_matched(match: MatchView) -> str:
    """``sha256 exact``; ``pdq d=12``; ``pdq d=20, rotate-90, view trim-border``;
    ``pdq d=64, confirmed by 239 local features covering 62% of the picture``;
    ``local features: 180 agree, covering 40% of the picture``."""
    if match.signal == FEATURES:
        said = f"local features: {match.inliers} agree"
        if match.coverage is not None:
            said += f", covering {match.coverage:.0%} of the picture"
        return said
    if match.signal != "pdq":
        return f"{match.signal} {EXACT}"
    parts = [f"pdq d={match.distance}"]
    if match.transform and match.transform != ORIGINAL:
        parts.append(match.transform)
    if match.variant:
        parts.append(_views(match.variant))
    if match.inliers:
        confirmed = f"confirmed by {match.inliers} local features"
        if match.coverage is not None:
            confirmed += f" covering {match.coverage:.0%} of the picture"
        parts.append(confirmed)
    return ", ".join(parts)


def _views(variant: str) -> str:
    """``query:trim-border+bank:crop-0.88`` as ``view trim-border of the item, view
    crop-0.88 of the bank's picture``."""
    said = []
    for part in variant.split("+"):
        side, _, name = part.partition(":")
        if side == "query":
            said.append(f"view {name} of the item")
        elif side == "bank":
            said.append(f"view {name} of the bank's picture")
        else:
            said.append(f"view {part}")
    return ", ".join(said)


def entry_name(match: MatchView) -> str:
    """``bank B entry E``: the entry by the bank's own id where it has one."""
    return f"bank {match.bank} entry {match.external_id or match.entry_id}"


def how_entry_matched(matches: Sequence[MatchView]) -> str:
    """How the signals that met one bank entry met it: ``sha256 + md5 exact; pdq d=0``."""
    exact = [m.signal for m in matches if m.signal not in ("pdq", FEATURES)]
    said = [f"{' + '.join(exact)} {EXACT}"] if exact else []
    return "; ".join(said + [how_matched(m) for m in matches if m.signal in ("pdq", FEATURES)])


def bank_says(match: MatchView) -> str:
    """What the bank says of the entry: category, series, victim identified, allow."""
    said = [f"category {match.category}"] if match.category else []
    if match.series:
        said.append(f"series {match.series}")
    if match.victim_identified:
        said.append("victim identified")
    if match.allow:
        said.append("allow list")
    return ", ".join(said)


def match_line(matches: Sequence[MatchView]) -> str:
    """One bank entry's matches (same bank and entry) as one line: the entry, how each
    signal met it, and what the bank says of it."""
    said = bank_says(matches[0])
    tail = f" ({said})" if said else ""
    return f"{entry_name(matches[0])}: {how_entry_matched(matches)}{tail}"


def by_entry(matches: Iterable[MatchView]) -> list[list[MatchView]]:
    """Matches grouped by (bank, entry), in the order each entry first appears."""
    groups: dict[tuple[str, int], list[MatchView]] = {}
    for match in matches:
        groups.setdefault((match.bank, match.entry_id), []).append(match)
    return list(groups.values())


def match_lines(matches: Iterable[MatchView]) -> list[str]:
    """One line per bank entry matched: one row per match, not one per signal."""
    return [match_line(group) for group in by_entry(matches)]
