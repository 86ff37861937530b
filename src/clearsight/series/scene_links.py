"""Scene links: two pictures that show one scene, though one was cropped, recoloured,
turned, put in a collage or had a region replaced.

Linking is done in two steps because the two have opposite costs:

* **retrieval** is global and cheap, and decides recall. :func:`candidate_pairs` takes
  each item's PDQ hashes (its own, its query views, its scene views: quadrants and
  centre crops, :mod:`clearsight.signals.scene`) and returns the items with any two
  hashes within a radius, through the multi-index hash, so 100k items never compare
  all pairs. PDQ finds recolours, replaced regions, repaints and collage tiles, but
  moves 40+ bits for a 2% shift or a 1-degree turn, so it misses crops off centre,
  turns, and the same view from another camera. :func:`feature_candidate_pairs`
  finds those: items whose ORB features share enough feature words (32-bit pieces
  of descriptors), grouped by sorting, never by comparing all pairs;
* **confirmation** (:func:`confirm`) is local and costly: ORB features of both pictures,
  a ratio test, and one similarity transform fitted by RANSAC
  (:func:`clearsight.signals.features.verify`). Only that decides a link, so precision
  does not depend on how wide retrieval casts its net. The link records how many
  features agree and how much of the smaller picture the other one covers, so a
  reviewer sees why two pictures were held to share a scene.

``benchmarks/scene_links.py`` measures both steps on an edited-photo set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from clearsight.index.mih import MAX_CHUNKS, MAX_FLIPS, MultiIndexPdqIndex
from clearsight.index.pdq_index import BruteForcePdqIndex, PdqIndex
from clearsight.signals.features import LocalFeatures, verify
from clearsight.signals.pdq import PdqSignal

Size = tuple[int, int]
"""(width, height) of the picture the features were taken from, in the same pixels as
the features' points (the 512-pixel box the scan hashes in)."""

SCENE_RADIUS = 31
"""Retrieval radius. Widening it to 40 or 48 bits finds about 5% more edited pairs (see
:mod:`clearsight.signals.scene`) but costs 5-6 times as much at 10k items and far more
beyond: the multi-index hash then probes 2-3 flips per chunk, not 1."""
MAX_RADIUS = MAX_CHUNKS * (MAX_FLIPS + 1) - 1
"""The widest radius the multi-index hash answers without comparing every code."""
BRUTE_FORCE_BELOW = 4_000
"""Below this many hashes one numpy pass over all codes is cheaper than building tables."""
MIN_OVERLAP = 0.2
"""A similarity that lays less than this share of the smaller picture on the other is
a chance alignment of a few features, or a shared corner too small to call one scene."""
DESCRIPTOR_BYTES = 32
WORD_BYTES = 4
"""A feature word is 32 of a descriptor's 256 bits: its 8 words are its bytes 0-3, 4-7,
and so on. (ORB learned its bit tests to be uncorrelated, so contiguous ones do as
well as tests drawn at random, and cost nothing to cut.)"""
MIN_SHARED_WORDS = 8
"""Feature words two items must share to be a candidate pair. On the benchmark's
edited-photo set (544 items), 8 retrieves 93% of related pairs and 2 unrelated pairs of
148k; 12 retrieves 91% and none."""
COMMON_WORD_ITEMS = 64
"""A feature word held by more items than this is too common to say anything of a pair
(a flat sky, a plain wall), and would cost the square of its holders in pairs."""
FULL_CERTAINTY_INLIERS = 100
"""Agreeing features at which a chance alignment is out of the question (the least
that confirms is 20): below it a link's strength is scaled down in proportion."""


@dataclass(frozen=True)
class SceneGeometry:
    """How one picture lies on another: what :func:`confirm` found.

    ``degrees`` is the turn from picture a to picture b, clockwise as seen; ``scale``
    how much larger a's content is drawn in b (both as hashed, in the 512-pixel box);
    ``overlap`` the share of the smaller picture that the other covers; ``matched_area``
    the share the agreeing features span (their convex hull: less than the overlap where
    the frames align but only a region agrees, and somewhat less anyway, since keypoints
    crowd where there is texture)."""

    pairs: int
    inliers: int
    overlap: float
    degrees: float
    scale: float
    matched_area: float

    @property
    def strength(self) -> float:
        """``overlap * min(1, inliers / 100)``: how much is shared, times how sure."""
        certainty = min(1.0, self.inliers / FULL_CERTAINTY_INLIERS)
        return round(self.overlap * certainty, 4)

    @property
    def reason(self) -> str:
        return (
            f"shares {self.overlap:.0%} of the scene ({self.inliers} matching features "
            f"spanning {self.matched_area:.0%}, turned {self.degrees:.1f}°, "
            f"scaled {self.scale:.2f})"
        )


@dataclass(frozen=True)
class SceneLink:
    """Items ``item_a`` and ``item_b`` show one scene; ``reason`` says why, in words."""

    item_a: int
    item_b: int
    inliers: int
    overlap: float
    strength: float
    reason: str

    @classmethod
    def between(cls, item_a: int, item_b: int, geometry: SceneGeometry) -> SceneLink:
        return cls(
            item_a, item_b, geometry.inliers, geometry.overlap, geometry.strength, geometry.reason
        )


