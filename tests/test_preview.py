"""Previews: blurred hard, greyscale exactly, bounded in size, upright, drawn only from
the bytes that were scanned, and never written anywhere. Generated patterns only."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearsight import __version__
from clearsight.media.decode import EXIF_ORIENTATION_TAG, DecodeLimits, ImageDecodeError
from clearsight.media.sniff import MediaKind
from clearsight.review.preview import (
    PREVIEW_LONG_SIDE,
    THUMBNAIL_LONG_SIDE,
    Preview,
    PreviewError,
    PreviewProblem,
    PreviewRenderer,
    render_image,
)
from clearsight.review.settings import PreviewPrefs, RevealMode
from clearsight.signals.digests import digest_bytes
from clearsight.store.interface import ScannedFile, ScanTally
from clearsight.store.models import Item
from clearsight.store.sql import SqlCaseStore, engine_of
from tests.conftest import photo_like

COLOUR = PreviewPrefs(blur=4, greyscale=False, reveal_mode=RevealMode.HOLD)
GREY = PreviewPrefs(blur=4, greyscale=True, reveal_mode=RevealMode.HOLD)


def checkerboard(width: int, height: int, square: int = 8) -> Image.Image:
    ys, xs = np.mgrid[0:height, 0:width]
    cells = ((xs // square + ys // square) % 2).astype(np.uint8)
    rgb = np.stack([cells * 230, cells * 40 + 100, 230 - cells * 200], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8))


def noise(width: int, height: int, seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def encoded(picture: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def pixels(preview: Preview) -> npt.NDArray[np.float64]:
    with Image.open(io.BytesIO(preview.data)) as im:
        assert im.format == "JPEG" and preview.media_type == "image/jpeg"
        assert im.size == (preview.width, preview.height)
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def high_frequency_energy(rgb: npt.NDArray[np.float64]) -> float:
    """Mean squared difference between neighbouring pixels: what blur takes away."""
    luma = rgb.mean(axis=2)
    return float((np.diff(luma, axis=0) ** 2).mean() + (np.diff(luma, axis=1) ** 2).mean())


class Case:
    """A SQLite case over an evidence folder of generated pictures."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "case"
        self.evidence = root / "evidence"
        self.evidence.mkdir()
        self.store = SqlCaseStore.open_folder(self.folder, __version__)
        self.renderer = PreviewRenderer(self.store)
        self._files: dict[str, bytes] = {}

    def add(self, name: str, data: bytes) -> None:
        (self.evidence / name).write_bytes(data)
        self._files[name] = data

    def scan(self) -> dict[str, int]:
        source = self.store.open_source(str(self.evidence))
        scan = self.store.start_scan([str(self.evidence)])
        scanned = [
            ScannedFile(name, "image/png", MediaKind.IMAGE, digests=digest_bytes(data))
            for name, data in self._files.items()
        ]
        self.store.record_files(scan, [(source, f) for f in scanned])
        count = len(scanned)
        self.store.finish_scan(scan, ScanTally(count, count, 0, 0), completed=True)
        with Session(engine_of(self.store)) as session:
            return {path: id_ for id_, path in session.execute(select(Item.id, Item.path))}


@pytest.fixture
def case(tmp_path: Path) -> Iterator[Case]:
    built = Case(tmp_path)
    yield built
    built.store.close()


def test_a_blurred_preview_loses_nearly_all_fine_detail(case: Case) -> None:
    case.add("checks.png", encoded(checkerboard(1280, 960)))
    case.add("noise.png", encoded(noise(900, 700)))
    ids = case.scan()
    for name in ("checks.png", "noise.png"):
        revealed = pixels(case.renderer.render(ids[name], COLOUR, revealed=True))
        blurred_preview = case.renderer.render(ids[name], COLOUR)
        assert blurred_preview.blurred and not blurred_preview.greyscale
        blurred = pixels(blurred_preview)
        assert blurred.shape == revealed.shape
        assert high_frequency_energy(blurred) < 0.1 * high_frequency_energy(revealed), name
        assert np.abs(blurred - revealed).mean() > 20, name


def test_greyscale_is_exact_and_separate_from_blur(case: Case) -> None:
    case.add("photo.png", encoded(photo_like(3, (800, 600))))
    item = case.scan()["photo.png"]
    for revealed in (False, True):
        grey = pixels(case.renderer.render(item, GREY, revealed=revealed))
        assert np.array_equal(grey[..., 0], grey[..., 1])
        assert np.array_equal(grey[..., 1], grey[..., 2])
    colour = pixels(case.renderer.render(item, COLOUR, revealed=True))
    assert np.abs(colour[..., 0] - colour[..., 2]).mean() > 5
    assert not case.renderer.render(item, COLOUR, revealed=True).blurred


@pytest.mark.parametrize(
    ("size", "long_side", "expected"),
    [
        ((2000, 500), PREVIEW_LONG_SIDE, (640, 160)),
        ((500, 2000), PREVIEW_LONG_SIDE, (160, 640)),
        ((100, 80), PREVIEW_LONG_SIDE, (100, 80)),  # never enlarged
        ((1000, 1000), THUMBNAIL_LONG_SIDE, (160, 160)),
        ((1000, 1000), 1200, (1000, 1000)),
    ],
)
def test_previews_fit_the_long_side(
    size: tuple[int, int], long_side: int, expected: tuple[int, int]
) -> None:
    for fmt in ("PNG", "JPEG"):
        data = encoded(photo_like(1, size), fmt)
        preview = render_image(data, long_side=long_side, blur=None, greyscale=False)
        assert (preview.width, preview.height) == expected
        assert pixels(preview).shape[:2] == expected[::-1]


