"""Bank entries made from original videos the user holds (``clearsight bank add``).

A list from elsewhere gives vPDQ at one frame a second; with the video in hand a bank
keeps its frames :data:`OWN_BANK_SECONDS` apart instead, so that a clip cut between
the one-a-second sample points, or re-timed, still lands within a few bits of a kept
frame. The entry's vPDQ signal holds those dense frames (a valid vPDQ list at a finer
step, exported as such); its PDQ is the first well-hashed frame and its PDQ views are
the first frame of each shot, so that a still taken from the video is found too.
Flipped copies need nothing here: the scan keeps each frame's mirror hash. The video
itself is not kept.
"""

from __future__ import annotations

from pathlib import Path

from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
)
from clearsight.media.video import VideoDecodeError, VideoLimits, VideoReader
from clearsight.signals.digests import StreamingDigests
from clearsight.signals.frame_pdq import FrameTooSmallError, frame_pdq
from clearsight.signals.pdq import PDQ_MIN_QUALITY, PdqSignal
from clearsight.signals.vpdq import VpdqFeature, to_signal_string

OWN_BANK_SECONDS = 0.25  # four frames a second
SHOT_CHANGE_DISTANCE = 64  # as the scan finds shots
MAX_SHOT_VIEWS = 48
_CHUNK = 1024 * 1024


def video_entry_of(
    path: Path, name: str, metadata: EntryMetadata, limits: VideoLimits | None = None
) -> ImportEvent:
    """The bank entry for one original video, or the one-line reason it cannot be one."""
    digests = StreamingDigests()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digests.update(chunk)
    except OSError as exc:
        return RejectedLine(str(path), f"cannot read: {exc.strerror or exc}")
    features: list[VpdqFeature] = []
    try:
        with VideoReader(str(path), limits or VideoLimits()) as reader:
            for frame in reader.frames(OWN_BANK_SECONDS):
                hex_value, quality = frame_pdq(frame.rgb)
                features.append(VpdqFeature(hex_value, quality, frame.timestamp))
            stopped = reader.stopped
    except (VideoDecodeError, FrameTooSmallError) as exc:
        return RejectedLine(str(path), f"not a decodable video: {exc}")
    if stopped is not None:
        return RejectedLine(str(path), f"not a whole video: {stopped}")
    good = [feature for feature in features if feature.quality >= PDQ_MIN_QUALITY]
    if not good:
        return RejectedLine(
            str(path), f"no frame has PDQ quality {PDQ_MIN_QUALITY} or more: too plain to match"
        )
    return ImportedEntry(
        signals=(
            *((BankSignal(kind), value) for kind, value in digests.result().as_dict().items()),
            (BankSignal.PDQ, good[0].hex),
            (BankSignal.VPDQ, to_signal_string(features)),
        ),
        metadata=EntryMetadata(
            external_id=name,
            category=metadata.category,
            series=metadata.series,
            victim_identified=metadata.victim_identified,
            comments=metadata.comments,
        ),
        where=str(path),
        pdq_variants=_shot_views(good),
    )


def _shot_views(good: list[VpdqFeature]) -> tuple[tuple[str, str], ...]:
    """The first frame of each later shot, named by its time, as PDQ views."""
    views: list[tuple[str, str]] = []
    current = good[0].hex
    for feature in good[1:]:
        if PdqSignal.distance(current, feature.hex) > SHOT_CHANGE_DISTANCE:
            current = feature.hex
            views.append((f"frame-{feature.timestamp:.2f}s", feature.hex))
    return tuple(views[:MAX_SHOT_VIEWS])
