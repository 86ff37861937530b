"""Media sniffing and safe decoding, on generated files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from clearsight.media.decode import DecodeLimits, ImageDecodeError, decode_luma, fit_in_box
from clearsight.media.sniff import SNIFF_BYTES, MediaKind, kind_of, sniff_media_type
from clearsight.signals.pdq import PdqSignal

from .conftest import photo_like


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_media_type_comes_from_bytes_not_names() -> None:
    png = encoded(photo_like(1), "PNG")
    assert sniff_media_type(png) == "image/png"
    assert sniff_media_type(encoded(photo_like(1), "JPEG")) == "image/jpeg"
    assert sniff_media_type(b"plain words, nothing else\n") == "text/plain"
    assert sniff_media_type(b"\x00\x01\x02\x03binary") == "application/octet-stream"
    assert sniff_media_type(b"") == "application/x-empty"


def test_kinds() -> None:
    assert kind_of("image/webp") is MediaKind.IMAGE
    assert kind_of("video/mp4") is MediaKind.VIDEO
    assert kind_of("text/plain") is MediaKind.OTHER


def test_decode_reports_stored_size_and_orientation_without_rotating() -> None:
    image = photo_like(2, (300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    data = encoded(image, "JPEG", exif=exif, quality=95)
    decoded = decode_luma(data, DecodeLimits(), 512)
    assert (decoded.width, decoded.height, decoded.orientation) == (300, 200, 6)
    assert decoded.luma.shape == (200, 300)  # the stored grid, as the PDQ reference hashes it
    plain = decode_luma(encoded(image, "JPEG", quality=95), DecodeLimits(), 512)
    assert (
        PdqSignal.distance(
            PdqSignal.hash_from_luma(decoded.luma).hex, PdqSignal.hash_from_luma(plain.luma).hex
        )
        <= 2
    )


def test_large_image_is_fitted_into_the_working_box() -> None:
    decoded = decode_luma(encoded(photo_like(3, (1600, 900)), "PNG"), DecodeLimits(), 512)
    assert decoded.luma.shape == (288, 512)
    assert (decoded.width, decoded.height) == (1600, 900)


def test_decompression_bomb_is_an_error_not_an_allocation() -> None:
    data = encoded(Image.new("L", (5000, 5000)), "PNG")
    with pytest.raises(ImageDecodeError, match="decompression bomb"):
        decode_luma(data, DecodeLimits(max_pixels=1_000_000), 512)


def test_file_size_cap() -> None:
    data = encoded(photo_like(4), "PNG")
    with pytest.raises(ImageDecodeError, match="exceeds the decode cap"):
        decode_luma(data, DecodeLimits(max_file_bytes=len(data) - 1), 512)


def test_truncated_image_is_an_error_with_its_type() -> None:
    data = encoded(photo_like(5), "JPEG")
    with pytest.raises(ImageDecodeError) as caught:
        decode_luma(data[: len(data) // 3], DecodeLimits(), 512)
    assert caught.value.media_type == "image/jpeg"
    assert "\n" not in str(caught.value)


def test_error_reasons_never_quote_bytes() -> None:
    with pytest.raises(ImageDecodeError) as caught:
        decode_luma(b"BM" + b"\xff" * 64, DecodeLimits(), 512)
    assert "\\xff" not in str(caught.value)


@given(st.integers(1, 20_000), st.integers(1, 20_000), st.integers(16, 1024))
def test_fit_in_box_stays_inside_and_keeps_aspect(width: int, height: int, box: int) -> None:
    fitted_w, fitted_h = fit_in_box(width, height, box)
    assert 1 <= fitted_w <= max(box, 1) and 1 <= fitted_h <= max(box, 1)
    assert fitted_w <= width and fitted_h <= height
    if max(width, height) > box:
        assert max(fitted_w, fitted_h) == box


hashes = st.binary(min_size=32, max_size=32).map(bytes.hex)


@given(hashes, hashes, hashes)
def test_pdq_distance_is_a_metric(a: str, b: str, c: str) -> None:
    assert PdqSignal.distance(a, a) == 0
    assert PdqSignal.distance(a, b) == PdqSignal.distance(b, a)
    assert PdqSignal.distance(a, c) <= PdqSignal.distance(a, b) + PdqSignal.distance(b, c)
    assert 0 <= PdqSignal.distance(a, b) <= 256


def test_grey_broadcast_hashes_like_rgb_grey() -> None:
    """hash_from_luma relies on pdqhash's luma weights summing to one."""
    import pdqhash

    grey = np.asarray(photo_like(6).convert("L"))
    rgb = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    bits, _ = pdqhash.compute(rgb)
    expected = np.packbits(bits.astype(np.uint8)).tobytes().hex()
    assert PdqSignal.hash_from_luma(grey).hex == expected