def candidate_pairs(
    item_ids: Sequence[int], codes: Sequence[Sequence[str]], radius: int = SCENE_RADIUS
) -> list[tuple[int, int]]:
    """Every pair ``(a, b)``, ``a < b``, of distinct items with any hash of one within
    ``radius`` bits of any hash of the other; ``codes[i]`` holds item ``item_ids[i]``'s
    hex PDQ hashes (its own, its dihedral hashes, its views'), in any order."""
    if len(item_ids) != len(codes):
        raise ValueError("one list of hashes is needed per item")
    if not 0 <= radius <= MAX_RADIUS:
        raise ValueError(f"radius must be 0 to {MAX_RADIUS}, not {radius}")
    ids = np.asarray(item_ids, dtype=np.int64)
    if np.unique(ids).shape[0] != ids.shape[0]:
        raise ValueError("item ids must be distinct")
    owners = np.repeat(ids, [len(item_codes) for item_codes in codes])
    if not owners.shape[0]:
        return []
    packed = PdqSignal.pack([code for item_codes in codes for code in item_codes])
    index: PdqIndex = (
        BruteForcePdqIndex(packed)
        if packed.shape[0] < BRUTE_FORCE_BELOW
        else MultiIndexPdqIndex.build(packed, radius)
    )
    # Every code is also a query, so each close pair is found from both sides and with
    # itself: keeping a < b drops both repeats and an item's hashes meeting each other.
    hits = index.search_many(packed, radius)
    one, other = owners[hits.queries], owners[hits.positions]
    below = one < other
    pairs = np.unique(np.stack([one[below], other[below]], axis=1), axis=0)
    return [(int(a), int(b)) for a, b in pairs]


def feature_candidate_pairs(
    item_ids: Sequence[int],
    features: Sequence[LocalFeatures],
    min_shared: int = MIN_SHARED_WORDS,
) -> list[tuple[int, int]]:
    """Every pair ``(a, b)``, ``a < b``, of distinct items whose ORB features share at
    least ``min_shared`` feature words (see :func:`feature_words`).

    This is retrieval for what PDQ cannot follow: a crop off centre, a turn, another
    camera on the same tripod. Feature words survive those, since ORB keypoints move
    with the scene and their descriptors turn with it. Pass one item per near-duplicate
    stack: a scene held by more than ``COMMON_WORD_ITEMS`` items loses its words."""
    if len(item_ids) != len(features):
        raise ValueError("one set of features is needed per item")
    ids = np.asarray(item_ids, dtype=np.int64)
    if np.unique(ids).shape[0] != ids.shape[0]:
        raise ValueError("item ids must be distinct")
    owners = np.repeat(np.arange(len(features), dtype=np.uint64), [len(f) for f in features])
    # One word position at a time, so memory stays at one word per keypoint.
    found = [
        _pairs_sharing(_word_column(features, position), owners)
        for position in range(DESCRIPTOR_BYTES // WORD_BYTES)
    ]
    pair_codes, shared = _runs(np.sort(np.concatenate([np.zeros(0, np.uint64), *found])))
    kept = pair_codes[shared >= min_shared]
    one = ids[(kept >> np.uint64(32)).astype(np.int64)]
    other = ids[(kept & np.uint64(0xFFFFFFFF)).astype(np.int64)]
    low, high = np.minimum(one, other).tolist(), np.maximum(one, other).tolist()
    return sorted(zip(low, high, strict=True))


def _word_column(features: Sequence[LocalFeatures], position: int) -> npt.NDArray[np.uint64]:
    """Word ``position`` of every keypoint of every item, item after item."""
    start = position * WORD_BYTES
    column = [
        np.ascontiguousarray(item.descriptors[:, start : start + WORD_BYTES]).view("<u4")[:, 0]
        for item in features
    ]
    return np.concatenate([np.zeros(0, np.uint32), *column]).astype(np.uint64)


def _pairs_sharing(
    words: npt.NDArray[np.uint64], owners: npt.NDArray[np.uint64]
) -> npt.NDArray[np.uint64]:
    """Each pair of owners that share a word, once per word, as ``a << 32 | b``, a < b."""
    held, _ = _runs(np.sort((words << np.uint64(32)) | owners))  # by word, then owner
    word_of = held >> np.uint64(32)
    starts = np.flatnonzero(np.r_[True, word_of[1:] != word_of[:-1]])
    holders = np.diff(np.r_[starts, len(held)])
    owner_of = held & np.uint64(0xFFFFFFFF)
    shared = (holders >= 2) & (holders <= COMMON_WORD_ITEMS)  # most words have one holder
    starts, holders = starts[shared], holders[shared]
    found = [np.zeros(0, np.uint64)]
    for count in np.unique(holders).tolist():
        group_starts = starts[holders == count]
        if len(group_starts):
            groups = owner_of[group_starts[:, None] + np.arange(count)]
            first, second = np.triu_indices(count, 1)
            found.append((groups[:, first] << np.uint64(32) | groups[:, second]).ravel())
    return np.concatenate(found)


def _runs(ordered: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """The distinct values of a sorted array and how often each occurs. (np.unique's
    hashing is ten times slower than a sort on millions of 64-bit keys.)"""
    if not len(ordered):
        return ordered, np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, len(ordered)])


