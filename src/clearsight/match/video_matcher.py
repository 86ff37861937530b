"""Match videos against a bank's vPDQ signals: vPDQ's rule, through a Hamming index.

vPDQ compares two videos as unordered bags of frame hashes: frames under quality 50
are dropped, each side is deduplicated, and a frame matches where any frame of the
other side is within distance 31. The result is two percentages, of the query's frames
matched and of the bank video's frames matched; vPDQ calls it a match at 80% of the
query's frames. Here all of a bank's frame hashes sit in one index (brute force when
small, multi-index hashing when large), so a query costs a radius search per frame,
not a comparison with every bank video.

And better than plain vPDQ: the scan also keeps frames sampled between vPDQ's (four
a second), and a query frame counts as matched where any frame of its window does, so
a clip cut between the bank's sample points is found (see :func:`query_frames`). Each
query frame is also tried as a copy would have
changed it: flipped left to right (the mirror hash the scan keeps), and inside black
bars (the trimmed hash, for letterboxed or pillarboxed copies). Each form is scored
on its own, the best kept and named. A bank video found whole inside a longer query
(80% of its frames, and at least :data:`MIN_FRAMES_MATCHED` of them) is a match too:
a compilation that holds a known video. The matched time ranges of the query are kept
for the reviewer.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from clearsight.index.cache import BRUTE_FORCE_BELOW
from clearsight.index.mih import MultiIndexPdqIndex
from clearsight.index.pdq_index import BruteForcePdqIndex, PdqIndex
from clearsight.signals.pdq import PDQ_WORDS, PdqSignal
from clearsight.signals.vpdq import (
    VPDQ_DISTANCE_THRESHOLD,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_QUERY_MATCH_PERCENT,
    VpdqFeature,
    parse_signal_string,
    usable,
)
from clearsight.store.interface import VideoFrameHash, VideoQuery

ORIGINAL = "original"
MIRROR = "flip-horizontal"
TRIMMED = "trim-bars"
FORMS = (ORIGINAL, MIRROR, TRIMMED)
MIN_FRAMES_MATCHED = 3  # a bank video found inside a query needs this many frames at least
RANGE_GAP_SECONDS = 2.5  # matched frames this close together make one time range


@dataclass(frozen=True)
class VideoMatch:
    """A bank video matched by a query video: in which form, how much of each side
    matched, the closest frame distance, and the query's matched time ranges."""

    entry_id: int
    form: str
    query_percent: float
    compared_percent: float
    distance: int
    ranges: tuple[tuple[float, float], ...]

    def describe(self) -> str:
        spans = ", ".join(f"{_clock(start)}-{_clock(end)}" for start, end in self.ranges)
        return (
            f"{self.query_percent:.0f}% of the video's frames, {self.compared_percent:.0f}% "
            f"of the bank video's; at {spans}"
        )


class BankVideos:
    """A bank's vPDQ frames in one index, with each frame's entry."""

    def __init__(self, signals: Iterable[tuple[int, str]]) -> None:
        hexes: list[str] = []
        entries: list[int] = []
        totals: dict[int, int] = {}
        for entry_id, value in signals:
            try:
                frames = usable(parse_signal_string(value))
            except ValueError:
                continue  # the store holds validated values; a damaged one matches nothing
            totals[entry_id] = len(frames)
            hexes.extend(frame.hex for frame in frames)
            entries.extend([entry_id] * len(frames))
        self.totals = totals
        self.entry_ids: npt.NDArray[np.int64] = np.asarray(entries, np.int64)
        codes = PdqSignal.pack(hexes) if hexes else np.zeros((0, PDQ_WORDS), np.uint64)
        self.index: PdqIndex = (
            BruteForcePdqIndex(codes)
            if codes.shape[0] < BRUTE_FORCE_BELOW
            else MultiIndexPdqIndex.build(codes, VPDQ_DISTANCE_THRESHOLD)
        )

    def __len__(self) -> int:
        return len(self.totals)


@dataclass(frozen=True)
class QueryFrames:
    """What a query offers in one form: its windows (vPDQ's frames that count, quality
    50 or more and each hash once, by timestamp), and the hashes of the frames in each
    window (its vPDQ frame's and those sampled around it) with the window they are in."""

    windows: tuple[float, ...]
    hashes: tuple[str, ...]
    window_of: tuple[int, ...]


