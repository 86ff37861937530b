"""The EXIF record a camera writes, read as evidence that a picture is a camera original.

A camera writes a full record at capture: its make and model, the firmware version, the
exposure it chose, the moment (to the hundredth of a second), a maker note in the
maker's own format, and a small JPEG thumbnail of the same picture. Generators write
none of this, and most editors and platforms drop or rewrite parts of it. But all of it
can be copied from another file or forged, so the record is never strong evidence: a
full, self-consistent record is moderate, a partial one weak.

The thumbnail is the one part that ties the record to these pixels: a picture edited
after capture keeps the camera's old thumbnail unless the editor rewrites it. It is
compared with the main image decoded at 1/8 scale in the DCT domain (Pillow's draft),
fitted the way the camera fitted it. Cameras letterbox a 3:2 picture into a 160x120
thumbnail, and not all of them show the whole picture: a Nikon D200 squeezes all of it
into 160x104 between two black bars; a D70 or D70s draws a dark frame inside the bars
and shows only the top-left 96% x 95% of the picture in it (measured on the shared
files: the picture lies at x 4-162.5, y 10-115.5 of the thumbnail, clipped to the
frame at 156 and 110). So the bars and frame are cut off, and the span of the picture
the rest shows is found along each axis by matching mean row and column profiles (at
least 92% of each side). Both are then reduced to 16x16 grey and must agree in aspect
(within 5%), as a whole (correlation at least 0.90, mean difference at most 12 grey
levels: another picture) and in each of 8x8 regions (after the tone is fitted, a
region's mean difference at most 0.6 of its texture plus 8 grey levels: an edit).
Measured on the 16 shared Nikon originals: correlation 0.977-0.999, difference
0.8-3.7, worst region 0.18-0.50 (fitting each D70 thumbnail to the whole picture gave
0.58-0.95, reported as an edit until this fit). Edits of them that keep the old
thumbnail: a 12% crop, a 20% centre crop, a mirror and a grey square a quarter of
each side wide fail in 16 of 16; a 5% crop all round, a grey square 15% of each side
wide and a pasted copy of the top-left fifth of each side in 14, 12 and 15 of 16 (what
a 16x16 thumbnail cannot see, it cannot vouch against). No thumbnail of
another of the 16 passes for any other's picture.
PDQ was tried and is not used: a 160x120 thumbnail and its own picture lie 38-44 bits
apart, beyond the match threshold.

Reading is Pillow's, on hostile input, so every step that can fail is guarded and what
cannot be read is simply not evidence. No pixel of the main image is decoded except
for the thumbnail comparison.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from numbers import Real
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import ExifTags, Image

from clearsight.media.jpeg_segments import crowded_jpeg
from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength

Tag = ExifTags.Base

# Thumbnail comparison (see the module docstring for the measurements behind them).
ASPECT_TOLERANCE = 0.05
MIN_CORRELATION = 0.90  # the whole: below this, another picture
MAX_MEAN_DIFFERENCE = 12.0
COMPARE_SIZE = (16, 16)
CELL = 2  # pixels of COMPARE_SIZE a region is judged by: 8x8 regions
MAX_CELL_MISFIT = 0.6  # a region's difference over its texture (see _worst_cell)
TEXTURE_FLOOR = 8.0  # grey levels: flat regions are judged by their difference alone
MIN_WINDOW = 0.92  # the least part of each side a camera's thumbnail may show
WINDOW_STEP = 0.005
FLAT_SPREAD = 2.0  # grey levels: below this a picture has no shape to correlate
BAR_LEVEL = 10.0  # a row or column this dark at the edge of a thumbnail is padding
BAR_ROUNDING = 1  # lines by which the two bars of a centred picture may differ
MAX_THUMBNAIL_SIDE = 1024  # EXIF thumbnails are 160x120; anything far larger is not one
MAX_MAIN_PIXELS = 200_000_000  # as the decoder's default cap

_TEXT_LIMIT = 80
_EXIF_HEADER = re.compile(rb"^(Exif\x00\x00){1,2}")
_EXIF_TIME = "%Y:%m:%d %H:%M:%S"
_FIRMWARE = re.compile(r"\b(ver(sion)?\.?|firmware|fw|v)\s*\d+(\.\d+)+|^\d+(\.\d+)+$", re.I)

# Editors and raw developers whose name in Software (or XMP CreatorTool) means the file
# was saved by them. Lightroom before Photoshop: its full name contains "Photoshop".
EDITORS = (
    "Lightroom",
    "Camera Raw",
    "Adobe Photoshop",
    "GIMP",
    "Affinity Photo",
    "Paint.NET",
    "PaintShop Pro",
    "Snapseed",
    "Pixlr",
    "Photopea",
    "Capture One",
    "Capture NX",
    "DxO PhotoLab",
    "darktable",
    "RawTherapee",
    "Luminar",
    "Picasa",
    "PhotoScape",
    "Windows Photo Editor",
    "ImageMagick",
)
_EDITOR_PATTERNS = tuple((name, re.compile(rf"\b{re.escape(name)}\b", re.I)) for name in EDITORS)

# Maker-note headers, and the makes that write each (after ExifTool's MakerNotes.pm).
# Canon, Casio and others start theirs with a bare IFD: present, but not checkable.
MAKER_NOTE_HEADERS = (
    (b"Nikon\x00", "Nikon", ("NIKON",)),
    (b"Apple iOS\x00", "Apple", ("APPLE",)),
    (b"FUJIFILM", "Fujifilm", ("FUJIFILM", "LEICA", "MINOLTA", "KONICA MINOLTA", "SHARP")),
    (b"OLYMPUS\x00", "Olympus", ("OLYMPUS",)),
    (b"OLYMP\x00", "Olympus", ("OLYMPUS",)),
    (b"Panasonic", "Panasonic", ("PANASONIC",)),
    (b"AOC\x00", "Pentax", ("PENTAX", "ASAHI", "SAMSUNG")),
    (b"PENTAX \x00", "Pentax", ("PENTAX", "RICOH")),
    (b"QVC\x00", "Casio", ("CASIO",)),
    (b"LEICA", "Leica", ("LEICA",)),
)


@dataclass(frozen=True)
class Exposure:
    seconds: float
    f_number: float
    iso: int | None
    focal_mm: float | None

    def describe(self) -> str:
        parts = [_shutter(self.seconds), f"f/{self.f_number:g}"]
        if self.iso is not None:
            parts.append(f"ISO {self.iso}")
        if self.focal_mm is not None:
            parts.append(f"{self.focal_mm:g} mm")
        return " ".join(parts)


@dataclass(frozen=True)
class ExifRecord:
    """What an EXIF block says, as plain values (text made safe to log)."""

    make: str | None = None
    model: str | None = None
    software: str | None = None
    processing_software: str | None = None
    host_computer: str | None = None
    modified: datetime | None = None  # DateTime: when the file was last written
    taken: datetime | None = None  # DateTimeOriginal
    subseconds: str | None = None
    exposure: Exposure | None = None
    maker_note: bytes | None = None
    thumbnail: bytes | None = None

    @property
    def camera(self) -> str | None:
        """The camera's name: "NIKON D70" from "NIKON CORPORATION" and "NIKON D70"."""
        if not self.model:
            return self.make
        if not self.make or self.model.upper().startswith(self.make.split()[0].upper()):
            return self.model
        return f"{self.make} {self.model}"

    @property
    def firmware(self) -> str | None:
        """Software, when it reads as a camera's firmware version and names no editor."""
        if self.software and _FIRMWARE.search(self.software) and not editor_named(self.software):
            return self.software
        return None

    @property
    def editor(self) -> tuple[str, str] | None:
        """(field, value) of the first Software-like field that names an editor."""
        for field, value in (
            ("Software", self.software),
            ("ProcessingSoftware", self.processing_software),
            ("HostComputer", self.host_computer),
        ):
            if value and editor_named(value):
                return field, value
        return None

    @property
    def capture_time(self) -> str | None:
        if self.taken is None:
            return None
        text = self.taken.strftime("%Y-%m-%d %H:%M:%S")
        return f"{text}.{self.subseconds}" if self.subseconds else text

    def maker_note_check(self) -> tuple[str, bool]:
        """A description of the maker note, and whether it fits the record's make."""
        note = self.maker_note or b""
        for header, maker, makes in MAKER_NOTE_HEADERS:
            if note.startswith(header):
                make = (self.make or "").upper()
                if any(make.startswith(m) for m in makes):
                    return f"{maker} maker note", True
                return f"{maker} maker note under make {self.make or 'unset'}", False
        return "maker note", True


