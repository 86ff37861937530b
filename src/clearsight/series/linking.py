"""Scene links among a case's items: candidates by two retrievals, confirmed by keypoints.

Two cheap retrievals propose pairs, neither comparing all pairs: PDQ hashes (each
item's own, its rotations, its query views and its scene views, through the Hamming
index) and ORB feature words (what PDQ cannot follow: an off-centre crop, a turn,
another camera on the same tripod). Feature words run over one item per near-duplicate
stack, since a stack's members show one picture. Each candidate is then confirmed by
RANSAC on the keypoints the scan kept (or, for items scanned before it kept them, on
the file read again with its SHA-256 checked). Pairs already in one stack need no link.
A still and a video meet through the video's kept frames; PDQ within the match
threshold links them (a video has no keypoints).
"""

from __future__ import annotations

from collections.abc import Sequence

from clearsight.match.item_features import FeatureLocator, FileItemFeatures, SizedFeatures
from clearsight.media.decode import DecodeLimits
from clearsight.series.scene_links import (
    SCENE_RADIUS,
    candidate_pairs,
    confirm,
    feature_candidate_pairs,
)
from clearsight.series.stacks import Stack
from clearsight.signals.pdq import PdqSignal
from clearsight.store.interface import SceneLinkRecord, TriageItem

# A still this close (PDQ bits) to a frame the scan kept of a video is that frame.
FRAME_LINK_DISTANCE = 31
# Feature-word retrieval holds every representative's keypoints in memory (16 KB each):
# beyond this many, a case is linked through its PDQ hashes alone.
FEATURE_WORDS_UP_TO = 100_000


class SceneLinker:
    """The triage run's linker."""

    def __init__(
        self,
        locator: FeatureLocator,
        limits: DecodeLimits | None = None,
        radius: int = SCENE_RADIUS,
        feature_words_up_to: int = FEATURE_WORDS_UP_TO,
    ) -> None:
        self._features = FileItemFeatures(locator, limits)
        self._radius = radius
        self._feature_words_up_to = feature_words_up_to

    def __call__(
        self, items: Sequence[TriageItem], stacks: Sequence[Stack]
    ) -> list[SceneLinkRecord]:
        stack_of = {member: n for n, stack in enumerate(stacks) for member in stack.members}
        representatives = _representatives(items, stacks, stack_of)
        known: dict[int, SizedFeatures] = {}
        pairs = set(self.hash_candidates(items))
        if len(representatives) <= self._feature_words_up_to:
            known = self._features.sized(representatives)
            ids = sorted(known)
            pairs.update(feature_candidate_pairs(ids, [known[i].features for i in ids]))
        pairs = {(a, b) for a, b in pairs if a not in stack_of or stack_of[a] != stack_of.get(b)}
        missing = sorted({item for pair in pairs for item in pair} - known.keys())
        known.update(self._features.sized(missing))
        by_id = {item.item_id: item for item in items}
        links = []
        for a, b in sorted(pairs):
            frame_link = video_frame_link(by_id[a], by_id[b])
            if frame_link is not None:
                links.append(frame_link)
            elif a in known and b in known:
                geometry = confirm(
                    known[a].features, known[a].size, known[b].features, known[b].size
                )
                if geometry is not None:
                    links.append(
                        SceneLinkRecord(
                            a,
                            b,
                            geometry.inliers,
                            geometry.overlap,
                            geometry.strength,
                            geometry.reason,
                        )
                    )
        return links

    def hash_candidates(self, items: Sequence[TriageItem]) -> list[tuple[int, int]]:
        """Pairs whose PDQ hashes (own, rotated, views, scene views) meet."""
        hashed = [item for item in items if item.pdq is not None]
        return candidate_pairs(
            [item.item_id for item in hashed],
            [
                [item.pdq or "", *item.dihedral, *item.view_codes, *item.scene_codes]
                for item in hashed
            ],
            self._radius,
        )


def video_frame_link(one: TriageItem, other: TriageItem) -> SceneLinkRecord | None:
    """A link between a still and a video it is a frame of: the still's PDQ within
    :data:`FRAME_LINK_DISTANCE` of one of the video's frames (its PDQ and views: the
    shots' first frames and every frame the scan kept, four a second). A video has no
    keypoints to confirm with; PDQ within the match threshold is what a bank match
    would ask of the same pair."""
    kinds = {one.kind, other.kind}
    if kinds != {"video", "image"}:
        return None
    video, still = (one, other) if one.kind == "video" else (other, one)
    if still.pdq is None or video.pdq is None:
        return None
    frames = (video.pdq, *video.view_codes)
    distance = min(
        PdqSignal.distance(code, frame) for code in (still.pdq, *still.dihedral) for frame in frames
    )
    if distance > FRAME_LINK_DISTANCE:
        return None
    a, b = sorted((one.item_id, other.item_id))
    return SceneLinkRecord(a, b, 0, 1.0, 1.0, f"a frame of the video (PDQ distance {distance})")


def _representatives(
    items: Sequence[TriageItem], stacks: Sequence[Stack], stack_of: dict[int, int]
) -> list[int]:
    """One item per stack, and every picture in none."""
    alone = [
        item.item_id for item in items if item.item_id not in stack_of and item.kind == "image"
    ]
    return sorted([stack.representative for stack in stacks] + alone)
