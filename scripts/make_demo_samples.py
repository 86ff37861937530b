"""Generate the benign sample files that ``clearsight demo`` scans.

Everything is drawn from seeded noise: a mountain lake, a street of buildings, a woven
texture and desert dunes, plus a re-encoded smaller copy (a near-duplicate), a renamed
copy (media type from bytes, not the name), a text note and a truncated JPEG (an error
row). The texture carries an XMP packet declaring it AI-generated (IPTC digital source
type), so the origin stage has something to find. Run it again to reproduce the files
byte for byte.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "src" / "clearsight" / "demo" / "samples"


def fractal_noise(rng: np.random.Generator, shape: tuple[int, int], octaves: int = 6) -> np.ndarray:
    height, width = shape
    total = np.zeros(shape)
    for octave in range(octaves):
        cells = 2 ** (octave + 2)
        grid = rng.random((cells + 1, cells + 1))
        layer = Image.fromarray((grid * 255).astype(np.uint8)).resize(
            (width, height), Image.BICUBIC
        )
        total += np.asarray(layer, dtype=float) / 255 / (1.6**octave)
    return (total - total.min()) / (np.ptp(total) or 1)


def mountain_lake(rng: np.random.Generator, size: tuple[int, int] = (640, 427)) -> Image.Image:
    width, height = size
    y = np.linspace(0, 1, height)[:, None]
    sky = np.dstack([120 + 100 * y, 160 + 70 * y, 230 + 20 * y]) * np.ones((1, width, 1))
    image = sky.copy()
    ridge_noise = fractal_noise(rng, (8, width))[4]
    for depth, (base, tone) in enumerate([(0.35, (95, 105, 125)), (0.48, (60, 80, 70))]):
        ridge = (base + 0.18 * np.roll(ridge_noise, depth * 97) - 0.05 * depth) * height
        mask = np.arange(height)[:, None] > ridge[None, :]
        shade = fractal_noise(rng, (height, width)) * 40
        for channel in range(3):
            image[..., channel] = np.where(mask, tone[channel] + shade, image[..., channel])
    water = int(height * 0.68)
    image[water:] = image[water - 1 :: -1][: height - water] * 0.8 + np.array([10, 25, 40])
    grain = rng.normal(0, 4, image.shape)
    return Image.fromarray(np.clip(image + grain, 0, 255).astype(np.uint8))


def street(rng: np.random.Generator, size: tuple[int, int] = (600, 400)) -> Image.Image:
    image = Image.new("RGB", size, (180, 200, 220))
    draw = ImageDraw.Draw(image)
    x = 0
    while x < size[0]:
        w = int(rng.integers(50, 110))
        top = int(rng.integers(60, 220))
        colour = tuple(int(c) for c in rng.integers(90, 200, 3))
        draw.rectangle([x, top, x + w, size[1] - 60], fill=colour)
        for wy in range(top + 12, size[1] - 80, 24):
            for wx in range(x + 8, x + w - 12, 18):
                lit = (250, 230, 150) if rng.random() < 0.3 else (60, 70, 90)
                draw.rectangle([wx, wy, wx + 9, wy + 12], fill=lit)
        x += w + int(rng.integers(2, 10))
    draw.rectangle([0, size[1] - 60, size[0], size[1]], fill=(70, 70, 75))
    for lane in range(0, size[0], 60):
        draw.rectangle([lane, size[1] - 32, lane + 30, size[1] - 28], fill=(230, 230, 230))
    return image.filter(ImageFilter.SMOOTH)


def woven(size: tuple[int, int] = (400, 400)) -> Image.Image:
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    warp = (np.sin(x / 6.0) > 0) ^ (np.sin(y / 6.0) > 0)
    shade = 0.5 + 0.5 * np.sin(x / 3.0) * np.sin(y / 3.0)
    red = np.where(warp, 170 + 60 * shade, 60 + 40 * shade)
    rgb = np.dstack([red, red * 0.7, 80 + 50 * shade])
    return Image.fromarray(rgb.astype(np.uint8))


def dunes(rng: np.random.Generator, size: tuple[int, int] = (560, 360)) -> Image.Image:
    height_map = fractal_noise(rng, (size[1], size[0]), 5)
    y = np.linspace(0, 1, size[1])[:, None]
    ripples = 0.5 + 0.5 * np.sin(40 * height_map + 8 * y)
    rgb = np.dstack([200 + 45 * ripples, 150 + 50 * ripples, 90 + 40 * ripples])
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


# What generators and stock sites write: IPTC's "trained algorithmic media" source type.
DECLARED_AI_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" '
    b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
    b"<Iptc4xmpExt:DigitalSourceType>"
    b"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    b"</Iptc4xmpExt:DigitalSourceType>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def jpeg_bytes(image: Image.Image, quality: int, xmp: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    extra = {"xmp": xmp} if xmp else {}
    image.save(buffer, "JPEG", quality=quality, optimize=True, **extra)
    return buffer.getvalue()


def main() -> int:
    rng = np.random.default_rng(20261124)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "archive").mkdir(exist_ok=True)
    lake = mountain_lake(rng)
    lake_jpeg = jpeg_bytes(lake, 85)
    (OUT / "mountain-lake.jpg").write_bytes(lake_jpeg)
    small = lake.resize((lake.width // 2, lake.height // 2), Image.LANCZOS)
    (OUT / "archive" / "mountain-lake-small.jpg").write_bytes(jpeg_bytes(small, 60))
    street_image = street(rng)
    street_image.save(OUT / "street.png", optimize=True)
    (OUT / "archive" / "street-copy.dat").write_bytes((OUT / "street.png").read_bytes())
    (OUT / "woven-texture.jpg").write_bytes(jpeg_bytes(woven(), 80, xmp=DECLARED_AI_XMP))
    dunes(rng).save(OUT / "desert-dunes.webp", quality=80)
    (OUT / "field-notes.txt").write_text(
        "Survey notes: lake level normal, path to the ridge clear, dunes shifting east.\n",
        encoding="utf-8",
    )
    (OUT / "damaged-photo.jpg").write_bytes(lake_jpeg[: len(lake_jpeg) * 2 // 5])
    total = sum(path.stat().st_size for path in OUT.rglob("*") if path.is_file())
    print(f"wrote samples to {OUT} ({total // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
