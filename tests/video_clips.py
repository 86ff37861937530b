"""Benign video fixtures, made in the tests with PyAV: slow pans over generated landscapes.

Nothing is committed: each clip is encoded on demand (the PyAV wheel carries libx264
and libvpx). Also the vPDQ reference, ``vpdq``, loaded as a test oracle only: it is
built from its source into ``.bench/vpdq`` by ``make`` (it links against the system's
FFmpeg and has no wheels), and the tests that need it skip without it unless
``CLEARSIGHT_REQUIRE_VPDQ=1`` (CI) says it must be there.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import av
import numpy as np
import numpy.typing as npt
import pytest

from clearsight.robustness.landscapes import render_landscape

BENCH_VPDQ = Path(__file__).parent.parent / ".bench" / "vpdq"


def pan_frames(seed: int, width: int, height: int, count: int) -> list[npt.NDArray[np.uint8]]:
    """``count`` frames panning left to right across a landscape twice as wide."""
    wide = render_landscape((seed, 7), width * 2, height)
    return [
        np.ascontiguousarray(wide[:, (k * width) // max(count, 1) :][:, :width])
        for k in range(count)
    ]


def write_clip(
    path: Path,
    frames: Sequence[npt.NDArray[np.uint8]],
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


def pan_clip(
    path: Path,
    seed: int,
    *,
    seconds: int = 3,
    fps: int = 30,
    size: tuple[int, int] = (320, 180),
    codec: str = "libx264",
) -> Path:
    """A ``seconds`` long pan over landscape ``seed``."""
    width, height = size
    return write_clip(path, pan_frames(seed, width, height, seconds * fps), fps=fps, codec=codec)


def vpdq_oracle() -> ModuleType:
    """The ``vpdq`` binding: importable, or built into ``.bench/vpdq``; else a skip (a
    failure where ``CLEARSIGHT_REQUIRE_VPDQ=1``)."""
    if BENCH_VPDQ.is_dir() and str(BENCH_VPDQ) not in sys.path:
        sys.path.append(str(BENCH_VPDQ))
    try:
        return importlib.import_module("vpdq")
    except ImportError:
        if os.environ.get("CLEARSIGHT_REQUIRE_VPDQ") == "1":
            pytest.fail(f"CLEARSIGHT_REQUIRE_VPDQ=1 but vpdq is not importable or in {BENCH_VPDQ}")
        pytest.skip("vpdq is not built (a test oracle only: make .bench/vpdq)")
