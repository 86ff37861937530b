"""Priority: an explained score for each item, stack and series.

The rules and their weights live in ``priority.toml`` (shipped, documented), which a
user may copy and change. Each rule that applies adds its weight and a reason a
reviewer can read ("unmatched: in no bank (+20)"), after the base every item starts
from ("base score (50)"), so the parts add up to the score and the order of the queue
can always be explained, and argued with. A file that could not be read gets no
"unmatched" weight: nothing is known of it, and it is listed apart (see
:mod:`clearsight.triage.run`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from clearsight.errors import UserError
from clearsight.match.explain import entry_name, how_matched
from clearsight.store.interface import Priority, TriageItem

CAMERA_ORIGINAL = "camera-original-likely"
BASE_REASON = "base score"
COULD_NOT_READ = "could not read"
# The membership reason (``membership``), which carries no weight.
_MEMBERSHIP = re.compile(r"in series \S+ with \d+ other items?")
AI_GENERATED, AI_EDITED = "ai-generated", "ai-edited"


@dataclass(frozen=True)
class Weights:
    base: float
    unmatched: float
    camera_original: float
    new_camera_series: float
    new_camera_series_size: float  # a count of members
    matched: float
    matched_identified: float
    identified_series: float
    ai_generated: float
    ai_edited: float
    allow: float


@dataclass(frozen=True)
class TriageConfig:
    weights: Weights
    stack_distance: int


def load_config(path: Path | None = None) -> TriageConfig:
    """The shipped defaults, overridden by the keys of ``path`` where given."""
    defaults = tomllib.loads(
        resources.files("clearsight.triage").joinpath("priority.toml").read_text("utf-8")
    )
    values = {section: dict(keys) for section, keys in defaults.items()}
    if path is not None:
        for section, keys in _read(path).items():
            if section not in values or not isinstance(keys, dict):
                raise UserError(f"{path}: unknown section [{section}]")
            unknown = set(keys) - set(values[section])
            if unknown:
                names = ", ".join(sorted(unknown))
                raise UserError(f"{path}: unknown key(s) in [{section}]: {names}")
            values[section].update(keys)
    try:
        weights = Weights(**{f.name: float(values["priority"][f.name]) for f in fields(Weights)})
        return TriageConfig(weights, int(values["stacks"]["distance"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"bad triage configuration: {exc}") from None


@dataclass(frozen=True)
class SeriesFacts:
    """What an item's series tells about it."""

    label: str
    identified: bool  # a member matched a bank entry whose victim is identified
    new_camera_items: int  # members unmatched and camera-original-likely
    size: int = 0  # members


def is_new_camera_original(item: TriageItem) -> bool:
    origin = item.origin
    return not item.matches and origin is not None and origin.verdict == CAMERA_ORIGINAL


def score_item(item: TriageItem, series: SeriesFacts | None, weights: Weights) -> Priority:
    """The item's score with its reasons. The reasons begin with the base and give each
    rule's weight, so they add up to the score (a clamp to 0-100 is a reason too)."""
    score = weights.base
    reasons: list[str] = [f"{BASE_REASON} ({weights.base:g})"]

    def apply(weight: float, reason: str) -> None:
        nonlocal score
        score += weight
        reasons.append(f"{reason} ({weight:+g})")

    allowed = [m for m in item.matches if m.allow]
    known = [m for m in item.matches if not m.allow]
    if allowed:
        apply(weights.allow, f"known-benign: allow bank {allowed[0].bank}")
    if item.unreadable is not None and not item.matches:
        reasons.append(f"{COULD_NOT_READ}: {item.unreadable}")
    elif not item.matches:
        apply(weights.unmatched, "unmatched: in no bank")
    elif known:
        identified = [m for m in known if m.victim_identified]
        first = identified[0] if identified else known[0]
        where = f"matched {entry_name(first)} by {how_matched(first)}"
        if first.series:
            where += f", series {first.series}"
        if identified:
            apply(weights.matched_identified, f"{where} (victim identified)")
        else:
            apply(weights.matched, where)
    if item.unreadable is not None and item.matches:
        reasons.append(f"{COULD_NOT_READ}: {item.unreadable}")
    origin = item.origin
    if origin is not None and origin.verdict == CAMERA_ORIGINAL:
        apply(weights.camera_original, f"camera original likely: {_evidence(origin.reasons)}")
    elif origin is not None and origin.verdict == AI_GENERATED:
        apply(weights.ai_generated, f"FLAGGED AI-generated: {_evidence(origin.reasons)}")
    elif origin is not None and origin.verdict == AI_EDITED:
        beneath = "FLAGGED AI-edited, a real picture may lie beneath"
        apply(weights.ai_edited, f"{beneath}: {_evidence(origin.reasons)}")
    if series is not None:
        if series.size > 1:
            reasons.append(membership(series))
        if series.identified:
            apply(weights.identified_series, f"in series {series.label} (victim identified)")
        elif series.new_camera_items >= weights.new_camera_series_size:
            several = f"{series.new_camera_items} new camera-original items"
            apply(weights.new_camera_series, f"in series {series.label} with {several}")
    clamped = min(100.0, max(0.0, score))
    if clamped != score:
        reasons.append(f"held within 0-100 ({clamped - score:+g})")
    return Priority(round(clamped, 2), tuple(dict.fromkeys(reasons)))


def membership(series: SeriesFacts) -> str:
    """The reason that says an item is in a series, and with how many others."""
    others = series.size - 1
    return f"in series {series.label} with {others} other item{'s' if others != 1 else ''}"


def unit_priority(members: Sequence[Priority], what: str) -> Priority:
    """A stack's or series' priority: its most urgent member's, with the unit named.

    The unit's own line says what the member's "in series ..." line would say again,
    so that line is left out; the other reasons still add up to the score."""
    best = max(members, key=lambda priority: priority.score)
    kept = [reason for reason in best.reasons if not _MEMBERSHIP.fullmatch(reason)]
    return Priority(best.score, tuple(dict.fromkeys((f"{what} of {len(members)} items", *kept))))


def _evidence(reasons: Sequence[str]) -> str:
    """The strongest origin reason, without its strength/direction prefix."""
    if not reasons:
        return "no reason recorded"
    return reasons[0].split(": ", 1)[-1]


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read triage configuration {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