def test_a_thumbnail_is_small_and_always_blurred(case: Case) -> None:
    case.add("checks.png", encoded(checkerboard(1200, 900)))
    item = case.scan()["checks.png"]
    thumb = case.renderer.thumbnail(item, COLOUR)
    assert thumb.blurred and max(thumb.width, thumb.height) == THUMBNAIL_LONG_SIDE
    sharp = render_image(
        encoded(checkerboard(1200, 900)), long_side=THUMBNAIL_LONG_SIDE, blur=None, greyscale=False
    )
    assert high_frequency_energy(pixels(thumb)) < 0.1 * high_frequency_energy(pixels(sharp))


def test_exif_orientation_is_applied_and_metadata_dropped() -> None:
    stored = np.zeros((200, 300, 3), dtype=np.uint8)
    stored[:, :150] = (220, 30, 30)  # left half red, right half blue, as stored
    stored[:, 150:] = (30, 30, 220)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = 6  # display rotated 90 degrees clockwise
    exif[0x010F] = "Generated test pattern"  # Make
    data = encoded(Image.fromarray(stored), "JPEG", exif=exif.tobytes(), quality=95)
    preview = render_image(data, blur=None, greyscale=False)
    assert (preview.width, preview.height) == (200, 300)
    upright = pixels(preview)
    assert upright[20, 100, 0] > 150 > upright[20, 100, 2]  # red is now on top
    assert upright[280, 100, 2] > 150 > upright[280, 100, 0]
    with Image.open(io.BytesIO(preview.data)) as im:
        assert len(im.getexif()) == 0


def test_transparent_areas_do_not_show_their_hidden_colour() -> None:
    hidden = np.zeros((100, 100, 4), dtype=np.uint8)
    hidden[..., 0] = 255  # red, fully transparent
    preview = render_image(encoded(Image.fromarray(hidden, "RGBA")), blur=None, greyscale=False)
    assert np.allclose(pixels(preview), 128, atol=3)


def test_a_changed_or_missing_file_is_refused(case: Case) -> None:
    case.add("a.png", encoded(photo_like(4)))
    case.add("b.png", encoded(photo_like(5)))
    ids = case.scan()
    (case.evidence / "a.png").write_bytes(encoded(photo_like(6)))
    (case.evidence / "b.png").unlink()
    with pytest.raises(PreviewError, match="changed since it was scanned") as changed:
        case.renderer.render(ids["a.png"], GREY)
    assert changed.value.problem is PreviewProblem.STALE_FILE
    assert changed.value.item_id == ids["a.png"]
    with pytest.raises(PreviewError, match="cannot read") as missing:
        case.renderer.thumbnail(ids["b.png"], GREY)
    assert missing.value.problem is PreviewProblem.STALE_FILE
    with pytest.raises(PreviewError) as absent:
        case.renderer.render(max(ids.values()) + 1, GREY)
    assert absent.value.problem is PreviewProblem.NOT_IN_CASE


def test_an_undecodable_file_is_a_clear_error(case: Case) -> None:
    case.add("junk.png", b"\x89PNG not really" * 40)
    case.add("cut.png", encoded(photo_like(8))[:300])
    ids = case.scan()
    with pytest.raises(PreviewError, match="not an image format") as junk:
        case.renderer.render(ids["junk.png"], GREY)
    assert junk.value.problem is PreviewProblem.UNDECODABLE
    assert "\n" not in str(junk.value)
    with pytest.raises(PreviewError) as cut:
        case.renderer.render(ids["cut.png"], GREY, revealed=True)
    assert cut.value.problem is PreviewProblem.UNDECODABLE


def test_the_decompression_bomb_cap_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cap is Pillow's global; put it back for the tests that follow.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    data = encoded(photo_like(2, (400, 300)))
    with pytest.raises(ImageDecodeError, match="decompression bomb"):
        render_image(data, blur=4, greyscale=True, limits=DecodeLimits(max_pixels=10_000))
    with pytest.raises(ImageDecodeError, match="exceeds the decode cap"):
        render_image(data, blur=4, greyscale=True, limits=DecodeLimits(max_file_bytes=100))


def test_rendering_writes_no_file(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    case.add("checks.png", encoded(checkerboard(640, 480)))
    case.add("photo.jpg", encoded(photo_like(9, (1600, 1200)), "JPEG"))
    ids = case.scan()
    case.renderer.render(ids["checks.png"], GREY)  # the database's own files settle first

    def listing() -> set[str]:
        found: set[str] = set()
        for folder in (case.folder, case.evidence, scratch):
            for dirpath, _dirs, names in os.walk(folder):
                found |= {os.path.join(dirpath, name) for name in names}
        return found

    before = listing()
    for item in ids.values():
        for prefs in (GREY, COLOUR):
            case.renderer.render(item, prefs)
            case.renderer.render(item, prefs, revealed=True)
            case.renderer.thumbnail(item, prefs)
    assert listing() == before


def test_a_preview_never_shows_its_bytes_in_repr() -> None:
    preview = render_image(encoded(photo_like(1)), blur=4, greyscale=True)
    assert "data" not in repr(preview) and str(preview.data[:8]) not in repr(preview)
