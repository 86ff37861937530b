"""Local features: proof that two pictures show the same scene, point for point.

A PDQ distance says two pictures look alike overall; it cannot tell a crop of a photo
from a different photo of a similar view once the distance grows. ORB keypoints can:
if hundreds of corners in one picture find their twins in the other, and one rotation,
scale and shift carries most of those twins onto each other (checked by RANSAC), the
two share that part of the scene. That is what confirms a candidate PDQ left open,
without loosening the PDQ threshold for everything else.

Features are taken from the same 512-pixel luma the PDQ hash is made from, and packed
small (about 16 KB for 400 keypoints) so a bank can keep them beside its hashes.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

MAX_KEYPOINTS = 400
# Lowe's ratio: a twin must be clearly closer than the next best candidate.
RATIO = 0.8
# RANSAC: a pair agrees with the fitted transform within this many pixels (512 box).
REPROJECTION_PX = 4.0
# Confirmation needs this many agreeing pairs, and this share of the ratio-test pairs.
MIN_INLIERS = 20
MIN_INLIER_SHARE = 0.25
# A similarity between a copy and its original scales by no more than this either way.
MAX_SCALE = 4.0
# ORB's default patch is 31 pixels wide with an edge of the same: nothing smaller holds
# a keypoint.
MIN_SIDE = 32
_DESCRIPTOR_BYTES = 32


@dataclass(frozen=True)
class LocalFeatures:
    """ORB keypoints: positions (n, 2) float32 and descriptors (n, 32) uint8."""

    points: npt.NDArray[np.float32]
    descriptors: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def to_bytes(self) -> bytes:
        """The keypoint count, the points, then the descriptors, little-endian."""
        count = np.array([len(self)], dtype="<u4").tobytes()
        return count + self.points.astype("<f4").tobytes() + self.descriptors.tobytes()

    @classmethod
    def from_bytes(cls, raw: bytes) -> LocalFeatures:
        count = int(np.frombuffer(raw[:4], dtype="<u4")[0]) if len(raw) >= 4 else -1
        points_end = 4 + count * 8
        if count < 0 or len(raw) != points_end + count * _DESCRIPTOR_BYTES:
            raise ValueError("stored local features are truncated")
        points = np.frombuffer(raw[4:points_end], dtype="<f4").reshape(count, 2)
        descriptors = np.frombuffer(raw[points_end:], dtype=np.uint8)
        return cls(points.astype(np.float32), descriptors.reshape(count, _DESCRIPTOR_BYTES).copy())

    def to_text(self) -> str:
        """Base64 of :meth:`to_bytes`, for a text column."""
        return base64.b64encode(self.to_bytes()).decode("ascii")

    @classmethod
    def from_text(cls, text: str) -> LocalFeatures:
        return cls.from_bytes(base64.b64decode(text.encode("ascii"), validate=True))


@dataclass(frozen=True)
class Verification:
    """How two pictures' features agree: pairs that passed the ratio test, and how
    many of those one similarity transform explains. ``matrix`` is that transform
    (2x3, query points to reference points) where RANSAC found one within scale."""

    pairs: int
    inliers: int
    matrix: npt.NDArray[np.float64] | None = field(default=None, compare=False)
    # Where the agreeing pairs lie in the query picture: the part of it that is shared.
    inlier_points: npt.NDArray[np.float32] | None = field(default=None, compare=False)

    @property
    def confirmed(self) -> bool:
        return self.inliers >= MIN_INLIERS and self.inliers >= MIN_INLIER_SHARE * self.pairs


def extract(luma: npt.NDArray[np.uint8]) -> LocalFeatures:
    """Up to MAX_KEYPOINTS ORB keypoints of ``luma``; none for a picture too small to
    hold one (ORB's pyramid cannot shrink a sliver of a few pixels)."""
    if min(luma.shape[:2]) < MIN_SIDE:
        return _no_features()
    orb = cv2.ORB.create(nfeatures=MAX_KEYPOINTS)
    try:
        keypoints, descriptors = orb.detectAndCompute(stretched(luma), None)
    except cv2.error:
        return _no_features()
    if descriptors is None or not keypoints:
        return _no_features()
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32)
    return LocalFeatures(points, np.asarray(descriptors, dtype=np.uint8))


def _no_features() -> LocalFeatures:
    return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, _DESCRIPTOR_BYTES), np.uint8))


def stretched(luma: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``luma`` with its 1st-99th percentile range stretched over 0-255.

    ORB's corner test compares brightness differences with a fixed threshold, so a dark,
    flat photo (a night street) yields almost no keypoints and no copy of it could be
    confirmed. A linear stretch is the same for a copy whose brightness or contrast was
    changed, unlike local equalisation, which differs as soon as the frame around the
    picture does (a collage, a border)."""
    low, high = uint8_percentiles(luma, (1, 99))
    if high - low < 1:
        return luma
    # A picture has 256 grey levels: stretch the levels (as float32, as ever), then look
    # each pixel up, rather than four passes of arithmetic over every pixel.
    levels = np.arange(256, dtype=np.float32)
    scaled = (levels - np.float32(low)) * np.float32(255 / (high - low))
    table = np.clip(scaled, 0, 255).astype(np.uint8)
    result: npt.NDArray[np.uint8] = table[luma]
    return result


def uint8_percentiles(values: npt.NDArray[np.uint8], percents: tuple[float, ...]) -> list[float]:
    """``np.percentile(values, percents)`` of 8-bit values, bit for bit, from their
    histogram instead of a partition of every value (a few times faster)."""
    cumulative = np.cumsum(np.bincount(values.ravel(), minlength=256))
    last = int(values.size) - 1

    def ranked(rank: int) -> float:
        return float(np.searchsorted(cumulative, rank, side="right"))

    found = []
    for percent in percents:
        # numpy's "linear" method, and its way of interpolating (numpy's _lerp).
        virtual = (percent / 100) * last
        below = math.floor(virtual)
        gamma = virtual - below
        a, b = ranked(below), ranked(min(below + 1, last))
        found.append(b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma)
    return found


def verify(query: LocalFeatures, reference: LocalFeatures) -> Verification:
    """Whether ``query`` shows (part of) the scene of ``reference``, up to a similarity."""
    if len(query) < MIN_INLIERS or len(reference) < MIN_INLIERS:
        return Verification(0, 0)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = [
        best
        for best, second in (
            found
            for found in matcher.knnMatch(query.descriptors, reference.descriptors, k=2)
            if len(found) == 2
        )
        if best.distance < RATIO * second.distance
    ]
    if len(pairs) < MIN_INLIERS:
        return Verification(len(pairs), 0)
    source = query.points[[pair.queryIdx for pair in pairs]]
    target = reference.points[[pair.trainIdx for pair in pairs]]
    matrix, inlier_mask = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX
    )
    if matrix is None or inlier_mask is None:
        return Verification(len(pairs), 0)
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if not 1 / MAX_SCALE <= scale <= MAX_SCALE:
        return Verification(len(pairs), 0)
    agreeing = inlier_mask.ravel().astype(bool)
    return Verification(
        len(pairs), int(agreeing.sum()), np.asarray(matrix, np.float64), source[agreeing]
    )
