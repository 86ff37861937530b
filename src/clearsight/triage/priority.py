"""Priority: an explained score for each item, stack and series.

The rules and their weights live in ``priority.toml`` (shipped, documented), which a
user may copy and change. Each rule that applies adds its weight and a reason a
reviewer can read ("unmatched: in no bank (+20)"), so the order of the queue can
always be explained, and argued with.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from clearsight.errors import UserError
from clearsight.store.interface import Priority, TriageItem

CAMERA_ORIGINAL = "camera-original-likely"
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
    score = weights.base
    reasons: list[str] = []

    def apply(weight: float, reason: str) -> None:
        nonlocal score
        score += weight
        reasons.append(f"{reason} ({weight:+g})")

    allowed = [m for m in item.matches if m.allow]
    known = [m for m in item.matches if not m.allow]
    if allowed:
        apply(weights.allow, f"known-benign: allow bank {allowed[0].bank}")
    if not item.matches:
        apply(weights.unmatched, "unmatched: in no bank")
    elif known:
        identified = [m for m in known if m.victim_identified]
        first = identified[0] if identified else known[0]
        where = f"bank {first.bank} entry {first.external_id or first.entry_id}"
        if first.series:
            where += f", series {first.series}"
        if identified:
            apply(weights.matched_identified, f"matched {where} (victim identified)")
        else:
            apply(weights.matched, f"matched {where}")
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
            reasons.append(f"in series {series.label} with {series.size - 1} other items")
        if series.identified:
            apply(weights.identified_series, f"in series {series.label} (victim identified)")
        elif series.new_camera_items >= weights.new_camera_series_size:
            several = f"{series.new_camera_items} new camera-original items"
            apply(weights.new_camera_series, f"in series {series.label} with {several}")
    return Priority(round(min(100.0, max(0.0, score)), 2), tuple(reasons))


def unit_priority(members: Sequence[Priority], what: str) -> Priority:
    """A stack's or series' priority: its most urgent member's, with the unit named."""
    best = max(members, key=lambda priority: priority.score)
    return Priority(best.score, (f"{what} of {len(members)} items", *best.reasons))


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
