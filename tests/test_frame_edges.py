"""The straight-edge finder's array forms agree with the plain per-row definitions.

``_steps`` and ``_longest_runs`` were rewritten for speed (whole arrays at once, in
place); the slow forms here are what they were, so the content boxes a scan records
cannot have moved.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from clearsight.signals import frames


def _steps_by_definition(grey: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    step = np.zeros(grey.shape, np.float32)
    step[1:-1] = np.abs(grey[2:] - grey[:-2])
    before = np.zeros_like(step)
    after = np.zeros_like(step)
    before[3:] = step[:-3]
    after[:-3] = step[3:]
    return np.asarray((step >= frames._STEP) & (step >= 2.5 * np.minimum(before, after) + 2))


def _longest_runs_row_by_row(steps: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    kernel = np.ones((1, frames._GAP), np.uint8)
    closed = cv2.morphologyEx(steps.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
    longest = np.zeros(closed.shape[0])
    for row in range(closed.shape[0]):
        if closed[row].mean() < frames._LONGEST_RUN:
            continue
        best = run = 0
        for value in closed[row]:
            run = run + 1 if value else 0
            best = max(best, run)
        longest[row] = best
    return longest


@pytest.mark.parametrize("seed", range(6))
def test_steps_equal_their_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(40):
        height, width = (int(v) for v in rng.integers(1, 120, 2))
        grey = (rng.random((height, width)) * 255).astype(np.float32)
        if rng.random() < 0.5:  # flat patches with hard steps between them, like frames
            grey = (np.round(grey / 64) * 64).astype(np.float32)
        assert np.array_equal(frames._steps(grey), _steps_by_definition(grey))
        edges = frames._Edges.of(grey)
        assert np.array_equal(edges.rows, _steps_by_definition(grey))
        assert np.array_equal(edges.columns, _steps_by_definition(grey.T).T)


@pytest.mark.parametrize("seed", range(6))
def test_longest_runs_equal_a_row_by_row_count(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(40):
        height, width = (int(v) for v in rng.integers(1, 100, 2))
        steps = rng.random((height, width)) < rng.uniform(0.0, 0.9)
        found = frames._longest_runs(steps)
        assert found.dtype == np.float64
        assert np.array_equal(found, _longest_runs_row_by_row(steps))
        # A slice of a wider array, as the edge finder passes one.
        wider = np.zeros((height, width + 7), bool)
        wider[:, 3 : 3 + width] = steps
        assert np.array_equal(frames._longest_runs(wider[:, 3 : 3 + width]), found)


def _median_of_flanks(padded: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """Each position's flanks (3-8 places either side) stacked, and ``np.median``."""
    size = padded.shape[-1] - 16
    shifted = [padded[..., 8 + k : 8 + k + size] for k in (*range(-8, -2), *range(3, 9))]
    median: npt.NDArray[np.floating] = np.median(np.stack(shifted), axis=0)
    return median


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_flank_medians_equal_numpys_median(dtype: type[np.floating]) -> None:
    rng = np.random.default_rng(7)
    for shape in [(1,), (5,), (341,), (512,), (4, 1), (4, 300)]:
        values = rng.random(shape) * 50
        for padded in (values, np.round(values)):  # ties too
            cast = np.pad(padded.astype(dtype), [(0, 0)] * (len(shape) - 1) + [(8, 8)], "edge")
            found = frames._flank_median(cast)
            assert found.dtype == dtype
            assert np.array_equal(found, _median_of_flanks(cast))
