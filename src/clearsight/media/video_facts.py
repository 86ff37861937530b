"""What a video declares and the bounds on reading one: plain records.

Apart from :mod:`clearsight.media.video` (which reads videos with PyAV) so that what
only passes these records along (the scan's options, the case store) does not import
PyAV.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoLimits:
    """Bounds on what one video may cost to read."""

    max_seconds: float = 4 * 3600.0
    max_frames: int = 2_000_000  # frames decoded, sampled or not
    max_frame_pixels: int = 8192 * 4352  # one frame's width times height (8K and a bit)
    max_streams: int = 64


@dataclass(frozen=True)
class VideoFacts:
    """What the container and its first video stream declare."""

    container: str
    codec: str
    width: int
    height: int
    frame_rate: float
    duration: float | None  # seconds, as declared; None where nothing declares it
    has_audio: bool
    tags: tuple[tuple[str, str], ...] = ()
