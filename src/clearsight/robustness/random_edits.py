"""Edits drawn at random: the held-out check that matching was not tuned to its suite.

:mod:`clearsight.robustness.edits` applies fixed edits (a 5% centred crop, a 20% pad), and
the detectors were built while looking at them. Here every parameter is drawn afresh
from wide ranges on each call, the way copies made elsewhere vary:

* ``crop``: each side cut by 0-15% on its own, so most crops are off centre;
* ``caption``: a bar of 8-25% of the height, any colour, with text in any size, added
  above or below the picture (the canvas grows);
* ``banner``: the same bar laid over the top or bottom of the picture (it hides what
  it covers);
* ``pad``: 10-60% added on two or four sides, plain, blurred or patterned
  (stripes at any angle, checks, dots);
* ``turn``: 1-8 degrees either way, the canvas cut to the picture or expanded with any
  fill colour;
* ``screenshot``: app chrome of varied layout, colours and size around the picture;
* ``collage``: 2x2 to 4x4 tiles of unrelated pictures, any gutter and gutter colour;
* ``flip``, ``quarter-turn``, ``rescale`` (with JPEG and a colour change).

``hash_only`` says whether a bank holding only the original's PDQ hash is expected to
find the copy: a crop or a small turn changes the picture itself.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from clearsight.signals.variants import inscribed_scale

Colour = tuple[int, int, int]
WORDS = (
    "sunday walk",
    "view from the top",
    "best trip ever",
    "morning light",
    "look at this",
    "weekend mood",
    "no filter",
    "city lights",
)


@dataclass(frozen=True)
class RandomEdit:
    """One family of edits; ``apply`` draws its parameters from ``rng`` on each call and
    may put ``others`` (unrelated pictures) beside the copy."""

    family: str
    apply: Callable[[Image.Image, np.random.Generator, Sequence[Image.Image]], Image.Image]
    hash_only: bool = True


def _colour(rng: np.random.Generator) -> Colour:
    red, green, blue = (int(v) for v in rng.integers(0, 256, 3))
    return red, green, blue


def _contrasting(colour: Colour) -> Colour:
    return (0, 0, 0) if sum(colour) > 384 else (255, 255, 255)


def crop(image: Image.Image, rng: np.random.Generator, _: Sequence[Image.Image]) -> Image.Image:
    left, top, right, bottom = (float(v) for v in rng.uniform(0, 0.15, 4))
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


def _text_bar(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    colour = _colour(rng)
    bar = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(bar)
    size = max(8, round(height * float(rng.uniform(0.3, 0.75))))
    font = ImageFont.load_default(size=size)
    text = str(rng.choice(WORDS))
    if rng.random() < 0.5:
        text = text.upper()
    length = draw.textlength(text, font=font)
    x = float(rng.uniform(0.02, 0.98)) * max(1.0, width - length)
    y = (height - size) / 2
    draw.text((x, y), text, font=font, fill=_contrasting(colour))
    return bar


def caption(image: Image.Image, rng: np.random.Generator, _: Sequence[Image.Image]) -> Image.Image:
    w, h = image.size
    bar_h = max(8, round(h * float(rng.uniform(0.08, 0.25))))
    bar = _text_bar(w, bar_h, rng)
    canvas = Image.new("RGB", (w, h + bar_h))
    on_top = rng.random() < 0.5
    canvas.paste(bar, (0, 0 if on_top else h))
    canvas.paste(image, (0, bar_h if on_top else 0))
    return canvas


def banner(image: Image.Image, rng: np.random.Generator, _: Sequence[Image.Image]) -> Image.Image:
    w, h = image.size
    bar_h = max(8, round(h * float(rng.uniform(0.08, 0.25))))
    edited = image.copy()
    edited.paste(_text_bar(w, bar_h, rng), (0, 0 if rng.random() < 0.5 else h - bar_h))
    return edited


def _pattern(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    width, height = size
    first, second = _colour(rng), _colour(rng)
    kind = int(rng.integers(3))
    period = int(rng.integers(6, 40))
    ys, xs = np.mgrid[0:height, 0:width]
    if kind == 0:  # stripes at any angle
        angle = float(rng.uniform(0, np.pi))
        phase = (xs * np.cos(angle) + ys * np.sin(angle)) // period
        mask = phase.astype(np.int64) % 2 == 0
    elif kind == 1:  # checks
        mask = ((xs // period) + (ys // period)) % 2 == 0
    else:  # dots
        mask = ((xs % period - period / 2) ** 2 + (ys % period - period / 2) ** 2) < (
            period / 3
        ) ** 2
    pixels = np.where(mask[..., None], np.array(first, np.uint8), np.array(second, np.uint8))
    return Image.fromarray(pixels.astype(np.uint8))


def pad(image: Image.Image, rng: np.random.Generator, _: Sequence[Image.Image]) -> Image.Image:
    w, h = image.size
    sides = int(rng.integers(3))  # 0: all four, 1: top and bottom, 2: left and right
    share = [float(v) for v in rng.uniform(0.10, 0.60, 4)]  # left, top, right, bottom
    left, top, right, bottom = (round(s * (w if i % 2 == 0 else h)) for i, s in enumerate(share))
    if sides == 1:
        left = right = 0
    elif sides == 2:
        top = bottom = 0
    size = (w + left + right, h + top + bottom)
    fill = int(rng.integers(3))
    if fill == 0:
        canvas = Image.new("RGB", size, _colour(rng))
    elif fill == 1:
        canvas = image.resize(size, Image.Resampling.BILINEAR)
        canvas = canvas.filter(
            ImageFilter.GaussianBlur(radius=max(size) / float(rng.uniform(15, 60)))
        )
        canvas = ImageEnhance.Brightness(canvas).enhance(float(rng.uniform(0.5, 1.0)))
    else:
        canvas = _pattern(size, rng)
    canvas.paste(image, (left, top))
    return canvas


def turn(image: Image.Image, rng: np.random.Generator, _: Sequence[Image.Image]) -> Image.Image:
    degrees = float(rng.uniform(1, 8)) * (1 if rng.random() < 0.5 else -1)
    if rng.random() < 0.5:
        return image.rotate(degrees, Image.Resampling.BICUBIC, expand=True, fillcolor=_colour(rng))
    turned = image.rotate(degrees, Image.Resampling.BICUBIC, expand=False)
    scale = inscribed_scale(image.width, image.height, degrees)
    keep_w, keep_h = image.width * scale, image.height * scale
    left, top = (image.width - keep_w) / 2 + 1, (image.height - keep_h) / 2 + 1
    return turned.crop((round(left), round(top), round(left + keep_w) - 2, round(top + keep_h) - 2))


def screenshot(
    image: Image.Image, rng: np.random.Generator, others: Sequence[Image.Image]
) -> Image.Image:
    dark = rng.random() < 0.4
    ground = tuple(int(v) for v in (rng.integers(0, 50, 3) if dark else rng.integers(215, 256, 3)))
    ink = (230, 230, 230) if dark else (50, 50, 50)
    shown_w = int(rng.integers(320, 900))
    shown_h = round(shown_w * image.height / image.width)
    margin = int(rng.integers(0, 60))
    bar = int(rng.integers(20, 90))
    panel = int(rng.integers(0, 320)) if rng.random() < 0.6 else 0
    panel_left = rng.random() < 0.5
    footer = int(rng.integers(20, 160))
    width = shown_w + 2 * margin + panel
    height = bar + margin + shown_h + footer
    canvas = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, bar), fill=_colour(rng))
    font = ImageFont.load_default(size=max(10, bar // 2))
    draw.text((10, bar // 4), str(rng.choice(WORDS)), fill=(255, 255, 255), font=font)
    x0 = (panel if panel_left else 0) + margin
    if panel:
        px = 0 if panel_left else width - panel
        draw.rectangle((px, bar, px + panel, height), fill=tuple(max(0, c - 12) for c in ground))
        y = bar + 10
        for number, other in enumerate(others[:2]):
            thumb_w = panel - 20
            thumb_h = round(thumb_w * other.height / other.width)
            if thumb_w < 16 or y + thumb_h > height:
                break
            canvas.paste(other.resize((thumb_w, thumb_h), Image.Resampling.BILINEAR), (px + 10, y))
            draw.text((px + 10, y + thumb_h + 2), f"item {number + 1}", fill=ink, font=font)
            y += thumb_h + 30
    canvas.paste(image.resize((shown_w, shown_h), Image.Resampling.LANCZOS), (x0, bar + margin))
    draw.text((x0, bar + margin + shown_h + 6), str(rng.choice(WORDS)), fill=ink, font=font)
    return canvas


def collage(
    image: Image.Image, rng: np.random.Generator, others: Sequence[Image.Image]
) -> Image.Image:
    grid = int(rng.integers(2, 5))
    cell_w = int(rng.integers(200, 420))
    cell_h = round(cell_w * image.height / image.width)
    gutter = int(rng.choice([0, 0, 2, 4, 8, 12]))
    width, height = grid * cell_w + (grid + 1) * gutter, grid * cell_h + (grid + 1) * gutter
    canvas = Image.new("RGB", (width, height), _colour(rng))
    target = int(rng.integers(grid * grid))
    pool = iter(others)
    for cell in range(grid * grid):
        picture = image if cell == target else next(pool)
        row, column = divmod(cell, grid)
        at = (gutter + column * (cell_w + gutter), gutter + row * (cell_h + gutter))
        canvas.paste(picture.resize((cell_w, cell_h), Image.Resampling.LANCZOS), at)
    return canvas


def flip(image: Image.Image, rng: np.random.Generator, _: Sequence[Image.Image]) -> Image.Image:
    return ImageOps.mirror(image) if rng.random() < 0.5 else ImageOps.flip(image)


def quarter_turn(
    image: Image.Image, rng: np.random.Generator, _: Sequence[Image.Image]
) -> Image.Image:
    turns = (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)
    return image.transpose(turns[int(rng.integers(3))])


def rescale(image: Image.Image, rng: np.random.Generator, _: Sequence[Image.Image]) -> Image.Image:
    scale = float(rng.uniform(0.3, 1.5))
    size = (max(32, round(image.width * scale)), max(32, round(image.height * scale)))
    edited = image.resize(size, Image.Resampling.BICUBIC)
    change = int(rng.integers(4))
    if change == 0:
        edited = ImageEnhance.Brightness(edited).enhance(float(rng.uniform(0.6, 1.4)))
    elif change == 1:
        edited = ImageEnhance.Contrast(edited).enhance(float(rng.uniform(0.6, 1.4)))
    elif change == 2:
        edited = ImageEnhance.Color(edited).enhance(float(rng.uniform(0.0, 1.8)))
    else:
        edited = edited.convert("L").convert("RGB")
    return jpeg(edited, int(rng.integers(30, 95)))


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as reopened:
        return reopened.convert("RGB")


FAMILIES: tuple[RandomEdit, ...] = (
    RandomEdit("crop", crop, hash_only=False),
    RandomEdit("caption", caption),
    RandomEdit("banner", banner),
    RandomEdit("pad", pad),
    RandomEdit("turn", turn, hash_only=False),
    RandomEdit("screenshot", screenshot),
    RandomEdit("collage", collage),
    RandomEdit("flip", flip),
    RandomEdit("quarter-turn", quarter_turn),
    RandomEdit("rescale", rescale),
)
# The most unrelated pictures an edit puts beside the copy (a 4x4 collage).
OTHERS_NEEDED = 15


def family_named(name: str) -> RandomEdit:
    for edit in FAMILIES:
        if edit.family == name:
            return edit
    raise KeyError(name)
