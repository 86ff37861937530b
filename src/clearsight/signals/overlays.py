"""Cleaned views: copies of a query picture with a caption or a corner badge undone.

A hash list holds the hash of the original only, so a copy with meme text across it or
a watermark badge in a corner often lands too far from it in PDQ (meme text: about 70%
still match; a half-opaque badge: about 20-35%). Painting over the whole overlaid area
does not help much: PDQ then sees a blank where the picture had structure. What does
help is that both overlays leave most of the picture's information in place:

- Outlined text is made of thin strokes. Filling only the strokes from the pixels right
  beside them (OpenCV's Telea inpainting) gives back the coarse structure PDQ measures.
- A translucent badge keeps the picture at reduced contrast: inside it the pixels are
  ``a * picture + t``, with one ``t`` per flat-coloured part of the badge. Estimating
  ``a`` and each ``t`` from the badge's edges and inverting that blend restores the
  picture under the whole badge, not just a guess at it; only the thin seams along the
  badge's own edges are inpainted.

Each view is hashed as one extra lookup, and every lookup is a chance of a false
match, so both detectors are strict: on 176 unedited photos and generated landscapes,
and on every other edit of the robustness suite applied to them, they returned nothing.
They are made for the overlays of that suite (``clearsight.robustness.edits``): white
text with a black outline, lines 5-10% of the picture's height; and a square badge in a
corner, 20-70% of the short side across, that is a tinted square holding a light disc
holding a tinted square. Other lettering or watermark designs are not looked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Luma = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]

# Lettering: a pixel this bright, with one this dark within REACH pixels on both sides
# (across or along), is the core of an outlined stroke.
TEXT_BRIGHT, TEXT_DARK, TEXT_REACH = 200, 70, 4
# So many stroke cores (at 512 px) are a caption; a landscape or a city shot has a few
# dozen at most, short captions several hundred.
TEXT_MIN_CORES = 400
# Letters have upright and level strokes; a row of snowy railings only has level ones.
TEXT_MIN_SHARE_EACH_WAY = 0.2
# Captions are lines of text: two lines cover about a fifth of the tiles. Stroke cores
# spread over more than half the picture are a texture (or noise), not lettering.
TEXT_MAX_SPREAD = 0.5
# A bright run longer than this share of the short side is a frame or a collage gutter.
TEXT_LONGEST_STROKE = 0.15
# Masked: every bright pixel this close to a stroke core (wide letters), every dark one
# within TEXT_REACH (the outline), plus one pixel of anti-aliasing.
TEXT_NEAR = 6

# The badge, as shares of its side: a disc of radius 1/3 about the centre, holding a
# square whose half side is 1/6.
DISC_RADIUS, INNER_HALF = 1 / 3, 1 / 6
BADGE_SIDES = (0.2, 0.7)  # searched, as shares of the picture's short side
BADGE_MIN_SIDE = 16  # pixels: below this the disc and inner square are a blur
# Searched every 2 pixels (a disc's rim is still found 1 pixel off); the fit then
# tries the side up to a pixel either way, by half pixels.
BADGE_SIDE_STEP = 2.0
BADGE_MIN_CONTRAST = 8.0  # grey levels between the disc and its surroundings
# The fitted blend must explain the badge's edges: what is left of the jumps across
# them, as a share of the jumps, is at most this (badges: 0.1-0.4; none: 0.6 and up).
BADGE_MAX_RESIDUAL = 0.5
BADGE_WORTH_NUDGING = 0.7  # a first fit this good is refined
BADGE_KEEPS = (0.2, 0.9)  # plausible share of the picture kept under the badge (1 - alpha)
INPAINT_RADIUS = 3
GAP = 2.0  # pixels either side of an edge where the two sides are sampled


def cleaned_views(luma: Luma) -> list[tuple[str, Luma]]:
    """Copies of the picture with a detected overlay undone, named e.g. "remove-text",
    "remove-badge". Empty when nothing was detected.

    ``luma`` is the 2-D uint8 picture fitted into the 512-pixel working box.
    """
    views: list[tuple[str, Luma]] = []
    text = _text_mask(luma)
    if text is not None:
        views.append(("remove-text", _inpaint(luma, text)))
    badge = _find_badge(luma)
    if badge is not None:
        views.append(("remove-badge", _remove_badge(luma, badge)))
    return views


# --- Text -------------------------------------------------------------------------


def _text_mask(luma: Luma) -> Mask | None:
    bright = luma > TEXT_BRIGHT
    across = bright & _flanked_by_dark(luma, vertical=False)  # upright strokes
    down = bright & _flanked_by_dark(luma, vertical=True)  # level strokes
    off_lines = ~_dilate(_long_runs(bright, round(TEXT_LONGEST_STROKE * min(luma.shape))), 1)
    across &= off_lines
    down &= off_lines
    n_across, n_down = int(across.sum()), int(down.sum())
    if n_across + n_down < TEXT_MIN_CORES:
        return None
    if min(n_across, n_down) < TEXT_MIN_SHARE_EACH_WAY * (n_across + n_down):
        return None
    cores = across | down
    if _spread_share(cores) > TEXT_MAX_SPREAD:
        return None
    # The outline lies within TEXT_REACH of a core (that is how cores were found); on a
    # dark picture, masking every dark pixel further out would blank the background.
    outline = (luma < TEXT_DARK) & _dilate(cores, TEXT_REACH)
    return _dilate((bright & _dilate(cores, TEXT_NEAR)) | outline | cores, 1)


def _spread_share(cores: Mask) -> float:
    """The share of the picture's 32-pixel tiles that hold a few stroke cores."""
    h, w = (-(-n // 32) for n in cores.shape)  # tiles down and across, the last ones partial
    padded = np.zeros((h * 32, w * 32), np.int32)
    padded[: cores.shape[0], : cores.shape[1]] = cores
    per_tile = padded.reshape(h, 32, w, 32).sum(axis=(1, 3))
    return float((per_tile >= 8).mean())


def _flanked_by_dark(luma: Luma, *, vertical: bool) -> Mask:
    """Pixels with a dark pixel within TEXT_REACH before them and one after them."""
    k = TEXT_REACH + 1
    kernel = np.ones((k, 1) if vertical else (1, k), np.uint8)
    # An erosion is a running minimum; the anchor puts the window before or after.
    before = cv2.erode(luma, kernel, anchor=(0, k - 1) if vertical else (k - 1, 0))
    after = cv2.erode(luma, kernel, anchor=(0, 0))
    return (before < TEXT_DARK) & (after < TEXT_DARK)


def _long_runs(mask: Mask, length: int) -> Mask:
    u8 = mask.view(np.uint8)
    level = cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    upright = cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8))
    return np.asarray(np.maximum(level, upright) > 0)


