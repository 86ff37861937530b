"""Decode an image's pixels safely, at the smallest scale a perceptual hash needs.

Decoding is the cost of a scan, so a JPEG is decoded at reduced scale in the DCT
domain (Pillow's ``draft``): libjpeg skips most of the inverse transform and never
materialises the full-size picture. The result is then resized into the working box
with the same bicubic filter the PDQ reference port uses, which keeps hashes within
a couple of bits of that reference.

Safety: the file size and the decoded pixel count are capped, so a decompression
bomb is a :class:`ImageDecodeError` (one error row), never an out-of-memory crash.
EXIF orientation is read and reported but not applied, as in the PDQ reference
implementations: hash lists in the field are computed on the stored pixel grid.
A JPEG crowded with header segments (Pillow's EXIF join is quadratic: 77 s for 1,000
EXIF segments) is decoded without its extra application segments, as
:func:`pillow_safe` gives it.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from clearsight.media.jpeg_segments import CrowdedJpegError, crowded_jpeg, uncrowded_jpeg

EXIF_ORIENTATION_TAG = 0x0112
_DIRECT_TO_LUMA = frozenset({"1", "LA", "P", "RGB", "RGBA", "RGBX", "YCbCr"})
_BYTES_LITERAL = re.compile(r"""b(['"]).*?\1""")


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds on what one image may cost to decode."""

    max_pixels: int = 200_000_000
    max_file_bytes: int = 512 * 1024 * 1024


@dataclass(frozen=True)
class DecodedImage:
    """An image's facts, and its luma fitted into the working box."""

    media_type: str
    width: int
    height: int
    orientation: int | None
    luma: npt.NDArray[np.uint8]
    # The full-resolution RGB pixels of a lossless (non-JPEG) image, when asked for:
    # decoding such an image costs its full size anyway, and later readers of the
    # stored grid (the watermark detector) need not decode it a second time.
    rgb: npt.NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)
    alpha: npt.NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)


class ImageDecodeError(Exception):
    """The bytes are an image that cannot be decoded safely; the message is one line.

    ``media_type`` is set when the decoder recognised the format before failing.
    """

    def __init__(self, reason: str, media_type: str | None = None) -> None:
        super().__init__(reason)
        self.media_type = media_type


def decode_luma(
    data: bytes, limits: DecodeLimits, box: int, *, keep_rgb_up_to: int = 0
) -> DecodedImage:
    """Decode ``data`` to 8-bit luma no larger than ``box`` x ``box``; for an image that
    is not a JPEG and has at most ``keep_rgb_up_to`` pixels, keep its full RGB too, and
    the alpha channel of an 8-bit RGBA image.

    Raises :class:`ImageDecodeError` for anything that is not a safely decodable image.
    """
    if len(data) > limits.max_file_bytes:
        raise ImageDecodeError(
            f"file of {len(data)} bytes exceeds the decode cap of {limits.max_file_bytes} bytes"
        )
    data = pillow_safe(data)
    media_type = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = limits.max_pixels
            with Image.open(io.BytesIO(data)) as im:
                media_type = Image.MIME.get(im.format or "", f"image/x-{im.format or 'unknown'}")
                return _decode(im, media_type, limits, box, keep_rgb_up_to)
    except ImageDecodeError as exc:
        raise ImageDecodeError(str(exc), media_type) from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is this file's error row
        raise ImageDecodeError(_reason(exc), media_type) from None


def pillow_safe(data: bytes) -> bytes:
    """``data`` as Pillow may be given it: a JPEG crowded with header segments without
    its extra application segments (see :mod:`.jpeg_segments`), anything else as is.

    Raises :class:`ImageDecodeError` for a JPEG header too crowded even to trim.
    """
    if not crowded_jpeg(data):
        return data
    try:
        return uncrowded_jpeg(data)
    except CrowdedJpegError as exc:
        raise ImageDecodeError(str(exc), "image/jpeg") from None


def fit_in_box(width: int, height: int, box: int) -> tuple[int, int]:
    """The size that fits ``width`` x ``height`` inside a square box, keeping aspect."""
    scale = min(box / width, box / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(
    im: Image.Image, media_type: str, limits: DecodeLimits, box: int, keep_rgb_up_to: int
) -> DecodedImage:
    width, height = im.size
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"image declares an empty size {width}x{height}")
    orientation = _orientation(im)
    target = fit_in_box(width, height, box)
    # Only JPEG honours draft: it picks the largest DCT scaling that stays >= target.
    im.draft("L", target)
    decoded_w, decoded_h = im.size
    if decoded_w * decoded_h > limits.max_pixels:
        raise ImageDecodeError(
            f"decompression bomb: {decoded_w}x{decoded_h} exceeds the cap of "
            f"{limits.max_pixels} pixels"
        )
    im.load()
    keep = im.format != "JPEG" and decoded_w * decoded_h <= keep_rgb_up_to
    rgb = _full_rgb(im) if keep else None
    alpha = np.asarray(im.getchannel("A"), dtype=np.uint8) if keep and im.mode == "RGBA" else None
    luma = _to_luma(im)
    if luma.size != target:
        luma = luma.resize(target, Image.Resampling.BICUBIC)
    grey = np.asarray(luma, dtype=np.uint8)
    return DecodedImage(media_type, width, height, orientation, grey, rgb, alpha)


def _reason(exc: Exception) -> str:
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return f"decompression bomb: {_one_line(exc)}"
    if isinstance(exc, UnidentifiedImageError):
        return "not an image format the decoder recognises"
    if isinstance(exc, MemoryError):
        return "decoder ran out of memory"
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _full_rgb(im: Image.Image) -> npt.NDArray[np.uint8] | None:
    try:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except Exception:  # noqa: BLE001 - the extra copy is optional; the luma decides errors
        return None


def _to_luma(im: Image.Image) -> Image.Image:
    if im.mode == "L":
        return im
    if im.mode in _DIRECT_TO_LUMA:
        return im.convert("L")
    # CMYK, 16-bit, float and other modes: let Pillow map them to 8-bit RGB first.
    return im.convert("RGB").convert("L")


def _orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(EXIF_ORIENTATION_TAG)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not stop decoding
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _one_line(exc: BaseException) -> str:
    """A short single-line reason, with any bytes literal the library quoted removed."""
    text = " ".join(str(exc).split())
    text = _BYTES_LITERAL.sub("b'…'", text)
    return text[:200] or type(exc).__name__
