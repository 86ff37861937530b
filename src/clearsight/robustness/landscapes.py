"""Photo-like landscapes, generated: benign test pictures of any size, as many as needed.

Each is sky, clouds, a hazy ridge, textured ground, trees and rocks with hard edges, and
per-pixel sensor noise, rendered deterministically from a seed. The benchmarks use them
as a corpus (scan throughput, robustness) and tests use them where a real photo's
structure matters; no camera or person is needed to make them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

SENSOR_NOISE_SIGMA = 4.0  # grey levels; tuned so 3000x2000 JPEGs are ~1.5-3 MB

FloatImage = npt.NDArray[np.float32]


def fractal(
    rng: np.random.Generator,
    width: int,
    height: int,
    cells: int,
    falloff: float,
    finest_px: float = 2.0,
) -> FloatImage:
    """Multi-octave smoothed noise, zero mean and unit spread.

    Octave k is a grid of ``cells * 2**k`` random values across, bicubically upsampled;
    its amplitude is ``0.5 ** (k * falloff)`` (falloff 1 gives a 1/f spectrum).
    Octaves stop when a grid cell would be narrower than ``finest_px`` pixels.
    """
    total = np.zeros((height, width), np.float32)
    across, octave = cells, 0
    while octave == 0 or width / across >= finest_px:
        down = max(2, round(across * height / width))
        grid = rng.standard_normal((down, across), dtype=np.float32)
        layer = Image.fromarray(grid, "F").resize((width, height), Image.Resampling.BICUBIC)
        total += np.asarray(layer, np.float32) * np.float32(0.5 ** (octave * falloff))
        across, octave = across * 2, octave + 1
    total -= total.mean()
    total /= total.std() + np.float32(1e-6)
    return total


def _colour(rng: np.random.Generator, low: Sequence[float], high: Sequence[float]) -> FloatImage:
    return np.asarray(rng.uniform(low, high), np.float32)


def _paste(img: FloatImage, mask: npt.NDArray[np.bool_], layer: FloatImage) -> FloatImage:
    return np.where(mask[..., None], layer, img)


def _shapes(
    rng: np.random.Generator, width: int, height: int, horizon: float
) -> npt.NDArray[np.uint8]:
    """Label map: 1 tree trunk, 2 foliage, 3 rock; sizes grow towards the viewer."""
    labels = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(labels)
    ground = height - horizon
    for _ in range(int(rng.integers(3, 9))):
        x, base = rng.uniform(0, width), rng.uniform(horizon, height)
        s = (base - horizon) / ground * height * 0.35 + height * 0.02
        draw.rectangle((x - s * 0.04, base - s * 0.5, x + s * 0.04, base), fill=1)
        draw.ellipse((x - s * 0.25, base - s * 1.1, x + s * 0.25, base - s * 0.35), fill=2)
    for _ in range(int(rng.integers(2, 6))):
        x, y = rng.uniform(0, width), rng.uniform(horizon, height)
        s = (y - horizon) / ground * height * 0.12 + 4
        draw.ellipse((x - s, y - s * 0.6, x + s, y + s * 0.3), fill=3)
    return np.asarray(labels)


def render_landscape(seed: Sequence[int], width: int, height: int) -> npt.NDArray[np.uint8]:
    """A photo-like RGB landscape: sky, clouds, hazy ridge, textured ground, objects."""
    rng = np.random.default_rng(np.random.SeedSequence(list(seed)))
    rows = np.arange(height, dtype=np.float32)[:, None]
    horizon = height * float(rng.uniform(0.38, 0.55))
    ridge = fractal(rng, width, 1, 3, 0.9)[0].clip(-2, 2)
    far_edge = horizon - height * (
        0.06 + 0.0125 * ridge**2 + 0.04 * fractal(rng, width, 1, 6, 0.8)[0]
    )
    near_edge = horizon + height * 0.02 * fractal(rng, width, 1, 4, 1.0)[0]

    t = np.clip(rows / max(horizon, 1.0), 0, 1)[..., None]
    top, low = (
        _colour(rng, [40, 80, 160], [80, 120, 210]),
        _colour(rng, [170, 195, 215], [205, 220, 240]),
    )
    img: FloatImage = np.broadcast_to(top * (1 - t) + low * t, (height, width, 3)).copy()
    cover = np.clip((fractal(rng, width, height, 3, 0.75) - rng.uniform(0.2, 0.9)) * 1.3, 0, 1)
    cloud = cover[..., None]
    img = img * (1 - cloud) + np.float32(245) * cloud * (0.85 + 0.15 * (1 - t))

    tex = fractal(rng, width, height, 8, 0.7)
    far = _colour(rng, [90, 105, 120], [120, 135, 150]) + 12 * tex[..., None]
    img = _paste(img, rows >= far_edge[None, :], far)

    patches = fractal(rng, width, height, 4, 1.0)
    detail = 0.6 * fractal(rng, width, height, 32, 0.55, 1.0)
    detail += fractal(rng, width, height, max(8, width // 24), 0.35, 1.5)
    mix = (1 / (1 + np.exp(-2.5 * patches)))[..., None]
    grass, soil = (
        _colour(rng, [50, 90, 30], [80, 130, 50]),
        _colour(rng, [110, 95, 55], [150, 125, 80]),
    )
    depth = np.clip((rows - horizon) / (height - horizon), 0, 1)[..., None]
    ground = (grass * (1 - mix) + soil * mix) * (0.75 + 0.35 * depth)
    ground += (18 + 30 * depth) * detail[..., None]
    haze = (1 - depth) ** 6
    ground = ground * (1 - 0.4 * haze) + far * 0.4 * haze
    img = _paste(img, rows >= near_edge[None, :], ground)

    labels = _shapes(rng, width, height, horizon)
    d3 = detail[..., None]
    img = _paste(img, labels == 1, np.array([70, 50, 35], np.float32) + 15 * d3)
    leaf = _colour(rng, [25, 60, 20], [50, 95, 40]) + 30 * d3 + 12 * tex[..., None]
    img = _paste(img, labels == 2, leaf)
    img = _paste(img, labels == 3, np.array([125, 120, 112], np.float32) + 35 * d3)

    yy = (rows / height - 0.5) ** 2
    xx = (np.arange(width, dtype=np.float32)[None, :] / width - 0.5) ** 2
    light = (1 + 0.08 * fractal(rng, width, height, 2, 1.0)) * (1 - 0.5 * (xx + yy))
    img *= light[..., None]
    img += rng.standard_normal((height, width, 3), dtype=np.float32) * SENSOR_NOISE_SIGMA
    img += rng.standard_normal((height, width, 1), dtype=np.float32) * SENSOR_NOISE_SIGMA
    return np.clip(img, 0, 255).astype(np.uint8)
