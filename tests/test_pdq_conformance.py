"""PDQ hashes stay within the reference tolerance, including under reduced-scale decode."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from PIL import Image

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.signals.pdq import PDQ_WORKING_BOX, PdqSignal

TOLERANCE = 10  # what a correct port achieves wherever quality >= 80
LIMITS = DecodeLimits()


def reference_rows(shared: Path) -> list[tuple[Path, str]]:
    table = shared / "pdq-reference" / "expected.csv"
    with table.open(newline="") as handle:
        return [
            (shared / "pdq-reference" / row["path"], row["pdq_hex"])
            for row in csv.DictReader(handle)
        ]


def pdq_of(data: bytes) -> tuple[str, int]:
    image = decode_luma(data, LIMITS, PDQ_WORKING_BOX)
    result = PdqSignal.hash_from_luma(image.luma)
    return result.hex, result.quality


def test_every_reference_image_is_within_tolerance(shared_data: Path) -> None:
    checked = 0
    for path, expected in reference_rows(shared_data):
        found, quality = pdq_of(path.read_bytes())
        if quality >= 80:
            assert PdqSignal.distance(found, expected) <= TOLERANCE, path.name
            checked += 1
    assert checked >= 12  # most of the reference set is high quality


def test_large_jpeg_decoded_at_reduced_scale_stays_within_tolerance(shared_data: Path) -> None:
    """Blow the reference photos up to ~10 MP so the DCT-domain reduction really engages."""
    for path, expected in reference_rows(shared_data):
        if "/dih/" not in path.as_posix():
            continue
        original = Image.open(path)
        large = original.resize((original.width * 5 // 2, original.height * 5 // 2))
        buffer = io.BytesIO()
        large.save(buffer, "JPEG", quality=92)
        data = buffer.getvalue()

        probe = Image.open(io.BytesIO(data))
        probe.draft("L", (512, 512))
        assert probe.size[0] < large.width // 2, "draft() should decode at 1/4 scale or less"

        found, quality = pdq_of(data)
        assert quality >= 80
        assert PdqSignal.distance(found, expected) <= TOLERANCE, path.name


def test_dihedral_images_hash_differently(shared_data: Path) -> None:
    """A sanity check that the comparison above can fail: rotations are far apart."""
    rows = dict((p.name, h) for p, h in reference_rows(shared_data))
    original = (shared_data / "pdq-reference/reg-test-input/dih/bridge-1-original.jpg").read_bytes()
    rotated = (shared_data / "pdq-reference/reg-test-input/dih/bridge-2-rotate-90.jpg").read_bytes()
    assert PdqSignal.distance(pdq_of(original)[0], pdq_of(rotated)[0]) > 64
    assert PdqSignal.distance(rows["bridge-1-original.jpg"], rows["bridge-2-rotate-90.jpg"]) > 64


@pytest.mark.parametrize("value", ["", "xyz", "0" * 63, "g" * 64])
def test_pdq_validation_rejects_malformed_hashes(value: str) -> None:
    with pytest.raises(ValueError):
        PdqSignal.validate(value)
