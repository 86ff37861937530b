"""Camera evidence: the EXIF record and its thumbnail, the JPEG quantisation tables, and
the signs of re-saving, on the shared camera originals and on files written here."""

from __future__ import annotations

import io
import random
import re
import struct
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageDraw, ImageOps
from PIL.JpegImagePlugin import JpegImageFile
from PIL.PngImagePlugin import PngInfo
from PIL.TiffImagePlugin import IFDRational

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.origin.camera import CameraExifDetector, compare_thumbnail, read_exif_record
from clearsight.origin.editing import EditingSoftwareDetector
from clearsight.origin.evidence import Detector, Evidence, OriginInput, PointsTo, Strength
from clearsight.origin.quantisation import QuantisationDetector, ijg_table, match_ijg
from clearsight.signals.pdq import PDQ_WORKING_BOX

from .conftest import photo_like

Tag = ExifTags.Base
DETECTORS: tuple[Detector, ...] = (
    CameraExifDetector(),
    QuantisationDetector(),
    EditingSoftwareDetector(),
)
# The shared camera originals (see ../shared/data/README.md).
CAMERA_ORIGINALS = (
    "Nikon_D200_0_14902.JPG",
    "Nikon_D200_1_17226.JPG",
    "Nikon_D70_0_19445.JPG",
    "Nikon_D70_0_19593.JPG",
    "Nikon_D70_1_20543.JPG",
    "Nikon_D70_1_20585.JPG",
    "Nikon_D70_1_20749.JPG",
    "Nikon_D70_1_20891.JPG",
    "Nikon_D70s_0_21853.JPG",
    "Nikon_D70s_0_21989.JPG",
    "Nikon_D70s_0_22115.JPG",
    "Nikon_D70s_1_22750.JPG",
    "Nikon_D70s_1_22760.JPG",
    "Nikon_D70s_1_22824.JPG",
    "Nikon_D70s_1_22928.JPG",
    "Nikon_D70s_1_23136.JPG",
)
NIKON_MAKER_NOTE = b"Nikon\x00\x02\x10\x00\x00MM\x00*\x00\x00\x00\x08" + bytes(32)


def examine(detector: Detector, data: bytes, media_type: str = "image/jpeg") -> list[Evidence]:
    return detector.examine(OriginInput(data, media_type, "test"))


def kinds(evidence: list[Evidence], kind: str) -> list[Evidence]:
    return [item for item in evidence if item.kind == kind]


def camera_files(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "camera").glob("*.JPG"))
    assert len(files) == 16
    return files


def jpeg(picture: Image.Image, quality: int = 90, **params: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, **params)
    return out.getvalue()


def camera_exif(taken: str = "2024:05:01 10:22:01", written: str | None = None) -> Image.Exif:
    """A full camera record (values of the kind a Nikon D70 writes) for a benign test
    picture."""
    exif = Image.Exif()
    exif[Tag.Make] = "NIKON CORPORATION"
    exif[Tag.Model] = "NIKON D70"
    exif[Tag.Software] = "Ver.1.02"
    exif[Tag.DateTime] = written or taken
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[Tag.ExposureTime] = IFDRational(1, 250)
    sub[Tag.FNumber] = IFDRational(8, 1)
    sub[Tag.ISOSpeedRatings] = 200
    sub[Tag.FocalLength] = IFDRational(18, 1)
    sub[Tag.DateTimeOriginal] = taken
    sub[Tag.SubsecTimeOriginal] = "50"
    sub[Tag.MakerNote] = NIKON_MAKER_NOTE
    return exif