def _dilate(mask: Mask, radius: int) -> Mask:
    square = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return np.asarray(cv2.dilate(mask.view(np.uint8), square) > 0)


def _inpaint(luma: Luma, mask: Mask) -> Luma:
    """Telea inpainting of ``mask``, worked on the box around it only (it is local)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    out = luma.copy()
    if rows.size == 0:
        return out
    margin = INPAINT_RADIUS + 2
    box = (
        slice(max(rows[0] - margin, 0), rows[-1] + margin + 1),
        slice(max(cols[0] - margin, 0), cols[-1] + margin + 1),
    )
    patch = np.ascontiguousarray(luma[box])
    hole = np.ascontiguousarray(mask[box]).view(np.uint8)
    out[box] = cv2.inpaint(patch, hole, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    return out


# --- Badge ------------------------------------------------------------------------
# Everything is worked out with the corner in question flipped to the top left.


@dataclass(frozen=True)
class _Badge:
    corner: int  # 0 top left, 1 top right, 2 bottom left, 3 bottom right
    side: float
    keeps: float  # a: the share of the picture that shows through
    tints: tuple[float, float, float]  # t of the square, the disc and the inner square
    residual: float  # share of the jumps across the badge's edges the fit leaves


def _corner_view(luma: Luma, corner: int) -> Luma:
    """The picture flipped so ``corner`` is at the top left; its own inverse."""
    flipped = luma[:, ::-1] if corner % 2 else luma
    return flipped[::-1, :] if corner >= 2 else flipped


def _find_badge(luma: Luma) -> _Badge | None:
    short = min(luma.shape)
    sides = np.arange(
        max(BADGE_SIDES[0] * short, BADGE_MIN_SIDE), BADGE_SIDES[1] * short, BADGE_SIDE_STEP
    )
    if sides.size == 0:
        return None
    candidates: list[tuple[float, int, float]] = []
    for corner in range(4):
        scores = _disc_contrast(luma, corner, sides)
        at = int(np.argmax(scores))
        candidates.append((float(scores[at]), corner, float(sides[at])))
    candidates.sort(reverse=True)
    found: _Badge | None = None
    # A strong disc elsewhere can outscore a real badge, so the two best corners are fitted.
    for contrast, corner, side in candidates[:2]:
        if contrast < BADGE_MIN_CONTRAST:
            break
        fits = [_fit_badge(luma, corner, side)]
        if fits[0].residual <= BADGE_WORTH_NUDGING:
            # The disc search steps 2 pixels; the seams want the side to half a pixel.
            fits += [_fit_badge(luma, corner, side + nudge) for nudge in (-1.0, -0.5, 0.5, 1.0)]
        best = min(fits, key=lambda badge: badge.residual)
        if found is None or best.residual < found.residual:
            found = best
    if found is None or found.residual > BADGE_MAX_RESIDUAL:
        return None
    if not BADGE_KEEPS[0] <= found.keeps <= BADGE_KEEPS[1]:
        return None
    return found


def _badge_outline(points: int) -> tuple[Floats, Floats, Floats, Floats]:
    """Points on the disc's rim and on the inner square's edges, with unit normals
    pointing away from the badge's centre; positions are relative to the centre, in
    units of the side. The square's points stop short of its corners."""
    angle = np.linspace(0, 2 * np.pi, 4 * points, endpoint=False)
    rim_at = DISC_RADIUS * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    rim_normal = rim_at / DISC_RADIUS
    along = np.linspace(-0.8, 0.8, points) * INNER_HALF
    at, normal = [], []
    for sign in (-1.0, 1.0):
        across = np.full_like(along, sign * INNER_HALF)
        at += [np.stack([across, along], axis=1), np.stack([along, across], axis=1)]
        normal += [np.tile([sign, 0.0], (points, 1)), np.tile([0.0, sign], (points, 1))]
    return rim_at, rim_normal, np.concatenate(at), np.concatenate(normal)


