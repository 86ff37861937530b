"""Scene links among a case's items: candidates from their hashes, confirmed on their
files.

A case keeps hashes, not pixels, so confirming a candidate reads both files again; a
file is used only if its SHA-256 is still the one scanned, and a file that is gone or
changed simply links to nothing. Pairs already in one near-duplicate stack need no
link. Nothing read here is logged or written anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from clearsight.match.item_features import ItemLocator
from clearsight.media.decode import DecodeLimits, ImageDecodeError, decode_luma
from clearsight.media.stored import StaleFileError, read_scanned
from clearsight.series.scene_links import SCENE_RADIUS, Size, candidate_pairs, confirm
from clearsight.series.stacks import Stack
from clearsight.signals.features import LocalFeatures, extract
from clearsight.signals.pdq import PDQ_WORKING_BOX
from clearsight.store.interface import ItemFile, SceneLinkRecord, TriageItem


class FileSceneLinker:
    """The triage run's linker: reads the files of candidate pairs and confirms them."""

    def __init__(
        self,
        locator: ItemLocator,
        limits: DecodeLimits | None = None,
        radius: int = SCENE_RADIUS,
    ) -> None:
        self._locator = locator
        self._limits = limits or DecodeLimits()
        self._radius = radius

    def __call__(
        self, items: Sequence[TriageItem], stacks: Sequence[Stack]
    ) -> list[SceneLinkRecord]:
        pairs = self.candidates(items, stacks)
        needed = sorted({item for pair in pairs for item in pair})
        features = {
            item_id: found
            for item_id, item in self._locator.item_files(needed).items()
            if (found := self._features(item)) is not None
        }
        links = []
        for a, b in pairs:
            if a in features and b in features:
                geometry = confirm(*features[a], *features[b])
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

    def candidates(
        self, items: Sequence[TriageItem], stacks: Sequence[Stack]
    ) -> list[tuple[int, int]]:
        """Pairs whose hashes meet, less those already stacked together."""
        hashed = [item for item in items if item.pdq is not None]
        pairs = candidate_pairs(
            [item.item_id for item in hashed],
            [[item.pdq or "", *item.dihedral, *item.scene_codes] for item in hashed],
            self._radius,
        )
        stack_of = {member: n for n, stack in enumerate(stacks) for member in stack.members}
        return [(a, b) for a, b in pairs if a not in stack_of or stack_of[a] != stack_of.get(b)]

    def _features(self, item: ItemFile) -> tuple[LocalFeatures, Size] | None:
        try:
            data = read_scanned(item.path, item.sha256, self._limits.max_file_bytes)
            luma = decode_luma(data, self._limits, PDQ_WORKING_BOX).luma
        except (StaleFileError, ImageDecodeError):
            return None
        return extract(luma), (int(luma.shape[1]), int(luma.shape[0]))
