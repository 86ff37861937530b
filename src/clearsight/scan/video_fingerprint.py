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
"""

from __future__ import annotations

from dataclasses import replace

from clearsight.media.video import VideoDecodeError, VideoLimits, VideoReader
from clearsight.signals.frame_pdq import FrameTooSmallError, frame_pdq_dihedral
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
_MIRROR = DIHEDRAL_TRANSFORMS.index("flip-horizontal")


def fingerprint_video(
    abs_path: str, record: ScannedFile, limits: VideoLimits, every_seconds: float = SAMPLE_SECONDS
) -> ScannedFile:
    """``record`` with the video's facts, frame hashes and representatives, or with an
    error row where the video cannot be read."""
    frames: list[VideoFrameHash] = []
    first: PdqHash | None = None
    try:
        with VideoReader(abs_path, limits) as reader:
            for frame in reader.frames(every_seconds):
                hashed = frame_pdq_dihedral(frame.rgb)
                if first is None and hashed.quality >= PDQ_MIN_QUALITY:
                    first = hashed
                frames.append(
                    VideoFrameHash(
                        frame.number,
                        frame.timestamp,
                        hashed.hex,
                        hashed.quality,
                        mirror=hashed.dihedral[_MIRROR],
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


def mark_representatives(frames: list[VideoFrameHash]) -> list[VideoFrameHash]:
    """``frames`` with the first well-hashed frame of each shot marked."""
    chosen: list[int] = []
    current: str | None = None
    for index, frame in enumerate(frames):
        if frame.quality < PDQ_MIN_QUALITY:
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
