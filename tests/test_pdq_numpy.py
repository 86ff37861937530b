"""The scan's numpy PDQ gives pdqhash's hashes: the original, its seven dihedral forms
and its quality, on photos and their views, on rendered landscapes and on noise, at
sizes none of them was tuned on. pdqhash (Meta's C++) is the oracle throughout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.robustness.landscapes import render_landscape
from clearsight.signals.pdq import PDQ_MATCH_THRESHOLD, PDQ_WORKING_BOX, PdqHash, PdqSignal
from clearsight.signals.pdq_numpy import pdq_of
from clearsight.signals.scene import scene_views
from clearsight.signals.variants import bank_views

Luma = np.ndarray


def reference(view: Luma) -> PdqHash:
    return PdqSignal.hash_from_luma(np.ascontiguousarray(view))


def numpy_hash(view: Luma) -> PdqHash:
    value, quality, dihedral = pdq_of(np.ascontiguousarray(view))
    return PdqHash(value, quality, dihedral)


def camera_lumas(shared: Path) -> list[Luma]:
    photos = sorted((shared / "camera").iterdir())
    return [decode_luma(p.read_bytes(), DecodeLimits(), PDQ_WORKING_BOX).luma for p in photos]


def test_camera_photos_and_their_views_hash_as_pdqhash_does(shared_data: Path) -> None:
    checked = 0
    for luma in camera_lumas(shared_data):
        views = [luma, *(v for _, v in scene_views(luma)), *(v for _, v in bank_views(luma))]
        for view in views:
            assert numpy_hash(view) == reference(view), view.shape
            checked += 1
    assert checked >= 16 * 20


def test_photos_at_other_sizes_hash_as_pdqhash_does(shared_data: Path) -> None:
    """Sides from 64 to 1,500 pixels: every box-filter window from 1 to 12."""
    rng = np.random.default_rng(7)
    photos = sorted((shared_data / "camera").iterdir())
    for index, photo in enumerate(photos):
        with Image.open(photo) as im:
            width, height = (int(side) for side in rng.integers(64, 1500, 2))
            grey = np.asarray(im.convert("L").resize((width, height)), dtype=np.uint8)
        assert numpy_hash(grey) == reference(grey), (index, grey.shape)


def test_landscapes_and_noise_hash_as_pdqhash_does() -> None:
    rng = np.random.default_rng(2024)
    for index in range(40):
        height, width = (int(side) for side in rng.integers(64, 700, 2))
        if index % 2:
            rgb = render_landscape((index, width, height), width, height)
            view = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.uint8)
        else:
            view = rng.integers(0, 256, (height, width), dtype=np.uint8)
        assert numpy_hash(view) == reference(view), (index, view.shape)


def test_the_scan_hash_is_pdqhash_where_rounding_decides() -> None:
    """Below 64 pixels a side, or on a flat picture, float rounding picks the bits:
    the scan's hash is then pdqhash's own."""
    rng = np.random.default_rng(5)
    thin = rng.integers(0, 256, (300, 20), dtype=np.uint8)
    flat = np.full((200, 300), 90, dtype=np.uint8)
    flat[:100] += 2
    for view in (thin, flat, thin.T):
        assert PdqSignal.hash_from_luma_numpy(view) == reference(view)
    plain = PdqSignal.hash_from_luma_numpy(flat, dihedral=False)
    assert (plain.hex, plain.quality, plain.dihedral) == (reference(flat).hex, 0, ())


def test_a_picture_too_small_to_hash_has_the_empty_hash() -> None:
    tiny = np.zeros((4, 30), dtype=np.uint8)
    assert numpy_hash(tiny) == reference(tiny)


def test_dihedral_forms_are_the_hashes_of_the_turned_picture(shared_data: Path) -> None:
    """Each of the seven forms matches the hash of the turned picture itself, and none
    of the others (as with pdqhash, a form is exact only where the picture's sides
    let the 64 samples fall on the same pixels both ways)."""
    luma = camera_lumas(shared_data)[0]
    turned = [
        np.rot90(luma, 1),
        np.rot90(luma, 2),
        np.rot90(luma, 3),
        np.flipud(luma),
        np.fliplr(luma),
        luma.T,
        np.rot90(luma, 2).T,
    ]
    forms = numpy_hash(luma).dihedral
    for index, form in enumerate(forms):
        distances = [PdqSignal.distance(form, numpy_hash(p).hex) for p in turned]
        assert distances[index] <= PDQ_MATCH_THRESHOLD
        assert min(distances[:index] + distances[index + 1 :]) > 3 * PDQ_MATCH_THRESHOLD


def test_not_two_dimensional_is_refused() -> None:
    with pytest.raises(ValueError):
        pdq_of(np.zeros((64, 64, 3), dtype=np.uint8))


def test_a_views_hash_is_pdqhashs_where_usable_and_none_where_not(shared_data: Path) -> None:
    """Views of every quality: strips of photos (often too plain), gentle gradients,
    sides under 64. Kept exactly when pdqhash's quality is usable, and then its hash."""
    rng = np.random.default_rng(11)
    views: list[Luma] = []
    for luma in camera_lumas(shared_data)[:8]:
        height, width = luma.shape
        for _ in range(6):
            top = int(rng.integers(0, height - 40))
            left = int(rng.integers(0, width - 40))
            bottom = top + int(rng.integers(20, min(140, height - top) + 1))
            right = left + int(rng.integers(20, width - left + 1))
            views.append(luma[top:bottom, left:right])
    ramp = np.linspace(60, 80, 400)
    views += [np.add.outer(ramp[:150] * k / 4, ramp).astype(np.uint8) % 255 for k in range(4)]
    kept = dropped = 0
    for view in views:
        expected = reference(view)
        found = PdqSignal.usable_hash_numpy(np.ascontiguousarray(view))
        if expected.quality < 50:
            assert found is None, view.shape
            dropped += 1
        else:
            assert found == PdqHash(expected.hex, expected.quality), view.shape
            kept += 1
    assert kept >= 10 and dropped >= 3
