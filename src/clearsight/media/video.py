"""Read a video's facts and stream its frames, within fixed limits, through PyAV.

PyAV's wheel carries FFmpeg's libraries, so no system FFmpeg or ``ffmpeg`` program is
needed. Frames are streamed one at a time and only the sampled ones are converted to
RGB, so memory stays bounded by a few frames whatever the video's length.

Sampling follows Meta's vPDQ reference exactly, so that hashes exchanged as vPDQ match:
frames are counted in the order the decoder gives them, frame *n* is kept where
``n % int(seconds * rate) == 0`` (the rate is the stream's average frame rate, else its
base rate), its timestamp is ``float32(n) / float32(rate)``, and it is converted to
full-resolution RGB24 with swscale's area filter, as the reference's ``sws_scale`` does.

Frames that are neither sampled nor referenced by other frames need not be decoded at
all. For H.264 and HEVC, whose encoders mark such frames, a first pass reads the packets'
presentation times (demuxing alone, no decoding: under 2% of the cost) and numbers the
frames as the decoder would output them, in presentation order; the decoder then skips
the unreferenced frames that are not sampled (FFmpeg's ``skip_frame = NONREF``, set per
packet), which halves the decoding of a typical phone or x264 video. The frames kept,
their numbers and pixels are those of a full decode: the numbering is checked against
each frame the decoder gives, and should it disagree the video is decoded again in full
(from the frame after the last one given). The pass is used only where the numbering is
certain: every packet timed, no two at one time, the first a keyframe shown first.

Guards, each a :class:`VideoDecodeError` with a one-line reason (the caller makes it
the file's error row): too many streams, a frame larger than the cap, a declared or
decoded duration over the cap, more frames than the cap, and a container or stream
that does not decode. A stream that breaks after some frames keeps the frames before
the break; the break is reported on :attr:`VideoReader.stopped`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType
from typing import IO

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter
from PIL import Image

from clearsight.media.video_facts import VideoFacts as VideoFacts
from clearsight.media.video_facts import VideoLimits as VideoLimits

RgbFrame = npt.NDArray[np.uint8]

# Container and stream tags kept as weak evidence of origin; anything else (a location,
# a title someone typed) is not needed to weigh origin and is not kept.
ORIGIN_TAGS = frozenset(
    {
        "encoder",
        "creation_time",
        "make",
        "model",
        "software",
        "handler_name",
        "com.apple.quicktime.make",
        "com.apple.quicktime.model",
        "com.apple.quicktime.software",
        "com.apple.quicktime.creationdate",
        "com.android.manufacturer",
        "com.android.model",
        "com.android.version",
    }
)
_MAX_TAG_CHARS = 200


@dataclass(frozen=True)
class SampledFrame:
    """One sampled frame: its number in decoding order, its vPDQ timestamp and pixels.

    ``exact`` frames are vPDQ's, RGB at full resolution; the others were sampled
    between them (see :meth:`VideoReader.frames`) and are grey in a smaller box.
    """

    number: int
    timestamp: float
    rgb: RgbFrame
    exact: bool = True


class VideoDecodeError(Exception):
    """The file is a video that cannot be read safely; the message is one line."""


def frame_step(every_seconds: float, frame_rate: float) -> int:
    """Keep every ``frame_step``-th frame: the reference's ``int(seconds * rate)``,
    at least 1 (0 seconds means every frame)."""
    return max(1, int(every_seconds * frame_rate))


def frame_timestamp(number: int, frame_rate: float) -> float:
    """The reference's timestamp of frame ``number``: computed in single precision."""
    return float(np.float32(number) / np.float32(frame_rate))


