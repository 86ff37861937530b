"""Which pictures the robust matcher may be tuned on, and which only judge it.

The shared photos (``../shared/data/camera`` and ``generated``) are split by their
file name's SHA-256: an even first byte is **dev** (look at these while building),
an odd one **eval** (report these, never tune on them). Generated landscapes take
seed 2026 for dev and 2027 for eval. Sheets of several pictures (aspect 2.5 or more,
some Stable Diffusion samples) are left out: they are collages already.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from PIL import Image

Split = Literal["dev", "eval"]
LANDSCAPE_SEEDS: dict[Split, int] = {"dev": 2026, "eval": 2027}
MAX_ASPECT = 2.5


def in_split(name: str, split: Split) -> bool:
    """Whether the shared photo named ``name`` belongs to ``split``."""
    return hashlib.sha256(name.encode()).digest()[0] % 2 == (0 if split == "dev" else 1)


def split_photos(data: Path, split: Split, longest: int = 1200) -> list[tuple[str, Image.Image]]:
    """The shared photos of ``split`` by file stem, fitted into ``longest`` pixels."""
    photos: list[tuple[str, Image.Image]] = []
    paths = sorted([*(data / "camera").glob("*.JPG"), *(data / "generated").glob("*.png")])
    for path in paths:
        if not in_split(path.name, split):
            continue
        with Image.open(path) as opened:
            opened.draft("RGB", (longest, longest))  # JPEG: decoded at 1/2 to 1/8 scale
            picture = opened.convert("RGB")
        if max(picture.size) >= MAX_ASPECT * min(picture.size):
            continue
        picture.thumbnail((longest, longest))
        photos.append((path.stem, picture))
    return photos


# Four camera photos show one scene from one tripod, taken by different cameras: they
# are related pictures, not unrelated ones, wherever false matches are counted.
SAME_SCENE = frozenset(
    {"Nikon_D200_0_14902", "Nikon_D70_0_19445", "Nikon_D70_1_20543", "Nikon_D70s_1_22750"}
)


def scene_of(name: str) -> str:
    """The scene a shared photo shows, by its file stem (the tripod's four share one)."""
    return "tripod" if name in SAME_SCENE else name