def with_thumbnail(exif: Image.Exif, thumbnail: bytes) -> bytes:
    """The EXIF block with an IFD1 pointing at ``thumbnail``, as cameras write it.

    Pillow writes no IFD1, so it is appended by hand: IFD0's next-directory pointer is
    set to a three-entry directory (Compression 6 = JPEG, JPEGInterchangeFormat and its
    length, offsets from the TIFF header) followed by the thumbnail's bytes.
    """
    tiff = bytearray(exif.tobytes()[6:])
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
    (entries,) = struct.unpack_from(order + "H", tiff, ifd0)
    if len(tiff) % 2:
        tiff += b"\x00"
    ifd1 = len(tiff)
    struct.pack_into(order + "I", tiff, ifd0 + 2 + 12 * entries, ifd1)
    data_at = ifd1 + 2 + 3 * 12 + 4
    tiff += struct.pack(order + "H", 3)
    tiff += struct.pack(order + "HHIHH", 0x0103, 3, 1, 6, 0)
    tiff += struct.pack(order + "HHII", Tag.JpegIFOffset, 4, 1, data_at)
    tiff += struct.pack(order + "HHII", Tag.JpegIFByteCount, 4, 1, len(thumbnail))
    tiff += struct.pack(order + "I", 0) + thumbnail
    return b"Exif\x00\x00" + bytes(tiff)