class VideoReader:
    """An open video: its :attr:`facts`, and its frames sampled as vPDQ samples them.

    Use as a context manager; the container is closed on exit.
    """

    def __init__(self, path: str | IO[bytes], limits: VideoLimits = VideoLimits()) -> None:
        self._limits = limits
        self._path = path if isinstance(path, str) else None
        self.frames_decoded = 0
        self.stopped: str | None = None  # why decoding ended before the end, if it did
        try:
            self._container = av.open(path, mode="r", metadata_errors="ignore")
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            raise VideoDecodeError(f"not a readable video container: {_reason(exc)}") from None
        try:
            self.facts, self._stream = self._inspect()
        except BaseException:
            self._container.close()
            raise

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _inspect(self) -> tuple[VideoFacts, av.video.stream.VideoStream]:
        container, limits = self._container, self._limits
        streams = container.streams
        if len(streams) > limits.max_streams:
            raise VideoDecodeError(f"{len(streams)} streams exceed the cap of {limits.max_streams}")
        if not streams.video:
            raise VideoDecodeError("no video stream")
        stream = streams.video[0]
        context = stream.codec_context
        width, height = int(context.width or 0), int(context.height or 0)
        if width <= 0 or height <= 0:
            raise VideoDecodeError(f"video stream declares an empty size {width}x{height}")
        if width * height > limits.max_frame_pixels:
            raise VideoDecodeError(
                f"frame of {width}x{height} exceeds the cap of {limits.max_frame_pixels} pixels"
            )
        rate = _frame_rate(stream)
        if rate is None:
            raise VideoDecodeError("video stream declares no frame rate")
        duration = _duration(container, stream)
        if duration is not None and duration > limits.max_seconds:
            raise VideoDecodeError(
                f"duration of {duration:g} s exceeds the cap of {limits.max_seconds:g} s"
            )
        facts = VideoFacts(
            container=str(container.format.name),
            codec=str(context.name),
            width=width,
            height=height,
            frame_rate=rate,
            duration=duration,
            has_audio=bool(streams.audio),
            tags=_origin_tags(container.metadata, stream.metadata),
        )
        return facts, stream

    def frames(
        self,
        every_seconds: float = 1.0,
        *,
        dense_seconds: float | None = None,
        dense_box: int = 256,
    ) -> Iterator[SampledFrame]:
        """Stream the sampled frames; decoding stops at the caps or a broken stream.

        Frames are kept as vPDQ keeps them, every ``every_seconds``, at full resolution;
        with ``dense_seconds``, frames every ``dense_seconds`` between them are kept too,
        as grey fitted into ``dense_box`` pixels a side (scaled by swscale from the luma
        plane alone, which costs far less than full-resolution RGB; PDQ works on a
        64-pixel grid): matching uses them to find clips that start between vPDQ's
        sample points.

        A cap reached raises :class:`VideoDecodeError`; a stream that breaks ends the
        iteration and sets :attr:`stopped`.
        """
        facts = self.facts
        step = frame_step(every_seconds, facts.frame_rate)
        dense = frame_step(dense_seconds, facts.frame_rate) if dense_seconds else 0
        yield from self._sampled(
            _Sampler(facts, step, dense, _fit(facts.width, facts.height, dense_box))
        )

    def frame(self, number: int) -> SampledFrame | None:
        """Frame ``number`` (numbered as :meth:`frames` numbers them) in full-resolution
        RGB, decoding no further; None where the video ends before it."""
        return next(self.numbered_frames([number]), None)

    def numbered_frames(self, numbers: Iterable[int]) -> Iterator[SampledFrame]:
        """The frames ``numbers`` (numbered as :meth:`frames` numbers them), in order, in
        full-resolution RGB; decoding stops after the last."""
        wanted = frozenset(numbers)
        last = max(wanted, default=-1)
        for frame in self._sampled(_Sampler(self.facts, 1, 0, (1, 1), only=wanted)):
            yield frame
            if frame.number >= last:
                return

    def _sampled(self, sampler: _Sampler) -> Iterator[SampledFrame]:
        facts, limits = self.facts, self._limits
        max_frames = min(limits.max_frames, math.ceil(limits.max_seconds * facts.frame_rate) + 1)
        # Frame threads decode several frames at once; the pictures are the same.
        self._stream.thread_type = "AUTO"
        given = -1  # the number of the last frame given
        try:
            plan = self._skipping_plan(sampler, max_frames)
            if plan is not None:
                try:
                    for frame in self._skipping_decode(plan, sampler):
                        given = frame.number
                        yield frame
                    return
                except _NumberingLost:
                    self._restart()
            for frame in self._full_decode(sampler, max_frames):
                if frame.number > given:
                    yield frame
        except (av.error.FFmpegError, ValueError) as exc:
            # ValueError: PyAV cannot convert a frame's pixel format.
            self.stopped = f"decoding stopped after {self.frames_decoded} frames: {_reason(exc)}"

    def _full_decode(self, sampler: _Sampler, max_frames: int) -> Iterator[SampledFrame]:
        """Decode every frame, numbering them in the order the decoder gives them."""
        limits = self._limits
        self.frames_decoded = 0
        for frame in self._container.decode(self._stream):
            number = self.frames_decoded
            self.frames_decoded += 1
            if number >= max_frames:
                raise VideoDecodeError(
                    f"more than {max_frames} frames (the cap of {limits.max_frames} "
                    f"frames or {limits.max_seconds:g} s)"
                )
            if sampler.wants(number):
                yield sampler.sample(frame, number)

    def _skipping_plan(self, sampler: _Sampler, max_frames: int) -> _SkippingPlan | None:
        """The frames' numbers from their presentation times, and the times of the frames
        to decode, where the codec marks unreferenced frames and the numbering is certain
        (see the module's docstring); None otherwise."""
        if self._path is None or self.facts.codec not in SKIPPING_CODECS:
            return None
        times: list[int] = []
        try:
            with av.open(self._path, mode="r", metadata_errors="ignore") as container:
                stream = container.streams.video[0]  # the stream the reader reads
                for packet in container.demux(stream):
                    if not packet.size:
                        continue  # the end-of-stream marker
                    if packet.pts is None or packet.is_discard or packet.is_corrupt:
                        return None
                    if not times and not packet.is_keyframe:
                        return None
                    times.append(packet.pts)
                    if len(times) > max_frames:
                        return None  # the full decode reports the cap at its frame
        except (av.error.FFmpegError, ValueError):
            return None  # the full decode keeps the frames before the break
        ordered = sorted(times)
        if not times or times[0] != ordered[0] or len(set(ordered)) != len(ordered):
            return None
        numbers = {pts: number for number, pts in enumerate(ordered)}
        sampled = [number for number in range(len(ordered)) if sampler.wants(number)]
        return _SkippingPlan(numbers, frozenset(ordered[n] for n in sampled), tuple(sampled))

    def _skipping_decode(self, plan: _SkippingPlan, sampler: _Sampler) -> Iterator[SampledFrame]:
        """Decode the referenced and the sampled frames only; raises
        :class:`_NumberingLost` where a frame the decoder gives is not the one planned."""
        context = self._stream.codec_context
        expected = iter(plan.sampled)
        for packet in self._container.demux(self._stream):
            # Read by the decoder as it takes the packet (frame threads copy it then).
            context.skip_frame = "DEFAULT" if packet.pts in plan.wanted else "NONREF"
            for frame in packet.decode():
                number = plan.numbers.get(frame.pts) if frame.pts is not None else None
                if number is None:
                    raise _NumberingLost
                self.frames_decoded = number + 1
                if frame.pts not in plan.wanted:
                    continue  # a referenced frame, decoded for the frames after it
                if number != next(expected, None):
                    raise _NumberingLost  # a sampled frame went missing before this one
                yield sampler.sample(frame, number)
        if next(expected, None) is not None:
            raise _NumberingLost
        self.frames_decoded = len(plan.numbers)

    def _restart(self) -> None:
        """Back to the first frame with a new container, for a full decode."""
        assert self._path is not None  # only a path has a skipping plan
        self._container.close()
        self._container = av.open(self._path, mode="r", metadata_errors="ignore")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"


