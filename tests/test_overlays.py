"""Cleaned views: a captioned or badged copy is brought back within PDQ matching range of
its original, and a picture without an overlay yields no extra lookup."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.robustness.edits import EditContext, edit_named
from clearsight.robustness.landscapes import render_landscape
from clearsight.signals.overlays import cleaned_views
from clearsight.signals.pdq import PDQ_MATCH_THRESHOLD, PdqSignal


@cache
def landscape(index: int, size: tuple[int, int] = (768, 512)) -> Image.Image:
    return Image.fromarray(render_landscape((7, index), *size))


def scanned(image: Image.Image) -> npt.NDArray[np.uint8]:
    """What the scanner hashes: the JPEG's luma fitted into the 512-pixel box."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return decode_luma(buffer.getvalue(), DecodeLimits(), 512).luma


def distance(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> int:
    return PdqSignal.distance(PdqSignal.hash_from_luma(a).hex, PdqSignal.hash_from_luma(b).hex)


# Landscapes whose edited copy the plain hash misses (distances 44 and 46).
@pytest.mark.parametrize(
    ("edit", "index", "view"), [("caption", 10, "remove-text"), ("logo", 3, "remove-badge")]
)
def test_overlay_is_undone_into_matching_range(edit: str, index: int, view: str) -> None:
    base = landscape(index)
    original = scanned(base)
    edited = scanned(edit_named(edit).apply(base, EditContext(np.random.default_rng(index), [])))
    assert distance(edited, original) > PDQ_MATCH_THRESHOLD  # the case the views are for

    views = dict(cleaned_views(edited))

    assert list(views) == [view]
    assert distance(views[view], original) <= 16
    assert views[view].shape == edited.shape
    assert views[view].dtype == np.uint8


def test_unedited_pictures_yield_no_view() -> None:
    for index in range(4):
        assert cleaned_views(scanned(landscape(index))) == []


@pytest.mark.parametrize("edit", ["screenshot", "collage-3x3", "pad-20-plain"])
def test_other_edits_yield_no_view(edit: str) -> None:
    """A screenshot has its own (unoutlined) text, a collage white gutters, a pad a
    frame: none of them is a caption or a badge."""
    others = [landscape(20 + k, (240, 160)) for k in range(8)]
    edited = edit_named(edit).apply(landscape(5), EditContext(np.random.default_rng(5), others))
    assert cleaned_views(scanned(edited)) == []


def test_flat_and_tiny_pictures() -> None:
    assert cleaned_views(np.full((343, 512), 128, np.uint8)) == []
    assert cleaned_views(np.zeros((8, 8), np.uint8)) == []