def letterboxed_thumbnail(picture: Image.Image) -> bytes:
    """A 160x120 thumbnail with black bars, as cameras make for a 3:2 picture."""
    canvas = Image.new("RGB", (160, 120))
    inner = picture.resize((160, round(160 * picture.height / picture.width)))
    canvas.paste(inner, (0, (120 - inner.height) // 2))
    return jpeg(canvas, 90)


def camera_like_file(picture: Image.Image, thumbnail_of: Image.Image) -> bytes:
    exif = with_thumbnail(camera_exif(), letterboxed_thumbnail(thumbnail_of))
    return jpeg(picture, 92, exif=exif)


def test_every_detector_is_named_after_its_evidence() -> None:
    assert [d.name for d in DETECTORS] == ["camera-exif", "jpeg-quantisation", "editing-software"]


# Quantisation tables


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_pillow_jpegs_match_libjpeg_at_the_quality_written(mode: str) -> None:
    picture = photo_like(1, (48, 32)).convert(mode)
    for quality in range(1, 101):
        with Image.open(io.BytesIO(jpeg(picture, quality))) as written:
            assert isinstance(written, JpegImageFile)
            found = match_ijg(written.quantization)
        assert found is not None and found.exact, quality
        assert found.luma_quality == quality
        assert found.chroma_quality == (quality if mode == "RGB" else None)
    evidence = examine(QuantisationDetector(), jpeg(picture, 92))
    assert [(e.points_to, e.strength) for e in evidence] == [(None, Strength.WEAK)]
    assert "standard libjpeg quantisation tables at quality 92" in evidence[0].detail


def test_separate_luma_and_chroma_qualities_are_both_named() -> None:
    tables = {0: list(ijg_table(90, chroma=False)), 1: list(ijg_table(70, chroma=True))}
    found = match_ijg(tables)
    assert found is not None and (found.luma_quality, found.chroma_quality) == (90, 70)
    assert "luminance quality 90, chrominance 70" in found.describe()


def test_tables_one_step_off_libjpeg_match_no_quality() -> None:
    luma = list(ijg_table(85, chroma=False))
    luma[10] += 3
    found = match_ijg({0: luma, 1: list(ijg_table(85, chroma=True))})
    assert found is not None and not found.exact
    assert (found.closest_quality, found.differing, found.largest_difference) == (85, 1, 3)


def test_camera_tables_match_no_libjpeg_quality_except_when_nearly_flat(
    shared_data: Path,
) -> None:
    plain = 0
    for path in camera_files(shared_data):
        (item,) = examine(QuantisationDetector(), path.read_bytes())
        if item.points_to is PointsTo.CAMERA:
            plain += 1
            assert item.strength is Strength.WEAK
            assert "match no standard libjpeg quality (closest q" in item.detail
        else:  # the D200's finest setting writes libjpeg's quality 99 tables
            assert item.points_to is None and "nearly flat" in item.detail, path.name
    assert plain >= 15


# The EXIF record


def test_camera_originals_yield_their_model(shared_data: Path) -> None:
    for path in camera_files(shared_data):
        model = "NIKON " + path.name.split("_")[1]  # Nikon_D70s_1_22750.JPG
        (record, *others) = kinds(examine(CameraExifDetector(), path.read_bytes()), "camera-exif")
        assert not others
        assert record.points_to is PointsTo.CAMERA and record.strength is not Strength.STRONG
        assert record.detail.startswith(f"EXIF: {model}, firmware Ver."), record.detail
        assert "Nikon maker note" in record.detail
        assert " s f/" in record.detail and "taken 2009-01-" in record.detail


@pytest.mark.parametrize("name", CAMERA_ORIGINALS)
def test_every_camera_original_carries_a_full_consistent_record(
    shared_data: Path, name: str
) -> None:
    # The D200 squeezes the whole picture between two bars; the D70 and D70s draw a dark
    # frame inside the bars and show only the picture's top-left 96% x 95% in it.
    data = (shared_data / "camera" / name).read_bytes()
    evidence = examine(CameraExifDetector(), data)
    assert [(e.kind, e.strength) for e in evidence] == [("camera-exif", Strength.MODERATE)]
    assert evidence[0].detail.endswith("thumbnail consistent"), evidence[0].detail
    # The same from the grey picture the fingerprint stage decoded (at most 512 px).
    with Image.open(io.BytesIO(data)) as im:
        record, aspect = read_exif_record(im), im.width / im.height
    assert record is not None and record.thumbnail is not None
    luma = decode_luma(data, DecodeLimits(), PDQ_WORKING_BOX).luma
    check = compare_thumbnail(record.thumbnail, luma, aspect)
    assert check.consistent is True, check.detail


def test_the_camera_originals_are_the_sixteen_named(shared_data: Path) -> None:
    assert [path.name for path in camera_files(shared_data)] == list(CAMERA_ORIGINALS)


def test_no_original_s_thumbnail_passes_for_another_original(shared_data: Path) -> None:
    # Several are shots of one scene minutes apart: the fit to the thumbnail's framing
    # must not make one stand for another.
    thumbnails, pictures = [], []
    for path in camera_files(shared_data):
        with Image.open(path) as im:
            record = read_exif_record(im)
            assert record is not None and record.thumbnail is not None
            thumbnails.append(record.thumbnail)
            im.draft("L", (im.width // 8, im.height // 8))
            pictures.append((np.asarray(im.convert("L")), im.width / im.height))
    for i, thumbnail in enumerate(thumbnails):
        for j, (luma, aspect) in enumerate(pictures):
            if i != j:
                check = compare_thumbnail(thumbnail, luma, aspect)
                assert check.consistent is False, (i, j)


def edited(picture: Image.Image, edit: str) -> Image.Image:
    """``picture`` after one of the edits a thumbnail must give away."""
    width, height = picture.size
    if edit == "crop":  # an eighth off the left
        return picture.crop((width // 8, 0, width, height))
    if edit == "paint":  # a grey square a quarter of each side wide
        painted = picture.copy()
        ImageDraw.Draw(painted).rectangle(
            (width * 2 // 5, height * 3 // 10, width * 13 // 20, height * 11 // 20), fill=128
        )
        return painted
    if edit == "clone":  # the top-left third of each side pasted over the middle
        cloned = picture.copy()
        cloned.paste(picture.crop((0, 0, width // 3, height // 3)), (width // 3, height // 2))
        return cloned
    if edit == "mirror":
        return ImageOps.mirror(picture)
    assert edit == "none"
    return picture


@pytest.mark.parametrize("name", ["Nikon_D200_1_17226.JPG", "Nikon_D70s_0_21989.JPG"])
@pytest.mark.parametrize("edit", ["none", "crop", "paint", "clone", "mirror"])
def test_an_edited_original_that_keeps_its_thumbnail_is_reported(
    shared_data: Path, name: str, edit: str
) -> None:
    with Image.open(shared_data / "camera" / name) as original:
        exif = original.info["exif"]  # the camera's record, its old thumbnail included
        original.draft("RGB", (original.width // 4, original.height // 4))
        picture = original.convert("RGB")
    data = jpeg(edited(picture, edit), 95, exif=exif)
    evidence = examine(CameraExifDetector(), data)
    if edit == "none":  # re-saved at a quarter of the size, but the same picture
        assert [(e.kind, e.strength) for e in evidence] == [("camera-exif", Strength.MODERATE)]
        return
    (record,) = kinds(evidence, "camera-exif")
    (thumbnail,) = kinds(evidence, "exif-thumbnail")
    assert record.strength is Strength.WEAK and "lacks consistent thumbnail" in record.detail
    assert thumbnail.detail.startswith("EXIF thumbnail "), thumbnail.detail
    assert "edited after capture" in thumbnail.detail


def test_a_painted_region_is_reported_where_it_lies(shared_data: Path) -> None:
    with Image.open(shared_data / "camera" / "Nikon_D70_1_20749.JPG") as original:
        exif = original.info["exif"]
        original.draft("RGB", (original.width // 4, original.height // 4))
        picture = original.convert("RGB")
    width, height = picture.size
    ImageDraw.Draw(picture).rectangle(
        (width * 62 // 100, height * 12 // 100, width * 75 // 100, height * 27 // 100),
        fill=(0, 0, 0),
    )
    (thumbnail,) = kinds(
        examine(CameraExifDetector(), jpeg(picture, 95, exif=exif)), "exif-thumbnail"
    )
    assert "differs from the image in one region" in thumbnail.detail, thumbnail.detail
    where = re.search(r"\((\d+)% across, (\d+)% down", thumbnail.detail)
    assert where is not None
    across, down = where.groups()
    assert 55 <= int(across) <= 85 and 5 <= int(down) <= 35, thumbnail.detail


def test_a_thumbnail_of_the_same_picture_is_consistent() -> None:
    picture = photo_like(3, (600, 400))
    evidence = examine(CameraExifDetector(), camera_like_file(picture, picture))
    assert [(e.kind, e.strength) for e in evidence] == [("camera-exif", Strength.MODERATE)]
    assert evidence[0].detail == (
        "EXIF: NIKON D70, firmware Ver.1.02, 1/250 s f/8 ISO 200 18 mm, "
        "taken 2024-05-01 10:22:01.50, Nikon maker note, thumbnail consistent"
    )


def test_a_thumbnail_of_another_picture_is_reported_and_weakens_the_record() -> None:
    picture, other = photo_like(3, (600, 400)), photo_like(4, (600, 400))
    evidence = examine(CameraExifDetector(), camera_like_file(picture, other))
    (record,) = kinds(evidence, "camera-exif")
    (thumbnail,) = kinds(evidence, "exif-thumbnail")
    assert record.strength is Strength.WEAK and "lacks consistent thumbnail" in record.detail
    assert thumbnail.points_to is None and thumbnail.strength is Strength.WEAK
    assert thumbnail.detail.startswith("EXIF thumbnail differs from the image (correlation")


def test_a_thumbnail_of_another_shape_is_reported() -> None:
    picture = photo_like(3, (600, 400))
    square = jpeg(photo_like(3, (600, 400)).resize((120, 120)))
    data = jpeg(picture, exif=with_thumbnail(camera_exif(), square))
    (thumbnail,) = kinds(examine(CameraExifDetector(), data), "exif-thumbnail")
    assert "thumbnail aspect 1.00 differs from the image's 1.50" in thumbnail.detail


def test_a_partial_record_is_weak_and_says_what_it_lacks() -> None:
    exif = Image.Exif()
    exif[Tag.Make], exif[Tag.Model] = "Canon", "Canon EOS 5D"
    evidence = examine(CameraExifDetector(), jpeg(photo_like(5), exif=exif))
    assert [(e.points_to, e.strength) for e in evidence] == [(PointsTo.CAMERA, Strength.WEAK)]
    assert evidence[0].detail == (
        "EXIF: Canon EOS 5D, no thumbnail; lacks exposure, capture time, maker note, "
        "consistent thumbnail"
    )


def test_files_without_a_camera_record_yield_no_camera_evidence(shared_data: Path) -> None:
    picture = photo_like(6)
    png = io.BytesIO()
    picture.save(png, "PNG")
    exif = Image.Exif()
    exif[Tag.Software] = "a generator 1.0"
    files = [jpeg(picture), png.getvalue(), jpeg(picture, exif=exif)]
    files += [p.read_bytes() for p in sorted((shared_data / "generated").glob("dalle2-*.png"))]
    assert len(files) == 8
    for data in files:
        assert examine(CameraExifDetector(), data) == []
    for path in sorted((shared_data / "generated").glob("*.png")):
        for detector in DETECTORS:
            found = examine(detector, path.read_bytes(), "image/png")
            assert all(item.points_to is not PointsTo.CAMERA for item in found), path.name


# Signs of re-saving


def test_resaving_a_camera_original_with_pillow_is_seen(shared_data: Path) -> None:
    with Image.open(shared_data / "camera" / "Nikon_D200_0_14902.JPG") as original:
        original.draft("RGB", (original.width // 4, original.height // 4))
        data = jpeg(original.convert("RGB"), 90, exif=original.info["exif"])

    (tables,) = examine(QuantisationDetector(), data)
    assert tables.points_to is None and "libjpeg quantisation tables at quality 90" in tables.detail
    (sign,) = examine(EditingSoftwareDetector(), data)
    assert sign.points_to is None and sign.strength is Strength.WEAK
    assert sign.detail.startswith("EXIF make 'NIKON CORPORATION' but standard libjpeg")
    assert "re-saved after capture" in sign.detail
    (record,) = examine(CameraExifDetector(), data)  # the record survives the re-save
    assert record.strength is Strength.MODERATE and "NIKON D200" in record.detail


def test_camera_originals_show_no_sign_of_resaving(shared_data: Path) -> None:
    for path in camera_files(shared_data):
        assert examine(EditingSoftwareDetector(), path.read_bytes()) == [], path.name


def test_an_editor_named_in_software_is_a_sign_and_weakens_the_record() -> None:
    picture = photo_like(7, (600, 400))
    exif = camera_exif()
    exif[Tag.Software] = "Adobe Photoshop 25.0 (Windows)"
    data = jpeg(picture, exif=with_thumbnail(exif, letterboxed_thumbnail(picture)))
    signs = [e.detail for e in examine(EditingSoftwareDetector(), data)]
    assert "EXIF Software 'Adobe Photoshop 25.0 (Windows)' names an editor (Adobe Photoshop)" in (
        signs
    )
    (record,) = examine(CameraExifDetector(), data)
    assert record.strength is Strength.WEAK and "(an editor)" in record.detail


def test_a_write_time_after_capture_is_a_sign() -> None:
    exif = camera_exif(taken="2024:05:01 10:22:01", written="2024:06:02 08:00:00")
    signs = [e.detail for e in examine(EditingSoftwareDetector(), jpeg(photo_like(8), exif=exif))]
    assert any("DateTime 2024-06-02 08:00:00 is later than" in s for s in signs), signs
    within_a_minute = camera_exif(taken="2024:05:01 10:22:01", written="2024:05:01 10:22:40")
    signs = [
        e.detail
        for e in examine(EditingSoftwareDetector(), jpeg(photo_like(8), exif=within_a_minute))
    ]
    assert not any("later than" in s for s in signs), signs


def test_an_editor_named_in_a_png_software_text_is_a_sign() -> None:
    text = PngInfo()
    text.add_text("Software", "GIMP 2.10.34")
    png = io.BytesIO()
    photo_like(12).save(png, "PNG", pnginfo=text)
    (sign,) = examine(EditingSoftwareDetector(), png.getvalue(), "image/png")
    assert sign.detail == "PNG Software 'GIMP 2.10.34' names an editor (GIMP)"


@pytest.mark.parametrize(
    "xmp",
    [
        b'<rdf:Description xmp:CreatorTool="GIMP 2.10.34"/>',
        b"<xmp:CreatorTool>GIMP 2.10.34</xmp:CreatorTool>",
    ],
)
def test_an_editor_named_in_xmp_is_a_sign(xmp: bytes) -> None:
    packet = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + xmp + b"</x:xmpmeta>"
    (sign,) = examine(EditingSoftwareDetector(), jpeg(photo_like(9), xmp=packet))
    assert sign.detail == "XMP CreatorTool 'GIMP 2.10.34' names an editor (GIMP)"


# Hostile input


def test_malformed_files_never_raise(shared_data: Path) -> None:
    files = sorted((shared_data / "malformed").iterdir())
    assert len(files) > 50
    found: set[str] = set()
    for path in files:
        for detector in DETECTORS:
            found.update(item.kind for item in examine(detector, path.read_bytes()))
    # What can be read around the damage still is (odd-EXIF files from cameras and
    # Photoshop are among them).
    assert found >= {"camera-exif", "jpeg-quantisation", "editing-software"}


def corrupted_exif_files(shared_data: Path) -> Iterator[bytes]:
    """A camera original cut short, and with bytes of its EXIF block scrambled."""
    data = (shared_data / "camera" / "Nikon_D70_0_19445.JPG").read_bytes()[:200_000]
    app1_end = 4 + struct.unpack(">H", data[4:6])[0]
    rng = random.Random(1)
    for cut in (3, 20, 500, app1_end - 1, app1_end + 300):
        yield data[:cut]
    for _ in range(60):
        scrambled = bytearray(data)
        for _ in range(rng.randint(1, 40)):
            scrambled[rng.randrange(12, app1_end)] = rng.randrange(256)
        yield bytes(scrambled)


def test_corrupted_exif_never_raises(shared_data: Path) -> None:
    for data in corrupted_exif_files(shared_data):
        for detector in DETECTORS:
            found = examine(detector, data)
            assert all(item.strength is not Strength.STRONG for item in found)


def test_a_record_is_read_without_decoding_pixels(shared_data: Path) -> None:
    with Image.open(shared_data / "camera" / "Nikon_D70_0_19445.JPG") as im:
        record = read_exif_record(im)
        assert im.tile  # the compressed data is still waiting: nothing was decoded
    assert record is not None and record.taken == datetime(2009, 1, 6, 14, 24, 7)
    assert record.thumbnail is not None and record.thumbnail.startswith(b"\xff\xd8")


def test_a_thumbnail_compares_with_the_fingerprint_stages_luma() -> None:
    picture, other = photo_like(10, (600, 400)), photo_like(11, (600, 400))
    for thumbnail_of, consistent in ((picture, True), (other, False)):
        data = camera_like_file(picture, thumbnail_of)
        with Image.open(io.BytesIO(data)) as im:
            record = read_exif_record(im)
        assert record is not None and record.thumbnail is not None
        luma = decode_luma(data, DecodeLimits(), PDQ_WORKING_BOX).luma
        assert compare_thumbnail(record.thumbnail, luma).consistent is consistent


def test_thumbnail_window_sums_are_numpys_interp() -> None:
    """The precomputed grid gives np.interp's values bit for bit, for every side length
    a thumbnail compare meets (and odd ones)."""
    from clearsight.origin.camera import MIN_WINDOW, WINDOW_STEP, _window_grid

    rng = np.random.default_rng(4)
    count = round((1 - MIN_WINDOW) / WINDOW_STEP)
    for parts, length in [(160, 512), (120, 341), (90, 170), (1, 7), (17, 3), (200, 1000)]:
        grid = _window_grid(parts, length)
        spans = [
            (i * WINDOW_STEP, 1 - j * WINDOW_STEP)
            for i in range(count + 1)
            for j in range(count + 1 - i)
        ]
        starts = np.array([span[0] for span in spans])
        ends = np.array([span[1] for span in spans])
        edges = starts[:, None] + (ends - starts)[:, None] * np.linspace(0, 1, parts + 1)
        edges = edges * length
        for _ in range(3):
            running = np.concatenate(([0.0], np.cumsum(rng.uniform(0, 255, length))))
            expected = np.interp(edges, np.arange(length + 1), running)
            assert np.array_equal(grid.sums(running), expected), (parts, length)
        assert np.array_equal(grid.widths, np.maximum(np.diff(edges, axis=1), 1e-9))
