"""draft"""

from __future__ import annotations

import os

import cv2
import numpy as np
import numpy.typing as npt

Luma = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]
P = {k: float(v) for k, v in (x.split("=") for x in os.environ.get("P", "").split(",") if x)}


def p(name: str, default: float) -> float:
    return P.get(name, default)


def cleaned_views(luma: Luma) -> list[tuple[str, Luma]]:
    views: list[tuple[str, Luma]] = []
    text = _text_mask(luma)
    if text is not None:
        views.append(("remove-text", _fill(luma, text)))
    import sys
    sys.path.insert(0, "/tmp/ov")
    import badge
    b = badge.remove_badge(luma)
    if b is not None:
        views.append(("remove-badge", b))
    return views


def _flanked(luma: Luma, bright: Mask, reach: int, dark: int, vertical: bool) -> Mask:
    k = reach + 1
    kernel = np.ones((k, 1) if vertical else (1, k), np.uint8)
    before = cv2.erode(luma, kernel, anchor=(0, k - 1) if vertical else (k - 1, 0),
                       borderType=cv2.BORDER_REPLICATE)
    after = cv2.erode(luma, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    return bright & (before < dark) & (after < dark)


def _text_mask(luma: Luma) -> Mask | None:
    bright = luma > p("hi", 200)
    reach, dark = int(p("reach", 4)), p("lo", 70)
    across = _flanked(luma, bright, reach, dark, vertical=False)  # vertical strokes
    down = _flanked(luma, bright, reach, dark, vertical=True)  # horizontal strokes
    length = int(p("L", 0.15) * min(luma.shape))
    b = bright.view(np.uint8)
    lines = cv2.morphologyEx(b, cv2.MORPH_OPEN, np.ones((1, length), np.uint8)) | (
        cv2.morphologyEx(b, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8)))
    off_lines = cv2.dilate(lines, np.ones((3, 3), np.uint8)) == 0
    across &= off_lines
    down &= off_lines
    n_across, n_down = int(across.sum()), int(down.sum())
    seeds = across | down
    rows = np.convolve(seeds.sum(1), np.ones(5), "same").max()
    if os.environ.get("DBG"):
        print(n_across, n_down, rows)
    if n_across + n_down < p("minseed", 400) or min(n_across, n_down) < p("frac", 0.2) * (n_across + n_down):
        return None
    g = luma.astype(np.int16)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    tophat = g - cv2.morphologyEx(g, cv2.MORPH_OPEN, disc)
    blackhat = cv2.morphologyEx(g, cv2.MORPH_CLOSE, disc) - g
    square = np.ones((5, 5), np.uint8)
    tb = (tophat > p("th", 40)) & (g > p("hi2", 180))
    td = (blackhat > p("bh", 40)) & (g < p("lo2", 90))
    near_bright = cv2.dilate(tb.view(np.uint8), square) > 0
    near_dark = cv2.dilate(td.view(np.uint8), square) > 0
    r = int(p("near", 15))
    near_text = cv2.dilate(seeds.view(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
    s2 = ((tb & near_dark) | (td & near_bright) | seeds) & near_text
    extreme = ((luma > p("ghi", 200)) | (luma < p("glo", 60))).view(np.uint8) & near_text.view(np.uint8)
    grown = s2.view(np.uint8)
    for _ in range(int(p("grow", 3))):
        grown = cv2.dilate(grown, np.ones((3, 3), np.uint8)) & extreme | grown
    d = int(p("dil", 1))
    mask = cv2.dilate(grown, np.ones((2 * d + 1, 2 * d + 1), np.uint8)) if d else grown
    return mask > 0


def _fill(luma: Luma, mask: Mask) -> Luma:
    return cv2.inpaint(luma, mask.view(np.uint8), 3, cv2.INPAINT_TELEA)
