"""A named PDQ hash of one view of a picture, and its stored text form.

Apart from :mod:`clearsight.signals.variants` (which finds and cuts the views, with
OpenCV) so that the case store and the records a scan's writer handles do not import
OpenCV for a three-field record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class VariantHash:
    """The PDQ hash of one view of a picture, named for how the view was made."""

    name: str
    hex: str
    quality: int


def parse_variants(text: str) -> tuple[VariantHash, ...]:
    """Read variants stored as ``name:hex:quality`` joined by commas."""
    found: list[VariantHash] = []
    for part in text.split(","):
        if part:
            name, value, quality = part.split(":")
            found.append(VariantHash(name, value, int(quality)))
    return tuple(found)


def format_variants(variants: Sequence[VariantHash]) -> str:
    return ",".join(f"{v.name}:{v.hex}:{v.quality}" for v in variants)