RIM_AT, RIM_NORMAL, INNER_AT, INNER_NORMAL = _badge_outline(16)


def _straddle(
    luma: Luma, corner: int, sides: Floats, at: Floats, normal: Floats
) -> tuple[Floats, Floats]:
    """The pixels GAP before and GAP beyond each point along its normal. ``at`` is
    relative to the centre of a badge of each side in ``corner``, in units of the side,
    with that corner seen as the top left. One row per side, one column per point."""
    h, w = luma.shape
    flat = luma.ravel()
    y = sides[:, None] * (0.5 + at[:, 0])
    x = sides[:, None] * (0.5 + at[:, 1])

    def pixels(step: float) -> Floats:
        yi = np.clip((y + step * normal[:, 0]).astype(np.intp), 0, h - 1)
        xi = np.clip((x + step * normal[:, 1]).astype(np.intp), 0, w - 1)
        if corner >= 2:
            yi = h - 1 - yi
        if corner % 2:
            xi = w - 1 - xi
        return np.asarray(flat[yi * w + xi], np.float64)

    return pixels(-GAP), pixels(GAP)


def _disc_contrast(luma: Luma, corner: int, sides: Floats) -> Floats:
    """For a badge of each side at the top left, how clearly its disc stands out.

    Across the disc's rim the picture under the badge is the same on both sides, so the
    jump averaged round the rim is the disc's tint over the square's; across the inner
    square's edge it is the same jump the other way. Texture averages out round a rim;
    a badge shows both jumps, equal and opposite, so the smaller of the two is the score.
    """
    disc, square = _straddle(luma, corner, sides, RIM_AT, RIM_NORMAL)
    inner, disc_beside = _straddle(luma, corner, sides, INNER_AT, INNER_NORMAL)
    rim = (disc - square).mean(axis=1)
    inner_edge = (disc_beside - inner).mean(axis=1)
    agree = np.sign(rim) == np.sign(inner_edge)
    return np.where(agree, np.minimum(np.abs(rim), np.abs(inner_edge)), 0.0)


