"""Held-out: pictures in frames and collages drawn at random are still found by PDQ.

The copies are made by :mod:`clearsight.robustness.random_edits` with a fixed seed, from
the **eval** half of the shared photos and landscapes of the eval seed
(:mod:`clearsight.robustness.held_out`), which the frame finders were not tuned on. A
copy is found when any hash a scan makes of it (the picture, its rotations and flips,
its views) lies within the match threshold of its original's hash, as a bank holding
only that hash would match it.
"""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.robustness.held_out import LANDSCAPE_SEEDS, split_photos
from clearsight.robustness.landscapes import render_landscape
from clearsight.robustness.random_edits import OTHERS_NEEDED, family_named
from clearsight.signals.frames import collage_tiles, content_boxes
from clearsight.signals.pdq import PDQ_MATCH_THRESHOLD, PdqSignal
from clearsight.signals.variants import hash_views, query_views

DRAWS = 12
# Floors a little under what the eval half measured when these finders were written
# (benchmarks/robust_matching.py reports the full figures): a regression shows here.
FLOORS = {
    # A banner hides what it covers: filled in, about half come within reach.
    "banner": 0.25,
    "caption": 0.9,
    "pad": 0.75,
    "screenshot": 0.75,
    "collage": 0.6,
    "flip": 0.9,
    "quarter-turn": 0.9,
}


def jpeg(picture: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def luma_of(data: bytes, box: int = 512) -> np.ndarray:
    return decode_luma(data, DecodeLimits(), box).luma


@pytest.fixture(scope="module")
def bases(shared_data: Path) -> list[Image.Image]:
    photos = [picture for _, picture in split_photos(shared_data, "eval", longest=800)][:4]
    seed = LANDSCAPE_SEEDS["eval"]
    return photos + [Image.fromarray(render_landscape((seed, n), 720, 480)) for n in range(4)]


@pytest.fixture(scope="module")
def others() -> list[Image.Image]:
    return [Image.fromarray(render_landscape((991, n), 480, 320)) for n in range(OTHERS_NEEDED)]


def scan_codes(data: bytes) -> list[str]:
    luma = luma_of(data)
    pdq = PdqSignal.hash_from_luma(luma)
    views = hash_views(query_views(luma, partial(luma_of, data)), pdq.hex)
    return [pdq.hex, *pdq.dihedral, *(view.hex for view in views)]


@pytest.mark.parametrize("family", sorted(FLOORS))
def test_a_hash_list_finds_copies_edited_at_random(
    bases: list[Image.Image], others: list[Image.Image], family: str
) -> None:
    originals = [PdqSignal.hash_from_luma(luma_of(jpeg(base, 92))).hex for base in bases]
    rng = np.random.default_rng(sum(map(ord, family)))
    found = 0
    for draw in range(DRAWS):
        number = draw % len(bases)
        copy = family_named(family).apply(bases[number], rng, others)
        codes = scan_codes(jpeg(copy, int(rng.integers(70, 96))))
        distances = [[PdqSignal.distance(code, h) for code in codes] for h in originals]
        found += min(distances[number]) <= PDQ_MATCH_THRESHOLD
        # ... and never meets another base (different scenes, whatever the views).
        for other, row in enumerate(distances):
            if other != number:
                assert min(row) > PDQ_MATCH_THRESHOLD, (family, draw, other)
    assert found / DRAWS >= FLOORS[family], (family, found)


def test_content_boxes_find_a_picture_in_any_plain_or_striped_pad(
    others: list[Image.Image],
) -> None:
    rng = np.random.default_rng(5)
    placed = 0
    for draw in range(12):
        picture = others[draw]
        sides = [round(float(rng.uniform(0.1, 0.6)) * picture.width) for _ in range(4)]
        if draw % 3 == 1:
            sides[0] = sides[2] = 0  # a letterbox
        elif draw % 3 == 2:
            sides[1] = sides[3] = 0  # a pillarbox
        left, top, right, bottom = sides
        size = (picture.width + left + right, picture.height + top + bottom)
        canvas = _fill(size, rng, striped=draw % 2 == 1)
        canvas.paste(picture, (left, top))
        luma = luma_of(jpeg(canvas))
        scale = luma.shape[1] / size[0]
        want = (
            left * scale,
            top * scale,
            (left + picture.width) * scale,
            (top + picture.height) * scale,
        )
        placed += any(
            max(
                abs(got - at)
                for got, at in zip((b.left, b.top, b.right, b.bottom), want, strict=True)
            )
            <= 3
            for b in content_boxes(luma)
        )
    assert placed >= 9


def _fill(size: tuple[int, int], rng: np.random.Generator, *, striped: bool) -> Image.Image:
    first = tuple(int(v) for v in rng.integers(0, 256, 3))
    if not striped:
        return Image.new("RGB", size, first)
    second = np.array(rng.integers(0, 256, 3), np.uint8)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    angle, period = float(rng.uniform(0, np.pi)), int(rng.integers(6, 30))
    mask = ((xs * np.cos(angle) + ys * np.sin(angle)) // period).astype(np.int64) % 2 == 0
    return Image.fromarray(np.where(mask[..., None], np.array(first, np.uint8), second))


def test_an_unframed_picture_has_no_content_box_or_tiles(bases: list[Image.Image]) -> None:
    for base in bases:
        luma = luma_of(jpeg(base))
        assert content_boxes(luma) == [] or len(content_boxes(luma)) <= 1
        assert collage_tiles(luma) == []


def test_collage_tiles_follow_the_grid_whatever_its_size(others: list[Image.Image]) -> None:
    rng = np.random.default_rng(8)
    shapes = []
    for draw in range(12):
        copy = family_named("collage").apply(others[draw], rng, others)
        tiles = collage_tiles(luma_of(jpeg(copy)))
        shapes.append(len(tiles))
    # A seam between two similar tiles (sky beside sky) can be too faint to see.
    assert sum(count in (4, 9, 16) for count in shapes) >= 8, shapes


@pytest.mark.parametrize("gutter", [0, 6, 12])
def test_a_tile_is_cut_on_its_own_edges_at_the_files_resolution(
    others: list[Image.Image], gutter: int
) -> None:
    # Found in the 512-pixel box, a seam is a few pixels out in a decode 3 times
    # larger; the cut is placed again on the tile's edges there (a gutter of the
    # tile's own edge colour included).
    cell = (400, 266)
    size = (4 * cell[0] + 5 * gutter, 4 * cell[1] + 5 * gutter)
    collage = Image.new("RGB", size, (128, 128, 128))
    for at in range(16):
        row, column = divmod(at, 4)
        tile = others[at % len(others)].resize(cell)
        collage.paste(
            tile, (gutter + column * (cell[0] + gutter), gutter + row * (cell[1] + gutter))
        )
    data = jpeg(collage, 92)
    luma = luma_of(data)
    views = [view for name, view in query_views(luma, partial(luma_of, data)) if "tile-" in name]
    assert len(views) >= 12
    exact = sum(
        abs(view.shape[0] - cell[1]) <= 1 and abs(view.shape[1] - cell[0]) <= 1 for view in views
    )
    assert exact >= len(views) - 1, [view.shape for view in views]
