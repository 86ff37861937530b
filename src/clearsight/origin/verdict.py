"""Weigh the evidence of origin into one verdict, with its reasons in order.

The rules are few and written so a reviewer can redo them by hand:

* Evidence of a generator (``ai``) or of a generator's edit (``ai-edit``) at moderate
  strength or more gives ``ai-generated`` or ``ai-edited``, unless the camera evidence
  is at least as strong: then it is ``inconclusive`` and the conflict is named.
  Strong evidence both ways is always ``inconclusive``.
* Where strong claims of both kinds of AI origin meet (a C2PA "composite" action and a
  generator's watermark), ``ai-edited`` wins: it is the more specific claim, and the one
  that says a real picture may lie underneath.
* ``camera-original-likely`` needs positive camera evidence of moderate strength (a
  full, self-consistent EXIF record, say) and no AI evidence at all. The absence of AI
  evidence alone never gives it: metadata is stripped by most platforms, and most
  generators write none.
* Anything else is ``inconclusive``. Findings that point nowhere (a manifest that fails
  validation, an editor's name) are listed among the reasons, never dropped.

The score is how strongly the evidence points to AI, 0 (camera) to 1 (AI), 0.5 when
it points neither way: it orders items and gives ``origin evaluate`` its AUC. It is a
summary of the evidence, not a probability.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clearsight.origin.evidence import Evidence, PointsTo, Strength
from clearsight.store.interface import Verdict

__all__ = ["OriginVerdict", "Verdict", "reason", "weigh"]

WEIGHT = {Strength.WEAK: 1, Strength.MODERATE: 2, Strength.STRONG: 3}
# Each further item pointing the same way adds a little: two independent moderate
# findings say more than one, but weak hints never add up to strong proof.
FURTHER_ITEM_WEIGHT = 0.25
AI_STEP, CAMERA_STEP = 0.16, 0.12  # score per unit of weight; camera is never strong
AI_WAYS = (PointsTo.AI, PointsTo.AI_EDIT)


@dataclass(frozen=True)
class OriginVerdict:
    verdict: Verdict
    score: float
    reasons: tuple[str, ...]


def weigh(evidence: Iterable[Evidence]) -> OriginVerdict:
    items = sorted(evidence, key=lambda item: -WEIGHT[item.strength])
    ai = [item for item in items if item.points_to in AI_WAYS]
    camera = [item for item in items if item.points_to is PointsTo.CAMERA]
    ai_level, camera_level = _level(ai), _level(camera)
    score = min(1.0, max(0.0, 0.5 + AI_STEP * _weight(ai) - CAMERA_STEP * _weight(camera)))
    reasons = [reason(item) for item in items]
    if ai_level >= WEIGHT[Strength.MODERATE]:
        if camera_level >= ai_level:
            conflict = f"conflict: {reason(ai[0])} against {reason(camera[0])}"
            return OriginVerdict(Verdict.INCONCLUSIVE, score, (conflict, *reasons))
        return OriginVerdict(_ai_kind(ai, ai_level), score, tuple(reasons))
    if camera_level >= WEIGHT[Strength.MODERATE] and not ai:
        return OriginVerdict(Verdict.CAMERA_ORIGINAL_LIKELY, score, tuple(reasons))
    if not items:
        reasons = ["no evidence of origin found (absence of a signal is not proof)"]
    return OriginVerdict(Verdict.INCONCLUSIVE, score, tuple(reasons))


def reason(item: Evidence) -> str:
    """One evidence item as a line a reviewer can read and check."""
    direction = item.points_to.value if item.points_to is not None else "no direction"
    return f"{item.strength.value} {direction}: {item.kind}: {item.detail}"


def _level(items: Sequence[Evidence]) -> int:
    return max((WEIGHT[item.strength] for item in items), default=0)


def _weight(items: Sequence[Evidence]) -> float:
    if not items:
        return 0.0
    return min(3.0, _level(items) + FURTHER_ITEM_WEIGHT * (len(items) - 1))


def _ai_kind(ai: Sequence[Evidence], level: int) -> Verdict:
    strongest = {item.points_to for item in ai if WEIGHT[item.strength] == level}
    return Verdict.AI_EDITED if PointsTo.AI_EDIT in strongest else Verdict.AI_GENERATED
