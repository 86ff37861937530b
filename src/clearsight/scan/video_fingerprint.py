"""Fingerprint a video: its facts, its vPDQ frames, and one representative frame a shot.

Frames are sampled as vPDQ samples them (see :mod:`clearsight.media.video`) and hashed
with the reference's full-resolution PDQ, so the frame hashes equal what the ``vpdq``
binding writes and lists exchanged as vPDQ match. Each frame's mirror image is hashed
from the same DCT at no extra cost, for copies that were flipped.

A shot is found from frame-hash changes: a frame farther than
:data:`SHOT_CHANGE_DISTANCE` from the current shot's representative starts a new shot.
The representatives are what the picture pipeline sees of a video: the first is the
item's PDQ (with its rotations and flips), the others its named views (``frame-12s``),
so picture banks, stacks and series find a known picture inside a video, and a still
that is a frame of a video, without a second pipeline.

A video copied into a letterbox or pillarbox (black bars added to fit another frame
shape) hashes far from the original. So a frame with bars is hashed a second time
inside them (its ``trimmed`` hash), and matching tries those too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from clearsight.media.video import VideoDecodeError, VideoLimits, VideoReader
from clearsight.signals.frame_pdq import (
    MIN_FRAME_SIDE,
    FrameTooSmallError,
    RgbFrame,
    frame_pdq,
    frame_pdq_dihedral,
)
from clearsight.signals.pdq import DIHEDRAL_TRANSFORMS, PDQ_MIN_QUALITY, PdqHash, PdqSignal
from clearsight.signals.variants import VariantHash
from clearsight.store.interface import (
    ErrorStage,
    ItemError,
    ScannedFile,
    VideoFrameHash,
    VideoRecord,
)

# Two frames of one shot seldom differ by more; a cut to another scene is usually 90+.
SHOT_CHANGE_DISTANCE = 64
# At most this many representatives; a longer list is thinned evenly.
MAX_REPRESENTATIVES = 48
SAMPLE_SECONDS = 1.0  # vPDQ's rate: one frame a second
# Between vPDQ's frames, one every quarter second, hashed from a 512-pixel frame: a
# clip cut between vPDQ's sample points still has frames within an eighth of a second
# of a bank's (see clearsight.match.video_matcher).
DENSE_SECONDS = 0.25
_MIRROR = DIHEDRAL_TRANSFORMS.index("flip-horizontal")
# Bars: rows (columns) at the edges that are dark throughout, together at least this
# share of the frame's height (width). Encoders leave a little noise in black, so a
# row is dark when nearly all of its (subsampled) pixels are.
BAR_LEVEL = 40
BAR_SHARE = 0.06
_BAR_STEP = 4  # look at every 4th pixel each way: bars are wide, frames large


def fingerprint_video(
    abs_path: str, record: ScannedFile, limits: VideoLimits, every_seconds: float = SAMPLE_SECONDS
) -> ScannedFile:
    """``record`` with the video's facts, frame hashes and representatives, or with an
    error row where the video cannot be read."""
    frames: list[VideoFrameHash] = []
    first: PdqHash | None = None
    try:
        with VideoReader(abs_path, limits) as reader:
            for frame in reader.frames(every_seconds, dense_seconds=DENSE_SECONDS):
                hashed = frame_pdq_dihedral(frame.rgb)
                if first is None and frame.exact and hashed.quality >= PDQ_MIN_QUALITY:
                    first = hashed
                frames.append(
                    VideoFrameHash(
                        frame.number,
                        frame.timestamp,
                        hashed.hex,
                        hashed.quality,
                        mirror=hashed.dihedral[_MIRROR],
                        trimmed=trimmed_pdq(frame.rgb),
                        exact=frame.exact,
                    )
                )
            facts, decoded, stopped = reader.facts, reader.frames_decoded, reader.stopped
    except (VideoDecodeError, FrameTooSmallError) as exc:
        return _with_error(record, str(exc))
    marked = mark_representatives(frames)
    video = VideoRecord(facts, decoded, tuple(marked), stopped)
    errors = record.errors
    if stopped is not None:
        errors = (*errors, ItemError(ErrorStage.DECODE, stopped))
    views = tuple(
        VariantHash(f"frame-{frame.timestamp:.0f}s", frame.pdq, frame.quality)
        for frame in marked
        if frame.representative and (first is None or frame.pdq != first.hex)
    )
    return replace(
        record,
        width=facts.width,
        height=facts.height,
        pdq=first,
        pdq_variants=views,
        errors=errors,
        video=video,
    )


def trimmed_pdq(rgb: RgbFrame) -> str | None:
    """The PDQ of what lies inside the frame's black bars; None where it has none."""
    box = inside_bars(rgb)
    if box is None:
        return None
    top, bottom, left, right = box
    inner = rgb[top:bottom, left:right]
    if min(inner.shape[:2]) < MIN_FRAME_SIDE:
        return None
    hex_value, quality = frame_pdq(inner)
    return hex_value if quality >= PDQ_MIN_QUALITY else None


def inside_bars(rgb: RgbFrame) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the picture inside letterbox or pillarbox bars, or
    None where the frame has no bars (or is dark all over: nothing to trim to)."""
    small = rgb[::_BAR_STEP, ::_BAR_STEP]
    small = small.max(axis=2) if small.ndim == 3 else small
    dark = small <= BAR_LEVEL
    dark_rows = dark.mean(axis=1) >= 0.98
    dark_columns = dark.mean(axis=0) >= 0.98
    if dark_rows.all() or dark_columns.all():
        return None
    top, bottom = _edges(dark_rows)
    left, right = _edges(dark_columns)
    rows, columns = dark_rows.shape[0], dark_columns.shape[0]
    barred = (top + (rows - bottom)) >= BAR_SHARE * rows or (
        left + (columns - right)
    ) >= BAR_SHARE * columns
    if not barred:
        return None
    height, width = rgb.shape[:2]
    # A line between two sampled ones may be either; the sampled lit lines bound it.
    return (
        top * _BAR_STEP,
        min(height, (bottom - 1) * _BAR_STEP + 1),
        left * _BAR_STEP,
        min(width, (right - 1) * _BAR_STEP + 1),
    )


def _edges(dark: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """How many dark lines lead, and where the trailing dark lines start."""
    lit = np.flatnonzero(~dark)
    return int(lit[0]), int(lit[-1]) + 1


def mark_representatives(frames: list[VideoFrameHash]) -> list[VideoFrameHash]:
    """``frames`` with the first well-hashed frame of each shot marked (of vPDQ's own
    frames: those are at full resolution)."""
    chosen: list[int] = []
    current: str | None = None
    for index, frame in enumerate(frames):
        if frame.quality < PDQ_MIN_QUALITY or not frame.exact:
            continue
        if current is None or PdqSignal.distance(current, frame.pdq) > SHOT_CHANGE_DISTANCE:
            chosen.append(index)
            current = frame.pdq
    if len(chosen) > MAX_REPRESENTATIVES:
        stride = len(chosen) / MAX_REPRESENTATIVES
        chosen = [chosen[int(k * stride)] for k in range(MAX_REPRESENTATIVES)]
    marked = set(chosen)
    return [
        replace(frame, representative=True) if index in marked else frame
        for index, frame in enumerate(frames)
    ]


def _with_error(record: ScannedFile, reason: str) -> ScannedFile:
    return replace(record, errors=(*record.errors, ItemError(ErrorStage.DECODE, reason)))
