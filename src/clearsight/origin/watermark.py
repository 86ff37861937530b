"""Stable Diffusion's invisible watermark: the `invisible-watermark` library's dwtDct mark.

The Stable Diffusion v1 and 2.x reference scripts, SDXL and diffusers hide a fixed
payload in every image with that library's ``dwtDct`` method (``imwatermark/maxDct.py``).
Despite its name the method applies no DCT. It converts BGR pixels to YUV with OpenCV,
takes a one-level Haar DWT of the U channel alone (``scales=[0, 36, 36]``, of which
only channels 0 and 1 are visited), cuts the LL band into 4x4 blocks in raster order,
and in each block quantises the entry of largest magnitude, the block's top-left entry
excepted: block ``k`` carries payload bit ``k mod length`` as a remainder of 9 (bit 0)
or 27 (bit 1) modulo 36. A block's bit reads back as ``|entry| mod 36 > 18``, and each
payload bit is the vote of all its blocks.

This module re-implements only that decoder, with numpy and OpenCV: the library, which
imports torch, is not needed. It reads the stored pixels exactly as the library would
(bit for bit, arithmetic included), in the pixel type each generator handed to the
encoder, and reads every block, as the library does (see below). The mark lives at pixel scale, so
the image is read at full resolution, never downsampled. Chroma subsampling (4:2:0, as
most JPEGs and all lossy WebPs) halves the U plane's resolution and, at ordinary
qualities, wipes the mark: absence is never proof.

SDXL's mark is read twice. Its encoder works in float32, where OpenCV centres U on 0.5,
so its own lattice is the float one; but the reference detector reads the saved file as
8-bit pixels, where U is centred on 128: a lattice 255 higher in the LL band, 3 past a
multiple of 36 (where U is negative the 8-bit read takes another entry of the block, and
votes at random: why the reference reads a lossless SDXL file at 35-40 bits, not 48). A
lossless file reads best on the float lattice. After a JPEG the 8-bit one often reads
more: the JPEG flattens the quantised entry, pulling its remainder down (9 towards 0, 27
towards 18), and the 3 extra give it that much more room before a bit flips. A 4:4:4
JPEG at quality 85 of a camera photo, marked as SDXL marks, read 48 of 48 bits on the
8-bit lattice and 40 on the float one; this reader used to read only the float one, and
only from the top rows (a sky there: 21 of 48), so the mark was missed. So the 8-bit
lattice is read over every block, as the reference reads it, and the float one (the
costlier) over rows spread down the picture; the better agreement counts: never less
than the reference reads from the same pixels (``benchmarks/watermark_agreement.py``).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from enum import StrEnum
from math import comb
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, JpegImagePlugin

from clearsight.media import DecodeLimits
from clearsight.media.jpeg_segments import crowded_jpeg
from clearsight.media.sniff import may_hold_pixels
from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength

SCALE = 36  # the library's quantisation step for the U channel
BLOCK = 4  # side of a block of the LL band
MIN_PIXELS = 256 * 256  # the library refuses to mark or read anything smaller
# Pixel rows converted at a time (a whole number of 8-row block rows): every block is
# read, as the library reads them, but a 4096-pixel-wide picture costs a few MB at once.
STRIP_ROWS = 256
# Votes per payload bit read on the float32 lattice (SDXL's own). That read is the costly
# one and adds to the 8-bit read of every block (the reference's); a majority of 64 is
# wrong with a chance below 1e-3 even where 30% of the blocks were flipped. The rows read
# are spread down the picture: the top rows alone are often a sky that holds no mark.
SAMPLED_VOTES = 64
_U = 1  # the U plane of OpenCV's YUV
_HAAR_TAP = 0.7071067811865476  # pywt's Haar analysis tap: the LL band matches pywt's
# Formats a generator's output is saved in. Others are not opened: EPS would run
# Ghostscript, and exotic decoders only widen the attack surface.
_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF")
# Modes that hold no colour, hence no U channel that could carry the mark.
_COLOURLESS = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


class ChannelOrder(StrEnum):
    """How the generator handed its pixels to the encoder, which expects BGR."""

    BGR = "BGR"  # as the library expects (SD scripts, SDXL, later diffusers)
    RGB = "RGB"  # RGB handed over as if it were BGR (some diffusers versions)


class Pipeline(StrEnum):
    """The pixel type the generator handed to the encoder.

    OpenCV centres U on 128 for 8-bit pixels but on 0.5 for float pixels, even ones
    in [0, 255]. The float mark therefore sits on a lattice 127.5 lower, where blocks
    of negative U fold differently under ``abs``: it is read in its own pixel type.
    """

    UINT8 = "8-bit"  # the SD v1 and 2.x scripts, and every reference detector
    FLOAT32 = "float32"  # SDXL (generative-models) and diffusers


@dataclass(frozen=True)
class Payload:
    """A known payload, who embeds it, and how many matching bits make it (very) likely.

    The reference SDXL detector (Stability-AI generative-models,
    ``scripts/demo/detect.py``) grades its 48 bits with the limits 27 / 33 / 35 / 49,
    walked as ``while matched > limit: k += 1``: 0-27 none, 28-33 partial, 34-35
    likely, 36-48 very likely (49 only closes the table). By chance a decoded bit
    agrees half the time, so 34 or more of 48 happen with probability 0.28%, 36 or
    more with 0.036%. Other lengths take the smallest count whose chance tail is no
    larger (:func:`chance_of_at_least`): of 32 bits 25 (0.105%) and 26 (0.027%); of
    136 bits 85 (0.22%) and 89 (0.020%). Each exceeds the agreement of a constant
    read-out (all zeros or all ones: 19 of 32, 27 of 48, 68 of 136), which is what a
    flat picture gives. Eight hypotheses are tried per image (three payloads, two channel
    orders, and SDXL's in two pixel types), so the chance of some "likely" is up to about
    eight times these tails.
    """

    name: str
    source: str
    bits: tuple[bool, ...]
    pipelines: tuple[Pipeline, ...]  # the encoder's first; each is read
    likely: int
    very_likely: int

    @property
    def length(self) -> int:
        return len(self.bits)

    @property
    def pipeline(self) -> Pipeline:
        """The pixel type the generator's encoder worked in."""
        return self.pipelines[0]


def bits_of(data: bytes) -> tuple[bool, ...]:
    """The bits the library embeds for ``data``: each byte, most significant bit first."""
    return tuple(bool(bit) for bit in np.unpackbits(np.frombuffer(data, dtype=np.uint8)))


SD_V1 = Payload(
    "StableDiffusionV1",
    "Stable Diffusion v1 reference scripts",
    bits_of(b"StableDiffusionV1"),
    (Pipeline.UINT8,),
    likely=85,
    very_likely=89,
)
SD_V2 = Payload(
    "SDV2",
    "Stable Diffusion 2.x reference scripts",
    bits_of(b"SDV2"),
    (Pipeline.UINT8,),
    likely=25,
    very_likely=26,
)
SDXL = Payload(
    "0xB3EC907BB19E",
    "SDXL and diffusers",
    bits_of(bytes.fromhex("B3EC907BB19E")),
    # SDXL encodes in float32, but its reference detector reads the saved file as
    # 8-bit pixels (cv2.imread), and after a JPEG that lattice often reads more bits
    # (see the module docstring): both are read, so nothing the reference reads is missed.
    (Pipeline.FLOAT32, Pipeline.UINT8),
    likely=34,
    very_likely=36,
)
PAYLOADS = (SD_V1, SD_V2, SDXL)


def chance_of_at_least(matching: int, length: int) -> float:
    """The chance that ``matching`` or more of ``length`` fair coin flips come up heads."""
    return sum(comb(length, k) for k in range(matching, length + 1)) / (1 << length)


@dataclass(frozen=True)
class PayloadMatch:
    """How many decoded bits agree with a payload, read in one channel order.

    ``best_shifted`` is the most bits that agree with the payload rotated by any other
    phase. A real mark is anchored at the image's first block, so it agrees best at
    its own phase. A read-out that merely repeats, from tiled or striped content or
    from another payload whose period divides this one (SDV2's 32 bits read as 136
    give one byte, repeated, that matches the ASCII of "StableDiffusionV1" 82-93
    times), agrees as well at a shifted phase, and is not taken as this payload.
    """

    payload: Payload
    order: ChannelOrder
    pipeline: Pipeline
    matching: int
    best_shifted: int

    @property
    def strength(self) -> Strength | None:
        """STRONG when very likely, MODERATE when likely, None otherwise."""
        if self.matching <= self.best_shifted:
            return None
        if self.matching >= self.payload.very_likely:
            return Strength.STRONG
        if self.matching >= self.payload.likely:
            return Strength.MODERATE
        return None


def phase_agreement(bits: npt.NDArray[np.bool_], payload: Payload) -> npt.NDArray[np.intp]:
    """For each phase ``t``, how many of ``bits`` agree with the payload rotated by ``t``;
    phase 0 is the payload as embedded."""
    expected = np.array(payload.bits)
    slots = np.arange(payload.length)
    rotated = expected[(slots[None, :] - slots[:, None]) % payload.length]
    agreement: npt.NDArray[np.intp] = np.count_nonzero(rotated == bits[None, :], axis=1)
    return agreement


def block_votes(
    rgb: npt.NDArray[np.uint8], order: ChannelOrder, pipeline: Pipeline = Pipeline.UINT8
) -> npt.NDArray[np.bool_]:
    """Each block's bit, in the library's raster order, for an (h, w, 3) RGB image.

    A block covers 8x8 pixels and only whole blocks are read, so the image is read in
    strips of :data:`STRIP_ROWS` rows whose votes, in order, are the whole image's."""
    height, width = rgb.shape[0] // 8 * 8, rgb.shape[1] // 4 * 4
    strips = [
        _strip_votes(rgb[top : min(top + STRIP_ROWS, height), :width], order, pipeline)
        for top in range(0, height, STRIP_ROWS)
    ]
    votes: npt.NDArray[np.bool_] = np.concatenate(strips) if strips else np.zeros(0, dtype=np.bool_)
    return votes


def _strip_votes(
    rgb: npt.NDArray[np.uint8], order: ChannelOrder, pipeline: Pipeline
) -> npt.NDArray[np.bool_]:
    ll = _haar_ll(_u_plane(rgb, order, pipeline))
    across, down = ll.shape[1] // BLOCK, ll.shape[0] // BLOCK
    blocks = ll[: down * BLOCK, : across * BLOCK].reshape(down, BLOCK, across, BLOCK)
    magnitude = np.abs(blocks.swapaxes(1, 2).reshape(down * across, BLOCK * BLOCK)[:, 1:])
    # argmax keeps the first of equal maxima, as the library's per-block argmax does.
    largest = np.take_along_axis(magnitude, magnitude.argmax(axis=1)[:, None], axis=1)
    votes: npt.NDArray[np.bool_] = np.mod(largest[:, 0], SCALE) > 0.5 * SCALE
    return votes


def _u_plane(
    rgb: npt.NDArray[np.uint8], order: ChannelOrder, pipeline: Pipeline
) -> npt.NDArray[np.floating[Any]]:
    """The U plane as the encoder saw it, in the precision pywt then works in."""
    # RGB2YUV on RGB is the library's BGR2YUV on BGR; BGR2YUV on RGB is the swapped order.
    code = cv2.COLOR_RGB2YUV if order is ChannelOrder.BGR else cv2.COLOR_BGR2YUV
    if pipeline is Pipeline.UINT8:
        return np.asarray(cv2.cvtColor(rgb, code)[:, :, _U], dtype=np.float64)
    return np.asarray(cv2.cvtColor(rgb.astype(np.float32), code)[:, :, _U], dtype=np.float32)


def _haar_ll(plane: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.floating[Any]]:
    """The LL band of a one-level Haar DWT, in pywt's precision and order (rows first),
    so that argmax ties and remainders fall exactly as in the library."""
    tap = np.array(_HAAR_TAP, dtype=plane.dtype)
    # In place, in the same order of operations as the expression tap*a + tap*b.
    rows = plane[0::2] * tap
    rows += plane[1::2] * tap
    ll: npt.NDArray[np.floating[Any]] = rows[:, 0::2] * tap
    ll += rows[:, 1::2] * tap
    return ll


def tally(
    votes: npt.NDArray[np.bool_], length: int, blocks: npt.NDArray[np.intp] | None = None
) -> npt.NDArray[np.bool_]:
    """Payload bits from block votes: block ``k`` votes for bit ``k mod length``.
    ``blocks`` numbers the blocks voting, where they are not all blocks in order."""
    if votes.size < length:
        raise ValueError(f"{votes.size} blocks cannot carry {length} bits")
    slot = (np.arange(votes.size) if blocks is None else blocks) % length
    if np.bincount(slot, minlength=length).min() == 0:
        raise ValueError(f"the blocks read do not carry all {length} bits")
    share = np.bincount(slot, weights=votes, minlength=length) / np.bincount(slot)
    bits: npt.NDArray[np.bool_] = share * 255 > 127  # the library's own rounding rule
    return bits


def carrying_blocks(height: int, width: int) -> int:
    """How many 4x4 LL blocks the library reads from an image of this size."""
    # Rows and columns are cut to multiples of 4, halved by the DWT, cut into blocks of 4.
    return (height // 8) * (width // 8)


def decode_bits(
    rgb: npt.NDArray[np.uint8],
    length: int,
    order: ChannelOrder = ChannelOrder.BGR,
    pipeline: Pipeline = Pipeline.UINT8,
) -> npt.NDArray[np.bool_]:
    """The ``length`` bits the library's dwtDct decoder reads from an RGB image.

    With ``Pipeline.UINT8`` this is ``WatermarkDecoder("bits", length).decode(bgr,
    "dwtDct")``; with ``Pipeline.FLOAT32`` the same on ``bgr.astype(np.float32)``.
    Raises ValueError for anything but an (h, w, 3) uint8 array of at least 256x256
    pixels with a block for every bit.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    if height * width < MIN_PIXELS or carrying_blocks(height, width) < length:
        raise ValueError(f"a {width}x{height} image cannot carry {length} bits")
    return tally(block_votes(rgb, order, pipeline), length)


def sampled_votes(
    rgb: npt.NDArray[np.uint8], order: ChannelOrder, pipeline: Pipeline, length: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """The votes of rows of blocks spread evenly down the image, enough to give each of
    ``length`` bits :data:`SAMPLED_VOTES` votes, and the numbers of the voting blocks."""
    across, down = rgb.shape[1] // 8, rgb.shape[0] // 8
    wanted = -(-length * SAMPLED_VOTES // max(across, 1))
    if 2 * wanted >= down:  # most of the picture: all of it, and no rows left to chance
        wanted = down
    rows = np.unique(np.linspace(0, down - 1, min(wanted, down)).round().astype(np.intp))
    pixel_rows = (rows[:, None] * 8 + np.arange(8)[None, :]).ravel()
    votes = block_votes(rgb[pixel_rows], order, pipeline)
    blocks = (rows[:, None] * across + np.arange(across)[None, :]).ravel()
    return votes, blocks.astype(np.intp)


def match_payloads(rgb: npt.NDArray[np.uint8]) -> list[PayloadMatch]:
    """Every known payload that ``rgb`` has blocks for, read in both channel orders,
    with its counts of matching bits. ``rgb`` is an (h, w, 3) uint8 array."""
    blocks = carrying_blocks(rgb.shape[0], rgb.shape[1])
    payloads = [payload for payload in PAYLOADS if payload.length <= blocks]
    if not payloads:
        return []
    matches = []
    for order in ChannelOrder:
        # Every block is read on the 8-bit lattice, as the library reads it; the float32
        # lattice, which only SDXL's 48 bits use, from rows spread down the picture.
        votes: dict[Pipeline, tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp] | None]] = {
            Pipeline.UINT8: (block_votes(rgb, order, Pipeline.UINT8), None)
        }
        if any(Pipeline.FLOAT32 in payload.pipelines for payload in payloads):
            length = max(p.length for p in payloads if Pipeline.FLOAT32 in p.pipelines)
            votes[Pipeline.FLOAT32] = sampled_votes(rgb, order, Pipeline.FLOAT32, length)
        for payload in payloads:
            for pipeline in payload.pipelines:
                read, numbers = votes[pipeline]
                bits = tally(read, payload.length, numbers)
                agreement = phase_agreement(bits, payload)
                shifted = int(agreement[1:].max())
                matches.append(PayloadMatch(payload, order, pipeline, int(agreement[0]), shifted))
    return matches


class WatermarkDetector:
    """The dwtDct payloads of Stable Diffusion v1 and 2.x, SDXL and diffusers."""

    def __init__(self, limits: DecodeLimits | None = None) -> None:
        # The generators write at most a few megapixels, and the mark does not survive
        # upscaling; reading 4096x4096 at full resolution costs about 600 MB at peak.
        self._limits = limits or DecodeLimits(max_pixels=4096 * 4096)

    @property
    def name(self) -> str:
        return "watermark"

    def examine(self, file: OriginInput) -> list[Evidence]:
        rgb = self._stored_rgb(file)
        if rgb is None:
            return []
        found: dict[str, tuple[PayloadMatch, Strength]] = {}
        for match in match_payloads(rgb):
            strength = match.strength
            held = found.get(match.payload.name)
            if strength and (held is None or match.matching > held[0].matching):
                found[match.payload.name] = (match, strength)
        return [_evidence(match, strength) for match, strength in found.values()]

    def _stored_rgb(self, file: OriginInput) -> npt.NDArray[np.uint8] | None:
        """The stored pixel grid as RGB, or None where no mark can be read.

        EXIF orientation is not applied: the mark lives on the stored grid."""
        if file.rgb is not None:  # decoded by the scan already: a lossless image
            pixels = file.rgb.shape[0] * file.rgb.shape[1]
            fits = file.rgb.ndim == 3 and MIN_PIXELS <= pixels <= self._limits.max_pixels
            return file.rgb if fits else None
        if not may_hold_pixels(file.media_type) or len(file.data) > self._limits.max_file_bytes:
            return None
        if crowded_jpeg(file.data):
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(io.BytesIO(file.data), formats=_FORMATS) as im:
                    width, height = im.size
                    if not MIN_PIXELS <= width * height <= self._limits.max_pixels:
                        return None
                    if im.mode in _COLOURLESS or _subsampled_jpeg(im):
                        return None
                    return np.asarray(im.convert("RGB"), dtype=np.uint8)
        except Exception:  # noqa: BLE001 - a file that cannot be read is simply no evidence
            return None


def _subsampled_jpeg(im: Image.Image) -> bool:
    """A JPEG whose chroma is stored at half resolution (4:2:0, 4:2:2): not examined.

    The mark lives in U at pixel scale; halving U's resolution wipes it at the qualities
    cameras and platforms use (at q75 no payload survived), while a full decode of a
    10 MP camera JPEG costs 0.25-0.6 s, several times the rest of a scan. Generators'
    own JPEG exports that keep the mark are 4:4:4. A 4:2:0 file at q95 or more can keep
    a readable mark on smooth pictures; that case is knowingly left out."""
    return im.format == "JPEG" and JpegImagePlugin.get_sampling(im) != 0


def _evidence(match: PayloadMatch, strength: Strength) -> Evidence:
    payload = match.payload
    order = (
        "BGR, as the library expects"
        if match.order is ChannelOrder.BGR
        else "RGB handed over as BGR, as some diffusers versions do"
    )
    return Evidence(
        kind="watermark",
        points_to=PointsTo.AI,
        strength=strength,
        detail=(
            f"invisible-watermark dwtDct payload {payload.name} ({payload.source}), "
            f"read from the U channel as {match.pipeline} pixels in channel order "
            f"{order}: {match.matching} of {payload.length} bits match, against at most "
            f"{match.best_shifted} at any shifted phase"
        ),
    )
