"""A re-implementation of the `invisible-watermark` library's dwtDct encoder, for fixtures.

It follows ``imwatermark/maxDct.py`` (``EmbedMaxDct.encode``) step by step, quirks
included: only the U channel is marked; the largest-magnitude LL entry of each 4x4
block (the top-left one excepted) is quantised; the horizontal and vertical detail
bands are swapped when the channel is rebuilt; and the rebuilt float channel is
written back into the YUV array with numpy's truncating cast. The library itself
imports torch, so the tests use this instead.

Two pipelines feed the encoder in the wild. The SD v1/v2 scripts hand it 8-bit BGR
(``dtype=np.uint8``); SDXL and diffusers hand it float32 pixels in [0, 255], for which
OpenCV centres U on 0.5 instead of 128, and then round the result back to 8 bits.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt
import pywt  # type: ignore[import-untyped]

from clearsight.origin.watermark import BLOCK, MIN_PIXELS, SCALE, ChannelOrder

U_CHANNEL = 1


def embed(
    rgb: npt.NDArray[np.uint8],
    bits: Sequence[bool],
    order: ChannelOrder = ChannelOrder.BGR,
    float_pipeline: bool = False,
) -> npt.NDArray[np.uint8]:
    """``rgb`` with ``bits`` embedded as the library's dwtDct method would embed them.

    ``order`` says how the caller hands pixels to the library: BGR as it expects, or
    RGB as if it were BGR (some diffusers versions). ``float_pipeline`` works in
    float32, as SDXL and diffusers do, and rounds back to 8 bits at the end.
    """
    rows, cols = rgb.shape[:2]
    if rows * cols < MIN_PIXELS:
        raise ValueError("the library refuses images below 256x256")
    handed = np.ascontiguousarray(rgb[:, :, ::-1] if order is ChannelOrder.BGR else rgb)
    yuv = cv2.cvtColor(handed.astype(np.float32) if float_pipeline else handed, cv2.COLOR_BGR2YUV)
    height, width = rows // 4 * 4, cols // 4 * 4
    ll, (horizontal, vertical, diagonal) = pywt.dwt2(yuv[:height, :width, U_CHANNEL], "haar")
    _quantise_blocks(ll, np.asarray(bits, dtype=bool))
    # The library rebuilds with the detail bands swapped, (v, h, d) for (h, v, d).
    yuv[:height, :width, U_CHANNEL] = pywt.idwt2((ll, (vertical, horizontal, diagonal)), "haar")
    marked = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)
    if float_pipeline:
        marked = np.clip(np.round(marked), 0, 255).astype(np.uint8)
    out = marked[:, :, ::-1] if order is ChannelOrder.BGR else marked
    return np.ascontiguousarray(out, dtype=np.uint8)


def _quantise_blocks(ll: npt.NDArray[np.floating], bits: npt.NDArray[np.bool_]) -> None:
    """``diffuse_dct_matrix`` on every block of ``ll``, in place, in raster order."""
    across, down = ll.shape[1] // BLOCK, ll.shape[0] // BLOCK
    view = ll[: down * BLOCK, : across * BLOCK].reshape(down, BLOCK, across, BLOCK)
    blocks = view.swapaxes(1, 2).reshape(down * across, BLOCK * BLOCK)  # a copy
    where = np.abs(blocks[:, 1:]).argmax(axis=1) + 1
    index = np.arange(blocks.shape[0])
    value = blocks[index, where]
    bit = bits[index % bits.size]
    level = (np.abs(value) // SCALE + 0.25 + 0.5 * bit) * SCALE
    blocks[index, where] = np.where(value >= 0, level, -level)
    view[...] = blocks.reshape(down, across, BLOCK, BLOCK).swapaxes(1, 2)
