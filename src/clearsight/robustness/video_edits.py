"""Generated benign videos and the edits copies of videos go through, for tests and
benchmarks: slow pans over generated landscapes, encoded with the codecs PyAV's wheel
carries (libx264, libvpx-vp9), and edited as re-uploads are. Footage of other kinds,
zooms over photos and drifting patterns, is what false-match checks hold the landscapes
against, so that no check only compares one generator's output with itself.

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


def photo_pan_frames(photo: Path, width: int, height: int, count: int) -> Frames:
    """``count`` frames of a slow zoom and pan across a photo (a camera's picture, say):
    footage of another kind than the generated landscapes, for false-match checks."""
    from PIL import Image

    with Image.open(photo) as opened:
        picture = np.asarray(opened.convert("RGB"))
    rows, columns = picture.shape[:2]
    # Crop the photo's middle to the frame's shape, then move a window over it that
    # starts at the whole crop and closes in on a quarter to the lower right.
    side = min(columns / width, rows / height)
    crop_w, crop_h = int(width * side), int(height * side)
    top, left = (rows - crop_h) // 2, (columns - crop_w) // 2
    frames: Frames = []
    for k in range(count):
        t = k / max(count - 1, 1)
        scale = 1.0 - 0.25 * t
        w, h = int(crop_w * scale), int(crop_h * scale)
        y, x = top + int((crop_h - h) * t), left + int((crop_w - w) * t)
        window = np.ascontiguousarray(picture[y : y + h, x : x + w])
        small = cv2.resize(window, (width, height), interpolation=cv2.INTER_AREA)
        frames.append(np.asarray(small, np.uint8))
    return frames


def pattern_frames(seed: int, width: int, height: int, count: int) -> Frames:
    """``count`` frames of drifting coloured stripes and discs from ``seed``: generated
    footage of yet another kind, with no landscape in it."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(0.1, 0.4) * width
    colours = rng.integers(0, 256, (3, 3)).astype(np.float32)
    discs = [
        (rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.05, 0.2) * height)
        for _ in range(4)
    ]
    frames: Frames = []
    for k in range(count):
        phase = 2 * np.pi * k / 90
        wave = np.sin((xs * np.cos(angle) + ys * np.sin(angle)) * 2 * np.pi / period + phase)
        mix = (wave[..., None] + 1) / 2
        frame = mix * colours[0] + (1 - mix) * colours[1]
        for cx, cy, radius in discs:
            inside = (xs - cx - 2 * k) ** 2 + (ys - cy) ** 2 <= radius**2
            frame[inside] = colours[2]
        frames.append(frame.clip(0, 255).astype(np.uint8))
    return frames


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
