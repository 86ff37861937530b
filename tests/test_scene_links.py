"""Scene links: edited copies that share a scene are found and confirmed; others are not.

Fixtures are generated landscapes and the shared camera photos, edited here: a crop, a
region replaced by a patch of another picture, a recoloured copy, a tile of a 2x2
collage and a small turn.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.robustness.edits import EditContext, collage, rotate
from clearsight.robustness.landscapes import render_landscape
from clearsight.series.scene_links import (
    BRUTE_FORCE_BELOW,
    COMMON_WORD_ITEMS,
    MAX_RADIUS,
    MIN_SHARED_WORDS,
    SCENE_RADIUS,
    SceneGeometry,
    SceneLink,
    candidate_pairs,
    confirm,
    covered_share,
    feature_candidate_pairs,
    feature_words,
)
from clearsight.signals.features import LocalFeatures, Verification, extract
from clearsight.signals.pdq import PDQ_WORKING_BOX, PdqSignal
from clearsight.signals.scene import SCENE_BOX, SCENE_CROP_SCALES, scene_views
from clearsight.signals.variants import hash_views, inscribed_scale, query_views

Luma = npt.NDArray[np.uint8]
TRIPOD = ("Nikon_D200_0_14902", "Nikon_D70_0_19445", "Nikon_D70_1_20543", "Nikon_D70s_1_22750")


@dataclass(frozen=True)
class Scanned:
    """A picture as the scan sees it: luma in the 512 box, hashes kept, ORB features."""

    luma: Luma
    codes: tuple[str, ...]
    features: LocalFeatures

    @property
    def size(self) -> tuple[int, int]:
        return self.luma.shape[1], self.luma.shape[0]


def scanned(data: bytes) -> Scanned:
    luma = decode_luma(data, DecodeLimits(), PDQ_WORKING_BOX).luma
    pdq = PdqSignal.hash_from_luma(luma)
    views = hash_views([*query_views(luma), *scene_views(luma)], pdq.hex)
    return Scanned(luma, (pdq.hex, *(v.hex for v in views)), extract(luma))


def scanned_picture(picture: Image.Image) -> Scanned:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return scanned(buffer.getvalue())


def landscape(seed: int, width: int = 720, height: int = 480) -> Image.Image:
    return Image.fromarray(render_landscape((61, seed), width, height))


def crop_sides(picture: Image.Image, sides: tuple[float, float, float, float]) -> Image.Image:
    left, top, right, bottom = sides
    w, h = picture.size
    return picture.crop(
        (round(left * w), round(top * h), round(w - right * w), round(h - bottom * h))
    )


def with_patch(picture: Image.Image, donor: Image.Image, share: float) -> Image.Image:
    """A square of ``share`` of the area, off centre, replaced by part of ``donor``."""
    side = round(math.sqrt(share * picture.width * picture.height))
    edited = picture.copy()
    edited.paste(
        donor.crop((40, 30, 40 + side, 30 + side)), (picture.width // 8, picture.height // 8)
    )
    return edited


def hue_shifted(picture: Image.Image, steps: int) -> Image.Image:
    hsv = np.asarray(picture.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + steps) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def colour_balanced(picture: Image.Image) -> Image.Image:
    gains = np.array([1.3, 0.9, 0.7], np.float32)
    return Image.fromarray(
        np.clip(np.asarray(picture, np.float32) * gains, 0, 255).astype(np.uint8)
    )


ORIGINAL = 0
# name -> (edit, expected scale from the original's 512 box to the copy's). A crop of
# 10-20% per side is drawn larger into the box; a collage tile is drawn at half size.
EDITS: dict[str, tuple[Callable[[Image.Image, list[Image.Image]], Image.Image], float]] = {
    "crop": (lambda p, _: crop_sides(p, (0.12, 0.18, 0.16, 0.10)), 1 / 0.72),
    "crop-centred": (lambda p, _: crop_sides(p, (0.075,) * 4), 1 / 0.85),
    "patch": (lambda p, others: with_patch(p, others[0], 0.2), 1.0),
    "hue": (lambda p, _: hue_shifted(p, 90), 1.0),
    "colour-balance": (lambda p, _: colour_balanced(p), 1.0),
    "collage": (
        lambda p, others: collage(p, EditContext(np.random.default_rng(3), others), grid=2),
        0.5,
    ),
    "turn": (
        lambda p, _: rotate(p, EditContext(np.random.default_rng(0), ()), degrees=3, corners=False),
        1 / inscribed_scale(720, 480, 3),  # cut to the largest upright rectangle
    ),
}
# The edits PDQ retrieval is made to find: the own hash finds recolours, quadrants a
# replaced region, the query views a collage tile, and the crop views centred crops at
# their scales. Off-centre crops and turns move every PDQ hash too far (see scene.py).
RETRIEVABLE = ("crop-centred", "patch", "hue", "colour-balance", "collage")


@pytest.fixture(scope="module")
def fixtures() -> dict[str, Scanned]:
    original = landscape(ORIGINAL)
    others = [landscape(100 + n, 640, 427) for n in range(3)]
    found = {"original": scanned_picture(original)}
    for name, (edit, _) in EDITS.items():
        found[name] = scanned_picture(edit(original, others))
    for seed in range(1, 6):
        found[f"unrelated-{seed}"] = scanned_picture(landscape(seed))
    return found


@pytest.fixture(scope="module")
def camera(shared_data: Path) -> dict[str, Scanned]:
    return {
        path.stem: scanned(path.read_bytes())
        for path in sorted((shared_data / "camera").glob("*.JPG"))
    }


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_copy_is_confirmed_with_its_geometry(
    fixtures: dict[str, Scanned], edit: str
) -> None:
    original, copy = fixtures["original"], fixtures[edit]
    found = confirm(original.features, original.size, copy.features, copy.size)
    assert found is not None, edit
    _, scale = EDITS[edit]
    assert found.scale == pytest.approx(scale, rel=0.04)
    # PIL turns anticlockwise; the link counts clockwise as seen.
    assert found.degrees == pytest.approx(-3 if edit == "turn" else 0, abs=0.5)
    # Each copy lies inside the original's frame, or holds all of the original.
    assert found.overlap > 0.95
    assert found.inliers >= 20 and 0 < found.strength <= found.overlap


def test_a_link_says_why_in_words(fixtures: dict[str, Scanned]) -> None:
    original, crop = fixtures["original"], fixtures["crop"]
    found = confirm(crop.features, crop.size, original.features, original.size)
    assert found is not None
    link = SceneLink.between(7, 9, found)
    assert (link.item_a, link.item_b, link.inliers) == (7, 9, found.inliers)
    assert link.reason.startswith(f"shares {found.overlap:.0%} of the scene ({found.inliers} ")
    assert f"scaled {found.scale:.2f}" in link.reason
    assert link.strength == found.strength


def test_unrelated_landscapes_are_not_linked(fixtures: dict[str, Scanned]) -> None:
    pictures = [fixtures["original"], *(fixtures[f"unrelated-{n}"] for n in range(1, 6))]
    for a, b in itertools.permutations(pictures, 2):
        assert confirm(a.features, a.size, b.features, b.size) is None


def test_unrelated_camera_photos_are_not_linked(camera: dict[str, Scanned]) -> None:
    apart = [photo for name, photo in camera.items() if name not in TRIPOD]
    assert len(apart) == 12
    for a, b in itertools.combinations(apart, 2):
        assert confirm(a.features, a.size, b.features, b.size) is None


def test_photos_from_one_tripod_share_their_scene(camera: dict[str, Scanned]) -> None:
    for a, b in itertools.combinations((camera[name] for name in TRIPOD), 2):
        found = confirm(a.features, a.size, b.features, b.size)
        assert found is not None and found.overlap > 0.9


def test_retrieval_finds_the_edits_it_is_made_for(fixtures: dict[str, Scanned]) -> None:
    names = list(fixtures)
    pairs = candidate_pairs(range(len(names)), [list(s.codes) for s in fixtures.values()])
    found = {(names[a], names[b]) for a, b in pairs}
    assert {("original", edit) for edit in RETRIEVABLE} <= found
    # Nothing unrelated comes back: every pair holds the original or two of its copies.
    assert all(not a.startswith("unrelated") and not b.startswith("unrelated") for a, b in found)


def test_feature_words_retrieve_what_pdq_cannot(fixtures: dict[str, Scanned]) -> None:
    names = list(fixtures)
    pairs = feature_candidate_pairs(range(len(names)), [s.features for s in fixtures.values()])
    found = {(names[a], names[b]) for a, b in pairs}
    # The off-centre crop and the turn move every PDQ hash too far; their words stay.
    assert {("original", "crop"), ("original", "turn")} <= found
    assert all(not a.startswith("unrelated") and not b.startswith("unrelated") for a, b in found)


def test_feature_words_retrieve_the_tripod_photos_and_nothing_else(
    camera: dict[str, Scanned],
) -> None:
    names = list(camera)
    pairs = feature_candidate_pairs(range(len(names)), [s.features for s in camera.values()])
    assert {(names[a], names[b]) for a, b in pairs} == set(itertools.combinations(TRIPOD, 2))


def random_features(rng: np.random.Generator, count: int) -> LocalFeatures:
    return LocalFeatures(
        rng.random((count, 2), dtype=np.float32) * 512, rng.integers(0, 256, (count, 32), np.uint8)
    )


def with_noise(features: LocalFeatures, flips: int, rng: np.random.Generator) -> LocalFeatures:
    """The same keypoints, each descriptor with ``flips`` bits changed."""
    bits = np.unpackbits(features.descriptors, axis=1)
    for row in bits:
        row[rng.choice(256, flips, replace=False)] ^= 1
    return LocalFeatures(features.points, np.packbits(bits, axis=1))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 8), st.integers(0, 40))
def test_feature_candidate_pairs_count_shared_words(seed: int, count: int, flips: int) -> None:
    rng = np.random.default_rng(seed)
    items = [random_features(rng, int(rng.integers(0, 60))) for _ in range(count)]
    items.append(with_noise(items[0], flips, rng))  # a copy of the first, a little changed
    ids = [int(v) for v in rng.choice(10**9, len(items), replace=False)]
    words = [set(feature_words(item).tolist()) for item in items]
    expected = {
        (min(ids[a], ids[b]), max(ids[a], ids[b]))
        for a, b in itertools.combinations(range(len(items)), 2)
        if len(words[a] & words[b]) >= MIN_SHARED_WORDS
    }
    assert feature_candidate_pairs(ids, items) == sorted(expected)


def test_words_held_by_too_many_items_are_ignored() -> None:
    rng = np.random.default_rng(1)
    shared = random_features(rng, 50)
    few = feature_candidate_pairs(range(3), [shared] * 3)
    assert few == [(0, 1), (0, 2), (1, 2)]
    assert (
        feature_candidate_pairs(range(COMMON_WORD_ITEMS + 1), [shared] * (COMMON_WORD_ITEMS + 1))
        == []
    )


def test_feature_candidate_pairs_refuse_what_they_cannot_answer() -> None:
    empty = LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    assert feature_candidate_pairs([3, 4], [empty, empty]) == []
    with pytest.raises(ValueError, match="distinct"):
        feature_candidate_pairs([1, 1], [empty, empty])
    with pytest.raises(ValueError, match="one set"):
        feature_candidate_pairs([1, 2], [empty])


def test_quadrants_keep_their_hashes_beside_a_replaced_region(
    fixtures: dict[str, Scanned],
) -> None:
    original, patched = fixtures["original"], fixtures["patch"]
    assert PdqSignal.distance(original.codes[0], patched.codes[0]) > SCENE_RADIUS
    kept = dict(scene_views(original.luma)), dict(scene_views(patched.luma))
    # The patch sits in the top left quadrant; the bottom right one is untouched.
    same = [PdqSignal.hash_from_luma(np.ascontiguousarray(v["quadrant-br"])).hex for v in kept]
    assert PdqSignal.distance(*same) <= 16


def test_scene_views_are_the_quadrants_and_centre_crops() -> None:
    luma = np.arange(240 * 180, dtype=np.uint32).reshape(180, 240).astype(np.uint8)
    views = dict(scene_views(luma))
    assert len(views) == 4 + len(SCENE_CROP_SCALES) <= 6
    assert views["quadrant-br"].shape == (90, 120)
    for scale in SCENE_CROP_SCALES:
        crop = views[f"crop-{scale:.2f}"]
        assert crop.shape == (round(180 * scale), round(240 * scale))
        top, left = (180 - crop.shape[0]) // 2, (240 - crop.shape[1]) // 2
        assert np.array_equal(crop, luma[top : top + crop.shape[0], left : left + crop.shape[1]])


def test_scene_views_of_a_larger_picture_are_cut_from_it_fitted_into_the_box() -> None:
    luma = np.full((384, 512), 7, dtype=np.uint8)
    views = dict(scene_views(luma))
    assert max(views["quadrant-tl"].shape) * 2 == SCENE_BOX
    assert views["quadrant-tl"].shape == (96, 128)


def near(code: str, flips: list[int]) -> str:
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(code), np.uint8))
    bits[flips] ^= 1
    return bytes(np.packbits(bits)).hex()


def naive_pairs(ids: list[int], codes: list[list[str]], radius: int) -> set[tuple[int, int]]:
    return {
        (min(a, b), max(a, b))
        for (a, mine), (b, theirs) in itertools.combinations(zip(ids, codes, strict=True), 2)
        if any(PdqSignal.distance(x, y) <= radius for x in mine for y in theirs)
    }


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=12, unique=True),
    st.data(),
)
def test_candidate_pairs_agree_with_comparing_every_pair(
    ids: list[int], data: st.DataObject
) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    codes = [[bytes(rng.integers(0, 256, 32, np.uint8)).hex() for _ in range(3)] for _ in ids]
    for _ in range(data.draw(st.integers(0, 6))):  # plant codes near another item's
        a, b = data.draw(st.integers(0, len(ids) - 1)), data.draw(st.integers(0, len(ids) - 1))
        flips = data.draw(st.lists(st.integers(0, 255), max_size=40, unique=True))
        codes[b].append(near(codes[a][0], flips))
    radius = data.draw(st.sampled_from([0, 16, SCENE_RADIUS, 40]))
    pairs = candidate_pairs(ids, codes, radius)
    assert pairs == sorted(set(pairs))
    assert all(a < b for a, b in pairs)
    assert set(pairs) == naive_pairs(ids, codes, radius)


def test_candidate_pairs_on_the_multi_index_find_what_brute_force_finds() -> None:
    rng = np.random.default_rng(4)
    count, per_item = 1_000, 8
    assert count * per_item >= BRUTE_FORCE_BELOW  # the multi-index path
    raw = rng.integers(0, 256, (count, per_item, 32), np.uint8)
    planted = set()
    for n in range(300):
        a, b = 2 * n, 2 * n + 1
        bits = np.unpackbits(raw[a, n % per_item])
        bits[rng.choice(256, int(rng.integers(0, SCENE_RADIUS + 1)), replace=False)] ^= 1
        raw[b, (n + 3) % per_item] = np.packbits(bits)
        planted.add((10 * a, 10 * b))
    codes = [[bytes(code).hex() for code in item] for item in raw]
    pairs = candidate_pairs([10 * n for n in range(count)], codes, SCENE_RADIUS)
    # Random 256-bit codes lie about 128 bits apart: only the planted pairs are close.
    assert set(pairs) == planted and len(pairs) == len(planted)


def test_candidate_pairs_refuse_what_they_cannot_answer() -> None:
    code = "0" * 64
    with pytest.raises(ValueError, match="distinct"):
        candidate_pairs([1, 1], [[code], [code]])
    with pytest.raises(ValueError, match="one list"):
        candidate_pairs([1, 2], [[code]])
    with pytest.raises(ValueError, match="radius"):
        candidate_pairs([1, 2], [[code], [code]], MAX_RADIUS + 1)
    assert candidate_pairs([1, 2], [[], []]) == []
    assert candidate_pairs([5, 2], [[code], [code]]) == [(2, 5)]


def similarity(degrees: float, scale: float, shift: tuple[float, float]) -> npt.NDArray[np.float64]:
    theta = math.radians(degrees)
    return np.array(
        [
            [scale * math.cos(theta), -scale * math.sin(theta), shift[0]],
            [scale * math.sin(theta), scale * math.cos(theta), shift[1]],
        ]
    )


def test_covered_share_of_simple_layouts() -> None:
    assert covered_share(similarity(0, 1, (0, 0)), (400, 300), (400, 300)) == pytest.approx(1)
    assert covered_share(similarity(0, 1, (200, 0)), (400, 300), (400, 300)) == pytest.approx(0.5)
    # A picture drawn at half size inside a larger one is all covered.
    assert covered_share(similarity(0, 0.5, (10, 10)), (400, 300), (400, 300)) == pytest.approx(1)
    assert covered_share(similarity(0, 1, (500, 0)), (400, 300), (400, 300)) == 0
    # Turned 90 degrees about the centre, a 400x300 picture keeps a 300x300 square.
    turned = similarity(90, 1, (350, -50))
    assert covered_share(turned, (400, 300), (400, 300)) == pytest.approx(0.75, abs=1e-3)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-180, 180),
    st.floats(0.3, 3),
    st.tuples(st.floats(-300, 300), st.floats(-300, 300)),
    st.tuples(st.integers(50, 600), st.integers(50, 600)),
    st.tuples(st.integers(50, 600), st.integers(50, 600)),
)
def test_covered_share_is_the_same_seen_from_either_picture(
    degrees: float,
    scale: float,
    shift: tuple[float, float],
    size_a: tuple[int, int],
    size_b: tuple[int, int],
) -> None:
    forward = similarity(degrees, scale, shift)
    backward = np.linalg.inv(np.vstack([forward, [0, 0, 1]]))[:2]
    share = covered_share(forward, size_a, size_b)
    assert 0 <= share <= 1
    assert share == pytest.approx(covered_share(backward, size_b, size_a), abs=1e-3)


def test_strength_grows_with_overlap_and_agreeing_features() -> None:
    weak = SceneGeometry(pairs=40, inliers=25, overlap=0.5, degrees=0, scale=1, matched_area=0.4)
    assert weak.strength == pytest.approx(0.5 * 25 / 100)
    assert SceneGeometry(80, 60, 0.5, 0, 1, 0.4).strength > weak.strength
    assert SceneGeometry(40, 25, 0.9, 0, 1, 0.4).strength > weak.strength
    assert SceneGeometry(400, 300, 0.9, 0, 1, 0.4).strength == pytest.approx(0.9)


def test_verification_without_a_matrix_still_compares_as_before() -> None:
    assert Verification(30, 25) == Verification(30, 25, np.eye(2, 3))
    assert Verification(30, 25).matrix is None


@pytest.mark.parametrize("shape", [(1, 1), (5, 400), (31, 31), (40, 3000)])
def test_a_picture_too_small_for_a_keypoint_has_none_and_no_error(
    shape: tuple[int, int],
) -> None:
    luma = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    assert len(extract(luma)) == 0