def query_frames(frames: Sequence[VideoFrameHash], form: str) -> QueryFrames:
    """A query's windows and hashes in ``form`` (see :class:`QueryFrames`).

    A window is vPDQ's frame and the frames sampled nearer it than any other of vPDQ's
    frames, so the share of windows matched is vPDQ's query percentage where the copy
    was sampled at the same points, and stays so where it was cut between them.
    """
    seen: set[str] = set()
    windows: list[float] = []
    for frame in frames:
        if frame.exact and frame.quality >= VPDQ_QUALITY_THRESHOLD and frame.pdq not in seen:
            seen.add(frame.pdq)
            windows.append(frame.timestamp)
    hashes: list[str] = []
    window_of: list[int] = []
    if windows:
        for frame in frames:
            if frame.quality < VPDQ_QUALITY_THRESHOLD:
                continue
            value = _form_of(frame, form)
            if value is None:
                continue
            at = bisect.bisect_left(windows, frame.timestamp)
            if at == len(windows) or (
                at > 0 and frame.timestamp - windows[at - 1] < windows[at] - frame.timestamp
            ):
                at -= 1
            hashes.append(value)
            window_of.append(at)
    return QueryFrames(tuple(windows), tuple(hashes), tuple(window_of))


def _form_of(frame: VideoFrameHash, form: str) -> str | None:
    return frame.pdq if form == ORIGINAL else frame.mirror if form == MIRROR else frame.trimmed


def match_videos(
    queries: Sequence[VideoQuery],
    bank: BankVideos,
    *,
    threshold: int = VPDQ_DISTANCE_THRESHOLD,
    percent: float = VPDQ_QUERY_MATCH_PERCENT,
) -> list[tuple[int, VideoMatch]]:
    """Every (item id, match) of ``queries`` in ``bank``, the best form per pair."""
    if not len(bank) or not queries:
        return []
    best: dict[tuple[int, int], VideoMatch] = {}
    for form in FORMS:
        offered = [(query, query_frames(query.frames, form)) for query in queries]
        hexes = [value for _, frames in offered for value in frames.hashes]
        if not hexes:
            continue
        owners = np.asarray(
            [n for n, (_, frames) in enumerate(offered) for _ in frames.hashes], np.int64
        )
        hits = bank.index.search_many(PdqSignal.pack(hexes), threshold)
        for n, (query, frames) in enumerate(offered):
            scored = _score(n, owners, frames, hits.queries, hits.positions, hits.distances, bank)
            for match in (replace(found, form=form) for found in scored):
                key = (query.item_id, match.entry_id)
                kept = best.get(key)
                if kept is None or _rank(match) > _rank(kept):
                    best[key] = match
    return sorted(
        (
            (item_id, match)
            for (item_id, _), match in best.items()
            if match.query_percent >= percent
            or (
                match.compared_percent >= percent
                and round(match.compared_percent * bank.totals[match.entry_id] / 100)
                >= MIN_FRAMES_MATCHED
            )
        ),
        key=lambda pair: (pair[0], -pair[1].query_percent, pair[1].entry_id),
    )


def _score(
    owner: int,
    owners: npt.NDArray[np.int64],
    frames: QueryFrames,
    query_rows: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    distances: npt.NDArray[np.int32],
    bank: BankVideos,
) -> list[VideoMatch]:
    if not frames.windows:
        return []
    first = int(np.searchsorted(owners, owner))  # this query's first row among all hexes
    mine = owners[query_rows] == owner
    rows, places, gaps = query_rows[mine] - first, positions[mine], distances[mine]
    entries = bank.entry_ids[places]
    window_of = np.asarray(frames.window_of, np.int64)
    found: list[VideoMatch] = []
    for entry_id in np.unique(entries):
        of_entry = entries == entry_id
        matched_windows = np.unique(window_of[rows[of_entry]])
        matched_places = np.unique(places[of_entry])
        total = bank.totals[int(entry_id)]
        found.append(
            VideoMatch(
                entry_id=int(entry_id),
                form=ORIGINAL,
                query_percent=matched_windows.shape[0] * 100 / len(frames.windows),
                compared_percent=matched_places.shape[0] * 100 / total if total else 0.0,
                distance=int(gaps[of_entry].min()),
                ranges=_ranges([frames.windows[int(at)] for at in matched_windows]),
            )
        )
    return found


def _rank(match: VideoMatch) -> tuple[float, float, int]:
    return (match.query_percent, match.compared_percent, -match.distance)


def _ranges(times: list[float]) -> tuple[tuple[float, float], ...]:
    spans: list[tuple[float, float]] = []
    for time in times:
        if spans and time - spans[-1][1] <= RANGE_GAP_SECONDS:
            spans[-1] = (spans[-1][0], time)
        else:
            spans.append((time, time))
    return tuple(spans)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def features_of(frames: Sequence[VideoFrameHash]) -> list[VpdqFeature]:
    """A scanned video's frames as vPDQ features (what a bank or an export keeps)."""
    return [VpdqFeature(frame.pdq, frame.quality, frame.timestamp) for frame in frames]
