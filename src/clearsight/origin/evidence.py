"""The evidence items every origin detector returns, and the Protocol detectors share.

An item says what was found (``kind``), which origin it points to, how much weight it
carries, and where exactly it was found (``detail``: the field and its value, or the
watermark bits), so a reviewer or a court can check it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt


class PointsTo(StrEnum):
    AI = "ai"  # made by a generator
    AI_EDIT = "ai-edit"  # a real picture altered with a generator
    CAMERA = "camera"  # taken with a camera


class Strength(StrEnum):
    WEAK = "weak"
    MODERATE = "moderate"
    STRONG = "strong"


@dataclass(frozen=True)
class Evidence:
    """One finding.

    ``points_to`` is None for a finding that points nowhere but must not be ignored:
    a C2PA manifest that fails validation, say. ``detail`` is safe to log and report:
    it never holds prompt text. A generator's prompt, which can itself be abusive, is
    kept apart in ``prompt``, stored only on request and shown only behind the same
    reveal as the image.
    """

    kind: str
    points_to: PointsTo | None
    strength: Strength
    detail: str
    prompt: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class OriginInput:
    """What a detector examines: the file's bytes and its sniffed media type, and, when
    the scan has them at hand, the picture's grey pixels at reduced scale and, for a
    lossless image, its full-resolution RGB and 8-bit alpha channel (all in the stored
    orientation), which spare a detector a decode of its own."""

    data: bytes
    media_type: str
    name: str = ""  # for messages only; detectors never open paths themselves
    luma: npt.NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)
    rgb: npt.NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)
    alpha: npt.NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)


class Detector(Protocol):
    """One kind of evidence. ``examine`` never raises for a malformed file: what it
    cannot read is simply not evidence (a broken manifest is reported as such)."""

    @property
    def name(self) -> str: ...

    def examine(self, file: OriginInput) -> list[Evidence]: ...
