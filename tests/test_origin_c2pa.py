"""The C2PA detector, on files signed in the test and on the shared C2PA fixtures."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import c2pa  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from clearsight.media.sniff import sniff_media_type
from clearsight.origin import c2pa_manifest
from clearsight.origin.c2pa_manifest import C2paDetector
from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength

from .c2pa_signing import (
    IPTC,
    Ingredient,
    created,
    intermediate_certificate,
    manifest,
    opened,
    sign,
    unrelated_certificate_authority,
)
from .conftest import photo_like

UNTRUSTED = "signer not on a trust list (none is configured)"


def provenance(shared_data: Path) -> Path:
    return shared_data / "provenance"


def examine(data: bytes, media_type: str, detector: C2paDetector | None = None) -> list[Evidence]:
    return (detector or C2paDetector()).examine(OriginInput(data, media_type))


def pointing(items: list[Evidence], points_to: PointsTo | None) -> list[Evidence]:
    return [item for item in items if item.points_to is points_to]


def tiff_bytes() -> bytes:
    buffer = io.BytesIO()
    photo_like(7, (96, 64)).save(buffer, "TIFF")
    return buffer.getvalue()


def start_of_scan(jpeg: bytes) -> int:
    """Where the main image's pixel data starts. Walks the segments, as the manifest
    holds a thumbnail JPEG whose own markers a byte search would find first."""
    offset = 2
    while jpeg[offset + 1] != 0xDA:
        offset += 2 + int.from_bytes(jpeg[offset + 2 : offset + 4], "big")
    return offset


@functools.cache
def generated_jpeg(shared_data: Path) -> bytes:
    """A.jpg signed with a generator's claim: the base of the damage tests."""
    folder = provenance(shared_data)
    return sign(
        folder,
        (folder / "A.jpg").read_bytes(),
        "image/jpeg",
        manifest(created("trainedAlgorithmicMedia")),
    )


@pytest.mark.parametrize(
    ("fixture", "media_type"),
    [
        ("A.jpg", "image/jpeg"),
        ("sample1.png", "image/png"),
        ("sample1.webp", "image/webp"),
        ("sample1.heic", "image/heic"),
        ("sample1.avif", "image/avif"),
        ("video1.mp4", "video/mp4"),
        (None, "image/tiff"),
    ],
)
def test_a_generators_claim_is_found_in_each_format(
    shared_data: Path, fixture: str | None, media_type: str
) -> None:
    source = (provenance(shared_data) / fixture).read_bytes() if fixture else tiff_bytes()
    definition = manifest(created("trainedAlgorithmicMedia"))
    signed = sign(provenance(shared_data), source, media_type, definition)

    items = examine(signed, media_type)

    [claim] = pointing(items, PointsTo.AI)
    # Intact but unknown signer: moderate, and the detail says why it is not stronger.
    assert claim.strength is Strength.MODERATE
    assert "c2pa.created declares digitalSourceType" in claim.detail
    assert "trainedAlgorithmicMedia" in claim.detail
    assert "software agent Test Generator 0.1" in claim.detail
    assert "claim generator clearsight-tests 1.0" in claim.detail
    assert UNTRUSTED in claim.detail
    [summary] = pointing(items, None)
    assert summary.strength is Strength.WEAK
    assert "signature and hashes intact" in summary.detail
    assert "issuer C2PA Test Signing Cert" in summary.detail
    assert "invalid" not in summary.detail and "failed" not in summary.detail


def test_a_composite_claim_points_to_an_ai_edit(shared_data: Path) -> None:
    folder = provenance(shared_data)
    original = (folder / "sample1.png").read_bytes()
    parent = Ingredient("sample1.png", "parentOf", "parent", original, "image/png")
    composite = IPTC + "compositeWithTrainedAlgorithmicMedia"
    actions: list[dict[str, object]] = [
        opened("parent"),
        {"action": "c2pa.edited", "digitalSourceType": composite},
    ]
    signed = sign(folder, original, "image/png", manifest(actions), (parent,))

    items = examine(signed, "image/png")

    assert pointing(items, PointsTo.AI) == []
    [claim] = pointing(items, PointsTo.AI_EDIT)
    assert claim.strength is Strength.MODERATE
    assert "c2pa.edited declares" in claim.detail
    assert "compositeWithTrainedAlgorithmicMedia" in claim.detail
    [summary] = pointing(items, None)
    assert "1 ingredient: sample1.png (parentOf, no manifest)" in summary.detail


