"""Previews of an item for the review screen: blurred by default, in memory only.

The file is read again through :func:`read_scanned`, so a preview always shows the
bytes the scan recorded and a changed or missing file is refused. Decoding keeps the
guards of :mod:`clearsight.media.decode` (file size cap, decompression-bomb cap,
JPEG draft decoding at reduced scale), then applies EXIF orientation, which hashing
leaves alone but a person expects. The picture is downscaled before anything else,
so full-size pixels never reach the browser, and re-encoded as a fresh JPEG, which
also drops EXIF, GPS and any other metadata of the original.

Nothing is written to disk and nothing is logged: the bytes exist only in memory and
in the HTTP response.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from PIL import Image, ImageFilter

from clearsight.errors import ClearsightError, UserError
from clearsight.media.decode import (
    DecodeLimits,
    ImageDecodeError,
    _orientation,
    _reason,
    fit_in_box,
    pillow_safe,
)
from clearsight.media.sniff import SNIFF_BYTES, MediaKind, kind_of, sniff_media_type
from clearsight.media.stored import StaleFileError, read_scanned
from clearsight.review.settings import PreviewPrefs
from clearsight.store.interface import ItemFile

PREVIEW_LONG_SIDE = 640
SHEET_TILES = 6  # frames on a video's contact sheet
THUMBNAIL_LONG_SIDE = 160
MAX_LONG_SIDE = 2048
JPEG_QUALITY = 85
MEDIA_TYPE = "image/jpeg"
# Transparent areas may still hold colour values; they are painted over, not shown.
_BACKDROP = (128, 128, 128)
# EXIF orientation -> the transpose that shows the picture upright (as ImageOps does).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ItemFiles(Protocol):
    """The one thing previews need of a case: where an item's bytes are."""

    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]: ...


class PreviewProblem(StrEnum):
    NOT_IN_CASE = "not-in-case"
    STALE_FILE = "stale-file"  # gone, grown past the cap, or changed since the scan
    UNDECODABLE = "undecodable"


class PreviewError(ClearsightError):
    """An item cannot be previewed; the message is one line, ``problem`` says why."""

    def __init__(self, item_id: int, problem: PreviewProblem, reason: str) -> None:
        super().__init__(f"item {item_id}: {reason}")
        self.item_id = item_id
        self.problem = problem


@dataclass(frozen=True)
class Preview:
    """An encoded preview. ``data`` is left out of ``repr`` so that no log line or
    traceback can ever carry the picture."""

    data: bytes = field(repr=False)
    media_type: str
    width: int
    height: int
    blurred: bool
    greyscale: bool


def render_image(
    data: bytes,
    *,
    long_side: int = PREVIEW_LONG_SIDE,
    blur: int | None,
    greyscale: bool,
    limits: DecodeLimits | None = None,
    shots: Sequence[int] = (),
) -> Preview:
    """Draw the image in ``data`` upright, no larger than ``long_side`` on either side;
    then greyscale if asked, and blurred with a Gaussian radius of ``blur`` percent of
    its long side unless ``blur`` is None (a revealed preview). A video is drawn as a
    contact sheet of the frames ``shots`` (its shots' first frames), or of frames spread
    over it where none are given.

    Raises :class:`ImageDecodeError` when the bytes cannot be decoded safely.
    """
    _check_size(long_side)
    picture = _upright_rgb(data, limits or DecodeLimits(), long_side, shots)
    return _finished(picture, blur, greyscale)


