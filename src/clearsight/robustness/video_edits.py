"""Generated benign videos and the edits copies of videos go through, for tests and
benchmarks: slow pans over generated landscapes, encoded with the codecs PyAV's wheel
carries (libx264, libvpx-vp9), and edited as re-uploads are.

Each edit is the original's frames changed and encoded again: re-encoded smaller, a clip
from the middle, black frames before it, flipped left to right, VP9 in WebM, and
letterboxed into a taller frame. Nothing is committed: every video is made on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import av.audio.stream
import av.video.stream
import cv2
import numpy as np
import numpy.typing as npt

from clearsight.robustness.landscapes import render_landscape

Frame = npt.NDArray[np.uint8]
Frames = list[Frame]


def pan_frames(
    seed: int, width: int, height: int, count: int, *, shots: int = 1, travel: float = 0.25
) -> Frames:
    """``count`` frames: ``shots`` slow pans, each across ``travel`` of the frame's width
    of a wider landscape."""
    frames: Frames = []
    per_shot = [count // shots + (1 if k < count % shots else 0) for k in range(shots)]
    span = max(1, round(width * travel))
    for shot, length in enumerate(per_shot):
        wide = render_landscape((seed, shot), width + span, height)
        frames += [
            np.ascontiguousarray(wide[:, (k * span) // max(length, 1) :][:, :width])
            for k in range(length)
        ]
    return frames


def write_video(
    path: Path,
    frames: Sequence[Frame],
    *,
    fps: int = 30,
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    audio: bool = False,
) -> Path:
    """Encode RGB ``frames`` into ``path`` (its suffix picks the container)."""
    height, width, _ = frames[0].shape
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps, options=options or {})
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=44100) if audio else None
        assert sound is None or isinstance(sound, av.audio.stream.AudioStream)
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        if sound is not None:
            silence = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            silence.sample_rate = 44100
            out.mux(sound.encode(silence))
            out.mux(sound.encode())
    return path


def read_frames(path: Path) -> Frames:
    """Every frame of a (small) video as RGB, for editing it."""
    with av.open(str(path)) as container:
        return [
            np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
            for frame in container.decode(container.streams.video[0])
        ]


@dataclass(frozen=True)
class VideoEdit:
    """One way a copy differs: its name, its suffix, how its frames change, its codec."""

    name: str
    suffix: str
    change: Callable[[Frames, int], Frames]  # frames and frame rate -> new frames
    codec: str = "libx264"
    options: tuple[tuple[str, str], ...] = ()

    def apply(self, frames: Frames, fps: int, path: Path) -> Path:
        changed = self.change(frames, fps)
        return write_video(path, changed, fps=fps, codec=self.codec, options=dict(self.options))


def _smaller(frames: Frames, _: int) -> Frames:
    height, width = frames[0].shape[:2]
    size = (max(16, width // 2) // 2 * 2, max(16, height // 2) // 2 * 2)
    return [
        np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
        for frame in frames
    ]


def _clip(frames: Frames, fps: int) -> Frames:
    # From 30% in to 80% in: starts between the original's one-a-second sample points.
    start, end = int(len(frames) * 0.3) + fps // 3, int(len(frames) * 0.8)
    return frames[start:end]


def _black_first(frames: Frames, fps: int) -> Frames:
    return [np.zeros_like(frames[0])] * (2 * fps) + frames


def _flipped(frames: Frames, _: int) -> Frames:
    return [np.ascontiguousarray(frame[:, ::-1]) for frame in frames]


def _same(frames: Frames, _: int) -> Frames:
    return frames


def _letterboxed(frames: Frames, _: int) -> Frames:
    height, width = frames[0].shape[:2]
    bar = (height // 3) // 2 * 2 // 2  # a 4:3 frame around a 16:9 picture, about
    canvas = np.zeros((height + 2 * bar, width, 3), np.uint8)
    boxed = []
    for frame in frames:
        out = canvas.copy()
        out[bar : bar + height] = frame
        boxed.append(out)
    return boxed


VIDEO_EDITS: tuple[VideoEdit, ...] = (
    VideoEdit("smaller", ".mp4", _smaller, options=(("crf", "30"),)),
    VideoEdit("clip-from-middle", ".mp4", _clip),
    VideoEdit("black-frames-first", ".mp4", _black_first),
    VideoEdit("flipped", ".mp4", _flipped),
    VideoEdit(
        "vp9-webm", ".webm", _same, codec="libvpx-vp9", options=(("crf", "36"), ("b:v", "0"))
    ),
    VideoEdit("letterboxed", ".mp4", _letterboxed),
)
