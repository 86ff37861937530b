"""The dwtDct watermark detector: it reads what the library's encoder writes, in each
pipeline and channel order, through PNG and 4:4:4 JPEG, and says nothing about pictures
that carry no mark."""

from __future__ import annotations

import importlib.util
import io
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import pywt  # type: ignore[import-untyped]
from PIL import Image

from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength
from clearsight.origin.watermark import (
    PAYLOADS,
    SD_V1,
    SD_V2,
    SDXL,
    ChannelOrder,
    Payload,
    Pipeline,
    WatermarkDetector,
    chance_of_at_least,
    decode_bits,
    match_payloads,
    phase_agreement,
)

from .conftest import photo_like
from .watermark_encoder import embed

SIZES = [(512, 512), (1024, 768)]
ORDER_WORDS = {ChannelOrder.BGR: "channel order BGR", ChannelOrder.RGB: "channel order RGB"}


def scene(seed: int, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    return np.asarray(photo_like(seed, size), dtype=np.uint8)


def marked(
    payload: Payload, order: ChannelOrder, size: tuple[int, int] = (512, 512), seed: int = 7
) -> npt.NDArray[np.uint8]:
    """A benign picture marked as the generator that uses ``payload`` marks its output."""
    float_pipeline = payload.pipeline is Pipeline.FLOAT32
    return embed(scene(seed, size), payload.bits, order, float_pipeline=float_pipeline)


def saved(rgb: npt.NDArray[np.uint8] | Image.Image, fmt: str, **options: Any) -> bytes:
    image = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def examine(data: bytes, media_type: str = "image/png") -> list[Evidence]:
    return WatermarkDetector().examine(OriginInput(data, media_type, "fixture"))


def best_count(rgb: npt.NDArray[np.uint8], payload: Payload) -> int:
    return max(m.matching for m in match_payloads(rgb) if m.payload is payload)


def block_by_block(
    rgb: npt.NDArray[np.uint8], length: int, order: ChannelOrder, pipeline: Pipeline
) -> npt.NDArray[np.bool_]:
    """The library's decoder written as its plain loop over blocks, with pywt."""
    handed = rgb[:, :, ::-1] if order is ChannelOrder.BGR else rgb
    dtype = np.float32 if pipeline is Pipeline.FLOAT32 else np.uint8
    yuv = cv2.cvtColor(np.ascontiguousarray(handed, dtype=dtype), cv2.COLOR_BGR2YUV)
    rows, cols = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    ll = pywt.dwt2(yuv[:rows, :cols, 1], "haar")[0]
    votes: list[list[bool]] = [[] for _ in range(length)]
    block = 0
    for top in range(0, ll.shape[0] // 4 * 4, 4):
        for left in range(0, ll.shape[1] // 4 * 4, 4):
            entries = ll[top : top + 4, left : left + 4].flatten()
            largest = entries[1 + int(np.argmax(np.abs(entries[1:])))]
            votes[block % length].append(bool(abs(largest) % 36 > 18))
            block += 1
    return np.array([np.mean(v) * 255 > 127 for v in votes])


@pytest.mark.parametrize("pipeline", list(Pipeline))
@pytest.mark.parametrize("order", list(ChannelOrder))
def test_decoding_agrees_bit_for_bit_with_the_block_loop(
    pipeline: Pipeline, order: ChannelOrder
) -> None:
    # An odd size exercises the library's cropping to multiples of 4 and of blocks.
    rgb = embed(scene(3, (517, 389)), SD_V1.bits, order, pipeline is Pipeline.FLOAT32)
    for length in (SD_V1.length, SD_V2.length, SDXL.length, 7):
        expected = block_by_block(rgb, length, order, pipeline)
        assert np.array_equal(decode_bits(rgb, length, order, pipeline), expected)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("order", list(ChannelOrder))
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.name)
def test_each_payload_is_found_in_png_and_in_444_jpeg(
    payload: Payload, order: ChannelOrder, size: tuple[int, int]
) -> None:
    rgb = marked(payload, order, size)
    for data, media_type in (
        (saved(rgb, "PNG"), "image/png"),
        (saved(rgb, "JPEG", quality=90, subsampling=0), "image/jpeg"),
    ):
        [evidence] = examine(data, media_type)
        assert evidence.kind == "watermark"
        assert evidence.points_to is PointsTo.AI
        assert evidence.strength is Strength.STRONG
        assert f"payload {payload.name} " in evidence.detail
        assert ORDER_WORDS[order] in evidence.detail
        count = re.search(r"(\d+) of (\d+) bits match", evidence.detail)
        assert count is not None
        assert int(count[1]) >= payload.very_likely
        assert int(count[2]) == payload.length


def test_a_partial_agreement_is_likely_rather_than_very_likely() -> None:
    # Embed the SDXL payload with 14 of its 48 bits flipped: at best 34 can match.
    bits = [bit ^ (i < 28 and i % 2 == 0) for i, bit in enumerate(SDXL.bits)]
    rgb = embed(scene(7, (512, 512)), bits, ChannelOrder.BGR, float_pipeline=True)
    [evidence] = examine(saved(rgb, "PNG"))
    assert evidence.strength is Strength.MODERATE
    # 34 unless noise happens to turn a flipped bit back.
    assert re.search(r": 3[45] of 48 bits match", evidence.detail), evidence.detail


def test_alpha_and_lossless_webp_keep_the_mark() -> None:
    rgb = marked(SD_V1, ChannelOrder.BGR)
    with_alpha = Image.fromarray(rgb).convert("RGBA")
    with_alpha.putalpha(200)
    for data in (saved(with_alpha, "PNG"), saved(rgb, "WEBP", lossless=True)):
        assert [e.detail.split(" (")[0] for e in examine(data)] == [
            "invisible-watermark dwtDct payload StableDiffusionV1"
        ]


def test_pictures_without_colour_carry_no_mark() -> None:
    rgb = marked(SD_V1, ChannelOrder.BGR)
    for mode in ("L", "LA"):
        assert examine(saved(Image.fromarray(rgb).convert(mode), "PNG")) == []


def test_a_palette_image_is_read_through_its_colours() -> None:
    # 256 colours keep enough of the SD v1 mark (101 of 136 bits here) to find it.
    marked_palette = Image.fromarray(marked(SD_V1, ChannelOrder.BGR)).quantize(256)
    plain_palette = Image.fromarray(scene(11, (512, 512))).quantize(256)
    assert marked_palette.mode == plain_palette.mode == "P"
    [evidence] = examine(saved(marked_palette, "PNG"))
    assert "payload StableDiffusionV1 " in evidence.detail
    assert examine(saved(plain_palette, "PNG")) == []


def test_images_too_small_for_the_method_yield_nothing() -> None:
    rgb = marked(SD_V2, ChannelOrder.BGR)
    assert examine(saved(rgb[:255, :255], "PNG")) == []
    strip = np.ascontiguousarray(np.resize(rgb, (4, 20000, 3)))  # 80,000 pixels, no block
    assert examine(saved(strip, "PNG")) == []
    with pytest.raises(ValueError):
        decode_bits(rgb[:255, :255], SD_V2.length)
    with pytest.raises(ValueError):
        decode_bits(strip, SD_V2.length)


@pytest.mark.parametrize("size", SIZES)
def test_unmarked_generated_pictures_yield_nothing(size: tuple[int, int]) -> None:
    for seed in (21, 22, 23):
        rgb = scene(seed, size)
        assert examine(saved(rgb, "PNG")) == []
        assert examine(saved(rgb, "JPEG", quality=90, subsampling=0), "image/jpeg") == []


def test_camera_originals_yield_nothing(shared_data: Path) -> None:
    originals = sorted((shared_data / "camera").glob("*.JPG"))
    assert len(originals) == 16
    for path in originals:
        assert examine(path.read_bytes(), "image/jpeg") == [], path.name


def camera_picture(shared_data: Path, name: str) -> npt.NDArray[np.uint8]:
    """A shared camera photo, cut to at most 1024 pixels a side, as RGB."""
    with Image.open(shared_data / "camera" / name) as im:
        im.draft("RGB", (1024, 1024))
        picture = im.convert("RGB")
    picture.thumbnail((1024, 1024))
    return np.asarray(picture, dtype=np.uint8)


def test_camera_photos_saved_without_subsampling_yield_nothing(shared_data: Path) -> None:
    # The originals are 4:2:2 and never read; decoded and saved again as PNG and as
    # 4:4:4 JPEG, every block of them is read in both pixel types and both orders.
    for path in sorted((shared_data / "camera").glob("*.JPG")):
        rgb = camera_picture(shared_data, path.name)
        assert examine(saved(rgb, "PNG")) == [], path.name
        data = saved(rgb, "JPEG", quality=90, subsampling=0)
        assert examine(data, "image/jpeg") == [], path.name


def test_plain_benign_photos_yield_nothing(shared_data: Path) -> None:
    photos = sorted((shared_data / "pdq-reference").rglob("*.jpg"))
    assert len(photos) >= 10
    for path in photos:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
        if rgb.shape[0] * rgb.shape[1] < 256 * 256:
            continue
        assert examine(saved(rgb, "PNG")) == [], path.name
        data = saved(rgb, "JPEG", quality=85, subsampling=0)
        assert examine(data, "image/jpeg") == [], path.name


def reference_count(rgb: npt.NDArray[np.uint8], payload: Payload) -> int:
    """Matching bits as the reference SDXL detector reads a file: the library's decoder
    on 8-bit BGR pixels (``cv2.imread``), here as its block loop (:func:`block_by_block`)."""
    bits = block_by_block(rgb, payload.length, ChannelOrder.BGR, Pipeline.UINT8)
    return int(np.count_nonzero(bits == np.array(payload.bits)))


def sdxl_count(data: bytes) -> int:
    found = [e for e in examine(data, "image/jpeg") if "0xB3EC907BB19E" in e.detail]
    if not found:
        return 0
    count = re.search(r"(\d+) of 48 bits match", found[0].detail)
    assert count is not None
    return int(count[1])


def test_a_444_jpeg_the_reference_reads_is_read_as_well(shared_data: Path) -> None:
    # Issue 17: an SDXL-marked 4:4:4 JPEG that the reference read (here at 48 of 48)
    # was missed: this reader read only the top rows (a sky that JPEG had flattened,
    # 21 of 48 there) and only in SDXL's own float32 pixel type.
    rgb = embed(
        camera_picture(shared_data, "Nikon_D200_0_14902.JPG"), SDXL.bits, float_pipeline=True
    )
    data = saved(rgb, "JPEG", quality=85, subsampling=0)
    with Image.open(io.BytesIO(data)) as im:
        stored = np.asarray(im.convert("RGB"), dtype=np.uint8)
    reference = reference_count(stored, SDXL)
    assert reference >= SDXL.very_likely
    assert sdxl_count(data) >= reference


def test_a_mark_under_a_flat_sky_is_read_from_the_rest_of_the_picture() -> None:
    # A pale sky over the top 30% of the picture: the top rows alone read 28 of 48
    # after a JPEG at quality 85, the whole picture 47.
    rgb = np.array(scene(2, (1024, 768)))
    sky = np.random.default_rng(2).normal(0, 1.5, (230, 1024, 3)) + (225, 235, 250)
    rgb[:230] = np.clip(sky, 0, 255).astype(np.uint8)
    data = saved(embed(rgb, SDXL.bits, float_pipeline=True), "JPEG", quality=85, subsampling=0)
    assert sdxl_count(data) >= SDXL.very_likely


@pytest.mark.parametrize("seed", range(6))
def test_sdxl_marks_are_read_at_least_as_well_as_the_reference_reads_them(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = (int(rng.integers(400, 1100)), int(rng.integers(400, 900)))
    rgb = embed(scene(30 + seed, size), SDXL.bits, float_pipeline=True)
    data = saved(rgb, "JPEG", quality=int(rng.integers(75, 101)), subsampling=0)
    with Image.open(io.BytesIO(data)) as im:
        stored = np.asarray(im.convert("RGB"), dtype=np.uint8)
    reference = reference_count(stored, SDXL)
    ours = max(m.matching for m in match_payloads(stored) if m.payload is SDXL)
    assert ours >= reference
    if reference >= SDXL.likely:
        assert sdxl_count(data) >= reference


def test_the_reference_library_reads_what_its_block_loop_reads() -> None:
    # The tests' reference is the library's loop transcribed; where the library itself
    # is installed (a test oracle, never a dependency), it is checked against it.
    decoder = reference_decoder()
    rgb = embed(scene(5, (640, 480)), SDXL.bits, float_pipeline=True)
    data = saved(rgb, "JPEG", quality=80, subsampling=0)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None
    with Image.open(io.BytesIO(data)) as im:
        stored = np.asarray(im.convert("RGB"), dtype=np.uint8)
    assert np.array_equal(stored, bgr[:, :, ::-1])  # Pillow and OpenCV decode alike
    library = np.asarray(decoder.EmbedMaxDct(watermarks=[], wmLen=48).decode(bgr), bool)
    loop = block_by_block(stored, 48, ChannelOrder.BGR, Pipeline.UINT8)
    assert np.array_equal(library, loop)


def reference_decoder() -> ModuleType:
    """``imwatermark/maxDct.py`` of an installed invisible-watermark, loaded without the
    package's ``__init__`` (which imports torch); skips where it is not installed."""
    spec = importlib.util.find_spec("imwatermark")
    folders = [Path(p) for p in spec.submodule_search_locations or []] if spec else []
    folders.append(Path(__file__).parent.parent / ".bench" / "invisible-watermark" / "imwatermark")
    for folder in folders:
        if (folder / "maxDct.py").is_file():
            loaded = importlib.util.spec_from_file_location("maxDct", folder / "maxDct.py")
            assert loaded is not None and loaded.loader is not None
            module = importlib.util.module_from_spec(loaded)
            loaded.loader.exec_module(module)
            return module
    pytest.skip("invisible-watermark is not installed (a test oracle only)")


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.name)
def test_420_jpeg_at_quality_75_wipes_the_mark(payload: Payload) -> None:
    rgb = marked(payload, ChannelOrder.BGR)
    assert best_count(rgb, payload) >= payload.very_likely
    data = saved(rgb, "JPEG", quality=75, subsampling=2)
    assert examine(data, "image/jpeg") == []
    with Image.open(io.BytesIO(data)) as im:
        assert best_count(np.asarray(im.convert("RGB")), payload) < payload.likely


def test_the_shared_stable_diffusion_v1_samples_carry_no_readable_mark(
    shared_data: Path,
) -> None:
    # Measured: these outputs (CompVis assets and Community-Forensics samples) agree with
    # "StableDiffusionV1" in at most 72 of 136 bits in either order: chance, not a mark.
    samples = sorted((shared_data / "generated").glob("sd1-*.png"))
    assert len(samples) == 9
    for path in samples:
        assert examine(path.read_bytes()) == [], path.name
        with Image.open(path) as im:
            assert best_count(np.asarray(im.convert("RGB")), SD_V1) < SD_V1.likely, path.name


def test_a_repeating_picture_is_not_taken_for_a_payload() -> None:
    # A 32-pixel tile repeats the block votes every 4 blocks; the read-out then repeats
    # every 4 bits, which matches the ASCII of "StableDiffusionV1" far above chance.
    tiled = np.tile(scene(2, (32, 32)), (16, 16, 1))
    [read] = [m for m in match_payloads(tiled) if m.payload is SD_V1 and m.order == "RGB"]
    assert read.matching >= SD_V1.very_likely
    assert read.best_shifted >= read.matching
    assert examine(saved(tiled, "PNG")) == []


def test_an_sdv2_mark_is_not_also_reported_as_sd_v1() -> None:
    rgb = marked(SD_V2, ChannelOrder.BGR, (1024, 768))
    # Its 32 bits read as 136 give one byte, repeated, that looks like ASCII letters:
    # enough agreement to pass the count alone; the phase rule is what rejects it.
    assert best_count(rgb, SD_V1) >= SD_V1.likely
    [evidence] = examine(saved(rgb, "PNG"))
    assert "payload SDV2 " in evidence.detail


def test_thresholds_keep_the_reference_detectors_chance_levels() -> None:
    # The reference grades 48 bits: 34 or more likely, 36 or more very likely.
    for payload in PAYLOADS:
        for count, reference in ((payload.likely, 34), (payload.very_likely, 36)):
            level = chance_of_at_least(reference, 48)
            assert chance_of_at_least(count, payload.length) <= level
            assert chance_of_at_least(count - 1, payload.length) > level
        ones = sum(payload.bits)
        assert max(ones, payload.length - ones) < payload.likely  # a flat picture's read-out
    assert (SDXL.likely, SDXL.very_likely) == (34, 36)


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.name)
def test_agreement_peaks_at_the_phase_the_bits_are_read_in(payload: Payload) -> None:
    bits = np.array(payload.bits)
    for phase in (0, 1, 8, payload.length - 1):
        agreement = phase_agreement(np.roll(bits, phase), payload)
        assert agreement[phase] == payload.length
        assert np.delete(agreement, phase).max() < payload.length


def test_exif_orientation_is_not_applied() -> None:
    rgb = marked(SDXL, ChannelOrder.RGB)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees for display; the mark is on the stored grid
    data = saved(rgb, "JPEG", quality=90, subsampling=0, exif=exif)
    assert [e.strength for e in examine(data, "image/jpeg")] == [Strength.STRONG]


def test_malformed_and_unusual_files_yield_nothing(shared_data: Path) -> None:
    for path in sorted((shared_data / "malformed").iterdir()):
        assert examine(path.read_bytes(), "application/octet-stream") == [], path.name
    assert examine(b"") == []
    assert examine(saved(marked(SD_V1, ChannelOrder.BGR), "PNG")[:5000]) == []
    assert examine(b"a lighthouse at dusk", "text/plain") == []


def test_a_jpeg_with_subsampled_chroma_is_not_examined() -> None:
    # Even where a 4:2:0 file keeps a readable mark (high quality, smooth picture), the
    # detector leaves it: the full decode costs a camera JPEG far more than the mark is
    # worth there (see _subsampled_jpeg).
    rgb = marked(SD_V2, ChannelOrder.BGR)
    data = saved(rgb, "JPEG", quality=98, subsampling=2)
    with Image.open(io.BytesIO(data)) as im:
        assert best_count(np.asarray(im.convert("RGB")), SD_V2) >= SD_V2.likely
    assert examine(data, "image/jpeg") == []
    assert examine(saved(rgb, "JPEG", quality=98, subsampling=0), "image/jpeg") != []


def test_pixels_the_scan_decoded_are_read_without_decoding_again() -> None:
    rgb = marked(SD_V2, ChannelOrder.BGR)
    # The bytes are not a picture at all: only the pixels handed over can be read.
    found = WatermarkDetector().examine(OriginInput(b"not decoded again", "image/png", rgb=rgb))
    assert [item.strength for item in found] == [Strength.STRONG]
    small = rgb[:100, :100]
    assert WatermarkDetector().examine(OriginInput(b"", "image/png", rgb=small)) == []


def test_every_block_is_read_however_little_of_the_picture_keeps_the_mark() -> None:
    # A sky blown out to white keeps no mark (the encoder's change is clipped away); the
    # reference reads every block, and so must this reader, not just the top rows.
    rgb = marked(SDXL, ChannelOrder.BGR, (1024, 768))
    rgb[:300] = 255  # 40% of the rows: the majority of blocks still carries the mark
    [evidence] = examine(saved(rgb, "PNG"))
    assert "0xB3EC907BB19E" in evidence.detail and evidence.strength is Strength.STRONG