def test_a_trusted_signer_makes_the_claims_stronger(shared_data: Path) -> None:
    folder = provenance(shared_data)
    trusting = C2paDetector(trust_anchors=intermediate_certificate(folder))
    source = (folder / "A.jpg").read_bytes()
    generated = sign(folder, source, "image/jpeg", manifest(created("trainedAlgorithmicMedia")))
    captured = sign(folder, source, "image/jpeg", manifest(created("digitalCapture")))

    [ai] = pointing(examine(generated, "image/jpeg", trusting), PointsTo.AI)
    [camera] = pointing(examine(captured, "image/jpeg", trusting), PointsTo.CAMERA)
    [untrusted_camera] = pointing(examine(captured, "image/jpeg"), PointsTo.CAMERA)

    assert ai.strength is Strength.STRONG
    assert "signer on the configured trust list" in ai.detail
    # A capture claim is one step below an AI claim: a camera aimed at a screen signs too.
    assert camera.strength is Strength.MODERATE
    assert untrusted_camera.strength is Strength.WEAK
    assert "digitalCapture (captured by a digital camera or sensor)" in camera.detail


def test_a_trust_list_without_the_signer_still_says_untrusted(shared_data: Path) -> None:
    detector = C2paDetector(trust_anchors=unrelated_certificate_authority())

    [claim] = pointing(examine(generated_jpeg(shared_data), "image/jpeg", detector), PointsTo.AI)

    assert claim.strength is Strength.MODERATE
    assert "signer not on a trust list (not on the configured one)" in claim.detail


def test_pixels_changed_after_signing_make_the_manifest_invalid(shared_data: Path) -> None:
    signed = bytearray(generated_jpeg(shared_data))
    scan = start_of_scan(bytes(signed))
    for offset in range(scan + 400, scan + 480, 8):
        signed[offset] ^= 0x01
    Image.open(io.BytesIO(bytes(signed))).load()  # still a decodable JPEG

    items = examine(bytes(signed), "image/jpeg")

    [invalid] = pointing(items, None)
    assert invalid.kind == "c2pa"
    assert invalid.strength is Strength.MODERATE
    assert "failed validation: assertion.dataHash.mismatch" in invalid.detail
    assert "changed after signing" in invalid.detail
    [claim] = pointing(items, PointsTo.AI)
    assert claim.strength is Strength.WEAK  # a claim in a broken record is only a hint


def test_an_ingredients_own_ai_claim_is_reported(shared_data: Path) -> None:
    folder = provenance(shared_data)
    generated = generated_jpeg(shared_data)
    parent = Ingredient("parent.jpg", "parentOf", "parent", generated, "image/jpeg")
    actions: list[dict[str, object]] = [opened("parent"), {"action": "c2pa.color_adjustments"}]
    edited = sign(folder, generated, "image/jpeg", manifest(actions), (parent,))

    items = examine(edited, "image/jpeg")

    [inherited] = pointing(items, PointsTo.AI)  # an edit of a generated picture
    assert inherited.strength is Strength.WEAK  # one step below the ingredient's own
    assert "ingredient parent.jpg (parentOf) has its own manifest" in inherited.detail
    assert "trainedAlgorithmicMedia" in inherited.detail
    [summary] = pointing(items, None)
    assert "parent.jpg (parentOf, with a manifest of its own)" in summary.detail


