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

    @property
    def area(self) -> int:
        return (self.right - self.left) * (self.bottom - self.top)


Luma = npt.NDArray[np.uint8]
Grey = npt.NDArray[np.float32]


def find_regions(luma: Luma) -> list[Region]:
    """Boxes (in luma's pixel coordinates) worth hashing on their own."""
    height, width = luma.shape
    if height < 2 * MIN_SIDE or width < 2 * MIN_SIDE:
        return []
    grey = luma.astype(np.float32)
    detail = _Detail.of(grey)
    trimmed = _trimmed(detail)
    found = _grid_tiles(grey) + ([trimmed] if trimmed else []) + _embedded(detail)
    kept: list[Region] = []
    for region in found:
        if _big_enough(region, height * width) and not any(
            _same_box(region, other) for other in kept
        ):
            kept.append(region)
    return kept


def _big_enough(region: Region, picture_area: int) -> bool:
    return (
        min(region.right - region.left, region.bottom - region.top) >= MIN_SIDE
        and region.area >= MIN_AREA_SHARE * picture_area
    )


def _same_box(a: Region, b: Region) -> bool:
    return max(
        abs(a.left - b.left), abs(a.top - b.top), abs(a.right - b.right), abs(a.bottom - b.bottom)
    ) <= 2


# --- Framed pictures: borders and screenshots ----------------------------------------


@dataclass(frozen=True)
class _Detail:
    """The picture with its local detail: curvature across both axes, which texture and
    text have while the straight edges of borders and app furniture do not (they curve
    along one axis only). Averaged along rows for finding the top and bottom sides of a
    box, along columns for the left and right."""

    grey: Grey
    along_rows: Grey
    along_columns: Grey

    @classmethod
    def of(cls, grey: Grey) -> _Detail:
        across = np.abs(cv2.Sobel(grey, cv2.CV_32F, 2, 0, ksize=1))
        down = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 2, ksize=1))
        detail = np.minimum(across, down)
        return cls(grey, cv2.blur(detail, (5, 1)), cv2.blur(detail, (1, 5)))

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
    top, bottom, left, right = sides
    box = Region("trim-border", left, top, width - right, height - bottom)
    return box if box.area <= MAX_BOX_SHARE * height * width else None


def _embedded(detail: _Detail) -> list[Region]:
    """Photos shown inside app furniture: blobs of busy cells, each bounding box moved
    side by side onto the nearest straight edge with flat or blurred ground outside,
    or out to the picture's border where there is none."""
    grey = detail.grey
    height, width = grey.shape
    cells = cv2.resize(
        np.minimum(detail.along_rows, detail.along_columns),
        (width // _CELL, height // _CELL),
        interpolation=cv2.INTER_AREA,
    )
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
        if box.area <= MAX_BOX_SHARE * height * width:
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
    return rows[edge.mean(axis=1) >= _STRAIGHT]


def _exact_edge(view: Grey, near: int) -> int:
    """The first clean row inside the edge near row ``near``: past the largest one-row
    step, and one more, since the row at the step is a blend of both sides."""
    lo = max(1, near - 2)
    steps = np.abs(np.diff(view[lo - 1 : near + 3], axis=0)).mean(axis=1)
    return lo + int(np.argmax(steps)) + 1


# --- Collages --------------------------------------------------------------------------


def _grid_tiles(grey: Grey) -> list[Region]:
    for n in (3, 2):
        xs = _seams(grey, n)
        if xs is None:
            continue
        ys = _seams(grey.T, n)
        if ys is None:
            continue
        tiles = []
        for row in range(n):
            for column in range(n):
                left, right = xs[column][1], xs[column + 1][0]
                top, bottom = ys[row][1], ys[row + 1][0]
                tiles.append(Region(f"grid-{n}x{n}-r{row}c{column}", left, top, right, bottom))
        return tiles
    return []


def _seams(grey: Grey, n: int) -> list[tuple[int, int]] | None:
    """The n+1 column bands (start, end) that bound the tiles of an n-wide grid, from the
    picture's left edge to its right: each inner one a seam or gutter at k/n of the
    width; None unless every inner seam is there."""
    height, width = grey.shape
    bands = [_outer_band(grey)]
    for k in range(1, n):
        band = _seam_band(grey, round(k * width / n))
        if band is None:
            return None
        bands.append(band)
    left_end, right_start = _outer_band(grey[:, ::-1])
    bands.append((width - right_start, width - left_end))
    return bands


def _seam_band(grey: Grey, centre: int) -> tuple[int, int] | None:
    """A straight seam near column ``centre``: in most rows the largest step across it
    is larger than any step a little to either side, as where two unrelated pictures
    meet; a white gutter shows as a band between two such steps."""
    near = grey[:, centre - 12 : centre + 13]
    steps = np.abs(np.diff(near, axis=1))  # steps[:, i]: from column centre-12+i to the next
    inner = steps[:, 8:16]  # the steps between columns centre-4 and centre+4
    outer = np.maximum(steps[:, :8].max(axis=1), steps[:, 16:].max(axis=1))
    if np.mean(inner.max(axis=1) > outer + 2) < 0.6:
        return None
    # The seam's own columns, those at a strong step, are blends of both sides.
    profile = inner.mean(axis=0)
    strong = np.flatnonzero(profile >= 0.4 * profile.max())
    return centre - 3 + int(strong[0]), centre - 3 + int(strong[-1])


def _outer_band(grey: Grey) -> tuple[int, int]:
    """The gutter at the picture's left edge, if any: columns of flat colour."""
    spread = grey[:, :8].std(axis=0)
    column = 0
    while column < 8 and spread[column] < 3:
        column += 1
    return 0, column + 1 if column else 0