def test_full_rgb_is_kept_only_for_lossless_images_within_the_size_asked() -> None:
    picture = photo_like(9, (600, 400))
    png, jpeg = io.BytesIO(), io.BytesIO()
    picture.save(png, "PNG")
    picture.save(jpeg, "JPEG", quality=90)
    kept = decode_luma(png.getvalue(), DecodeLimits(), 512, keep_rgb_up_to=600 * 400)
    assert kept.rgb is not None and np.array_equal(kept.rgb, np.asarray(picture))
    assert kept.luma.shape == (341, 512)
    assert decode_luma(png.getvalue(), DecodeLimits(), 512, keep_rgb_up_to=1000).rgb is None
    assert decode_luma(png.getvalue(), DecodeLimits(), 512).rgb is None
    # A JPEG is decoded at reduced scale: there is no full grid to keep.
    assert decode_luma(jpeg.getvalue(), DecodeLimits(), 512, keep_rgb_up_to=10**8).rgb is None


def test_the_alpha_channel_of_an_rgba_image_is_kept_with_its_rgb() -> None:
    alpha = np.arange(64 * 48, dtype=np.uint32).reshape(48, 64).astype(np.uint8)
    picture = photo_like(10, (64, 48)).convert("RGBA")
    picture.putalpha(Image.fromarray(alpha))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    kept = decode_luma(buffer.getvalue(), DecodeLimits(), 512, keep_rgb_up_to=64 * 48)
    assert kept.alpha is not None and np.array_equal(kept.alpha, alpha)
    assert kept.rgb is not None and kept.rgb.shape == (48, 64, 3)
    assert decode_luma(buffer.getvalue(), DecodeLimits(), 512).alpha is None


def test_the_quick_jpeg_and_png_answers_are_puremagics(shared_data: Path) -> None:
    """Every byte after a JPEG's start marker, every shared file, and a PNG of every
    mode, animated too: the first-bytes answer is puremagic's own."""
    import puremagic

    def puremagic_type(head: bytes) -> str:
        try:
            return str(puremagic.from_string(head, mime=True))
        except (puremagic.PureError, ValueError):
            return ""

    rng = np.random.default_rng(3)
    heads = [bytes([0xFF, 0xD8, 0xFF, marker]) + rng.bytes(600) for marker in range(256)]
    for mode in ("RGB", "RGBA", "L", "P", "LA", "I;16", "1"):
        heads.append(encoded(Image.new(mode, (40, 30)), "PNG")[:SNIFF_BYTES])
    animated = io.BytesIO()
    Image.new("RGB", (40, 30)).save(
        animated, "PNG", save_all=True, append_images=[Image.new("RGB", (40, 30), "red")]
    )
    heads.append(animated.getvalue())
    heads += [p.read_bytes()[:SNIFF_BYTES] for p in sorted(shared_data.rglob("*")) if p.is_file()]
    quick = 0
    for head in heads:
        if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n":
            quick += 1
            assert sniff_media_type(head) == puremagic_type(head), head[:8]
    assert quick > 300