def test_an_ingredient_that_failed_validation_is_named(shared_data: Path) -> None:
    folder = provenance(shared_data)
    broken = bytearray(generated_jpeg(shared_data))
    scan = start_of_scan(bytes(broken))
    broken[scan + 400] ^= 0x01
    parent = Ingredient("parent.jpg", "parentOf", "parent", bytes(broken), "image/jpeg")
    actions: list[dict[str, object]] = [opened("parent"), {"action": "c2pa.color_adjustments"}]
    edited = sign(
        folder, (folder / "A.jpg").read_bytes(), "image/jpeg", manifest(actions), (parent,)
    )

    items = examine(edited, "image/jpeg")

    [summary] = pointing(items, None)
    assert summary.strength is Strength.MODERATE  # the file's own manifest holds, its parent's not
    assert "signature and hashes intact" in summary.detail
    assert "own that failed validation: assertion.dataHash.mismatch" in summary.detail
    [inherited] = pointing(items, PointsTo.AI)
    assert inherited.strength is Strength.WEAK
    assert "ingredient manifest: failed validation: assertion.dataHash.mismatch" in inherited.detail


def test_a_generated_component_makes_a_composite_and_free_text_titles_are_withheld(
    shared_data: Path,
) -> None:
    folder = provenance(shared_data)
    base = (folder / "sample1.png").read_bytes()
    ingredients = (
        Ingredient("sample1.png", "parentOf", "base", base, "image/png"),
        Ingredient(
            "a lighthouse at dusk.jpg",
            "componentOf",
            "part",
            generated_jpeg(shared_data),
            "image/jpeg",
        ),
    )
    actions: list[dict[str, object]] = [
        opened("base"),
        {"action": "c2pa.placed", "parameters": {"ingredientIds": ["part"]}},
    ]
    composite = sign(folder, base, "image/png", manifest(actions), ingredients)

    items = examine(composite, "image/png")

    [component] = pointing(items, PointsTo.AI_EDIT)
    assert component.strength is Strength.WEAK
    assert "(componentOf) has its own manifest" in component.detail
    assert pointing(items, PointsTo.AI) == []
    assert all("lighthouse" not in item.detail for item in items)
    [summary] = pointing(items, None)
    assert "2 ingredients" in summary.detail
    assert "[title withheld: free text] (componentOf" in summary.detail


def test_shared_fixtures(shared_data: Path) -> None:
    folder = provenance(shared_data)

    def read(name: str) -> list[Evidence]:
        data = (folder / name).read_bytes()
        return examine(data, sniff_media_type(data[:8192]))

    # C.jpg: a test tool's gradient, "made by an algorithm", a loose fit for AI: weak.
    c = read("C.jpg")
    [algorithmic] = pointing(c, PointsTo.AI)
    assert algorithmic.strength is Strength.WEAK
    assert "algorithmicMedia" in algorithmic.detail
    assert "claim generator make_test_images/0.26.0 c2pa-rs/0.26.0" in algorithmic.detail
    # CA.jpg and boxhash.jpg: A.jpg opened and colour-adjusted; no origin claim.
    for name in ("CA.jpg", "boxhash.jpg"):
        [summary] = read(name)
        assert summary.points_to is None and summary.strength is Strength.WEAK
        assert "intact" in summary.detail and UNTRUSTED in summary.detail
        assert "1 ingredient: A.jpg (parentOf, no manifest)" in summary.detail
    # XCA.jpg: CA.jpg with its pixels changed.
    [tampered] = read("XCA.jpg")
    assert tampered.points_to is None and tampered.strength is Strength.MODERATE
    assert "failed validation: assertion.dataHash.mismatch" in tampered.detail
    # cloud.jpg points to a manifest on a server: named, never fetched.
    [remote] = read("cloud.jpg")
    assert remote.points_to is None
    assert "stored remotely, at cai-manifests.adobe.com; not fetched" in remote.detail
    # video1.mp4: an edit of an earlier signed video.
    [video] = read("video1.mp4")
    assert "video1.mp4 (parentOf, with a manifest of its own)" in video.detail


