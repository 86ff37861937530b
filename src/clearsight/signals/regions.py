"""Sub-images of a picture that may be a known picture put in a larger frame.

Hash lists hold the PDQ hash of the original only. PDQ survives re-encoding and
resizing but not a frame: a letterbox, the app around a screenshot or the other tiles
of a collage move the hash far from the original's. So the scanner also hashes the
boxes found here, each cut from the same 512-box luma it hashes whole:

* ``trim-border``: the picture inside plain or blurred-fill borders on 2 or 4 sides;
* ``embedded``: a photo shown inside flat app furniture (a screenshot);
* ``grid-NxN-rRcC``: every tile of a 2x2 or 3x3 collage.

Each box costs one more hash-list lookup and one more chance of a false match, so
boxes are only returned where there is evidence of a frame: straight edges with flat
or blurred surroundings, or seams at the grid positions. Most pictures get none.
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

# A frame is only worth a box when it takes this much: a box within a few per cent of
# the whole picture hashes like the whole picture, which is hashed anyway.
MAX_BOX_SHARE = 0.92

# Busy-ness is the mean |Laplacian| over 4x4 cells. Flat borders and app furniture sit
# at 0, a blur-filled border (sigma ~12 px at this size) below 1, photo texture above 3.
_CELL = 4
_BUSY = 2.0
# An edge step (grey levels across 3 px) counts in a column from this size; a line is
# straight when this share of its columns has one.
_STEP = 6.0
_STRAIGHT = 0.6
# Mean detail (5x5) of flat or blur-filled ground: it is below 0.2 there, and photos
# rarely go below 0.5 even in a clear sky.
_SMOOTH = 0.6


@dataclass(frozen=True)
class Region:
    name: str
    left: int
    top: int
    right: int  # exclusive
    bottom: int  # exclusive


Luma = npt.NDArray[np.uint8]
Grey = npt.NDArray[np.float32]


def find_regions(luma: Luma) -> list[Region]:
    """Boxes (in luma's pixel coordinates) worth hashing on their own."""
    height, width = luma.shape
    if height < 2 * MIN_SIDE or width < 2 * MIN_SIDE:
        return []
    grey = luma.astype(np.float32)
    detail = _Detail.of(grey)
    # A collage explains the whole picture; its gutters would only add framed boxes.
    found = _grid_tiles(grey)
    if not found:
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
    return (
        max(
            abs(a.left - b.left),
            abs(a.top - b.top),
            abs(a.right - b.right),
            abs(a.bottom - b.bottom),
        )
        <= 2
    )


# --- Framed pictures: borders and screenshots ----------------------------------------


@dataclass(frozen=True)
class _Detail:
    """The picture with its local detail: curvature across both axes, which texture and
    text have while the straight edges of borders and app furniture do not (they curve
    along one axis only). Averaged along rows for finding the top and bottom sides of a
    box, along columns for the left and right."""

    grey: Grey
    detail: Grey
    along_rows: Grey
    along_columns: Grey

    @classmethod
    def of(cls, grey: Grey) -> _Detail:
        across = np.abs(cv2.Sobel(grey, cv2.CV_32F, 2, 0, ksize=1))
        down = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 2, ksize=1))
        detail = np.minimum(across, down)
        # filter2D, not blur: several times faster for these thin kernels.
        mean_of_5 = np.full((1, 5), 0.2, np.float32)
        along_rows = np.asarray(cv2.filter2D(detail, -1, mean_of_5), np.float32)
        along_columns = np.asarray(cv2.filter2D(detail, -1, mean_of_5.T), np.float32)
        return cls(grey, detail, along_rows, along_columns)

    def views(self, left: int, top: int, right: int, bottom: int) -> list[tuple[Grey, Grey]]:
        """The box's surroundings turned four ways (top, bottom, left, right), so that
        the outside of each side is row 0; each with its detail turned alike."""
        grey, rows, columns = self.grey, self.along_rows, self.along_columns
        return [
            (grey[:, left:right], rows[:, left:right]),
            (grey[::-1, left:right], rows[::-1, left:right]),
            (grey[top:bottom].T, columns[top:bottom].T),
            (grey[top:bottom, ::-1].T, columns[top:bottom, ::-1].T),
        ]


