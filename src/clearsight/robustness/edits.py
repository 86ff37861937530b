"""The edit suite: the changes a known picture goes through before it turns up again.

Each :class:`Edit` takes a picture and returns the edited copy: resized, re-encoded,
cropped, padded, flipped, rotated, recoloured, captioned, put in a screenshot or a
collage, or locally repainted the way AI tools do. The robustness benchmark and the
tests apply them to benign photos and ask whether matching still finds the original.

``hash_only`` says whether a bank that holds only the original's hash is expected to
survive the edit. A crop, a small rotation or a repainted region changes the picture
itself, not just what surrounds it, so only a bank that kept more than one hash of the
original (an own bank) can be expected to match those.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from clearsight.signals.variants import inscribed_scale


@dataclass(frozen=True)
class EditContext:
    """What an edit may draw on: randomness, and unrelated pictures to put beside the copy."""

    rng: np.random.Generator
    others: Sequence[Image.Image]


EditFunction = Callable[[Image.Image, EditContext], Image.Image]


@dataclass(frozen=True)
class Edit:
    name: str
    family: str
    apply: EditFunction
    hash_only: bool = True


def resize(image: Image.Image, _: EditContext, *, scale: float) -> Image.Image:
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def jpeg(image: Image.Image, _: EditContext, *, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as reopened:
        return reopened.convert("RGB")


def crop(image: Image.Image, _: EditContext, *, per_side: float) -> Image.Image:
    dx, dy = round(image.width * per_side), round(image.height * per_side)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def pad_plain(image: Image.Image, context: EditContext, *, per_side: float) -> Image.Image:
    colour = tuple(int(v) for v in context.rng.integers(0, 256, 3))
    canvas = Image.new("RGB", _padded_size(image, per_side), colour)
    return _centred(canvas, image)


def pad_blurred(image: Image.Image, _: EditContext, *, per_side: float) -> Image.Image:
    """The fill short-video apps use: the picture itself, stretched, blurred and darkened."""
    size = _padded_size(image, per_side)
    backdrop = image.resize(size, Image.Resampling.BILINEAR)
    backdrop = backdrop.filter(ImageFilter.GaussianBlur(radius=max(size) / 40))
    backdrop = ImageEnhance.Brightness(backdrop).enhance(0.7)
    return _centred(backdrop, image)


def flip_horizontal(image: Image.Image, _: EditContext) -> Image.Image:
    return ImageOps.mirror(image)


def rotate_quarter(image: Image.Image, _: EditContext) -> Image.Image:
    return image.transpose(Image.Transpose.ROTATE_90)


def rotate(image: Image.Image, _: EditContext, *, degrees: float, corners: bool) -> Image.Image:
    """Rotate about the centre. With ``corners`` the frame is kept and the corners the
    picture no longer covers are black; without, the result is cut to the largest
    centred rectangle of the same shape that holds only picture."""
    turned = image.rotate(degrees, Image.Resampling.BICUBIC, expand=False, fillcolor=(0, 0, 0))
    if corners:
        return turned
    w, h = image.width, image.height
    scale = inscribed_scale(w, h, degrees)
    keep_w, keep_h = w * scale, h * scale
    left, top = (w - keep_w) / 2, (h - keep_h) / 2
    # One pixel in from the exact bound, so no interpolated black survives at the edge.
    return turned.crop(
        (
            math.ceil(left) + 1,
            math.ceil(top) + 1,
            math.floor(left + keep_w) - 1,
            math.floor(top + keep_h) - 1,
        )
    )


def greyscale(image: Image.Image, _: EditContext) -> Image.Image:
    return image.convert("L").convert("RGB")


def brightness(image: Image.Image, _: EditContext, *, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(factor)


def caption(image: Image.Image, context: EditContext) -> Image.Image:
    """Meme-style text, white with a black outline, across the top: its lines span
    10-20% of the picture."""
    edited = image.copy()
    draw = ImageDraw.Draw(edited)
    share = float(context.rng.uniform(0.10, 0.20))
    size = max(10, round(image.height * share / 2))  # two lines of text
    font = ImageFont.load_default(size=size)
    lines = ("WHEN THE WEEKEND", "FINALLY ARRIVES")
    for number, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        x, y = (image.width - width) / 2, image.height * 0.03 + number * size
        draw.text(
            (x, y),
            line,
            font=font,
            fill=(255, 255, 255),
            stroke_width=max(1, size // 12),
            stroke_fill=(0, 0, 0),
        )
    return edited


def logo(image: Image.Image, context: EditContext) -> Image.Image:
    """A half-opaque watermark badge in a corner, covering 10-15% of the picture."""
    side = round(math.sqrt(float(context.rng.uniform(0.10, 0.15)) * image.width * image.height))
    side = min(side, image.width, image.height)
    colour = tuple(int(v) for v in context.rng.integers(0, 256, 3))
    badge = Image.new("RGBA", (side, side), (*colour, 128))
    draw = ImageDraw.Draw(badge)
    inset = side // 6
    draw.ellipse((inset, inset, side - inset, side - inset), fill=(250, 250, 250, 128))
    draw.rectangle((side // 3, side // 3, 2 * side // 3, 2 * side // 3), fill=(*colour, 128))
    corner = int(context.rng.integers(4))
    x = 0 if corner % 2 == 0 else image.width - side
    y = 0 if corner < 2 else image.height - side
    edited = image.convert("RGBA")
    edited.alpha_composite(badge, (x, y))
    return edited.convert("RGB")


def screenshot(image: Image.Image, context: EditContext) -> Image.Image:
    """The picture as shown in an app: title bar, a side panel with text and two small
    unrelated thumbnails, and a caption under the picture."""
    rng = context.rng
    share = float(rng.uniform(0.45, 0.6))  # of the canvas width the picture takes
    shown_w = max(64, round(image.width * min(1.0, 900 / image.width)))
    shown_h = round(shown_w * image.height / image.width)
    width = round(shown_w / share)
    bar, panel = round(width * 0.05), round(width * 0.22)
    height = bar + round(shown_h * 1.35) + 20
    canvas = Image.new("RGB", (width, height), (246, 247, 249))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, bar), fill=(40, 60, 110))
    draw.rectangle((0, bar, panel, height), fill=(232, 234, 238))
    font = ImageFont.load_default(size=max(10, bar // 2))
    draw.text((10, bar // 4), "Gallery", fill=(255, 255, 255), font=font)
    for line in range(int(rng.integers(4, 8))):
        y = bar + 20 + line * (bar + 4)
        draw.text((12, y), f"Album {line + 1}", fill=(60, 60, 60), font=font)
    thumb_w = panel - 24
    y = bar + 20 + 8 * (bar + 4)
    for other in context.others[:2]:
        thumb_h = round(thumb_w * other.height / other.width)
        if y + thumb_h > height:
            break
        canvas.paste(other.resize((thumb_w, thumb_h), Image.Resampling.BILINEAR), (12, y))
        y += thumb_h + 10
    left = panel + round(float(rng.uniform(0.1, 0.9)) * (width - panel - shown_w))
    top = bar + 12
    canvas.paste(image.resize((shown_w, shown_h), Image.Resampling.LANCZOS), (left, top))
    draw.text((left, top + shown_h + 10), "12 likes  3 comments", fill=(90, 90, 90), font=font)
    return canvas


def collage(image: Image.Image, context: EditContext, *, grid: int) -> Image.Image:
    """The picture as one tile of a ``grid`` x ``grid`` collage of unrelated pictures,
    each stretched to the cell, with a gutter of 0-8 pixels."""
    rng = context.rng
    cell_w = min(image.width, 400)
    cell_h = round(cell_w * image.height / image.width)
    gutter = int(rng.choice([0, 4, 8]))
    width, height = grid * cell_w + (grid + 1) * gutter, grid * cell_h + (grid + 1) * gutter
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    cells = grid * grid
    target = int(rng.integers(cells))
    others = iter(context.others)
    for cell in range(cells):
        picture = image if cell == target else next(others)
        row, column = divmod(cell, grid)
        at = (gutter + column * (cell_w + gutter), gutter + row * (cell_h + gutter))
        canvas.paste(picture.resize((cell_w, cell_h), Image.Resampling.LANCZOS), at)
    return canvas


def repaint(image: Image.Image, context: EditContext) -> Image.Image:
    """A region of 10-15% of the picture replaced by inpainting-like fill: the
    surroundings smeared in, with fresh grain, behind a feathered edge."""
    rng = context.rng
    area = float(rng.uniform(0.10, 0.15)) * image.width * image.height
    aspect = float(rng.uniform(0.7, 1.4))
    # An ellipse of that area: pi/4 of its bounding box.
    box_w = min(image.width * 0.9, math.sqrt(area * 4 / math.pi * aspect))
    box_h = min(image.height * 0.9, area * 4 / math.pi / box_w)
    left = float(rng.uniform(0, image.width - box_w))
    top = float(rng.uniform(0, image.height - box_h))
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).ellipse((left, top, left + box_w, top + box_h), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(radius=max(2.0, box_w / 25)))
    fill = image.filter(ImageFilter.GaussianBlur(radius=max(4.0, box_w / 4)))
    grain = rng.normal(0, 6, (image.height, image.width, 3))
    fill_array = np.clip(np.asarray(fill, np.float32) + grain, 0, 255).astype(np.uint8)
    return Image.composite(Image.fromarray(fill_array), image, mask)


def _padded_size(image: Image.Image, per_side: float) -> tuple[int, int]:
    return (
        image.width + 2 * round(image.width * per_side),
        image.height + 2 * round(image.height * per_side),
    )


def _centred(canvas: Image.Image, image: Image.Image) -> Image.Image:
    canvas.paste(image, ((canvas.width - image.width) // 2, (canvas.height - image.height) // 2))
    return canvas


def _rotations() -> list[Edit]:
    return [
        Edit(
            f"rotate{degrees:+d}{'-corners' if corners else '-cropped'}",
            "rotate",
            partial(rotate, degrees=degrees, corners=corners),
            hash_only=False,
        )
        for degrees in (3, -3, 5, -5)
        for corners in (True, False)
    ]


SUITE: tuple[Edit, ...] = (
    Edit("resize-50", "resize", partial(resize, scale=0.5)),
    Edit("jpeg-50", "jpeg", partial(jpeg, quality=50)),
    Edit("crop-5", "crop", partial(crop, per_side=0.05), hash_only=False),
    Edit("crop-10", "crop", partial(crop, per_side=0.10), hash_only=False),
    Edit("pad-20-plain", "pad", partial(pad_plain, per_side=0.20)),
    Edit("pad-20-blurred", "pad", partial(pad_blurred, per_side=0.20)),
    Edit("flip-horizontal", "flip", flip_horizontal),
    Edit("rotate-90", "rotate-90", rotate_quarter),
    *_rotations(),
    Edit("greyscale", "colour", greyscale),
    Edit("brightness+30", "colour", partial(brightness, factor=1.3)),
    Edit("brightness-30", "colour", partial(brightness, factor=0.7)),
    Edit("caption", "overlay", caption),
    Edit("logo", "overlay", logo),
    Edit("screenshot", "screenshot", screenshot),
    Edit("collage-2x2", "collage", partial(collage, grid=2)),
    Edit("collage-3x3", "collage", partial(collage, grid=3)),
    Edit("repaint", "local-edit", repaint, hash_only=False),
)

# The most unrelated pictures any edit of the suite puts beside the copy (a 3x3 collage).
OTHERS_NEEDED = 8


def edit_named(name: str) -> Edit:
    for edit in SUITE:
        if edit.name == name:
            return edit
    raise KeyError(name)
