"""Origin evidence of a video: its C2PA manifest, and its container's tags as weak hints.

Phones write their make and model into the container (``com.apple.quicktime.make``,
``com.android.manufacturer``, ``make``/``model``), and some generators and editors name
themselves in ``encoder`` or ``software``. Tags are trivially edited, so each is weak
evidence, named with the tag and its value; a video without any is inconclusive, never
"not a camera". C2PA manifests in MP4/MOV are read by the same detector as pictures'.
"""

from __future__ import annotations

from collections.abc import Sequence

from clearsight.origin.c2pa_manifest import C2paDetector
from clearsight.origin.evidence import Detector, Evidence, OriginInput, PointsTo, Strength
from clearsight.origin.examine import examine
from clearsight.origin.stage import record_of
from clearsight.store.interface import ItemOrigin

KIND = "video-metadata"
_MAKE_TAGS = ("com.apple.quicktime.make", "com.android.manufacturer", "make")
_MODEL_TAGS = ("com.apple.quicktime.model", "com.android.model", "model")
_SOFTWARE_TAGS = ("software", "com.apple.quicktime.software", "encoder")
# Video generators that name themselves in a tag (lower case, matched as words).
GENERATOR_NAMES = ("sora", "veo", "runway", "pika", "kling", "luma dream machine", "hailuo")


class VideoTagsDetector:
    """Weak evidence from a video's container tags (see the module's docstring)."""

    def __init__(self, tags: Sequence[tuple[str, str]]) -> None:
        self._tags = dict(tags)

    @property
    def name(self) -> str:
        return KIND

    def examine(self, file: OriginInput) -> list[Evidence]:
        found: list[Evidence] = []
        make = next((f"{t}={self._tags[t]}" for t in _MAKE_TAGS if self._tags.get(t)), None)
        model = next((f"{t}={self._tags[t]}" for t in _MODEL_TAGS if self._tags.get(t)), None)
        if make or model:
            named = "; ".join(part for part in (make, model) if part)
            found.append(
                Evidence(
                    KIND, PointsTo.CAMERA, Strength.WEAK, f"camera tags in the container: {named}"
                )
            )
        for tag in _SOFTWARE_TAGS:
            value = self._tags.get(tag, "")
            lowered = f" {value.lower()} "
            generator = next((g for g in GENERATOR_NAMES if f" {g} " in lowered), None)
            if generator is not None:
                found.append(
                    Evidence(KIND, PointsTo.AI, Strength.WEAK, f"container tag {tag}={value}")
                )
        return found


# A video up to this size is read whole for its C2PA manifest (the SDK reads the file's
# boxes); a larger one is weighed by its tags alone, so a worker's memory stays bounded.
C2PA_VIDEO_BYTES = 64 * 1024 * 1024


def examine_video(
    path: str, size: int, media_type: str, tags: Sequence[tuple[str, str]], *, keep_prompts: bool
) -> ItemOrigin:
    """The origin record of the video at ``path`` (``size`` bytes) with container tags
    ``tags``: its C2PA manifest where it is small enough to read whole, and its tags."""
    detectors: list[Detector] = [VideoTagsDetector(tags)]
    data = b""
    if size <= C2PA_VIDEO_BYTES:
        try:
            with open(path, "rb") as handle:
                data = handle.read(C2PA_VIDEO_BYTES + 1)
        except OSError:
            data = b""
        if 0 < len(data) <= C2PA_VIDEO_BYTES:
            detectors.insert(0, C2paDetector())
    found = examine(OriginInput(data, media_type), detectors)
    return record_of(found, keep_prompts=keep_prompts)