def render_video_frame(
    data: bytes,
    number: int,
    *,
    long_side: int = PREVIEW_LONG_SIDE,
    blur: int | None,
    greyscale: bool,
    limits: DecodeLimits | None = None,
) -> Preview:
    """Draw frame ``number`` of the video in ``data`` as :func:`render_image` draws a
    picture. Raises :class:`ImageDecodeError` where it cannot be decoded (or the video
    has no such frame)."""
    _check_size(long_side)
    limits = limits or DecodeLimits()
    if len(data) > limits.max_file_bytes:
        raise ImageDecodeError(
            f"file of {len(data)} bytes exceeds the decode cap of {limits.max_file_bytes} bytes"
        )
    from clearsight.media.video import VideoDecodeError, VideoReader  # PyAV: see render

    try:
        with VideoReader(io.BytesIO(data)) as reader:
            frame = reader.frame(number)
            stopped = reader.stopped
    except VideoDecodeError as exc:
        raise ImageDecodeError(str(exc)) from None
    if frame is None:
        raise ImageDecodeError(stopped or f"the video has no frame {number}")
    return _finished(_fitted(Image.fromarray(frame.rgb), limits, long_side), blur, greyscale)


def _check_size(long_side: int) -> None:
    if not 1 <= long_side <= MAX_LONG_SIDE:
        raise UserError(f"preview size must be 1-{MAX_LONG_SIDE} pixels, not {long_side}")


def _finished(picture: Image.Image, blur: int | None, greyscale: bool) -> Preview:
    """The drawn picture, greyscale and blurred as asked, encoded afresh as JPEG."""
    if greyscale:
        # One channel: R, G and B are equal exactly, even after JPEG.
        picture = picture.convert("L")
    if blur is not None:
        radius = max(picture.size) * blur / 100
        picture = picture.filter(ImageFilter.GaussianBlur(radius))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY)
    width, height = picture.size
    return Preview(buffer.getvalue(), MEDIA_TYPE, width, height, blur is not None, greyscale)


class PreviewRenderer:
    """Previews and thumbnails of a case's items, drawn as a reviewer prefers."""

    def __init__(self, items: ItemFiles, limits: DecodeLimits | None = None) -> None:
        self._items = items
        self._limits = limits or DecodeLimits()
        # A case store also gives a video's frames: its contact sheet shows its shots.
        self._videos = getattr(items, "video", None)

    def render(
        self,
        item_id: int,
        prefs: PreviewPrefs,
        *,
        revealed: bool = False,
        long_side: int = PREVIEW_LONG_SIDE,
    ) -> Preview:
        """The item's preview: blurred, unless ``revealed``. Greyscale follows
        ``prefs`` either way; a reviewer may prefer it even when revealed.

        Start a reveal on the exposure meter before asking for a revealed preview.
        """
        return self._draw(item_id, long_side, None if revealed else prefs.blur, prefs.greyscale)

    def render_frame(
        self,
        item_id: int,
        number: int,
        prefs: PreviewPrefs,
        *,
        revealed: bool = False,
        long_side: int = PREVIEW_LONG_SIDE,
    ) -> Preview:
        """Frame ``number`` of the video ``item_id``, drawn as :meth:`render` draws an
        item: blurred unless ``revealed`` (start a reveal of that frame first)."""
        blur = None if revealed else prefs.blur
        path, data = self._bytes(item_id)
        try:
            return render_video_frame(
                data,
                number,
                long_side=long_side,
                blur=blur,
                greyscale=prefs.greyscale,
                limits=self._limits,
            )
        except ImageDecodeError as exc:
            reason = f"{path}: frame {number} cannot be shown: {exc}"
            raise PreviewError(item_id, PreviewProblem.UNDECODABLE, reason) from None

    def thumbnail(self, item_id: int, prefs: PreviewPrefs) -> Preview:
        """A small preview for a list of series members: always blurred."""
        return self._draw(item_id, THUMBNAIL_LONG_SIDE, prefs.blur, prefs.greyscale)

    def _shots(self, item_id: int) -> list[int]:
        """The frames of a video's contact sheet: the first frame of each shot, as the
        scan marked them, and where there are fewer shots than tiles, kept frames spread
        over the video between them (none for a picture, or where the items give no
        videos)."""
        video = self._videos(item_id) if callable(self._videos) else None
        if video is None:
            return []
        kept = [frame.number for frame in video.frames if frame.exact]
        shots = [frame.number for frame in video.frames if frame.representative and frame.exact]
        others = [number for number in kept if number not in set(shots)]
        wanted = max(0, SHEET_TILES - len(shots))
        stride = len(others) / wanted if wanted and others else 0.0
        spread = [others[int(k * stride)] for k in range(min(wanted, len(others)))]
        return sorted(shots + spread)

    def _bytes(self, item_id: int) -> tuple[str, bytes]:
        """The item's path and its bytes as the scan recorded them; PreviewError otherwise."""
        item = self._items.item_files([item_id]).get(item_id)
        if item is None:
            raise PreviewError(item_id, PreviewProblem.NOT_IN_CASE, "no such item in this case")
        try:
            return item.path, read_scanned(item.os_path, item.sha256, self._limits.max_file_bytes)
        except StaleFileError as exc:
            raise PreviewError(item_id, PreviewProblem.STALE_FILE, f"{item.path}: {exc}") from None

    def _draw(self, item_id: int, long_side: int, blur: int | None, greyscale: bool) -> Preview:
        path, data = self._bytes(item_id)
        try:
            return render_image(
                data,
                long_side=long_side,
                blur=blur,
                greyscale=greyscale,
                limits=self._limits,
                shots=self._shots(item_id),
            )
        except ImageDecodeError as exc:
            raise PreviewError(
                item_id, PreviewProblem.UNDECODABLE, f"{path}: cannot be shown: {exc}"
            ) from None


