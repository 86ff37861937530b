"""A JPEG crowded with EXIF segments is decoded quickly by the scan and the preview.

Pillow joins EXIF APP1 segments by repeated concatenation (77 s for 1,000 of 64 kB),
which the origin detectors already avoided; the scan's decoder and the review preview
opened such a file with Pillow all the same. They now decode it without its extra
application segments: the same pixels, the first EXIF (its orientation) kept. A header
too crowded even to trim is one error row. The fixture is a generated gradient.
"""

from __future__ import annotations

import io
import json
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearsight.media.decode import DecodeLimits, ImageDecodeError, decode_luma
from clearsight.media.jpeg_segments import (
    MAX_UNCROWDED_SEGMENTS,
    crowded_jpeg,
    uncrowded_jpeg,
)
from clearsight.review.preview import render_image

from .conftest import run_cli

EXIF_SEGMENTS = 1_200
SEGMENT_BYTES = 32 * 1024  # 1,200 of them: a 38 MB file, many seconds of Pillow before


def _gradient_jpeg() -> bytes:
    ramp = np.linspace(0, 255, 160, dtype=np.float64)
    pixels = np.stack(
        [np.add.outer(ramp[:120] / 2, ramp / 2), np.tile(ramp, (120, 1)), np.full((120, 160), 90)],
        axis=-1,
    ).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def _exif(orientation: int, pad: int = 0) -> bytes:
    """An EXIF APP1 body: one IFD holding the orientation, then ``pad`` bytes."""
    tiff = (
        b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    )
    return b"Exif\x00\x00" + tiff + struct.pack("<I", 0) + b"\x00" * pad


def _crowded(base: bytes, orientation: int = 6) -> bytes:
    first = _segment(0xE1, _exif(orientation))
    padding = _segment(0xE1, _exif(1, SEGMENT_BYTES - 40))
    return base[:2] + first + padding * EXIF_SEGMENTS + base[2:]


def test_the_scan_decoder_reads_the_pixels_quickly_with_the_first_exif() -> None:
    base = _gradient_jpeg()
    crowded = _crowded(base)
    assert crowded_jpeg(crowded) and len(crowded) > 39_000_000
    started = time.perf_counter()
    decoded = decode_luma(crowded, DecodeLimits(), 64)
    assert time.perf_counter() - started < 3
    plain = decode_luma(base, DecodeLimits(), 64)
    assert decoded.media_type == "image/jpeg" and (decoded.width, decoded.height) == (160, 120)
    assert np.array_equal(decoded.luma, plain.luma)
    assert decoded.orientation == 6  # from the first EXIF segment, kept


def test_the_trimmed_file_keeps_every_other_segment() -> None:
    base = _gradient_jpeg()
    comment = _segment(0xFE, b"benign comment")
    adobe = _segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01")
    crowded = base[:2] + adobe + comment * 3 + _crowded(base)[2:]
    trimmed = uncrowded_jpeg(crowded)
    assert base[2:4] == b"\xff\xe0"  # Pillow writes a JFIF APP0 first: dropped too
    after_jfif = 4 + int.from_bytes(base[4:6], "big")
    assert trimmed == base[:2] + adobe + _segment(0xE1, _exif(6)) + base[after_jfif:]
    assert not crowded_jpeg(trimmed)


def test_the_preview_does_not_hang_and_is_upright() -> None:
    crowded = _crowded(_gradient_jpeg(), orientation=6)
    started = time.perf_counter()
    preview = render_image(crowded, long_side=160, blur=None, greyscale=False)
    assert time.perf_counter() - started < 3
    assert (preview.width, preview.height) == (120, 160)  # turned by the kept orientation


def test_a_header_too_crowded_to_trim_is_an_error_quickly() -> None:
    empties = _segment(0xE0, b"") * (MAX_UNCROWDED_SEGMENTS + 1)
    base = _gradient_jpeg()
    data = base[:2] + empties + base[2:]
    started = time.perf_counter()
    with pytest.raises(ImageDecodeError, match="more than 65536 segments") as raised:
        decode_luma(data, DecodeLimits(), 64)
    assert raised.value.media_type == "image/jpeg"
    with pytest.raises(ImageDecodeError):
        render_image(data, blur=None, greyscale=False)
    assert time.perf_counter() - started < 3


def test_a_scan_records_the_crowded_file_with_its_hashes(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "gradient.jpg").write_bytes(_crowded(_gradient_jpeg()))
    (source / "plain.jpg").write_bytes(_gradient_jpeg())
    case = tmp_path / "case"
    scanned = run_cli("scan", source, "--case", case, "--no-origin", timeout=120)
    assert scanned.returncode == 0, scanned.stderr
    rows = {
        row["path"]: row
        for row in map(json.loads, run_cli("items", "--case", case).stdout.splitlines())
    }
    crowded, plain = rows["gradient.jpg"], rows["plain.jpg"]
    assert crowded["error"] is None and crowded["orientation"] == 6
    assert crowded["pdq"] == plain["pdq"] and crowded["pdq"] is not None
