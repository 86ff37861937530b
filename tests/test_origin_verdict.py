"""The verdict rules: what each mix of evidence gives, and the reasons it lists."""

from __future__ import annotations

from clearsight.origin.evidence import Evidence, PointsTo, Strength
from clearsight.origin.verdict import Verdict, weigh

AI, EDIT, CAMERA = PointsTo.AI, PointsTo.AI_EDIT, PointsTo.CAMERA
WEAK, MODERATE, STRONG = Strength.WEAK, Strength.MODERATE, Strength.STRONG


def item(points_to: PointsTo | None, strength: Strength, kind: str = "test") -> Evidence:
    return Evidence(kind, points_to, strength, f"{kind} detail", prompt="a lighthouse at dusk")


def test_no_evidence_is_inconclusive_and_says_so() -> None:
    found = weigh([])
    assert found.verdict is Verdict.INCONCLUSIVE
    assert found.score == 0.5
    assert "absence" in found.reasons[0]


def test_strong_ai_evidence_gives_ai_generated() -> None:
    found = weigh([item(AI, STRONG, "c2pa")])
    assert found.verdict is Verdict.AI_GENERATED
    assert found.score > 0.9
    assert found.reasons == ("strong ai: c2pa: c2pa detail",)


def test_moderate_ai_evidence_is_enough_but_scores_lower() -> None:
    moderate, strong = weigh([item(AI, MODERATE)]), weigh([item(AI, STRONG)])
    assert moderate.verdict is Verdict.AI_GENERATED
    assert 0.5 < moderate.score < strong.score


def test_weak_ai_evidence_alone_is_inconclusive() -> None:
    found = weigh([item(AI, WEAK)])
    assert found.verdict is Verdict.INCONCLUSIVE
    assert found.score > 0.5


def test_an_edit_claim_wins_a_tie_with_a_generation_claim() -> None:
    found = weigh([item(AI, STRONG, "watermark"), item(EDIT, STRONG, "c2pa")])
    assert found.verdict is Verdict.AI_EDITED
    weaker_edit = weigh([item(AI, STRONG, "watermark"), item(EDIT, MODERATE, "xmp")])
    assert weaker_edit.verdict is Verdict.AI_GENERATED


def test_conflicting_evidence_of_equal_strength_is_inconclusive_and_named() -> None:
    for strength in (MODERATE, STRONG):
        found = weigh([item(AI, strength, "xmp"), item(CAMERA, strength, "camera-exif")])
        assert found.verdict is Verdict.INCONCLUSIVE
        assert found.reasons[0].startswith("conflict: ")
        assert "xmp" in found.reasons[0] and "camera-exif" in found.reasons[0]


def test_strong_ai_evidence_outweighs_forgeable_camera_evidence_but_lists_it() -> None:
    found = weigh([item(CAMERA, MODERATE, "camera-exif"), item(AI, STRONG, "generator")])
    assert found.verdict is Verdict.AI_GENERATED
    assert [line.split(":")[0] for line in found.reasons] == ["strong ai", "moderate camera"]


def test_camera_original_likely_needs_moderate_camera_evidence_and_no_ai() -> None:
    found = weigh([item(CAMERA, MODERATE, "camera-exif"), item(CAMERA, WEAK, "quant")])
    assert found.verdict is Verdict.CAMERA_ORIGINAL_LIKELY
    assert found.score < 0.3
    assert weigh([item(CAMERA, WEAK)]).verdict is Verdict.INCONCLUSIVE
    with_hint = weigh([item(CAMERA, MODERATE), item(AI, WEAK)])
    assert with_hint.verdict is Verdict.INCONCLUSIVE


def test_findings_without_direction_are_listed_not_dropped() -> None:
    tampered = item(None, WEAK, "c2pa")
    found = weigh([tampered, item(CAMERA, MODERATE, "camera-exif")])
    assert found.verdict is Verdict.CAMERA_ORIGINAL_LIKELY
    assert "weak no direction: c2pa: c2pa detail" in found.reasons


def test_many_weak_hints_never_add_up_to_a_verdict() -> None:
    found = weigh([item(AI, WEAK, f"hint-{n}") for n in range(10)])
    assert found.verdict is Verdict.INCONCLUSIVE
    assert found.score <= 0.5 + 0.16 * 3


def test_prompt_text_never_reaches_the_reasons() -> None:
    found = weigh([item(AI, STRONG), item(EDIT, MODERATE), item(None, WEAK)])
    assert not any("lighthouse" in line for line in found.reasons)
