"""Every registered origin detector finds its evidence where it is, and none where it
is not.

Each detector of :func:`default_detectors` is run on a file that carries its kind of
evidence and on plain generated pictures, with the inputs the scan hands it (bytes,
sniffed type, and the decoded grey, RGB and alpha pixels). A detector added to the
registry without a carrier here fails the test.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.origin.evidence import Detector, OriginInput, PointsTo
from clearsight.origin.stage import RGB_FOR_ORIGIN_UP_TO, default_detectors
from clearsight.origin.watermark import SD_V1, ChannelOrder

from .conftest import photo_like
from .test_origin_watermark import marked
from .test_origin_xmp import IPTC, declaring
from .test_origin_xmp import saved as saved_with_xmp


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def gimp_jpeg(_: Path) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Software] = "GIMP 2.10.36"
    return encoded(photo_like(6, (640, 480)), "JPEG", quality=90, exif=exif)


def camera_original(shared_data: Path) -> bytes:
    return (shared_data / "camera" / "Nikon_D70_0_19445.JPG").read_bytes()


# detector name: (the file that carries its evidence, the kinds it may report, and
# where the evidence of the detector's own kind points)
CARRIERS: dict[str, tuple[Callable[[Path], bytes], set[str], PointsTo | None]] = {
    "c2pa": (
        lambda shared: (shared / "provenance" / "C.jpg").read_bytes(),
        {"c2pa"},
        PointsTo.AI,
    ),
    "xmp": (
        lambda _: saved_with_xmp("PNG", declaring(IPTC + "trainedAlgorithmicMedia")),
        {"xmp"},
        PointsTo.AI,
    ),
    "generator-metadata": (
        lambda shared: (shared / "generated" / "dalle2-00000274.png").read_bytes(),
        {"generator-metadata"},
        PointsTo.AI,
    ),
    "watermark": (
        lambda _: encoded(Image.fromarray(marked(SD_V1, ChannelOrder.BGR)), "PNG"),
        {"watermark"},
        PointsTo.AI,
    ),
    "camera-exif": (camera_original, {"camera-exif", "exif-thumbnail"}, PointsTo.CAMERA),
    "jpeg-quantisation": (camera_original, {"jpeg-quantisation"}, PointsTo.CAMERA),
    "editing-software": (gimp_jpeg, {"editing-software"}, None),  # a sign, pointing nowhere
}


def as_scanned(data: bytes) -> OriginInput:
    """What the scan hands the detectors: bytes, type and the decoded pixels."""
    image = decode_luma(data, DecodeLimits(), 512, keep_rgb_up_to=RGB_FOR_ORIGIN_UP_TO)
    return OriginInput(
        data, image.media_type, "fixture", luma=image.luma, rgb=image.rgb, alpha=image.alpha
    )


def registered(name: str) -> Detector:
    [detector] = [detector for detector in default_detectors() if detector.name == name]
    return detector


def test_every_registered_detector_has_a_carrier() -> None:
    names = [detector.name for detector in default_detectors()]
    assert len(names) == len(set(names))  # a name says which detector found what
    assert set(names) == set(CARRIERS)


@pytest.mark.parametrize("name", sorted(CARRIERS))
def test_a_detector_finds_its_evidence_in_a_file_that_carries_it(
    name: str, shared_data: Path
) -> None:
    carrier, kinds, points_to = CARRIERS[name]
    detector = registered(name)

    evidence = detector.examine(as_scanned(carrier(shared_data)))

    assert evidence, f"{name} found nothing in its carrier"
    assert {item.kind for item in evidence} <= kinds
    own = [item for item in evidence if item.kind == name]
    # It points where its carrier does, and nowhere else (a finding may point nowhere).
    assert any(item.points_to is points_to for item in own), own
    assert {item.points_to for item in own} <= {points_to, None}, own
    assert all(item.detail for item in evidence)  # each says where it was found


@pytest.mark.parametrize("name", sorted(CARRIERS))
def test_a_detector_finds_nothing_in_a_plain_generated_picture(name: str) -> None:
    detector = registered(name)
    picture = photo_like(5, (640, 480))

    assert detector.examine(as_scanned(encoded(picture, "PNG"))) == []
    # Pillow's JPEG carries libjpeg's tables, which the quantisation detector names as
    # a libjpeg-family encoder's; that points to no origin, and nothing else is found.
    found = detector.examine(as_scanned(encoded(picture, "JPEG", quality=90)))
    assert {item.kind for item in found} <= {"jpeg-quantisation"}
    assert all(item.points_to is None for item in found)