def _fit_badge(luma: Luma, corner: int, side: float) -> _Badge:
    """Fit ``a`` and the three tints from pixel pairs straddling the badge's edges."""
    sides = np.array([side])
    # The square's own edges that lie inside the picture: inside a*p + t, outside p.
    along = (np.arange(0.5, side - GAP) / side - 0.5)[:, None]
    edge = np.full_like(along, 0.5)
    inside_parts, outside_parts = [], []
    for at, normal, room in (
        (np.hstack([along, edge]), np.array([[0.0, 1.0]]), luma.shape[1]),
        (np.hstack([edge, along]), np.array([[1.0, 0.0]]), luma.shape[0]),
    ):
        if side + GAP < room:
            near, far = _straddle(luma, corner, sides, at, np.broadcast_to(normal, at.shape))
            inside_parts.append(near[0])
            outside_parts.append(far[0])
    if not inside_parts:  # the square reaches across the picture: no edge to fit on
        return _Badge(corner, side, 1.0, (0.0, 0.0, 0.0), np.inf)
    inside, outside = np.concatenate(inside_parts), np.concatenate(outside_parts)
    # With the same picture on both sides, the inside varies ``a`` times as much.
    # (A regression of inside on outside would come out low wherever texture differs
    # across the gap.) Over a flat background there is nothing to measure: take 0.5.
    spread = float(np.std(outside))
    keeps = max(float(np.std(inside)) / spread, 0.05) if spread > 4 else 0.5
    disc, square = (v[0] for v in _straddle(luma, corner, sides, RIM_AT, RIM_NORMAL))
    inner, disc_beside = (v[0] for v in _straddle(luma, corner, sides, INNER_AT, INNER_NORMAL))
    # Both sides of the rim and of the inner square's edge are under the badge.
    # Medians, so a tree trunk crossing an edge does not drag the tints.
    tint_square = float(np.median(inside - keeps * outside))
    tint_disc = tint_square + float(np.median(disc - square))
    tint_inner = tint_disc + float(np.median(inner - disc_beside))
    left = np.concatenate(
        [
            inside - keeps * outside - tint_square,
            disc - square - (tint_disc - tint_square),
            inner - disc_beside - (tint_inner - tint_disc),
        ]
    )
    jumps = np.concatenate([inside - outside, disc - square, inner - disc_beside])
    # Clipped, so a few strong natural edges do not decide it either way.
    residual = float(np.mean(np.minimum(np.abs(left), 60)))
    residual /= max(float(np.mean(np.minimum(np.abs(jumps), 60))), 1e-6)
    return _Badge(corner, side, keeps, (tint_square, tint_disc, tint_inner), residual)


def _badge_zones(size: tuple[int, int], side: float) -> npt.NDArray[np.uint8]:
    """0 outside the badge, 1 its square, 2 the disc, 3 the inner square (top left)."""
    y, x = np.mgrid[0 : size[0], 0 : size[1]] + 0.5
    centre = side / 2
    zones = np.zeros(size, np.uint8)
    zones[(y < side) & (x < side)] = 1
    zones[(y - centre) ** 2 + (x - centre) ** 2 < (side * DISC_RADIUS) ** 2] = 2
    zones[(np.abs(y - centre) < side * INNER_HALF) & (np.abs(x - centre) < side * INNER_HALF)] = 3
    return zones


def _remove_badge(luma: Luma, badge: _Badge) -> Luma:
    g = _corner_view(luma, badge.corner).astype(np.float64)
    h, w = g.shape
    size = (min(h, int(badge.side) + 4), min(w, int(badge.side) + 4))
    zones = _badge_zones(size, badge.side)
    tint = np.array([0.0, *badge.tints])[zones]
    region = g[: size[0], : size[1]]
    under = zones > 0
    region[under] = (region[under] - tint[under]) / badge.keeps
    restored = np.clip(g + 0.5, 0, 255).astype(np.uint8)
    # The badge's edges were blurred by resizing, so the pixels along them are a mix
    # of two zones that neither formula undoes: inpaint a seam 4 pixels wide.
    zones_u8 = zones.view(np.uint8)
    square = np.ones((3, 3), np.uint8)
    seams = np.zeros((h, w), np.bool_)
    seams[: size[0], : size[1]] = cv2.dilate(zones_u8, square) != cv2.erode(zones_u8, square)
    return np.ascontiguousarray(_corner_view(_inpaint(restored, _dilate(seams, 1)), badge.corner))