def _trimmed(detail: _Detail) -> Region | None:
    """The picture inside a plain or blur-filled border: from each side, past the
    smooth rows to the first straight edge among or just after them."""
    height, width = detail.grey.shape
    sides = [0, 0, 0, 0]  # top, bottom, left, right: rows trimmed from each
    for index in range(4):
        # The left and right sides are looked for between the top and bottom found.
        view, texture = detail.views(0, sides[0], width, height - sides[1])[index]
        limit = int(view.shape[0] * 0.4)
        smooth = texture[:limit].mean(axis=1) <= _SMOOTH
        run = int(np.argmin(smooth)) if not smooth.all() else limit
        if run >= 5:
            edges = _edge_rows(view, texture, 6, min(run + 6, limit))
            if edges.size:
                sides[index] = _exact_edge(view, int(edges[0]))
            elif run < limit and _texture_starts(texture, run):
                sides[index] = run
    top, bottom, left, right = sides
    # Borders come in pairs: a letterbox, a pillarbox or all four. A flat margin on one
    # side only is more likely a screenshot's empty space, found better as embedded.
    if not (top and bottom) and not (left and right):
        return None
    box = Region("trim-border", left, top, width - right, height - bottom)
    return box if _area(box) <= MAX_BOX_SHARE * height * width else None


def _texture_starts(texture: Grey, run: int) -> bool:
    """Whether texture starts all at once after ``run`` nearly featureless rows and
    goes on: the edge of a dark or flat picture against its blurred fill, too faint
    column by column but plain in the row means. (A line of text starts as sharply,
    but stops again within a few rows.)"""
    rows = texture[:run].mean(axis=1), texture[run : run + 16].mean(axis=1)
    return bool(rows[0].mean() <= 0.15 and rows[1][:3].mean() >= 0.4 and rows[1].min() >= 0.25)


def _embedded(detail: _Detail) -> list[Region]:
    """Photos shown inside app furniture: blobs of busy cells, each bounding box moved
    side by side onto the nearest straight edge with flat or blurred ground outside,
    or out to the picture's border where there is none."""
    grey = detail.grey
    height, width = grey.shape
    size = (width // _CELL, height // _CELL)
    cells = cv2.resize(detail.detail, size, interpolation=cv2.INTER_AREA)
    busy = cv2.morphologyEx(
        (cells > _BUSY).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)
    )
    count, _, stats, _ = cv2.connectedComponentsWithStats(busy, connectivity=8)
    boxes: list[Region] = []
    for label in range(1, count):
        x, y, w, h = (int(v) * _CELL for v in stats[label, :4])
        if w * h < MIN_AREA_SHARE * height * width / 2:
            continue
        near = (y, height - y - h, x, width - x - w)
        ends = (y + h, height - y, x + w, width - x)
        views = detail.views(x, y, x + w, y + h)
        top, bottom, left, right = (
            _side(view, texture, start, end)
            for (view, texture), start, end in zip(views, near, ends, strict=True)
        )
        box = Region("embedded", left, top, width - right, height - bottom)
        if _area(box) <= MAX_BOX_SHARE * height * width:
            boxes.append(box)
    return boxes


