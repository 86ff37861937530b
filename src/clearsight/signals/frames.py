"""Where a picture sits inside a larger one, found without assuming what the frame looks like.

:mod:`clearsight.signals.regions` recognises frames by their look (flat or blurred
borders, flat app furniture, seams at 1/2 or 1/3). Copies made elsewhere come in frames
of any look: bars of any colour with text on them, pads filled with stripes or checks,
chrome of any layout. Two properties hold for nearly all of them and are looked for
here instead:

* **uniform bands**: a bar, a plain pad or a letterbox is, row by row (or column by
  column), mostly one colour, the colour it has at the picture's border. Text on a bar
  covers a minority of each row. So from each side the rows are taken off while most
  of each is within a few grey levels of the border's colour.
* **straight edges**: whatever fills a frame, the picture inside it ends in straight
  lines, and the step across them runs (with small gaps) the whole length of the
  picture's side. A rectangle whose four sides are such lines, or the picture's own
  border where there is no frame on that side, is a content box.

Each box found is one more PDQ lookup (and one more chance of a false match), so at
most :data:`MAX_BOXES` are returned, the best supported first, and none that is nearly
the whole picture (hashed anyway) or too small to hash reliably.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from clearsight.signals.regions import MIN_AREA_SHARE, MIN_SIDE, Region

Luma = npt.NDArray[np.uint8]
Grey = npt.NDArray[np.float32]

MAX_BOXES = 3
# A banner covers at most this share of the picture's side (the random edits: 25%).
MAX_BANNER = 0.3
# A box with nearly all of the picture hashes like the whole picture, which is hashed
# anyway. (A caption bar of 8% already moves PDQ 40 bits or more: such boxes are kept.)
MAX_BOX_SHARE = 0.97
# A row belongs to a uniform band while this share of it lies within _NEAR grey levels
# of the band's colour. Text on a caption bar covers well under half of its rows.
_UNIFORM_SHARE = 0.55
_NEAR = 6
# ... and over the whole band this share: a bar is one colour but where its text is,
# while a sky or a wall drifts in shade.
_BAND_MEAN_SHARE = 0.8
# A band is this many rows at least (thinner ones are a frame line, or JPEG ringing).
_MIN_BAND = 4
# A band takes at most this share of the picture's side: past it the "band" is a plain
# part of the photo (a wall, a sky) more often than a frame.
_MAX_BAND = 0.7
# A straight edge: a step of at least _STEP grey levels across it (between the rows 1
# either side, so a resampling blend over 2 rows still counts) along this share of its
# length. Gaps are where the fill happens to match the picture.
_STEP = 10.0
_STRAIGHT = 0.4
# Edges are looked for from the border up to this share of the side inwards.
_SEARCH = 0.45
# Before the other sides are known, an edge is a line whose longest run (gaps of up to
# _GAP pixels closed) spans this share of the picture at least.
_LONGEST_RUN = 0.3
_GAP = 9
# A row is plain (chrome, a plain pad) where neighbouring pixels along it differ by
# less than this on average.
_PLAIN_ROW = 1.0
_BORDER = 4


@dataclass(frozen=True)
class _Edges:
    """Straight-edge evidence: ``rows[r, c]`` is whether there is a step between rows
    r - 1 and r + 1 at column c; ``columns`` the same turned."""

    rows: npt.NDArray[np.bool_]
    columns: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, grey: Grey) -> _Edges:
        # The columns' steps from a transposed copy: rows of contiguous memory are
        # several times faster to step along than a transposed view's.
        return cls(_steps(grey), _steps(np.ascontiguousarray(grey.T)).T)


def _steps(grey: Grey) -> npt.NDArray[np.bool_]:
    """Where a row is an edge at a column: a step of _STEP across it (rows r - 1 to
    r + 1, so a resampling blend still counts) that is much larger than the steps 3
    rows out on one side at least. Texture steps on every row; a frame's edge has
    its fill on one side, flat or with steps elsewhere."""
    step = np.zeros(grey.shape, np.float32)
    np.subtract(grey[2:], grey[:-2], out=step[1:-1])
    np.abs(step, out=step)
    # The smaller of the steps 3 rows before and after; rows with no row 3 out on a
    # side take 0 for it (so their bar is 2).
    bar = np.zeros_like(step)
    np.minimum(step[:-6], step[6:], out=bar[3:-3])
    bar *= 2.5
    bar += 2
    return np.asarray((step >= _STEP) & (step >= bar))


def content_boxes(luma: Luma) -> list[Region]:
    """Boxes (in ``luma``'s pixels) that may hold a picture put in a frame, best first."""
    height, width = luma.shape
    if height < 2 * MIN_SIDE or width < 2 * MIN_SIDE:
        return []
    grey = cv2.GaussianBlur(luma, (3, 3), 0).astype(np.float32)
    found: list[Region] = []
    banded = _inside_bands(grey)
    if banded is not None:
        found.append(banded)
    found += _edge_boxes(grey)
    tiles = collage_tiles(luma)
    kept: list[Region] = []
    for box in found:
        area = (box.right - box.left) * (box.bottom - box.top)
        if (
            min(box.right - box.left, box.bottom - box.top) >= MIN_SIDE
            and MIN_AREA_SHARE * height * width <= area <= MAX_BOX_SHARE * height * width
            and not any(_same(box, other) for other in kept)
        ):
            kept.append(box)
    return kept[:MAX_BOXES] + tiles


def _same(a: Region, b: Region) -> bool:
    sides = (a.left - b.left, a.top - b.top, a.right - b.right, a.bottom - b.bottom)
    return max(map(abs, sides)) <= 2


# --- Uniform bands ---------------------------------------------------------------------


def _inside_bands(grey: Grey) -> Region | None:
    """The picture inside the uniform bands on its sides, or None without any."""
    height, width = grey.shape
    cut = [0, 0, 0, 0]  # top, bottom, left, right
    for side in range(4):
        # Left and right are measured between the bands found on top and bottom.
        view = _side_view(grey[cut[0] : height - cut[1]], side)
        cut[side] = _band(view)
    top, bottom, left, right = cut
    if not any(cut):
        return None
    return Region("content-band", left, top, width - right, height - bottom)


def _side_view(grey: Grey, side: int) -> Grey:
    """``grey`` turned so that row 0 is the given side's border (top, bottom, left,
    right) and rows count inwards."""
    if side == 0:
        return grey
    if side == 1:
        return grey[::-1]
    if side == 2:
        return grey.T
    return grey[:, ::-1].T


def _band(view: Grey) -> int:
    """How many rows from row 0 of ``view`` are a uniform band, and the blended row
    after it: 0 when there is none."""
    depth = int(view.shape[0] * _MAX_BAND)
    colour = float(np.median(view[0]))
    near = np.abs(view[:depth] - colour) <= _NEAR
    share = near.mean(axis=1)
    if share[0] < _UNIFORM_SHARE:
        return 0
    run = depth if (share >= _UNIFORM_SHARE).all() else int(np.argmin(share >= _UNIFORM_SHARE))
    if run < _MIN_BAND or run >= depth or share[:run].mean() < _BAND_MEAN_SHARE:
        return 0
    # The last band rows may be blended with the picture by resampling: step past
    # rows that are partly the band's colour.
    # rows that are partly the band's colour (two at most).
    for _ in range(2):
        if share[run] >= 0.3 * _UNIFORM_SHARE and share[run] > share[run + 1]:
            run += 1
    return run


def banner_filled(luma: Luma) -> list[tuple[str, Luma]]:
    """The picture with a uniform band on one side painted over from the picture beside
    it, or None without exactly one such band (of at most MAX_BANNER of the side).

    A bar laid over a picture (a banner) hides what it covers, so the content box (the
    picture without the bar) is a crop of the original, as far from its hash as any
    crop. Filling the bar from its surroundings (Telea inpainting, at a quarter of the
    size: only the coarse structure PDQ measures matters) restores the overall layout:
    on the development half this brought 40% of banner copies within the threshold,
    against none for the box.

    A second view fills the bar with the picture's mean grey instead (``banner-plain``):
    where the hidden part differed from its surroundings, the plain guess lands closer
    as often as not (on the development half, with both views 32 of 60 copies came
    within the threshold against 29 with the inpainting alone; mirrored, edge-extended
    and Navier-Stokes fills added none). Empty without exactly one band.
    """
    height, width = luma.shape
    if height < 2 * MIN_SIDE or width < 2 * MIN_SIDE:
        return []
    grey = cv2.GaussianBlur(luma, (3, 3), 0).astype(np.float32)
    bands = [_band(_side_view(grey, side)) for side in range(4)]
    sides = [side for side, rows in enumerate(bands) if rows]
    if len(sides) != 1:
        return []
    side = sides[0]
    rows = bands[side]
    extent = height if side < 2 else width
    if rows > MAX_BANNER * extent:
        return []
    mask = np.zeros(luma.shape, np.uint8)
    if side == 0:
        mask[:rows] = 255
    elif side == 1:
        mask[height - rows :] = 255
    elif side == 2:
        mask[:, :rows] = 255
    else:
        mask[:, width - rows :] = 255
    small = (max(1, width // 4), max(1, height // 4))
    painted = cv2.inpaint(
        cv2.resize(luma, small, interpolation=cv2.INTER_AREA),
        cv2.resize(mask, small, interpolation=cv2.INTER_NEAREST),
        3,
        cv2.INPAINT_TELEA,
    )
    filled = luma.copy()
    covered = mask > 0
    filled[covered] = cv2.resize(painted, (width, height), interpolation=cv2.INTER_LINEAR)[covered]
    plain = luma.copy()
    plain[covered] = round(float(luma[~covered].mean()))
    return [("banner-filled", filled), ("banner-plain", plain)]


# --- Straight edges --------------------------------------------------------------------


def _edge_boxes(grey: Grey) -> list[Region]:
    """Rectangles whose sides are straight edges or the picture's border, best first.

    The top and bottom are sought first, each a line whose longest unbroken run is long,
    then the left and right between them, then the top and bottom again between those
    (now along the box's width); and the same starting with the left and right."""
    height, width = grey.shape
    edges = _Edges.of(grey)
    boxes: list[tuple[float, Region]] = []
    for axis_first in (0, 1):
        box = [0, height, 0, width]  # top, bottom, left, right
        support = 1.0
        for step, axis in enumerate((axis_first, 1 - axis_first, axis_first)):
            spans_all = step == 0
            if axis == 0:
                top, bottom, share = _pair(edges.rows, grey, box[2], box[3], spans_all)
                box[0], box[1] = top, bottom
            else:
                left, right, share = _pair(edges.columns.T, grey.T, box[0], box[1], spans_all)
                box[2], box[3] = left, right
            support = min(support, share)
        # One side only is a bar, which the bands find if it is one; a photo's own
        # straight line (a horizon, a kerb) would be taken for one too often.
        framed = (box[0] > 0) + (box[1] < height) + (box[2] > 0) + (box[3] < width)
        if framed >= 2:
            top, bottom, left, right = box
            boxes.append((support, Region("content-edges", left, top, right, bottom)))
    boxes.sort(key=lambda scored: -scored[0])
    return [box for _, box in boxes]


def _pair(
    steps: npt.NDArray[np.bool_], grey: Grey, lo: int, hi: int, spans_all: bool
) -> tuple[int, int, float]:
    """Where the content starts and ends along the rows of ``steps``, looking between
    columns lo and hi: past the innermost straight edge within reach of each border,
    or at the border. With the weaker edge's support (1
    where both are borders, 0 where the span is too short to tell).

    ``spans_all``: the span is the whole picture and the box's other sides are not known
    yet, so an edge qualifies by its longest unbroken run, not its share of the span."""
    size = steps.shape[0]
    if hi - lo < MIN_SIDE:
        return 0, size, 0.0
    part = steps[:, lo:hi]
    reach = int(size * _SEARCH)
    if spans_all:
        share = _longest_runs(part) / (hi - lo)
        needed = _LONGEST_RUN
    else:
        share = part.mean(axis=1)
        needed = _STRAIGHT
    share = _prominence(share)
    # Not the outermost rows: a picture's own border rows often step (vignetting,
    # JPEG), and a frame thinner than this is none worth taking off.
    plain = _plain_rows(grey[:, lo:hi])
    start = _innermost(share, range(_BORDER, reach), needed, plain, -1)
    end = _innermost(share, range(size - 1 - _BORDER, size - reach, -1), needed, plain, 1)
    support = min(
        1.0 if start is None else float(share[round(start)]),
        1.0 if end is None else float(share[round(end)]),
    )
    # An edge at row r lies between the rows either side of r: the content starts after
    # it, or ends before it (at r + 0.5, between two rows, nothing is lost either way).
    first = 0 if start is None else math.floor(start) + 1
    last = size if end is None else math.ceil(end)
    return first, last, support


def _prominence(share: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``share`` less the typical share of the rows 3-8 either side: texture has
    steps on every row, an edge on its own line only."""
    return np.asarray(share - _flank_median(np.pad(share, 8, mode="edge")))


# The flanks of a position: 3 to 8 places either side of it (12 in all).
_FLANKS = np.array([*range(6), *range(11, 17)])


def _flank_median(padded: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """The median of each position's 12 flanks along the last axis of ``padded`` (the
    values, padded by 8 on both ends of that axis), in ``padded``'s precision.

    ``np.median`` over 12 shifted copies, as a sort of each position's flanks (a
    window view): the mean of the 6th and 7th, as ``np.median`` takes it, bit for bit.
    """
    windows = np.lib.stride_tricks.sliding_window_view(padded, 17, axis=-1)
    flanks = np.sort(windows[..., _FLANKS], axis=-1)
    middle: npt.NDArray[np.floating] = (flanks[..., 5] + flanks[..., 6]) / 2
    return middle


def _plain_rows(grey: Grey) -> npt.NDArray[np.bool_]:
    """Rows that are one colour along their length (chrome, a plain pad, a gutter)."""
    if grey.shape[1] < 2:
        return np.zeros(grey.shape[0], bool)
    return np.asarray(np.abs(np.diff(grey, axis=1)).mean(axis=1) < _PLAIN_ROW)


def _innermost(
    share: npt.NDArray[np.float64],
    rows: range,
    needed: float,
    plain: npt.NDArray[np.bool_],
    outwards: int,
) -> float | None:
    """Where the last of ``rows`` (border first) that is a straight edge lies, to half
    a row: resampling spreads a step over two rows, and the edge is then between them.

    Of edges with plain rows just outside them (``outwards``: -1 where the border is
    at row 0, else 1), the innermost: chrome or a plain pad ends there, and a long
    straight line in the picture (a roof, a kerb) has picture on both sides. Without
    any, the innermost edge, since a patterned frame holds straight lines of its own
    (stripes, a title bar) but the picture inside it rarely has one running its
    whole width."""
    candidates = [row for row in rows if share[row] >= needed]
    framed = [row for row in candidates if _plain_beyond(plain, row, outwards)]
    found: int | None = None
    for row in framed or candidates:
        if found is None or abs(row - found) > 2 or share[row] > share[found]:
            found = row
    if found is None:
        return None
    # Its neighbour with nearly as strong a step shares the edge.
    twins = [row for row in (found - 1, found + 1) if share[row] >= 0.7 * share[found]]
    return float(np.mean([found, *twins])) if len(twins) == 1 else float(found)


def _plain_beyond(plain: npt.NDArray[np.bool_], row: int, outwards: int) -> bool:
    """Whether the 3 rows beyond the blend either side of an edge at ``row`` are plain."""
    first = row + 2 * outwards
    beyond = [first + k * outwards for k in range(3)]
    return all(0 <= at < plain.shape[0] and plain[at] for at in beyond)


def _longest_runs(steps: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """The longest run of each row of ``steps``, gaps of up to _GAP columns closed;
    0 for a row that is less than _LONGEST_RUN steps (it cannot hold a run that long)."""
    closed = cv2.morphologyEx(steps.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, _GAP), np.uint8))
    longest = np.zeros(closed.shape[0])
    rows = np.flatnonzero(closed.mean(axis=1) >= _LONGEST_RUN)
    if not rows.size:
        return longest
    padded = np.zeros((rows.size, closed.shape[1] + 2), np.int8)
    padded[:, 1:-1] = closed[rows]
    changes = np.diff(padded, axis=1)
    # Runs start and end alternately along each row, so in row-major order the k-th
    # start and the k-th end belong to the same run: all rows in one pass.
    starts, start_columns = np.nonzero(changes == 1)
    _, end_columns = np.nonzero(changes == -1)
    np.maximum.at(longest, rows[starts], end_columns - start_columns)
    return longest


# --- Collage tiles ---------------------------------------------------------------------


def collage_tiles(luma: Luma) -> list[Region]:
    """The tiles of a collage: the cells between seams that run the picture's whole
    height or width, wherever they lie (tiles need not be equal). Empty unless the
    seams make at least 2 x 2 and at most MAX_TILES cells."""
    height, width = luma.shape
    if height < 2 * MIN_SIDE or width < 2 * MIN_SIDE:
        return []
    grey = cv2.GaussianBlur(luma, (3, 3), 0).astype(np.float32)
    columns = _cells(_seam_lines(grey), width)
    rows = _cells(_seam_lines(grey.T), height)
    if len(columns) * len(rows) < 4 or len(columns) * len(rows) > MAX_TILES:
        return []
    return [
        Region(f"tile-{len(rows)}x{len(columns)}-r{r}c{c}", left, top, right, bottom)
        for r, (top, bottom) in enumerate(rows)
        for c, (left, right) in enumerate(columns)
    ]


MAX_TILES = 16
# A seam's step, averaged down each quarter of its length, stands out of the steps of
# the columns 3-8 away by this factor in every quarter: a photo's own edges rarely run
# the whole height, and never that evenly.
_SEAM_SPIKE = 1.4
# Seams closer than this are the two edges of one gutter.
_GUTTER = 16
# Cells narrower than this share of the picture are gutters.
_MIN_CELL = 0.12


def _seam_lines(grey: Grey) -> list[tuple[int, int]]:
    """Columns of ``grey`` where a seam runs its whole height, left to right, as
    (first, last) column: the two edges of a gutter make one seam."""
    width = grey.shape[1]
    grey = np.ascontiguousarray(grey)  # the rows of a transposed view step slowly
    step = np.zeros(grey.shape, np.float32)
    np.subtract(grey[:, 2:], grey[:, :-2], out=step[:, 1:-1])
    np.abs(step, out=step)
    quarters = np.stack([part.mean(axis=0) for part in np.array_split(step, 4)])
    padded = np.pad(quarters, ((0, 0), (8, 8)), mode="edge")
    spike = (quarters - 2) / (_flank_median(padded) + 0.5)
    # A step between two columns shows in both (it is taken over 2 columns): the
    # stronger of each 3 stands for the seam.
    spike = np.asarray(cv2.dilate(spike.astype(np.float32), np.ones((1, 3), np.uint8)))
    strong = spike.min(axis=0) >= _SEAM_SPIKE
    strong[:3] = strong[-3:] = False
    bands: list[tuple[int, int]] = []
    for column in np.flatnonzero(strong).tolist():
        if bands and column - bands[-1][1] <= _GUTTER:
            bands[-1] = (bands[-1][0], column)
        else:
            bands.append((column, column))
    return _with_missed(_without_strays(bands, width), width)


def _without_strays(bands: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """``bands`` less those a photo's own straight line added: while two seams lie much
    closer than seams typically do, the one whose removal leaves the more even spacing
    goes. (A seam near the border is the inner edge of an outer gutter: not a stray.)"""
    inner = [band for band in bands if min(band[0], size - band[1]) > _MIN_CELL * size]
    outer = [band for band in bands if band not in inner]
    while len(inner) >= 2:
        centres = np.array([(a + b) / 2 for a, b in inner])
        gaps = np.diff(centres)
        typical = float(np.median(np.r_[gaps, centres[0], size - centres[-1]]))
        small = int(np.argmin(gaps))
        if gaps[small] >= 0.5 * typical:
            break
        del inner[min((small, small + 1), key=lambda at: _unevenness(inner, at, size))]
    return sorted(outer + inner)


def _with_missed(bands: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """``bands`` with a seam added in the middle of any gap twice as wide as the
    others: collage tiles are usually equal, and a seam between two similar tiles
    (sky beside sky) can be too faint to see."""
    inner = [band for band in bands if min(band[0], size - band[1]) > _MIN_CELL * size]
    if not inner:
        return bands
    first = max((b for _, b in bands if b <= _MIN_CELL * size), default=0)
    last = min((a for a, _ in bands if size - a <= _MIN_CELL * size), default=size)
    edges = [float(first), *((a + b) / 2 for a, b in inner), float(last)]
    gaps = np.diff(edges)
    typical = float(np.min(gaps))
    added: list[tuple[int, int]] = []
    for start, gap in zip(edges[:-1], gaps, strict=True):
        parts = round(gap / typical)
        if parts >= 2 and abs(gap / parts - typical) <= 0.15 * typical:
            for k in range(1, parts):
                middle = round(start + k * gap / parts)
                added.append((middle - 1, middle + 1))
    return sorted(bands + added)


def _unevenness(bands: list[tuple[int, int]], leaving: int, size: int) -> float:
    rest = [0.0, *((a + b) / 2 for k, (a, b) in enumerate(bands) if k != leaving), float(size)]
    return float(np.std(np.diff(rest)))


def _cells(bands: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """The spans between consecutive seams (and the borders), without the seams' own
    columns; gutters and slivers left out. A band (first, last) of strong columns is
    one wider than the step each side (steps are taken over two columns), so a tile
    starts at ``last`` and ends before ``first + 1``."""
    starts = [0, *(last for _, last in bands)]
    ends = [*(first + 1 for first, _ in bands), size]
    return [
        (start, end)
        for start, end in zip(starts, ends, strict=True)
        if end - start >= _MIN_CELL * size
    ]