def _upright_rgb(
    data: bytes, limits: DecodeLimits, long_side: int, shots: Sequence[int] = ()
) -> Image.Image:
    """The picture as RGB, fitted into ``long_side`` and turned upright; the same
    caps as :func:`clearsight.media.decode.decode_luma`."""
    if len(data) > limits.max_file_bytes:
        raise ImageDecodeError(
            f"file of {len(data)} bytes exceeds the decode cap of {limits.max_file_bytes} bytes"
        )
    if kind_of(sniff_media_type(data[:SNIFF_BYTES])) is MediaKind.VIDEO:
        # A video is shown as a contact sheet of its frames, drawn like a picture.
        # (PyAV imported here only: a case opened for a scan never draws one.)
        from clearsight.media.video import VideoDecodeError, contact_sheet

        try:
            sheet = contact_sheet(io.BytesIO(data), tiles=SHEET_TILES, numbers=shots)
        except VideoDecodeError as exc:
            raise ImageDecodeError(str(exc)) from None
        return _fitted(Image.fromarray(sheet), limits, long_side)
    data = pillow_safe(data)  # a JPEG crowded with segments would keep Pillow for minutes
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = limits.max_pixels
            with Image.open(io.BytesIO(data)) as im:
                return _fitted(im, limits, long_side)
    except ImageDecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is this file's problem
        raise ImageDecodeError(_reason(exc)) from None


def _fitted(im: Image.Image, limits: DecodeLimits, long_side: int) -> Image.Image:
    width, height = im.size
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"image declares an empty size {width}x{height}")
    orientation = _orientation(im)
    target = fit_in_box(width, height, long_side)
    im.draft("RGB", target)  # JPEG only: decode at the smallest DCT scale >= target
    if im.size[0] * im.size[1] > limits.max_pixels:
        raise ImageDecodeError(
            f"decompression bomb: {im.size[0]}x{im.size[1]} exceeds the cap of "
            f"{limits.max_pixels} pixels"
        )
    im.load()
    picture = _flattened(im)
    if picture.size != target:
        picture = picture.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    turn = _UPRIGHT.get(orientation or 1)
    return picture.transpose(turn) if turn is not None else picture


def _flattened(im: Image.Image) -> Image.Image:
    """RGB, with any transparency painted over a neutral grey."""
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, (*_BACKDROP, 255))
        return Image.alpha_composite(backdrop, rgba).convert("RGB")
    # CMYK, 16-bit, float and the rest: Pillow maps them to 8-bit RGB.
    return im.convert("RGB")