def feature_words(features: LocalFeatures) -> npt.NDArray[np.uint64]:
    """The distinct words of ``features``, each tagged with its position in the
    descriptor (``position << 32 | word``). The same keypoint in two copies differs in
    10-30 of its 256 bits, so it keeps some of its words, while two unrelated keypoints
    rarely share one."""
    tagged = [
        _word_column([features], position) | (np.uint64(position) << np.uint64(32))
        for position in range(DESCRIPTOR_BYTES // WORD_BYTES)
    ]
    ordered, _ = _runs(np.sort(np.concatenate([np.zeros(0, np.uint64), *tagged])))
    return ordered


def confirm(a: LocalFeatures, size_a: Size, b: LocalFeatures, size_b: Size) -> SceneGeometry | None:
    """How picture a lies on picture b, where their features prove they share a scene;
    None where they do not, or share too little of it to say."""
    verdict = verify(a, b)
    if not verdict.confirmed or verdict.matrix is None:
        return None
    overlap = covered_share(verdict.matrix, size_a, size_b)
    if overlap < MIN_OVERLAP:
        return None
    matrix = verdict.matrix
    return SceneGeometry(
        pairs=verdict.pairs,
        inliers=verdict.inliers,
        overlap=round(overlap, 4),
        # The frames may overlap far more than the content does: a photo that lent a
        # patch to a composite lies on it frame for frame, yet shares only the patch.
        matched_area=round(
            matched_share(verdict.inlier_points, matrix, size_a, size_b)
            if verdict.inlier_points is not None
            else overlap,
            4,
        ),
        # Image rows grow downwards, so a positive angle turns clockwise as seen.
        degrees=math.degrees(math.atan2(matrix[1, 0], matrix[0, 0])),
        scale=math.hypot(matrix[0, 0], matrix[1, 0]),
    )


def covered_share(matrix: npt.NDArray[np.float64], size_a: Size, size_b: Size) -> float:
    """The share of the smaller of pictures a and b that the other covers, once a's
    rectangle is carried into b's frame by ``matrix`` (2x3)."""
    mapped = rectangle(size_a) @ matrix[:, :2].T + matrix[:, 2]
    shared = polygon_area(clipped(mapped, size_b))
    area_a = abs(float(np.linalg.det(matrix[:, :2]))) * size_a[0] * size_a[1]
    smaller = min(area_a, float(size_b[0] * size_b[1]))
    return min(1.0, shared / smaller) if smaller > 0 else 0.0


def matched_share(
    points: npt.NDArray[np.float32], matrix: npt.NDArray[np.float64], size_a: Size, size_b: Size
) -> float:
    """The share of the smaller picture spanned by the agreeing features (their convex
    hull, taken in picture a and carried into b's scale by ``matrix``)."""
    if len(points) < 3:
        return 0.0
    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    scale = abs(float(np.linalg.det(matrix[:, :2])))
    area_a = scale * size_a[0] * size_a[1]
    smaller = min(area_a, float(size_b[0] * size_b[1]))
    return min(1.0, polygon_area(hull) * scale / smaller) if smaller > 0 else 0.0


def clipped(polygon: npt.NDArray[np.float64], size: Size) -> npt.NDArray[np.float64]:
    """The part of a convex ``polygon`` inside the rectangle (0, 0)-``size``, clipped one
    side at a time (Sutherland-Hodgman). OpenCV's intersectConvexConvex is not used: it
    misjudges polygons that touch at a corner or an edge, as a copy's frame often does."""
    width, height = size
    sides = ((0, 0.0, False), (0, float(width), True), (1, 0.0, False), (1, float(height), True))
    for axis, edge, keep_below in sides:
        if not len(polygon):
            break
        inside = polygon[:, axis] <= edge if keep_below else polygon[:, axis] >= edge
        kept: list[npt.NDArray[np.float64]] = []
        for index, here in enumerate(polygon):
            following = (index + 1) % len(polygon)
            if inside[index]:
                kept.append(here)
            if inside[index] != inside[following]:  # the side cuts this edge: keep the cut
                after = polygon[following]
                kept.append(
                    here + (edge - here[axis]) / (after[axis] - here[axis]) * (after - here)
                )
        polygon = np.array(kept, dtype=np.float64).reshape(-1, 2)
    return polygon


def polygon_area(polygon: npt.NDArray[np.float64]) -> float:
    """Area by the shoelace formula; 0 for fewer than three corners."""
    if len(polygon) < 3:
        return 0.0
    x, y = polygon[:, 0], polygon[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def rectangle(size: Size) -> npt.NDArray[np.float64]:
    """The corners of a picture of ``size``, clockwise as seen from the top left."""
    width, height = size
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
