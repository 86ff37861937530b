"""Triage explains itself: reasons that add up to the score, series reasons said once,
bank series kept whole, and files that could not be read kept out of the queue."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from clearsight.robustness.landscapes import render_landscape
from clearsight.store.interface import MatchView, Priority, TriageItem
from clearsight.triage.priority import load_config, score_item
from clearsight.triage.run import triage

from .conftest import run_cli
from .test_triage import item as triage_item

CONFIG = load_config()
RNG = np.random.default_rng(17)
_WEIGHT = re.compile(r"\(([+-]?\d+(?:\.\d+)?)\)$")


def item(
    item_id: int,
    *,
    matches: Sequence[MatchView] = (),
    verdict: str | None = None,
    unreadable: str | None = None,
    pdq: bool = True,
) -> TriageItem:
    """test_triage's item, with a random PDQ hash unless ``pdq`` is False."""
    bits = RNG.integers(0, 2, 256).astype(np.uint8) if pdq else None
    return triage_item(item_id, bits, matches=matches, verdict=verdict, unreadable=unreadable)


def match(
    *,
    series: str | None = None,
    identified: bool | None = None,
    distance: int = 3,
    inliers: int | None = None,
    coverage: float | None = None,
    entry: int = 7,
) -> MatchView:
    return MatchView(
        bank="bank-1",
        entry_id=entry,
        external_id=f"E-{entry}",
        signal="pdq",
        distance=distance,
        transform="original",
        allow=False,
        category="test-category-1",
        series=series,
        victim_identified=identified,
        inliers=inliers,
        coverage=coverage,
    )


def weights_sum(priority: Priority) -> float:
    """The sum of the numbers in brackets that end the reasons."""
    return sum(float(found.group(1)) for r in priority.reasons if (found := _WEIGHT.search(r)))


def test_reasons_start_at_the_base_and_add_up_to_the_score() -> None:
    camera = score_item(item(1, verdict="camera-original-likely"), None, CONFIG.weights)
    assert camera.reasons[0] == "base score (50)"
    assert camera.score == 85 == weights_sum(camera)
    known = score_item(item(2, matches=[match(identified=True)]), None, CONFIG.weights)
    assert known.score == 20 == weights_sum(known)


def test_a_clamped_score_says_so_and_still_adds_up() -> None:
    # AI-generated (-55) and in a bank with an identified victim (-30): 50-85 is below 0.
    flagged = item(1, matches=[match(identified=True)], verdict="ai-generated")
    priority = score_item(flagged, None, CONFIG.weights)
    assert priority.score == 0 == weights_sum(priority)
    assert priority.reasons[-1] == "held within 0-100 (+35)"


def test_a_series_unit_says_its_membership_once_and_still_adds_up() -> None:
    items = [
        item(1, matches=[match(series="S-TEST")], verdict="camera-original-likely"),
        item(2, matches=[match(series="S-TEST", entry=8)]),
    ]
    result = triage(items, CONFIG)
    (series,) = result.series
    assert series.priority.reasons[0] == "series S-1 of 2 items"
    assert not any(r.startswith("in series S-1 with 1 other") for r in series.priority.reasons)
    assert len(set(series.priority.reasons)) == len(series.priority.reasons)
    assert series.priority.score == weights_sum(series.priority)
    # The item itself still says where it belongs.
    assert "in series S-1 with 1 other item" in result.priorities[2].reasons


def test_items_matching_one_bank_series_form_one_series_though_unalike() -> None:
    items = [
        item(1, matches=[match(series="S-TEST", entry=1)]),
        item(2, verdict="camera-original-likely"),
        item(3, matches=[match(series="S-TEST", entry=3)]),  # looks like neither
        item(4, matches=[match(series="S-OTHER", entry=4)]),
    ]
    result = triage(items, CONFIG)
    assert [(s.name, s.members) for s in result.series] == [("S-TEST", (1, 3))]


def test_a_feature_confirmed_match_says_how_in_the_reason() -> None:
    confirmed = match(distance=64, inliers=239, coverage=0.62)
    priority = score_item(item(1, matches=[confirmed]), None, CONFIG.weights)
    (reason,) = [r for r in priority.reasons if r.startswith("matched")]
    assert "pdq d=64" in reason
    assert "confirmed by 239 local features covering 62% of the picture" in reason


def test_a_file_that_could_not_be_read_is_not_queued_as_new_material() -> None:
    broken = "decode: OSError: image file is truncated"
    items = [
        item(1, unreadable=broken, pdq=False),
        item(2),
        item(3, unreadable=broken, pdq=False, matches=[match()]),  # its digest is known
    ]
    result = triage(items, CONFIG)
    assert 1 not in result.priorities
    assert result.priorities[2].reasons[1] == "unmatched: in no bank (+20)"
    known = result.priorities[3]
    assert f"could not read: {broken}" in known.reasons
    assert not any(r.startswith("unmatched") for r in known.reasons)
    alone = score_item(items[0], None, CONFIG.weights)
    assert alone.score == 50 and not any(r.startswith("unmatched") for r in alone.reasons)


def test_feature_coverage_is_the_share_of_the_pictures_feature_area_spanned() -> None:
    from clearsight.match.coverage import feature_coverage

    grid = np.array([(x, y) for x in range(0, 101, 10) for y in range(0, 101, 10)], np.float32)
    corner = grid[(grid[:, 0] <= 50) & (grid[:, 1] <= 50)]
    assert feature_coverage(grid, grid) == 1.0
    assert feature_coverage(corner, grid) == 0.25
    assert feature_coverage(corner[:2], grid) == 0.0  # two points span no area
    assert feature_coverage(None, grid) == 0.0


def test_how_a_match_was_made_is_worded_once_for_every_shell() -> None:
    from clearsight.match.explain import how_matched, match_lines

    exact = MatchView("b", 1, "E-1", "sha256", 0, "original", False, "c", None, None)
    turned = match(distance=20)
    turned = MatchView(**{**turned.__dict__, "transform": "rotate-90", "variant": "query:trim"})
    assert how_matched(exact) == "sha256 exact"
    assert how_matched(turned) == "pdq d=20, rotate-90, view trim of the item"
    md5 = MatchView(**{**exact.__dict__, "signal": "md5"})
    pdq = MatchView(**{**exact.__dict__, "signal": "pdq", "distance": 2})
    assert match_lines([exact, md5, pdq]) == [
        "bank b entry E-1: sha256 + md5 exact; pdq d=2 (category c)"
    ]


def test_queue_prints_each_path_once_under_its_source(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    (evidence / "trip").mkdir(parents=True)
    scene = Image.fromarray(render_landscape((9, 2), 480, 320))
    scene.save(evidence / "trip" / "scene.png")
    scene.resize((240, 160), Image.Resampling.LANCZOS).save(evidence / "scene-small.jpg")
    Image.fromarray(render_landscape((9, 3), 480, 320)).save(evidence / "lone.png")
    case = tmp_path / "case"
    assert run_cli("scan", evidence, "--case", case).returncode == 0
    printed = run_cli("queue", "--case", case)
    assert printed.returncode == 0, printed.stderr
    assert str(evidence) not in printed.stdout
    units = [line for line in printed.stdout.splitlines() if not line.startswith(" " * 10)]
    assert len(units) == 2
    lone = next(line for line in units if "lone.png" in line)
    assert lone.count("lone.png") == 1 and lone.split()[2] == "item"
    stack = next(line for line in units if " stack " in line)
    assert stack.endswith("first: trip/scene.png")  # the larger copy, under its source
    reasons = printed.stdout.splitlines()[1:]
    assert "          - base score (50)" in reasons
