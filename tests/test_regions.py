"""Boxes worth hashing on their own: a known picture inside a border, a screenshot or a
collage must come back as a box whose hash matches the original's."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.robustness.edits import (
    OTHERS_NEEDED,
    EditContext,
    collage,
    pad_blurred,
    pad_plain,
    screenshot,
)
from clearsight.robustness.landscapes import render_landscape
from clearsight.signals.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY, PdqSignal
from clearsight.signals.regions import MIN_SIDE, Region, find_regions

from .conftest import photo_like

Luma = npt.NDArray[np.uint8]


@cache
def landscape(seed: int) -> Image.Image:
    return Image.fromarray(render_landscape((53, seed), 480, 320))


def scanned(picture: Image.Image) -> Luma:
    """The luma the scanner hashes: the file as a q90 JPEG, fitted into 512 pixels."""
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return decode_luma(buffer.getvalue(), DecodeLimits(), 512).luma


def context(seed: int) -> EditContext:
    others = [photo_like(900 + seed * 10 + n, (400, 300)) for n in range(OTHERS_NEEDED)]
    return EditContext(np.random.default_rng(seed), others)


def best_distance(edited: Image.Image, original: Image.Image) -> tuple[int, list[Region]]:
    """The distance from the original's hash to the nearest usable region hash."""
    target = PdqSignal.hash_from_luma(scanned(original)).hex
    luma = scanned(edited)
    regions = find_regions(luma)
    distances = [PDQ_MATCH_THRESHOLD * 10]
    for region in regions:
        crop = np.ascontiguousarray(luma[region.top : region.bottom, region.left : region.right])
        pdq = PdqSignal.hash_from_luma(crop)
        if pdq.quality >= PDQ_MIN_QUALITY:
            distances.append(PdqSignal.distance(pdq.hex, target))
    return min(distances), regions


def assert_found(edited: Image.Image, original: Image.Image, name: str) -> None:
    distance, regions = best_distance(edited, original)
    assert distance <= PDQ_MATCH_THRESHOLD, (distance, regions)
    assert any(region.name.startswith(name) for region in regions), regions


@pytest.mark.parametrize("seed", [1, 2])
def test_a_plain_border_is_trimmed(seed: int) -> None:
    original = landscape(seed)
    assert_found(pad_plain(original, context(seed), per_side=0.2), original, "trim-border")


@pytest.mark.parametrize("seed", [3, 4])
def test_a_blurred_fill_is_trimmed(seed: int) -> None:
    original = landscape(seed)
    assert_found(pad_blurred(original, context(seed), per_side=0.2), original, "trim-border")


def test_a_letterbox_on_two_sides_is_trimmed() -> None:
    original = landscape(5)
    canvas = Image.new("RGB", (original.width, original.height + 120), (12, 12, 12))
    canvas.paste(original, (0, 60))
    distance, regions = best_distance(canvas, original)
    assert distance <= PDQ_MATCH_THRESHOLD, (distance, regions)
    # Only the bars are cut: the picture keeps its full width.
    assert [(region.left, region.right) for region in regions] == [(0, canvas.width)]


@pytest.mark.parametrize("seed", [6, 7])
def test_a_photo_in_a_screenshot_is_found(seed: int) -> None:
    original = landscape(seed)
    assert_found(screenshot(original, context(seed)), original, "embedded")


def collage_with_gutter(original: Image.Image, grid: int, gutter: int, seed: int) -> Image.Image:
    """A suite collage whose random gutter came out as ``gutter`` pixels."""
    for attempt in range(100):
        edited = collage(original, context(seed * 100 + attempt), grid=grid)
        cell = min(original.width, 400)
        if edited.width == grid * cell + (grid + 1) * gutter:
            return edited
    raise AssertionError(f"no collage with a {gutter}-pixel gutter")


@pytest.mark.parametrize("gutter", [0, 8])
def test_every_tile_of_a_2x2_collage_is_a_region(gutter: int) -> None:
    original = landscape(8)
    edited = collage_with_gutter(original, 2, gutter, seed=8)
    assert_found(edited, original, "grid-2x2")
    names = sorted(region.name for region in find_regions(scanned(edited)))
    assert names == [f"grid-2x2-r{row}c{column}" for row in range(2) for column in range(2)]


def test_every_tile_of_a_3x3_collage_is_a_region() -> None:
    original = landscape(9)
    edited = collage_with_gutter(original, 3, 4, seed=9)
    assert_found(edited, original, "grid-3x3")
    assert len(find_regions(scanned(edited))) == 9


def test_unedited_pictures_yield_few_regions() -> None:
    counts = [len(find_regions(scanned(landscape(seed)))) for seed in range(10, 16)]
    counts += [len(find_regions(scanned(photo_like(seed, (640, 480))))) for seed in range(3)]
    assert max(counts) <= 1 and sum(counts) <= 2, counts


def test_unedited_camera_photos_yield_few_regions(shared_data: Path) -> None:
    counts = []
    for path in sorted((shared_data / "camera").glob("*.JPG"))[:6]:
        with Image.open(path) as photo:
            photo.draft("RGB", (1024, 1024))  # decoding at full size is slow and not needed
            counts.append(len(find_regions(scanned(photo.convert("RGB")))))
    assert counts and max(counts) <= 1 and sum(counts) <= 2, counts


def test_regions_lie_inside_the_picture_and_are_big_enough() -> None:
    original = landscape(17)
    for edited in (
        pad_plain(original, context(17), per_side=0.2),
        screenshot(original, context(18)),
        collage(original, context(19), grid=3),
    ):
        luma = scanned(edited)
        height, width = luma.shape
        for region in find_regions(luma):
            assert 0 <= region.left < region.right <= width
            assert 0 <= region.top < region.bottom <= height
            assert min(region.right - region.left, region.bottom - region.top) >= MIN_SIDE


def test_small_or_flat_pictures_yield_nothing() -> None:
    assert find_regions(np.zeros((40, 512), np.uint8)) == []
    assert find_regions(np.full((300, 400), 128, np.uint8)) == []