def editor_named(value: str) -> str | None:
    """The editor from :data:`EDITORS` that ``value`` names, if any."""
    for name, pattern in _EDITOR_PATTERNS:
        if pattern.search(value):
            return name
    return None


@contextmanager
def opened(data: bytes) -> Iterator[Image.Image | None]:
    """The file as a lazily parsed Pillow image, or None when Pillow cannot open it.

    Pillow's warnings about odd EXIF are silenced: here they are expected input. A JPEG
    crowded with header segments is not opened (see :mod:`clearsight.media.jpeg_segments`).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if crowded_jpeg(data):
                raise ValueError("too many JPEG header segments")
            im = Image.open(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - hostile input: any parser failure is "no image"
            yield None
            return
        with im:
            yield im


def read_exif_record(im: Image.Image) -> ExifRecord | None:
    """The EXIF record of an opened image, None when it has none. Never decodes pixels
    (a PNG whose eXIf chunk follows the image data is not read)."""
    raw = im.info.get("exif")
    if isinstance(raw, bytes):
        return _record_of_block(raw)
    if im.format != "TIFF":
        return None
    try:
        exif = im.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block is no record
        return None
    return _record_of(exif, None)


@lru_cache(maxsize=4)
def _record_of_block(raw: bytes) -> ExifRecord | None:
    """The record an EXIF block holds. Cached: the camera and the editing detectors
    both read the record of each file, and parsing it costs a millisecond or more
    (the record is frozen, so sharing it is safe)."""
    try:
        exif = Image.Exif()
        exif.load(raw)
    except Exception:  # noqa: BLE001 - a broken EXIF block is no record
        return None
    return _record_of(exif, raw)


def _record_of(exif: Image.Exif, raw: bytes | None) -> ExifRecord | None:
    main = _safe_items(exif)
    sub = _ifd(exif, ExifTags.IFD.Exif)
    if not main and not sub:
        return None
    return ExifRecord(
        make=safe_text(main.get(Tag.Make)),
        model=safe_text(main.get(Tag.Model)),
        software=safe_text(main.get(Tag.Software)),
        processing_software=safe_text(main.get(Tag.ProcessingSoftware)),
        host_computer=safe_text(main.get(Tag.HostComputer)),
        modified=_time(main.get(Tag.DateTime)),
        taken=_time(sub.get(Tag.DateTimeOriginal)),
        subseconds=_subseconds(sub.get(Tag.SubsecTimeOriginal)),
        exposure=_exposure(sub),
        maker_note=_maker_note(sub.get(Tag.MakerNote)),
        thumbnail=_thumbnail(exif, raw) if raw is not None else None,
    )


def _safe_items(exif: Image.Exif) -> dict[int, Any]:
    try:
        return dict(exif.items())
    except Exception:  # noqa: BLE001
        return {}


def _ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # noqa: BLE001 - one broken directory must not hide the others
        return {}


def safe_text(value: object) -> str | None:
    """A tag's text fit for a log line: printable, one line, at most 80 characters."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    cleaned = "".join(c if c.isprintable() else " " for c in value.replace("\x00", " "))
    cleaned = " ".join(cleaned.split())[:_TEXT_LIMIT]
    return cleaned or None