# Codecs whose decoders skip unreferenced frames on request (FFmpeg's h264 and hevc read
# the reference marks of each picture). Others decode every frame.
SKIPPING_CODECS = frozenset({"h264", "hevc"})


class _NumberingLost(Exception):
    """A frame from the decoder is not where the skipping plan numbered it."""


@dataclass(frozen=True)
class _SkippingPlan:
    numbers: dict[int, int]  # a frame's presentation time -> its number in a full decode
    wanted: frozenset[int]  # the presentation times of the frames sampled
    sampled: tuple[int, ...]  # their numbers, in order


class _Sampler:
    """Which frames are sampled and how each becomes a :class:`SampledFrame`: vPDQ's at
    full resolution in RGB, those between grey in a small box."""

    def __init__(
        self,
        facts: VideoFacts,
        step: int,
        dense: int,
        small: tuple[int, int],
        *,
        only: frozenset[int] | None = None,  # these frames alone, in full
    ) -> None:
        self._facts, self._step, self._dense, self._small = facts, step, dense, small
        self._only = only
        # One reformatter per kind of frame: each keeps its swscale context, which costs
        # more to set up (a scaling filter) than to run.
        self._full, self._reduced = VideoReformatter(), VideoReformatter()

    def wants(self, number: int) -> bool:
        if self._only is not None:
            return number in self._only
        return number % self._step == 0 or (self._dense > 0 and number % self._dense == 0)

    def sample(self, frame: av.VideoFrame, number: int) -> SampledFrame:
        exact = number in self._only if self._only is not None else number % self._step == 0
        facts = self._facts
        width, height = (facts.width, facts.height) if exact else self._small
        converter = self._full if exact else self._reduced
        rgb: RgbFrame = converter.reformat(  # type: ignore[assignment]
            frame,
            width=width,
            height=height,
            format="rgb24" if exact else "gray",
            interpolation="AREA",
        ).to_ndarray()
        return SampledFrame(number, frame_timestamp(number, facts.frame_rate), rgb, exact)


