"""The extra hashes of a picture (bank views) and the local features that confirm pairs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.robustness.edits import OTHERS_NEEDED, EditContext, crop, edit_named, rotate
from clearsight.robustness.landscapes import render_landscape
from clearsight.signals.features import (
    LocalFeatures,
    extract,
    stretched,
    uint8_percentiles,
    verify,
)
from clearsight.signals.pdq import PDQ_MATCH_THRESHOLD, PdqSignal
from clearsight.signals.variants import (
    BANK_CROP_SCALES,
    VariantHash,
    bank_views,
    centre_crop,
    format_variants,
    hash_views,
    parse_variants,
    quadrants,
    query_views,
    rotated,
)

NO_CONTEXT = EditContext(np.random.default_rng(0), ())


def landscape(seed: int, width: int = 480, height: int = 320) -> Image.Image:
    return Image.fromarray(render_landscape((41, seed), width, height))


def luma(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture.convert("L"))


def jpeg_luma(data: bytes, box: int) -> np.ndarray:
    return decode_luma(data, DecodeLimits(), box).luma


def test_small_regions_are_cut_from_a_larger_decode() -> None:
    original = landscape(6, 960, 640)
    others = [landscape(60 + n, 640, 427) for n in range(OTHERS_NEEDED)]
    context = EditContext(np.random.default_rng(2), others)
    collage = edit_named("collage-3x3").apply(original, context)
    buffer = io.BytesIO()
    collage.save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    small = jpeg_luma(data, 512)
    boxes: list[int] = []

    def sharper(box: int) -> np.ndarray:
        boxes.append(box)
        return jpeg_luma(data, box)

    plain, sharp = dict(query_views(small)), dict(query_views(small, sharper))
    assert boxes and boxes[0] > 512
    assert plain.keys() == sharp.keys() and sum(name.startswith("grid-") for name in sharp) == 9
    assert all(sharp[name].shape[1] > 2 * plain[name].shape[1] for name in sharp)
    target = PdqSignal.hash_from_luma(jpeg_luma(original_jpeg(original), 512)).hex

    def best(views: dict[str, np.ndarray]) -> int:
        return min(PdqSignal.distance(view.hex, target) for view in hash_views(views.items(), ""))

    # The original's tile hashes closer from the file's own pixels than from the 512 box.
    assert best(sharp) < best(plain)
    assert best(sharp) <= PDQ_MATCH_THRESHOLD


def original_jpeg(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_no_larger_decode_for_a_picture_without_regions() -> None:
    def sharper(box: int) -> np.ndarray:
        raise AssertionError(f"decoded again at {box}")

    assert query_views(luma(landscape(7, 640, 427)), sharper) == []


def test_bank_views_are_named_crops_turns_and_quadrants() -> None:
    views = dict(bank_views(luma(landscape(1))))
    assert [f"crop-{scale:.2f}" for scale in BANK_CROP_SCALES] == [
        name for name in views if name.startswith("crop-")
    ]
    assert {"rotate+2-corners", "rotate-6-cropped", "quadrant-tl", "quadrant-br"} <= set(views)
    assert all(len(name) <= 16 for name in views)  # bank signal kinds are 20 characters
    assert views["crop-0.76"].shape == (243, 365)


def test_centre_crop_and_quadrants_cover_what_they_say() -> None:
    picture = np.arange(100 * 60, dtype=np.uint32).reshape(60, 100).astype(np.uint8)
    cropped = centre_crop(picture, 0.5)
    assert cropped.shape == (30, 50)
    assert cropped[0, 0] == picture[15, 25]
    parts = dict(quadrants(picture))
    assert parts["quadrant-br"][0, 0] == picture[30, 50]
    assert sum(part.size for part in parts.values()) == picture.size


def test_a_turn_keeps_black_corners_or_is_cut_to_picture() -> None:
    grey = np.full((200, 300), 200, dtype=np.uint8)
    with_corners = rotated(grey, 6, corners=True)
    assert with_corners.shape == grey.shape
    assert with_corners[0, 0] == 0 and with_corners[100, 150] == 200
    cut = rotated(grey, 6, corners=False)
    assert cut.shape[0] < 200 and cut.shape[1] < 300
    assert cut.min() > 150  # no black left at the cut


def test_a_bank_crop_hash_meets_a_copy_cropped_that_much() -> None:
    original = landscape(2)
    copy = crop(original, NO_CONTEXT, per_side=0.06)  # the 0.88 view keeps 6% per side less
    views = dict(bank_views(luma(original)))
    copy_hash = PdqSignal.hash_from_luma(luma(copy)).hex
    whole = PdqSignal.hash_from_luma(luma(original)).hex
    bank_crop = PdqSignal.hash_from_luma(np.ascontiguousarray(views["crop-0.88"])).hex
    assert PdqSignal.distance(copy_hash, bank_crop) <= 31 < PdqSignal.distance(copy_hash, whole)


def test_hash_views_drops_flat_views_and_repeats() -> None:
    textured = luma(landscape(3))
    flat = np.full((100, 100), 128, dtype=np.uint8)
    original = PdqSignal.hash_from_luma(textured).hex
    hashes = hash_views([("same", textured), ("flat", flat), ("tiny", textured[:8, :8])], original)
    assert hashes == []
    kept = hash_views([("left", textured[:, :240]), ("again", textured[:, :240])], original)
    assert [variant.name for variant in kept] == ["left"]


def test_stored_variants_read_back() -> None:
    variants = (
        VariantHash("trim-border", "ab" * 32, 90),
        VariantHash("grid-2x2-r0c1", "0" * 64, 55),
    )
    assert parse_variants(format_variants(variants)) == variants
    assert parse_variants("") == ()


def test_features_pack_to_text_and_back() -> None:
    features = extract(luma(landscape(4)))
    assert len(features) > 100
    again = LocalFeatures.from_text(features.to_text())
    assert np.array_equal(again.points, features.points)
    assert np.array_equal(again.descriptors, features.descriptors)
    with pytest.raises(ValueError, match="truncated"):
        LocalFeatures.from_text(features.to_text()[:-8])


@pytest.mark.parametrize("degrees", [5, -3])
def test_features_confirm_a_turned_and_cropped_copy(degrees: int) -> None:
    original = landscape(5, 640, 427)
    copy = rotate(
        crop(original, NO_CONTEXT, per_side=0.08), NO_CONTEXT, degrees=degrees, corners=False
    )
    verdict = verify(extract(luma(copy)), extract(luma(original)))
    assert verdict.confirmed, verdict


def test_features_confirm_a_crop_of_a_dark_picture() -> None:
    # A night scene: the whole picture within 0-30 of 255, too flat for ORB's corner test
    # until it is stretched.
    dark = (luma(landscape(8, 640, 427)).astype(np.float32) * 0.12).astype(np.uint8)
    copy = crop(Image.fromarray(dark), NO_CONTEXT, per_side=0.1)
    assert int(stretched(dark).max()) == 255
    verdict = verify(extract(luma(copy)), extract(dark))
    assert verdict.confirmed, verdict


def test_features_do_not_confirm_unrelated_pictures() -> None:
    originals = [extract(luma(landscape(seed, 640, 427))) for seed in range(10, 16)]
    for first, a in enumerate(originals):
        for b in originals[first + 1 :]:
            verdict = verify(a, b)
            assert not verdict.confirmed, verdict


def test_stretch_percentiles_are_numpys() -> None:
    """The histogram's percentiles are np.percentile's, bit for bit, on pictures of
    every spread (flat, narrow, full, tiny), and the stretch is the float32 formula."""
    rng = np.random.default_rng(11)
    for index in range(600):
        height, width = (int(side) for side in rng.integers(1, 300, 2))
        spread = float(rng.uniform(0.5, 90))
        noise = rng.normal(rng.uniform(0, 255), spread, (height, width))
        picture = np.clip(noise, 0, 255).astype(np.uint8)
        expected = np.percentile(picture, (1, 99))
        assert uint8_percentiles(picture, (1, 99)) == [expected[0], expected[1]], index
        low, high = expected
        if high - low >= 1:
            scaled = (picture.astype(np.float32) - np.float32(low)) * np.float32(255 / (high - low))
            reference = np.clip(scaled, 0, 255).astype(np.uint8)
            assert np.array_equal(stretched(picture), reference), index
