"""Scene views: the parts of a picture hashed so its scene-mates in a case can be found.

Two pictures of one scene (one with a region replaced, or cropped, or recoloured) are
linked in two steps: a cheap global retrieval on PDQ hashes finds candidates, and local
features confirm them (:mod:`clearsight.series.scene_links`). Retrieval compares every
hash of one item with every hash of the others, so an item's hashes decide what can be
found: its own hash finds recoloured copies; **quadrants** find a copy with a region
replaced or repainted (the quadrants the edit missed keep their hashes); **centre
crops** find a centred crop of the picture, on either side of the pair (a crop of 0.85
meets an item that is that crop; two crops meet a crop of 0.65/0.85 = 0.76).

Measured on 56 bases (40 landscapes and 16 camera photos) with an edit of each kind,
any hash within 31 bits (with the scan's query views, which find collage tiles):
quadrants lift regions replaced by a patch of another photo from 5% to 80% and repaints
from 77% to 95%; the crops at 0.85 and 0.65 find 45% of centred crops of 10-20% per
side, against 23% for the best single crop (0.65) and 46% for three (0.85, 0.75, 0.65).
PDQ moves 40-50 bits for a shift of 2% or a scale of 5%, so crops that are off centre
and turns of 2-5 degrees are out of its reach (0-4%): those need other retrieval.
Unrelated pairs never came within 86 bits. (Measured on views of the 512-pixel
picture; the scan cuts them from the picture fitted into 256 pixels, see SCENE_BOX,
which ``benchmarks/scene_links.py`` measures at 39% of centred crops and 77% of
replaced regions instead of 45% and 79%, for 0.4 ms a view instead of 0.8.)
"""

from __future__ import annotations

import cv2
import numpy as np

from clearsight.signals.variants import Luma, centre_crop, quadrants

SCENE_CROP_SCALES = (0.85, 0.65)
# The views are cut from the picture fitted into this box. PDQ reduces whatever it is
# given to 64x64, and its cost grows with the pixels it reads: six views of the 512-px
# picture cost a scan about 5 ms, of the 256-px one about a quarter of that. PDQ is made
# for resizing, so the views still meet full-size hashes of cropped copies.
SCENE_BOX = 256


def scene_views(luma: Luma) -> list[tuple[str, Luma]]:
    """The quadrants and centre crops of ``luma``, named as bank views are."""
    small = fitted_into(luma, SCENE_BOX)
    crops = [(f"crop-{scale:.2f}", centre_crop(small, scale)) for scale in SCENE_CROP_SCALES]
    return [*quadrants(small), *crops]


def fitted_into(luma: Luma, box: int) -> Luma:
    """``luma`` reduced to fit a square ``box`` (never enlarged)."""
    height, width = luma.shape
    scale = box / max(height, width)
    if scale >= 1:
        return luma
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(luma, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