def _time(value: object) -> datetime | None:
    text = safe_text(value)
    try:
        return datetime.strptime(text[:19], _EXIF_TIME) if text else None
    except ValueError:  # "0000:00:00 00:00:00" and other placeholders
        return None


def _subseconds(value: object) -> str | None:
    text = safe_text(value)
    return text if text and text.isdigit() and len(text) <= 9 else None


def _real(value: object) -> float | None:
    """A positive finite number from a rational, an int or a float (or the first of a
    tuple, as some writers store ISO)."""
    if isinstance(value, tuple) and value:
        value = value[0]
    if not isinstance(value, Real) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (ZeroDivisionError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _exposure(sub: dict[int, Any]) -> Exposure | None:
    seconds, f_number = _real(sub.get(Tag.ExposureTime)), _real(sub.get(Tag.FNumber))
    if seconds is None or f_number is None:
        return None
    iso = _real(sub.get(Tag.ISOSpeedRatings))
    return Exposure(seconds, f_number, round(iso) if iso else None, _real(sub.get(Tag.FocalLength)))


def _shutter(seconds: float) -> str:
    if seconds < 1:
        denominator = 1 / seconds
        if abs(denominator - round(denominator)) < 0.01 * denominator:
            return f"1/{round(denominator)} s"
    return f"{seconds:.3g} s"


def _maker_note(value: object) -> bytes | None:
    if isinstance(value, bytes) and value:
        return value
    return value.encode("latin-1", "replace") if isinstance(value, str) and value else None


def _thumbnail(exif: Image.Exif, raw: bytes) -> bytes | None:
    """IFD1's JPEG thumbnail: its offset counts from the start of the TIFF header."""
    ifd1 = _ifd(exif, ExifTags.IFD.IFD1)
    offset, length = ifd1.get(Tag.JpegIFOffset), ifd1.get(Tag.JpegIFByteCount)
    if not isinstance(offset, int) or not isinstance(length, int) or length <= 0:
        return None
    tiff = _EXIF_HEADER.sub(b"", raw)
    thumbnail = tiff[offset : offset + length]
    return thumbnail if thumbnail.startswith(b"\xff\xd8") else None


@dataclass(frozen=True)
class ThumbnailCheck:
    """How the EXIF thumbnail compares with the main image."""

    consistent: bool | None  # None: not compared
    detail: str


def check_thumbnail(thumbnail: bytes | None, im: Image.Image) -> ThumbnailCheck:
    """Compare ``thumbnail`` with the main image ``im``, a JPEG decoded here at 1/8
    scale (``im`` is loaded afterwards). This decode is the detector's main cost."""
    if thumbnail is None:
        return ThumbnailCheck(None, "no thumbnail")
    width, height = im.size
    if im.format not in ("JPEG", "MPO") or not 0 < width * height <= MAX_MAIN_PIXELS:
        return ThumbnailCheck(None, "thumbnail not compared")
    small = _decode_thumbnail(thumbnail)
    if small is None:
        return ThumbnailCheck(None, "thumbnail unreadable")
    try:
        im.draft("L", (64, 64))  # 1/8 scale: libjpeg skips most of the inverse DCT
        luma = np.asarray(im.convert("L"), dtype=np.uint8)
    except Exception:  # noqa: BLE001 - a main image that fails to decode is not compared
        return ThumbnailCheck(None, "thumbnail not compared")
    return _compare(small, luma, width / height)


def compare_thumbnail(
    thumbnail: bytes, luma: npt.NDArray[np.uint8], aspect: float | None = None
) -> ThumbnailCheck:
    """Compare ``thumbnail`` with the main image's grey pixels at any reduced scale
    (the luma a fingerprint stage decoded serves, and saves this module a decode).
    ``aspect`` is the full image's width/height, where rounding at scale matters."""
    small = _decode_thumbnail(thumbnail)
    if small is None:
        return ThumbnailCheck(None, "thumbnail unreadable")
    if luma.ndim != 2 or min(luma.shape) < 1:
        return ThumbnailCheck(None, "thumbnail not compared")
    return _compare(small, luma, aspect or luma.shape[1] / luma.shape[0])


def _decode_thumbnail(thumbnail: bytes) -> Image.Image | None:
    try:
        with Image.open(io.BytesIO(thumbnail)) as th:
            if th.format != "JPEG" or max(th.size) > MAX_THUMBNAIL_SIDE or min(th.size) < 8:
                return None
            th.draft("L", th.size)
            return th.convert("L")
    except Exception:  # noqa: BLE001
        return None


def _compare(thumbnail: Image.Image, luma: npt.NDArray[np.uint8], aspect: float) -> ThumbnailCheck:
    main_image = Image.fromarray(luma)
    grey = np.asarray(thumbnail, dtype=np.float64)
    box = _content_box(grey, aspect)
    inside = grey[box[1] : box[3], box[0] : box[2]]
    main = np.asarray(main_image, dtype=np.float64)
    left, right = _fit_window(inside.mean(axis=0), main.mean(axis=0))
    top, bottom = _fit_window(inside.mean(axis=1), main.mean(axis=1))
    box_aspect = (box[2] - box[0]) / (box[3] - box[1])
    window_aspect = aspect * (right - left) / (bottom - top)
    if abs(box_aspect / window_aspect - 1) > ASPECT_TOLERANCE:
        return ThumbnailCheck(
            False, f"thumbnail aspect {box_aspect:.2f} differs from the image's {aspect:.2f}"
        )
    small = _grey(thumbnail, box)
    width, height = main_image.size
    seen = _grey(main_image, (left * width, top * height, right * width, bottom * height))
    difference = float(np.abs(small - seen).mean())
    spreads = float(small.std()), float(seen.std())
    if min(spreads) < FLAT_SPREAD:  # flat pictures: only the tone can be compared
        correlation = 1.0 if max(spreads) < FLAT_SPREAD else 0.0
    else:
        correlation = float(np.corrcoef(small.ravel(), seen.ravel())[0, 1])
    if correlation < MIN_CORRELATION or difference > MAX_MEAN_DIFFERENCE:
        return ThumbnailCheck(
            False,
            f"thumbnail differs from the image (correlation {correlation:.2f}, "
            f"mean difference {difference:.0f} grey levels)",
        )
    misfit, (across, down) = _worst_cell(small, seen)
    if misfit > MAX_CELL_MISFIT:
        return ThumbnailCheck(
            False,
            f"thumbnail differs from the image in one region ({across:.0%} across, "
            f"{down:.0%} down: misfit {misfit:.2f}, correlation {correlation:.2f} overall)",
        )
    return ThumbnailCheck(True, "thumbnail consistent")


def _fit_window(
    seen: npt.NDArray[np.float64], whole: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """The span of the main image (as fractions of a side) that the thumbnail shows along
    one axis: the one whose mean profile (of columns or rows) best correlates with the
    thumbnail's. Spans cover at least :data:`MIN_WINDOW` of the side; the whole side
    wins ties and flat profiles."""
    grid = _window_grid(len(seen), len(whole))
    starts, ends = grid.starts, grid.ends
    # The mean of ``whole`` over each of len(seen) equal parts of each span, from the
    # running sum (linear between samples, so fractional edges are weighed in).
    running = np.concatenate(([0.0], np.cumsum(whole)))
    profiles = np.diff(grid.sums(running), axis=1) / grid.widths
    target = seen - seen.mean()
    profiles -= profiles.mean(axis=1, keepdims=True)
    norms = np.sqrt((profiles * profiles).sum(axis=1) * float(target @ target))
    if not np.all(np.isfinite(profiles)) or float(norms.max()) < 1e-9:
        return 0.0, 1.0
    scores = (profiles @ target) / np.maximum(norms, 1e-9)
    best = int(np.argmax(scores))  # spans[0] is the whole side: first among equals
    return float(starts[best]), float(ends[best])


@dataclass(frozen=True)
class _WindowGrid:
    """The candidate spans of :func:`_fit_window` for a thumbnail side of ``parts``
    samples against a main side of ``length``, with each part's edges: the same for
    every picture of those sizes, so made once (as were ~140,000 binary searches)."""

    starts: npt.NDArray[np.float64]
    ends: npt.NDArray[np.float64]
    below: npt.NDArray[np.intp]  # the sample each edge lies past
    fraction: npt.NDArray[np.float64]  # how far past it
    at_end: npt.NDArray[np.bool_]  # edges on the last sample
    widths: npt.NDArray[np.float64]

    def sums(self, running: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``np.interp(edges, arange(length + 1), running)``, bit for bit: numpy's
        formula between samples, the last sample itself at the end."""
        low, high = running[self.below], running[self.below + 1]
        inside = (high - low) * self.fraction + low
        return np.where(self.at_end, running[-1], inside)


@lru_cache(maxsize=32)
def _window_grid(parts: int, length: int) -> _WindowGrid:
    count = round((1 - MIN_WINDOW) / WINDOW_STEP)
    spans = [
        (i * WINDOW_STEP, 1 - j * WINDOW_STEP)
        for i in range(count + 1)
        for j in range(count + 1 - i)
    ]
    starts = np.array([span[0] for span in spans])
    ends = np.array([span[1] for span in spans])
    edges = (starts[:, None] + (ends - starts)[:, None] * np.linspace(0, 1, parts + 1)) * length
    # np.interp holds the first and last samples' values beyond them.
    below = np.clip(np.floor(edges), 0, length - 1).astype(np.intp)
    fraction = np.where(edges < 0, 0.0, edges - below)
    widths = np.maximum(np.diff(edges, axis=1), 1e-9)
    return _WindowGrid(starts, ends, below, fraction, edges >= length, widths)


def _worst_cell(
    small: npt.NDArray[np.float64], seen: npt.NDArray[np.float64]
) -> tuple[float, tuple[float, float]]:
    """The largest misfit of a cell of the image with the same cell of the thumbnail,
    after the thumbnail's tone is fitted to the image's (a straight line, least squares),
    and where that cell lies (its centre, as fractions across and down). A cell's misfit
    is its mean difference over its texture (the larger standard deviation of the two,
    plus :data:`TEXTURE_FLOOR`): a camera's thumbnail blurs and aliases fine texture,
    while an edit puts other content, or none, where texture was."""
    design = np.column_stack((small.ravel(), np.ones(small.size)))
    (gain, offset), *_ = np.linalg.lstsq(design, seen.ravel(), rcond=None)
    fitted = gain * small + offset
    rows, columns = small.shape[0] // CELL, small.shape[1] // CELL

    def cells(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return a[: rows * CELL, : columns * CELL].reshape(rows, CELL, columns, CELL)

    residual = cells(np.abs(seen - fitted)).mean(axis=(1, 3))
    texture = np.maximum(cells(fitted).std(axis=(1, 3)), cells(seen).std(axis=(1, 3)))
    misfit = residual / (texture + TEXTURE_FLOOR)
    row, column = np.unravel_index(int(np.argmax(misfit)), misfit.shape)
    return float(misfit[row, column]), ((column + 0.5) / columns, (row + 0.5) / rows)


def _grey(im: Image.Image, box: tuple[float, float, float, float]) -> npt.NDArray[np.float64]:
    grey = im if im.mode == "L" else im.convert("L")
    return np.asarray(grey.resize(COMPARE_SIZE, Image.Resampling.BOX, box=box), np.float64)


def _content_box(grey: npt.NDArray[np.float64], aspect: float) -> tuple[int, int, int, int]:
    """The thumbnail without its black bars, or whole where that fits ``aspect`` better."""
    height, width = grey.shape
    rows, columns = grey.mean(axis=1), grey.mean(axis=0)
    top, bottom = _bar_pair(rows)
    left, right = _bar_pair(columns)
    trimmed = (left, top, width - right, height - bottom)

    def misfit(box: tuple[int, int, int, int]) -> float:
        return abs(math.log((box[2] - box[0]) / (box[3] - box[1]) / aspect))

    return min(trimmed, (0, 0, width, height), key=misfit)


def _bar_pair(means: npt.NDArray[np.float64]) -> tuple[int, int]:
    """The padding at both ends of a line of row (or column) means. Cameras centre the
    picture, so bars come in pairs of equal width, give or take a line of rounding;
    where one side looks wider, the rest of it is a dark scene's edge, not padding."""
    first, last = _bar(means), _bar(means[::-1])
    if abs(first - last) <= BAR_ROUNDING:
        return first, last
    return min(first, last), min(first, last)


def _bar(means: npt.NDArray[np.float64]) -> int:
    """How many lines at the start of ``means`` are padding (at most a quarter)."""
    count = 0
    while count < len(means) // 4 and means[count] <= BAR_LEVEL:
        count += 1
    return count


class CameraExifDetector:
    """Camera evidence from the EXIF record: moderate when it is full and consistent
    with the pixels, weak when partial. A thumbnail of another picture is reported on
    its own (kind ``exif-thumbnail``), pointing nowhere."""

    def __init__(self, compare_thumbnails: bool = True) -> None:
        # Comparing decodes the main image at 1/8 scale: ~9 ms of the ~11 ms a 6 MP
        # camera JPEG costs the three detectors. Off, no record can be full (moderate).
        self._compare_thumbnails = compare_thumbnails

    @property
    def name(self) -> str:
        return "camera-exif"

    def examine(self, file: OriginInput) -> list[Evidence]:
        with opened(file.data) as im:
            if im is None:
                return []
            record = read_exif_record(im)
            if record is None or record.camera is None:
                return []
            thumbnail = ThumbnailCheck(None, "thumbnail not compared")
            if record.thumbnail is not None and file.luma is not None:
                aspect = im.width / im.height if im.height else None
                thumbnail = compare_thumbnail(record.thumbnail, file.luma, aspect)
            elif self._compare_thumbnails or record.thumbnail is None:
                thumbnail = check_thumbnail(record.thumbnail, im)
        return self._evidence(record, thumbnail)

    def _evidence(self, record: ExifRecord, thumbnail: ThumbnailCheck) -> list[Evidence]:
        found, lacking = _inventory(record, thumbnail)
        strength = Strength.WEAK if lacking else Strength.MODERATE
        detail = "EXIF: " + ", ".join(found)
        if lacking:
            detail += "; lacks " + ", ".join(lacking)
        items = [Evidence(self.name, PointsTo.CAMERA, strength, detail)]
        if thumbnail.consistent is False:
            items.append(
                Evidence(
                    "exif-thumbnail",
                    None,
                    Strength.WEAK,
                    f"EXIF {thumbnail.detail}: edited after capture, or the EXIF record "
                    "came from another picture",
                )
            )
        return items


def _inventory(record: ExifRecord, thumbnail: ThumbnailCheck) -> tuple[list[str], list[str]]:
    """What the record holds, in the order a reader checks it, and what a full camera
    record would hold besides."""
    found = [record.camera or ""]
    lacking = []
    if record.make is None or record.model is None:
        lacking.append("make" if record.make is None else "model")
    if record.firmware:
        found.append(f"firmware {record.firmware}")
    if editor := record.editor:
        found.append(f"{editor[0]} {editor[1]!r} (an editor)")
        lacking.append("unedited software field")
    if record.exposure:
        found.append(record.exposure.describe())
    else:
        lacking.append("exposure")
    if time := record.capture_time:
        found.append(f"taken {time}")
    else:
        lacking.append("capture time")
    if record.maker_note:
        note, fits = record.maker_note_check()
        found.append(note)
        if not fits:
            lacking.append("maker note of the same make")
    else:
        lacking.append("maker note")
    found.append(thumbnail.detail)
    if thumbnail.consistent is not True:
        lacking.append("consistent thumbnail")
    return found, lacking
