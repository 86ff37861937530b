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

from clearsight.signals.features import LocalFeatures, extract
from clearsight.signals.frames import banner_filled, collage_tiles, content_boxes
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
    views = [(region.name, _snapped(source, region, luma.shape)) for region in regions]
    views.extend(cleaned_views(luma))
    views.extend(banner_filled(luma))
    return views


TILE_PREFIXES = ("tile-", "grid-")
"""Names of the views that are one tile of a collage (see :func:`tile_features`)."""


def is_tile(name: str) -> bool:
    return name.startswith(TILE_PREFIXES)


def tile_features(luma: Luma, sharper: Sharper | None = None) -> list[tuple[str, LocalFeatures]]:
    """The local features of each tile of a collage, by the tile's view name; empty
    for a picture that is no collage.

    The whole picture's keypoints spread over all its tiles: a tile of a 4x4 collage
    holds a sixteenth of them, at a quarter of its original's scale, too few and too
    small to confirm anything. Taken from the tile alone (from a larger decode where
    the file has the pixels) and at the scale a bank's keypoints are taken at (the
    working box, a small tile enlarged to it), they are as many as the original's
    own, and their descriptors share the original's bits: ORB describes a corner
    differently at another scale, and feature words must be the same bits to meet."""
    tiles = [r for r in find_regions(luma) if is_tile(r.name)]
    tiles += [t for t in collage_tiles(luma) if not any(_near(t, r) for r in tiles)]
    if not tiles:
        return []
    source = _source_for(tiles, luma, sharper) if sharper is not None else luma
    found: list[tuple[str, LocalFeatures]] = []
    for tile in tiles:
        cut = _snapped(source, tile, luma.shape)
        longest = max(cut.shape)
        if longest != PDQ_WORKING_BOX:  # the scale a bank's keypoints are taken at
            size = (
                max(1, round(cut.shape[1] * PDQ_WORKING_BOX / longest)),
                max(1, round(cut.shape[0] * PDQ_WORKING_BOX / longest)),
            )
            cut = np.asarray(
                cv2.resize(
                    cut,
                    size,
                    interpolation=cv2.INTER_AREA if longest > PDQ_WORKING_BOX else cv2.INTER_CUBIC,
                ),
                np.uint8,
            )
        found.append((tile.name, extract(np.ascontiguousarray(cut))))
    return found


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


def _snapped(source: Luma, region: Region, shape: tuple[int, ...]) -> Luma:
    """``region``, found in a picture of ``shape``, cut from ``source`` with each side
    that is not the picture's border moved onto the strongest step near it.

    A region is found in the 512-pixel box; cut from a decode 3 or 4 times larger, a
    side found to the pixel there is 3 or 4 pixels out, and a tile of a collage 128
    pixels wide in the box then keeps a strip of its neighbour or the gutter. PDQ
    moves 20 bits or more for a 2% shift: every side is placed again where the step
    between the frame and the picture is, at the source's own resolution."""
    height, width = source.shape
    scale_y, scale_x = height / shape[0], width / shape[1]
    box = [
        round(region.top * scale_y),
        round(region.bottom * scale_y),
        round(region.left * scale_x),
        round(region.right * scale_x),
    ]
    grey = source.astype(np.float32)
    for side in range(4):
        across = side >= 2  # left and right: steps between columns
        at = box[side]
        size = width if across else height
        if at <= 0 or at >= size:
            continue  # the picture's own border
        reach = math.ceil(_SNAP_REACH * (scale_x if across else scale_y)) + 1
        lo, hi = max(1, at - reach), min(size - 1, at + reach)
        if hi <= lo:
            continue
        if across:
            part = grey[box[0] : box[1], lo - 1 : hi + 1]
            steps = np.abs(np.diff(part, axis=1)).mean(axis=0)
        else:
            part = grey[lo - 1 : hi + 1, box[2] : box[3]]
            steps = np.abs(np.diff(part, axis=0)).mean(axis=1)
        # steps[k] is the step between lines lo - 1 + k and lo + k: a side at lo + k.
        if not len(steps) or steps.max() < _SNAP_STEP:
            continue
        strong = np.flatnonzero(steps >= _SNAP_SHARE * steps.max())
        # Where a plain frame or gutter lies just outside a step, the outermost such
        # step is the picture's edge, however faint (the picture's last line may be
        # nearly the gutter's colour; a plain sky inside the picture lies further in);
        # else the innermost strong step (a gutter's outer edge is further out).
        framed = [
            k
            for k in np.flatnonzero(steps >= _SNAP_STEP).tolist()
            if _plain_outside(grey, box, side, lo + k)
            and not _plain_outside(grey, box, side ^ 1, lo + k)
        ]
        if framed:
            inner = framed[0] if side in (0, 2) else framed[-1]
        else:
            inner = int(strong[-1] if side in (0, 2) else strong[0])
        box[side] = lo + int(inner)
        if min(box[side], size - box[side]) <= 2 * reach:
            # A thin strip left between the side and the border is a frame only if it
            # is plain: one with the picture's grain is the picture's own edge.
            strip = _strip(grey, box, side)
            if strip.size and float(np.abs(np.diff(strip, axis=0 if across else 1)).mean()) > (
                _PLAIN_STRIP
            ):
                box[side] = 0 if side in (0, 2) else size
    top, bottom, left, right = box
    if bottom - top < 16 or right - left < 16:
        return _cut(source, region, shape)
    return source[top:bottom, left:right]


def _plain_outside(grey: npt.NDArray[np.float32], box: list[int], side: int, at: int) -> bool:
    """Whether the 3 lines just outside a side placed at ``at`` are plain: each one
    colour along its length (a gutter, a frame), within _PLAIN_LINE grey levels.
    (``side ^ 1`` is the opposite side: the lines just inside.)"""
    top, bottom, left, right = box
    outside = range(at - 3, at) if side in (0, 2) else range(at, at + 3)
    limit = grey.shape[1] if side >= 2 else grey.shape[0]
    if outside.start < 0 or outside.stop > limit:
        return False
    if side >= 2:
        lines = grey[top:bottom, outside.start : outside.stop].T
    else:
        lines = grey[outside.start : outside.stop, left:right]
    return bool(lines.shape[1] > 1 and float(np.abs(np.diff(lines, axis=1)).mean()) < _PLAIN_LINE)


def _strip(grey: npt.NDArray[np.float32], box: list[int], side: int) -> npt.NDArray[np.float32]:
    """What lies between ``box``'s side (top, bottom, left, right) and the border."""
    top, bottom, left, right = box
    if side == 0:
        return grey[:top, left:right]
    if side == 1:
        return grey[bottom:, left:right]
    if side == 2:
        return grey[top:bottom, :left]
    return grey[top:bottom, right:]


# A side is sought this many pixels of the 512-pixel box either way (where the region
# was found, seams are placed to a few pixels), and moved onto a step of _SNAP_STEP
# grey levels at least (averaged along it), the innermost of those within _SNAP_SHARE
# of the strongest.
_SNAP_REACH = 4
_SNAP_STEP = 4.0
_SNAP_SHARE = 0.6
# A strip between a side and the border whose neighbouring pixels differ by more than
# this on average has grain: it is picture, not a gutter or a frame.
_PLAIN_STRIP = 6.0
_PLAIN_LINE = 0.6


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
