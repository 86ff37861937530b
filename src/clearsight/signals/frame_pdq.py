"""PDQ of a full-resolution RGB video frame, computed exactly as the vPDQ reference does.

vPDQ (Meta's ``vpdq``) hashes each sampled frame at its full resolution: the reference
C++ ``fillFloatLumaFromRGB`` mixes the channels in single precision, and
``pdqHash256FromFloatLuma`` filters, decimates and hashes that luma. pdqhash's Python
``compute`` mixes the channels in double precision first, which is not bit-identical:
a coefficient near the median can flip. The same two reference functions are compiled
into pdqhash's extension and exported, so they are called here through ctypes: the
hashes then equal the reference's bit for bit (tests check it against the ``vpdq``
binding), no second copy of PDQ is shipped, and ctypes drops the GIL while they run.

Why not ``vpdq`` itself: it links against the system's FFmpeg and has no wheels, so it is
a test and benchmark oracle only, never a dependency.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pdqhash.bindings

from clearsight.signals.pdq import PdqHash

RgbFrame = npt.NDArray[np.uint8]
"""A frame as (height, width, 3) uint8 RGB, or (height, width) uint8 grey; rows may be
padded (a strided view). vPDQ's frames are RGB; grey is for frames hashed only here."""

# pdqhash.bindings exports the reference C++ functions under their mangled names.
_FILL_LUMA = "_ZN8facebook3pdq7hashing20fillFloatLumaFromRGBEPhS2_S2_iiiiPf"
_FILL_GREY = "_ZN8facebook3pdq7hashing21fillFloatLumaFromGreyEPhiiiiPf"
_HASH = "_ZN8facebook3pdq7hashing23pdqHash256FromFloatLumaEPfS2_iiPA64_fS4_PA16_fRNS1_7Hash256ERi"
_DIHEDRAL = (
    "_ZN8facebook3pdq7hashing33pdqDihedralHash256esFromFloatLumaEPfS2_iiPA64_fS4_PA16_fS6_"
    "PNS1_7Hash256ES8_S8_S8_S8_S8_S8_S8_Ri"
)
# The reference refuses frames narrower or shorter than this (vpdq's MIN_HASHABLE_DIM).
MIN_FRAME_SIDE = 5


@dataclass(frozen=True)
class _Reference:
    fill_luma: Callable[..., None]
    fill_grey: Callable[..., None]
    hash: Callable[..., None]
    dihedral: Callable[..., None]


@functools.cache
def _reference() -> _Reference:
    library = ctypes.CDLL(pdqhash.bindings.__file__)
    pointer, integer = ctypes.c_void_p, ctypes.c_int
    fill_luma = getattr(library, _FILL_LUMA)
    fill_luma.argtypes = [pointer, pointer, pointer, integer, integer, integer, integer, pointer]
    fill_luma.restype = None
    fill_grey = getattr(library, _FILL_GREY)
    fill_grey.argtypes = [pointer, integer, integer, integer, integer, pointer]
    fill_grey.restype = None
    hash_luma = getattr(library, _HASH)
    hash_luma.argtypes = [pointer, pointer, integer, integer, pointer, pointer, pointer, pointer]
    hash_luma.argtypes.append(ctypes.POINTER(integer))
    hash_luma.restype = None
    dihedral = getattr(library, _DIHEDRAL)
    dihedral.argtypes = [pointer] * 8 + [pointer] * 8 + [ctypes.POINTER(integer)]
    dihedral.argtypes[2:4] = [integer, integer]
    dihedral.restype = None
    return _Reference(fill_luma, fill_grey, hash_luma, dihedral)


class FrameTooSmallError(ValueError):
    """The frame is smaller than the reference hashes (under 5 pixels on a side)."""


def frame_pdq(rgb: RgbFrame) -> tuple[str, int]:
    """The vPDQ hash (64 hex digits) and quality of one full-resolution RGB frame."""
    reference = _reference()
    luma, spare = _luma(rgb)
    height, width = luma.shape
    buffers = _Buffers()
    words = np.zeros(16, np.uint16)
    quality = ctypes.c_int()
    reference.hash(
        luma.ctypes.data,
        spare.ctypes.data,
        height,
        width,
        buffers.b64x64.ctypes.data,
        buffers.b16x64.ctypes.data,
        buffers.b16x16.ctypes.data,
        words.ctypes.data,
        ctypes.byref(quality),
    )
    return _hex(words), quality.value


def frame_pdq_dihedral(rgb: RgbFrame) -> PdqHash:
    """The frame's PDQ with its seven rotations and flips, in pdqhash's order (the
    original equals :func:`frame_pdq`'s; one DCT gives all eight)."""
    reference = _reference()
    luma, spare = _luma(rgb)
    height, width = luma.shape
    buffers = _Buffers()
    aux = np.empty((16, 16), np.float32)
    words = np.zeros((8, 16), np.uint16)
    quality = ctypes.c_int()
    reference.dihedral(
        luma.ctypes.data,
        spare.ctypes.data,
        height,
        width,
        buffers.b64x64.ctypes.data,
        buffers.b16x64.ctypes.data,
        buffers.b16x16.ctypes.data,
        aux.ctypes.data,
        *(words[k].ctypes.data for k in range(8)),
        ctypes.byref(quality),
    )
    original, *variants = (_hex(row) for row in words)
    # The reference's order is original, 90, 180, 270, flip-x, flip-y, flip+1, flip-1:
    # the order of pdqhash.compute_dihedral, which DIHEDRAL_TRANSFORMS names.
    return PdqHash(original, quality.value, tuple(variants))


class _Buffers:
    __slots__ = ("b16x16", "b16x64", "b64x64")

    def __init__(self) -> None:
        self.b64x64 = np.empty((64, 64), np.float32)
        self.b16x64 = np.empty((16, 64), np.float32)
        self.b16x16 = np.empty((16, 16), np.float32)


def _luma(
    rgb: RgbFrame,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    grey = rgb.ndim == 2
    if rgb.dtype != np.uint8 or not (grey or (rgb.ndim == 3 and rgb.shape[2] == 3)):
        raise ValueError("expected an (height, width, 3) RGB or (height, width) grey uint8 frame")
    height, width = rgb.shape[:2]
    if height < MIN_FRAME_SIDE or width < MIN_FRAME_SIDE:
        raise FrameTooSmallError(f"a {width}x{height} frame is too small to hash")
    if rgb.strides[1:] != ((1,) if grey else (3, 1)):
        rgb = np.ascontiguousarray(rgb)
    luma = np.empty((height, width), np.float32)
    base, row = rgb.ctypes.data, rgb.strides[0]
    if grey:
        _reference().fill_grey(base, height, width, row, 1, luma.ctypes.data)
    else:
        _reference().fill_luma(base, base + 1, base + 2, height, width, row, 3, luma.ctypes.data)
    return luma, np.empty_like(luma)


def _hex(words: npt.NDArray[np.uint16]) -> str:
    # Hash256 keeps word 15 first in its hex form (the reference's hashToString).
    return "".join(f"{int(word):04x}" for word in words[::-1])
