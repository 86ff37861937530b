"""Sub-images of a picture that may be a known picture put in a larger frame.

Hash lists hold the PDQ hash of the original only. PDQ survives re-encoding and
resizing, but not a frame: a letterbox, the app around a screenshot or the other tiles
of a collage move the hash far from the original's. So the scanner also hashes the
boxes found here, each cut from the same 512-box luma it hashes whole:

* ``trim-border``: the picture inside plain or blur-filled borders on 2 or 4 sides;
* ``embedded``: a photo shown among flat app furniture (a screenshot);
* ``grid-NxN-rRcC``: every tile of a 2x2 or 3x3 collage.

Each box costs a hash-list lookup and is one more chance of a false match, so a box is
returned only on evidence of a frame: straight edges with flat or blurred ground
outside them, or seams running the whole picture at 1/2 or 1/3 of it. Most pictures
get none. PDQ is sensitive to where a box is cut (a row too many can cost 10 bits), so
boxes are placed to the row, leaving out the rows resampling blended with the frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

# No box smaller than this share of the picture or with a shorter side: too little of
# the picture is left to hash, and small boxes match unrelated pictures more easily.
MIN_AREA_SHARE = 1 / 12
MIN_SIDE = 48
# A box with most of the picture in it hashes much like the whole picture, which is
# hashed anyway.
MAX_BOX_SHARE = 0.92
# Screenshots rarely show more than a few photos big enough to matter.
MAX_EMBEDDED = 3

# "Detail" is curvature across both axes, min(|d2/dx2|, |d2/dy2|): texture, grain and
# text have it, while the straight edges of borders and app furniture curve along one
# axis only and so have none. Ground averaging at most this is smooth: flat ground has
# none, blur-filled ground (with JPEG noise) up to about 0.45, textured photo well over
# 1. A clear sky can be as smooth, which is why a side needs a straight edge too.
_SMOOTH = 0.6
# Detail is averaged over this many pixels along the side of a box being looked for.
_ALONG = 5
# Blobs of photo are found in 4x4 cells whose mean detail passes this.
_CELL = 4
_BUSY = 2.0
# An edge's step (grey levels across 3 rows) counts in a column from this size, and an
# edge is straight when this share of the columns along it has one.
_STEP = 6.0
_STRAIGHT = 0.6

# A seam between collage tiles is a spike in the column profile of steps: its strongest
# step stands out of the typical step 6-16 px to either side by this factor, after
# taking off a few grey levels so that flat app furniture does not count. It must do
# so along each quarter of the seam: a photo's own straight edge, or the edge of a
# photo in a screenshot, rarely runs the whole height or width of the picture.
# (Measured on the edit suite: quarters of real seams score 1.2 and up, anything else
# 0.75 at most.)
_SEAM = 1.0
# An outer gutter is a line of one colour: its grey levels vary by less than this.
_FLAT = 4.0


@dataclass(frozen=True)
class Region:
    name: str
    left: int
    top: int
    right: int  # exclusive
    bottom: int  # exclusive


Luma = npt.NDArray[np.uint8]
Grey = npt.NDArray[np.float32]
Sums = npt.NDArray[np.uint16]
Rows = npt.NDArray[np.intp]


def find_regions(luma: Luma) -> list[Region]:
    """Boxes (in luma's pixel coordinates) worth hashing on their own."""
    height, width = luma.shape
    if height < 2 * MIN_SIDE or width < 2 * MIN_SIDE:
        return []
    grey = luma.astype(np.float32)
    # A collage explains the whole picture; its gutters would only add framed boxes.
    found = _grid_tiles(grey)
    if not found:
        detail = _Detail.of(luma, grey)
        trimmed = _trimmed(detail)
        found = ([trimmed] if trimmed else []) + _embedded(detail)
    kept: list[Region] = []
    for region in found:
        if _big_enough(region, height * width) and not any(
            _same_box(region, other) for other in kept
        ):
            kept.append(region)
    return kept


def _area(region: Region) -> int:
    return (region.right - region.left) * (region.bottom - region.top)


def _big_enough(region: Region, picture_area: int) -> bool:
    return (
        min(region.right - region.left, region.bottom - region.top) >= MIN_SIDE
        and _area(region) >= MIN_AREA_SHARE * picture_area
    )


def _same_box(a: Region, b: Region) -> bool:
    sides = (a.left - b.left, a.top - b.top, a.right - b.right, a.bottom - b.bottom)
    return max(map(abs, sides)) <= 2


# --- Framed pictures: borders and screenshots ------------------------------------------


@dataclass(frozen=True)
class _Detail:
    """The picture and its detail, the latter also summed over 5 px along rows (for the
    top and bottom sides of a box) and along columns (for the left and right)."""

    grey: Grey
    detail: npt.NDArray[np.uint8]
    along_rows: Sums
    along_columns: Sums

    @classmethod
    def of(cls, luma: Luma, grey: Grey) -> _Detail:
        # In 8 and 16 bits: at this size, time goes on touching fresh memory more than
        # on arithmetic, and detail above 255 means the same as 255.
        luma = np.ascontiguousarray(luma)  # OpenCV wants a plain buffer, not a view
        across = cv2.convertScaleAbs(cv2.Sobel(luma, cv2.CV_16S, 2, 0, ksize=1))
        down = cv2.convertScaleAbs(cv2.Sobel(luma, cv2.CV_16S, 0, 2, ksize=1))
        detail = np.asarray(cv2.min(across, down), np.uint8)
        along_rows = cv2.boxFilter(detail, cv2.CV_16U, (_ALONG, 1), normalize=False)
        along_columns = cv2.boxFilter(detail, cv2.CV_16U, (1, _ALONG), normalize=False)
        return cls(
            grey, detail, np.asarray(along_rows, np.uint16), np.asarray(along_columns, np.uint16)
        )

    def views(self, left: int, top: int, right: int, bottom: int) -> list[tuple[Grey, Sums]]:
        """What lies beyond each side of a box (top, bottom, left, right), turned so
        that row 0 is the picture's border and rows count inwards; with its detail
        summed along the side. One search then serves all four sides."""
        grey, rows, columns = self.grey, self.along_rows, self.along_columns
        return [
            (grey[:, left:right], rows[:, left:right]),
            (grey[::-1, left:right], rows[::-1, left:right]),
            (grey[top:bottom].T, columns[top:bottom].T),
            (grey[top:bottom, ::-1].T, columns[top:bottom, ::-1].T),
        ]


def _trimmed(detail: _Detail) -> Region | None:
    """The picture inside a plain or blur-filled border: from each side, over the
    smooth rows, to the first straight edge among them or just after them."""
    height, width = detail.grey.shape
    sides = [0, 0, 0, 0]  # rows cut from the top, bottom, left and right
    for index in range(4):
        # The left and right borders are measured between the top and bottom ones.
        view, texture = detail.views(0, sides[0], width, height - sides[1])[index]
        limit = int(view.shape[0] * 0.4)
        smooth = texture[:limit].mean(axis=1) <= _SMOOTH * _ALONG
        run = limit if smooth.all() else int(np.argmin(smooth))
        if run < 5:
            continue
        edges = _edge_rows(view, texture, 6, min(run + 6, limit))
        if edges.size:
            sides[index] = _exact_edge(view, edges, int(edges[0]))
        elif run < limit and _texture_starts(texture, run):
            sides[index] = run
    top, bottom, left, right = sides
    # Borders come in pairs: a letterbox, a pillarbox or all four. Flat space on one
    # side only is more likely a screenshot's, whose photo is found as embedded.
    if not (top and bottom) and not (left and right):
        return None
    box = Region("trim-border", left, top, width - right, height - bottom)
    return box if _area(box) <= MAX_BOX_SHARE * height * width else None


def _texture_starts(texture: Sums, run: int) -> bool:
    """Whether detail starts at once after ``run`` nearly featureless rows and goes on:
    the edge of a dark or smooth picture against its blurred fill, too faint column by
    column but plain in the row means. (Text starts as sharply but soon stops.)"""
    before = texture[:run].mean(axis=1) / _ALONG
    after = texture[run : run + 16].mean(axis=1) / _ALONG
    return bool(before.mean() <= 0.15 and after[:3].mean() >= 0.4 and after.min() >= 0.25)


def _embedded(detail: _Detail) -> list[Region]:
    """Photos among app furniture: blobs of busy cells, each blob's bounding box moved
    side by side onto the nearest straight edge with flat or blurred ground outside it
    (the blob may stop short of a smooth sky, or take in a caption), or out to the
    picture's border where there is none. A smooth photo (a wall, a document) may have
    too few busy cells to make a blob; then any detail at all makes a cell busy."""
    height, width = detail.grey.shape
    size = (width // _CELL, height // _CELL)
    cells = cv2.resize(detail.detail, size, interpolation=cv2.INTER_AREA)
    for busy_above in (_BUSY, 0):
        boxes = _blob_boxes(detail, cells > busy_above)
        if boxes:
            return boxes
    return []


def _blob_boxes(detail: _Detail, busy: npt.NDArray[np.bool_]) -> list[Region]:
    height, width = detail.grey.shape
    closed = cv2.morphologyEx(busy.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    boxes: list[Region] = []
    for label in np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:MAX_EMBEDDED] + 1:
        x, y, w, h = (int(value) * _CELL for value in stats[label, :4])
        if w * h < MIN_AREA_SHARE * height * width / 2:
            continue
        # Left and right first, along the blob's rows. Then the top and bottom along
        # the full width found: a blob narrowed by a smooth sky would otherwise take a
        # line of caption under it for a straight edge.
        views = detail.views(x, y, x + w, y + h)
        left = _side(*views[2], x, x + w)
        right = _side(*views[3], width - x - w, width - x)
        if width - right - left < MIN_SIDE:
            continue
        views = detail.views(left, y, width - right, y + h)
        top = _side(*views[0], y, y + h)
        bottom = _side(*views[1], height - y - h, height - y)
        box = Region("embedded", left, top, width - right, height - bottom)
        if _area(box) <= MAX_BOX_SHARE * height * width:
            boxes.append(box)
    return boxes


def _side(view: Grey, texture: Sums, start: int, end: int) -> int:
    """Where the side of a blob that spans rows [start, end) of ``view`` belongs: just
    inside the straight edge nearest to ``start``, or at the border (0) without one."""
    if start <= _CELL:
        return 0
    # Inwards far enough to get past a line of caption text merged into the blob.
    inward = min(start + max(24, (end - start) // 8), end - MIN_SIDE, view.shape[0] - 4)
    edges = _edge_rows(view, texture, 6, inward)
    if not edges.size:
        return 0
    return _exact_edge(view, edges, int(edges[np.argmin(np.abs(edges - start))]))


def _edge_rows(view: Grey, texture: Sums, lo: int, hi: int) -> Rows:
    """The rows in [lo, hi) of ``view`` just past a straight edge: one along which most
    columns have flat or blurred ground outside and, inside, either a step in
    brightness or more detail than outside (a blur-filled border can be as bright as
    the picture beside it, but it has no grain)."""
    if hi <= lo:
        return np.empty(0, np.intp)
    # Row i of each slice lines up with row lo + i of the view. Detail is summed over
    # two rows each side, each row's over _ALONG pixels: thresholds are scaled to match.
    step = np.abs(view[lo + 1 : hi + 1] - view[lo - 2 : hi - 2])
    outside = texture[lo - 3 : hi - 3] + texture[lo - 2 : hi - 2]
    inside = texture[lo + 1 : hi + 1] + texture[lo + 2 : hi + 2]
    pixels = 2 * _ALONG
    grain = inside >= np.maximum(pixels * 1.0, 3 * outside)
    edge = (outside <= pixels * _SMOOTH) & ((step >= _STEP) | grain)
    return lo + np.flatnonzero(edge.mean(axis=1) >= _STRAIGHT)


def _exact_edge(view: Grey, edges: Rows, near: int) -> int:
    """The first clean row inside the edge that ``edges`` (from :func:`_edge_rows`)
    has at row ``near``.

    An edge qualifies from a row or two before its step to the row after it, so its
    step is sought by the innermost row of that run (further out may lie another edge,
    such as a title bar three rows above a screenshot's photo). Resampling spreads the
    step over two or three rows, each taking the part of it that its pixel lies inside
    the edge: so the steps place the edge to a fraction of a row, and the blended row
    is left out.
    """
    rows_in_edges = set(edges.tolist())
    while near + 1 in rows_in_edges:
        near += 1
    # steps[i] is the mean step into row near - 3 + i; the edge's is one of the middle 4.
    steps = np.abs(np.diff(view[near - 4 : near + 3], axis=0)).mean(axis=1)
    peak = 1 + int(np.argmax(steps[1:5]))
    # The picture's own texture steps are taken off the edge's.
    weights = np.maximum(steps[peak - 1 : peak + 2] - min(steps[0], steps[-1]), 0)
    if not weights.any():
        return near
    rows = np.arange(near - 4 + peak, near - 1 + peak)
    return math.ceil(float((rows * weights).sum() / weights.sum()) - 0.05)


# --- Collages --------------------------------------------------------------------------


def _grid_tiles(grey: Grey) -> list[Region]:
    for n in (4, 3, 2):
        columns = _seams(grey, n)
        rows = _seams(grey.T, n) if columns else None
        if columns and rows:
            return [
                Region(
                    f"grid-{n}x{n}-r{row}c{column}",
                    columns[column][1],
                    rows[row][1],
                    columns[column + 1][0],
                    rows[row + 1][0],
                )
                for row in range(n)
                for column in range(n)
            ]
    return []


def _seams(grey: Grey, n: int) -> list[tuple[int, int]] | None:
    """The n+1 bands of columns [start, end) that no tile of an n-wide grid should
    take (blends of a seam, gutters), left to right, the inner ones at k/n of the
    width. None unless every inner seam is there."""
    width = grey.shape[1]
    bands = [(0, _outer_margin(grey[:, :17]))]
    for k in range(1, n):
        centre = round(k * width / n)
        # steps[:, i] is the step from column centre - 16 + i to the next.
        steps = np.abs(np.diff(grey[:, centre - 16 : centre + 17], axis=1))
        if not all(_spike(part) >= _SEAM for part in np.array_split(steps, 4)):
            return None
        profile = steps.mean(axis=0)
        near = profile[10:22]  # the steps between columns centre - 6 and centre + 6
        left = _first_strong(near, profile[:10])
        right = _first_strong(near[::-1], profile[22:])
        bands.append((centre - 5 + left, centre + 6 - right))
    bands.append((width - _outer_margin(grey[:, :-18:-1]), width))
    return bands


def _spike(steps: Grey) -> float:
    """How far a seam's strongest step (within 5 columns of its centre) stands out of
    the steps on its flanks."""
    profile = steps.mean(axis=0)
    flanks = np.median(np.concatenate([profile[:10], profile[22:]]))
    return float((profile[11:21].max() - 3) / (flanks + 0.5))


def _first_strong(profile: Grey, beyond: Grey) -> int:
    """Where a tile stops, coming along a seam's ``profile`` from index 0: at the first
    step well above the tile's own (``beyond``, the steps further inside it) and near
    the seam's strongest. Blends and any gutter lie past it."""
    peak = float(profile.max())
    strong = profile >= min(peak, max(0.3 * peak, 2 * float(np.median(beyond)) + 2))
    return int(np.argmax(strong))


def _outer_margin(edge: Grey) -> int:
    """How many columns of ``edge`` (the picture's first 17, from its border inwards)
    are an outer gutter and the blend after it; 0 when the first is not flat."""
    if edge[:, 0].std() >= _FLAT:
        return 0
    profile = np.abs(np.diff(edge, axis=1)).mean(axis=0)
    return 10 - _first_strong(profile[9::-1], profile[10:])
