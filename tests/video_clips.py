"""Benign video fixtures for the tests, and the vPDQ reference as a test oracle.

Videos are made on demand with PyAV (:mod:`clearsight.robustness.video_edits`), never
committed. ``vpdq``, Meta's binding, is loaded as a test oracle only: it is built from
its source into ``.bench/vpdq`` by ``make`` (it links against the system's FFmpeg and
has no wheels), and the tests that need it skip without it unless
``CLEARSIGHT_REQUIRE_VPDQ=1`` (CI) says it must be there.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from clearsight.robustness.video_edits import pan_frames, write_video

BENCH_VPDQ = Path(__file__).parent.parent / ".bench" / "vpdq"

__all__ = ["pan_clip", "pan_frames", "vpdq_oracle", "write_clip"]

write_clip = write_video


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
    return write_video(path, pan_frames(seed, width, height, seconds * fps), fps=fps, codec=codec)


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
        pytest.skip("vpdq is not built (a test oracle only: make .bench/vpdq/.built)")
