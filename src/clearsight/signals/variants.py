"""Extra PDQ hashes of one picture, so a copy that was edited can still be found.

PDQ is made for re-encoding and resizing; it is not made for geometry. Cropping 2% per
side or turning by one degree already moves a hash 40 bits or more. So both sides of a
lookup hash more than the picture as it is:

* the **query** side hashes what may be the known picture inside the one scanned: the
  picture with its border or letterbox trimmed, the rectangle of a screenshot it sits
  in, the tiles of a collage, and the picture with a caption or badge taken off. These
  are the only help against lists that hold nothing but the original's hash;
* the **bank** side, for originals the user holds (``clearsight bank add``), hashes
  centre crops at several scales, small rotations both ways (keeping the black corners
  and cut to fit), and the four quadrants, so that a crop, a turn or an edit confined
  to part of the picture lands near one of them.

Every variant carries a name (``trim-border``, ``crop-0.88``, ``rotate+4-corners``,
``quadrant-tl``) that ends up on the match, so a reviewer sees why two files were held
to be the same picture. A variant whose hash has too little structure to trust (PDQ
quality below the usual 50) is dropped, as is one whose hash repeats another's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

from clearsight.signals.frames import banner_filled, content_boxes
from clearsight.signals.overlays import cleaned_views
from clearsight.signals.pdq import PDQ_WORKING_BOX, PdqSignal
from clearsight.signals.regions import Region, find_regions
from clearsight.signals.variant_hash import VariantHash as VariantHash
from clearsight.signals.variant_hash import format_variants as format_variants
from clearsight.signals.variant_hash import parse_variants as parse_variants

Luma = npt.NDArray[np.uint8]
Sharper = Callable[[int], Luma]
"""Decodes the scanned picture again to fit a larger square box (pixels on a side)."""

# Crops keep this share of each side, centred. With the rotations they are spaced so
# that any crop up to about 13% per side or turn up to about 7 degrees comes within a
# few dozen bits of one of them: close enough to be a candidate that local features
# then confirm (see clearsight.signals.features), not close enough to match alone.
BANK_CROP_SCALES = (0.94, 0.88, 0.82, 0.76)
BANK_ROTATIONS = (2.0, -2.0, 4.0, -4.0, 6.0, -6.0)
# A tile of a 3x3 collage is about 170 pixels wide in the 512-pixel box a scan hashes
# in; hashed from so few pixels it lands 20-35 bits from the original's hash, and from
# the file's own resolution 2-16 bits. So a region smaller than the box is cut from a
# second, larger decode, up to this box, where the file has the pixels.
SHARPER_MAX_BOX = 2048


def bank_views(luma: Luma) -> list[tuple[str, Luma]]:
    """The views of an original a bank keeps hashes of, besides the original itself."""
    views = [(f"crop-{scale:.2f}", centre_crop(luma, scale)) for scale in BANK_CROP_SCALES]
    for degrees in BANK_ROTATIONS:
        views.append((f"rotate{degrees:+.0f}-corners", rotated(luma, degrees, corners=True)))
        views.append((f"rotate{degrees:+.0f}-cropped", rotated(luma, degrees, corners=False)))
    views.extend(quadrants(luma))
    return views


def query_views(luma: Luma, sharper: Sharper | None = None) -> list[tuple[str, Luma]]:
    """The views of a scanned picture that may be a known picture in a frame or under
    an overlay; empty for most pictures, which have none of those.

    ``sharper``, where given, decodes the picture again at a larger size; it is called
    only when a region was found that is small in ``luma``."""
    regions = find_regions(luma)
    regions += [box for box in content_boxes(luma) if not any(_near(box, r) for r in regions)]
    source = _source_for(regions, luma, sharper) if sharper is not None else luma
    views = [(region.name, _cut(source, region, luma.shape)) for region in regions]
    views.extend(cleaned_views(luma))
    filled = banner_filled(luma)
    if filled is not None:
        views.append(("banner-filled", filled))
    return views


def _near(a: Region, b: Region) -> bool:
    sides = (a.left - b.left, a.top - b.top, a.right - b.right, a.bottom - b.bottom)
    return max(map(abs, sides)) <= 2


def _source_for(regions: Sequence[Region], luma: Luma, sharper: Sharper) -> Luma:
    """``luma``, or a larger decode of the same picture where the smallest region needs
    more pixels than ``luma`` has to hash as well as its original."""
    if not regions:
        return luma
    smallest = min(max(r.right - r.left, r.bottom - r.top) for r in regions)
    longest = max(luma.shape)
    box = min(SHARPER_MAX_BOX, math.ceil(longest * PDQ_WORKING_BOX / max(smallest, 1)))
    if box <= longest:
        return luma
    larger = sharper(box)
    return larger if larger.shape[1] > luma.shape[1] else luma


def _cut(source: Luma, region: Region, shape: tuple[int, ...]) -> Luma:
    """``region``, found in a picture of ``shape``, cut from ``source`` (the same
    picture, perhaps larger)."""
    scale_y, scale_x = source.shape[0] / shape[0], source.shape[1] / shape[1]
    return source[
        round(region.top * scale_y) : round(region.bottom * scale_y),
        round(region.left * scale_x) : round(region.right * scale_x),
    ]


def hash_views(views: Iterable[tuple[str, Luma]], original: str) -> list[VariantHash]:
    """The usable hashes of ``views``: good enough quality, and none repeated."""
    seen = {original}
    hashes: list[VariantHash] = []
    for name, view in views:
        if min(view.shape) < 16:
            continue
        pdq = PdqSignal.usable_hash_numpy(np.ascontiguousarray(view))
        if pdq is None or pdq.hex in seen:
            continue
        seen.add(pdq.hex)
        hashes.append(VariantHash(name, pdq.hex, pdq.quality))
    return hashes


def centre_crop(luma: Luma, scale: float) -> Luma:
    height, width = luma.shape
    keep_h, keep_w = round(height * scale), round(width * scale)
    top, left = (height - keep_h) // 2, (width - keep_w) // 2
    return luma[top : top + keep_h, left : left + keep_w]


def rotated(luma: Luma, degrees: float, *, corners: bool) -> Luma:
    """``luma`` turned anticlockwise about its centre, in its own frame with black
    corners, or cut to the largest centred rectangle of its shape that is all picture."""
    height, width = luma.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    turned = cv2.warpAffine(luma, matrix, (width, height), flags=cv2.INTER_CUBIC, borderValue=(0,))
    if corners:
        return np.asarray(turned, dtype=np.uint8)
    scale = inscribed_scale(width, height, degrees)
    inner = centre_crop(np.asarray(turned, dtype=np.uint8), scale)
    return inner[1:-1, 1:-1]  # no interpolated black at the cut


def inscribed_scale(width: int, height: int, degrees: float) -> float:
    """The largest scale at which a centred rectangle of the picture's shape fits inside
    the picture turned by ``degrees``: what is left of it when the corners are cut."""
    theta = math.radians(abs(degrees))
    return min(
        width / (width * math.cos(theta) + height * math.sin(theta)),
        height / (width * math.sin(theta) + height * math.cos(theta)),
    )


def quadrants(luma: Luma) -> list[tuple[str, Luma]]:
    height, width = luma.shape
    half_h, half_w = height // 2, width // 2
    return [
        ("quadrant-tl", luma[:half_h, :half_w]),
        ("quadrant-tr", luma[:half_h, half_w:]),
        ("quadrant-bl", luma[half_h:, :half_w]),
        ("quadrant-br", luma[half_h:, half_w:]),
    ]