def _fit(width: int, height: int, box: int) -> tuple[int, int]:
    scale = min(box / width, box / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _frame_rate(stream: av.video.stream.VideoStream) -> float | None:
    # The reference takes avg_frame_rate, else r_frame_rate (PyAV's base_rate).
    for rate in (stream.average_rate, stream.base_rate):
        if isinstance(rate, Fraction) and rate > 0:
            return float(rate)
    return None


def _duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _origin_tags(*tag_sets: dict[str, str]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for tags in tag_sets:
        for key, value in tags.items():
            name = key.lower()
            if name in ORIGIN_TAGS and name not in found:
                found[name] = " ".join(str(value).split())[:_MAX_TAG_CHARS]
    return tuple(sorted(found.items()))


def _reason(exc: BaseException) -> str:
    """A short single-line reason; FFmpeg's messages carry the path, which the caller
    already names, so only the error's kind and text without the path are kept."""
    if isinstance(exc, av.error.FFmpegError):
        text = exc.strerror or type(exc).__name__
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:200]


def contact_sheet(
    source: str | IO[bytes],
    limits: VideoLimits = VideoLimits(),
    *,
    tiles: int = 6,
    columns: int = 3,
    tile_width: int = 320,
    numbers: Sequence[int] = (),
) -> RgbFrame:
    """Up to ``tiles`` frames side by side in ``columns``: how a reviewer sees a video at
    a glance (blurred and greyscale like a picture, by the caller). The frames are
    ``numbers`` (a video's shots, say; thinned evenly to ``tiles``) where given, else
    frames spread over the video. Raises :class:`VideoDecodeError` where no frame can
    be read."""
    with VideoReader(source, limits) as reader:
        facts = reader.facts
        frames = []
        if numbers:
            chosen = sorted(set(numbers))
            stride = max(1.0, len(chosen) / tiles)
            picked = [chosen[int(k * stride)] for k in range(min(tiles, len(chosen)))]
            sampled = reader.numbered_frames(picked)
        else:
            sampled = reader.frames(max(1.0, (facts.duration or float(tiles)) / tiles))
        for frame in sampled:
            frames.append(frame.rgb)
            if len(frames) == tiles:
                break
    if not frames:
        raise VideoDecodeError(reader.stopped or "no frame could be decoded")
    tile_height = max(1, round(tile_width * facts.height / facts.width))
    rows = math.ceil(len(frames) / columns)
    sheet = np.zeros((rows * tile_height, min(columns, len(frames)) * tile_width, 3), np.uint8)
    for index, rgb in enumerate(frames):
        small = Image.fromarray(rgb).resize((tile_width, tile_height), Image.Resampling.BILINEAR)
        top, left = (index // columns) * tile_height, (index % columns) * tile_width
        sheet[top : top + tile_height, left : left + tile_width] = np.asarray(small)
    return sheet