def _side(view: Grey, texture: Grey, start: int, end: int) -> int:
    """Where the box side near row ``start`` of ``view`` goes, row 0 being the outside:
    just inside the nearest straight edge, or the border (0) where there is none."""
    if start <= _CELL:
        return 0
    inward = min(start + max(6, (end - start) // 8), end - MIN_SIDE, view.shape[0] - 4)
    edges = _edge_rows(view, texture, 6, inward)
    if not edges.size:
        return 0
    return _exact_edge(view, int(edges[np.argmin(np.abs(edges - start))]))


def _edge_rows(view: Grey, texture: Grey, lo: int, hi: int) -> npt.NDArray[np.intp]:
    """The rows in [lo, hi) of ``view`` that start just past a straight edge: one along
    which most columns have flat or blurred ground outside, and inside either a step
    in brightness or more texture than outside (a blur-filled border can be as bright
    as the picture next to it, but it has no grain)."""
    if hi <= lo:
        return np.empty(0, np.intp)
    rows = np.arange(lo, hi)
    step = np.abs(view[rows + 1] - view[rows - 2])
    outside = (texture[rows - 3] + texture[rows - 2]) / 2
    inside = (texture[rows + 1] + texture[rows + 2]) / 2
    edge = (outside <= _SMOOTH) & ((step >= _STEP) | (inside >= np.maximum(1.0, 3 * outside)))
    return lo + np.flatnonzero(edge.mean(axis=1) >= _STRAIGHT)


def _exact_edge(view: Grey, near: int) -> int:
    """The first clean row inside the edge near row ``near``. Resampling spreads the
    edge over two or three rows; where the step's weight lies says where the edge was,
    to a fraction of a row, and rows that are mostly outside are left out."""
    lo = max(1, near - 3)
    steps = np.abs(np.diff(view[lo - 1 : near + 4], axis=0)).mean(axis=1) ** 2
    peak = int(np.argmax(steps))  # steps[i] is the step into row lo + i
    around = slice(max(0, peak - 1), peak + 2)
    rows = np.arange(lo, lo + len(steps))[around]
    centre = float((rows * steps[around]).sum() / steps[around].sum())
    return math.ceil(centre - 0.05)


# --- Collages --------------------------------------------------------------------------

# A seam between two tiles is a spike in the column profile of steps: its steps exceed
# the typical step a little to either side (the median over flanks 6-16 px away) by this
# factor, after taking off a few grey levels so flat app furniture does not count. It
# must hold along each quarter of the seam: a photo's own straight edge, or the edge of
# a photo inside a screenshot, rarely runs the whole height or width of the picture.
# (Measured: quarters of real seams score 1.2 and up, anything else 0.75 at most.)
_SEAM = 1.0
# An outer gutter is a line of one colour: its grey levels vary by less than this.
_FLAT = 4.0


def _grid_tiles(grey: Grey) -> list[Region]:
    for n in (3, 2):
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
    """The n+1 column bands [start, end) that bound the tiles of an n-wide grid, left to
    right, the inner ones at k/n of the width: each the columns no tile should take
    (seam blends and gutters). None unless every inner seam is there."""
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
    """How far the seam's strongest step (within 5 columns of the centre) stands out
    of the flanks' typical step."""
    profile = steps.mean(axis=0)
    flanks = np.median(np.concatenate([profile[:10], profile[22:]]))
    return float((profile[11:21].max() - 3) / (flanks + 0.5))


def _first_strong(profile: Grey, beyond: Grey) -> int:
    """Where a tile stops, coming along ``profile`` from index 0: at the first step
    well above its own texture (as seen in ``beyond``, steps further inside the tile)
    and near the seam's strongest. Blends and a gutter lie past it."""
    peak = float(profile.max())
    strong = profile >= min(peak, max(0.3 * peak, 2 * float(np.median(beyond)) + 2))
    return int(np.argmax(strong))


def _outer_margin(edge: Grey) -> int:
    """How many columns of ``edge`` (the picture's first 17, from its border inwards)
    are an outer gutter: flat ones and the blend into the tile; 0 when the first is
    not flat."""
    if edge[:, 0].std() >= _FLAT:
        return 0
    profile = np.abs(np.diff(edge, axis=1)).mean(axis=0)
    return 10 - _first_strong(profile[9::-1], profile[10:])