def test_files_without_a_manifest_yield_nothing(shared_data: Path) -> None:
    plain = sorted((shared_data / "camera").glob("*.JPG"))
    plain += [provenance(shared_data) / name for name in ("A.jpg", "sample1.png", "test_xmp.webp")]
    assert len(plain) >= 10
    for path in plain:
        data = path.read_bytes()
        assert examine(data, sniff_media_type(data[:8192])) == [], path.name


def test_unsupported_media_types_yield_nothing(shared_data: Path) -> None:
    assert examine(generated_jpeg(shared_data), "image/gif") == []
    assert examine(generated_jpeg(shared_data), "text/plain") == []


def test_malformed_files_never_raise(shared_data: Path) -> None:
    for path in sorted((shared_data / "malformed").iterdir()):
        data = path.read_bytes()
        for media_type in (sniff_media_type(data[:8192]), "image/jpeg", "image/png"):
            assert examine(data, media_type) == [], path.name  # none holds a manifest


def test_a_damaged_manifest_is_reported_as_unreadable(shared_data: Path) -> None:
    damaged = bytearray(generated_jpeg(shared_data))
    store = damaged.index(b"\xff\xeb")  # the APP11 segment that holds the JUMBF store
    damaged[store + 20] ^= 0xFF

    [unreadable] = examine(bytes(damaged), "image/jpeg")

    assert unreadable.points_to is None
    assert unreadable.strength is Strength.WEAK
    assert "manifest store present but could not be read" in unreadable.detail


def test_garbage_and_truncated_files_never_raise(shared_data: Path) -> None:
    signed = generated_jpeg(shared_data)
    for data in (b"", b"\xff\xd8\xff", bytes(range(256)) * 40, b"\x89PNG\r\n\x1a\n" + b"x" * 99):
        for media_type in ("image/jpeg", "image/png", "video/mp4"):
            assert examine(data, media_type) == []
    details = []
    for cut in range(0, len(signed), len(signed) // 40):
        items = examine(signed[:cut], "image/jpeg")
        assert all(item.points_to is None or item.strength is Strength.WEAK for item in items)
        details += [item.detail for item in items if item.points_to is None]
    # Cut inside the store, the store is unreadable; cut in the pixels, it is invalid.
    assert any("could not be read" in detail for detail in details)
    assert any("failed validation: assertion.dataHash.mismatch" in detail for detail in details)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offset=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_a_flipped_byte_never_raises_nor_leaves_a_broken_claim_more_than_weak(
    shared_data: Path, offset: int, flip: int
) -> None:
    signed = bytearray(generated_jpeg(shared_data))
    signed[offset % len(signed)] ^= flip

    items = examine(bytes(signed), "image/jpeg")

    assert all(item.kind == "c2pa" for item in items)
    if any("failed validation" in item.detail for item in pointing(items, None)):
        assert all(item.strength is Strength.WEAK for item in pointing(items, PointsTo.AI))


def test_the_manifest_marker_check_changes_no_finding(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every shared file, signed or not, remote or damaged: the same evidence whether
    or not the SDK is spared the files without a marker."""
    paths = [p for p in sorted(shared_data.rglob("*")) if p.is_file() and p.stat().st_size]
    inputs = [(p.read_bytes(), sniff_media_type(p.read_bytes()[:8192])) for p in paths]
    gated = [examine(data, media_type) for data, media_type in inputs]
    monkeypatch.setattr(c2pa_manifest, "may_hold_manifest", lambda data: True)
    assert [examine(data, media_type) for data, media_type in inputs] == gated
    assert sum(1 for found in gated if found) >= 6


def test_a_file_without_a_marker_never_reaches_the_sdk(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the SDK was asked to read a file without a manifest marker")

    monkeypatch.setattr(c2pa.Reader, "try_create", refuse)
    for path in sorted((shared_data / "camera").glob("*.JPG")):
        assert not c2pa_manifest.may_hold_manifest(path.read_bytes())
        assert examine(path.read_bytes(), "image/jpeg") == []
