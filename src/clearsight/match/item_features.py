"""Local features of a case's items, to confirm candidate matches and scene links.

A case keeps hashes and keypoints, never pixels. The scan keeps each item's ORB
keypoints; an item scanned before it did so has its file opened once more. That file
must still be what was scanned: its SHA-256 is checked before its pixels are used, and
a file that is gone, changed or unreadable simply yields no features, so its candidates
stay unconfirmed rather than confirmed on other bytes. Nothing read here is logged or
written anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import numpy as np
import numpy.typing as npt

from clearsight.media.decode import DecodeLimits, ImageDecodeError, decode_luma
from clearsight.media.stored import StaleFileError, read_scanned
from clearsight.signals.features import LocalFeatures, extract
from clearsight.signals.pdq import PDQ_WORKING_BOX
from clearsight.signals.variants import tile_features
from clearsight.store.interface import ItemFile, PackedFeatures


class ItemLocator(Protocol):
    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]: ...


class FeatureLocator(ItemLocator, Protocol):
    def stored_features(self, item_ids: Sequence[int]) -> dict[int, PackedFeatures]: ...


@dataclass(frozen=True)
class SizedFeatures:
    """Keypoints and the size (width, height) of the picture they lie on."""

    features: LocalFeatures
    size: tuple[int, int]


class FileItemFeatures:
    """Implements the matcher's ItemFeatures: the keypoints the scan kept, else those of
    the item's file read again."""

    def __init__(self, locator: FeatureLocator, limits: DecodeLimits | None = None) -> None:
        self._locator = locator
        self._limits = limits or DecodeLimits()

    def features_of(self, item_ids: Sequence[int]) -> Mapping[int, LocalFeatures]:
        return {item_id: found.features for item_id, found in self.sized(item_ids).items()}

    def tile_features_of(
        self, item_ids: Sequence[int]
    ) -> Mapping[int, Sequence[tuple[str, LocalFeatures]]]:
        """Keypoints of each tile of those items that are collages. The scan keeps no
        tile's keypoints (few files are collages), so the file is read again, as
        checked as for the whole picture's."""
        found: dict[int, Sequence[tuple[str, LocalFeatures]]] = {}
        for item_id, item in self._locator.item_files(item_ids).items():
            try:
                data = read_scanned(item.os_path, item.sha256, self._limits.max_file_bytes)
                luma = decode_luma(data, self._limits, PDQ_WORKING_BOX).luma
                found[item_id] = tile_features(luma, partial(self._decode, data))
            except (StaleFileError, ImageDecodeError):
                continue
        return found

    def _decode(self, data: bytes, box: int) -> npt.NDArray[np.uint8]:
        return decode_luma(data, self._limits, box).luma

    def sized(self, item_ids: Sequence[int]) -> dict[int, SizedFeatures]:
        """Keypoints with their picture's size, of the items that have them."""
        found = {
            item_id: SizedFeatures(
                LocalFeatures.from_bytes(packed.data), (packed.width, packed.height)
            )
            for item_id, packed in self._locator.stored_features(item_ids).items()
        }
        unread = [item_id for item_id in item_ids if item_id not in found]
        for item_id, item in self._locator.item_files(unread).items():
            features = self._read(item)
            if features is not None:
                found[item_id] = features
        return found

    def _read(self, item: ItemFile) -> SizedFeatures | None:
        try:
            data = read_scanned(item.os_path, item.sha256, self._limits.max_file_bytes)
            luma = decode_luma(data, self._limits, PDQ_WORKING_BOX).luma
        except (StaleFileError, ImageDecodeError):
            return None
        return SizedFeatures(extract(luma), (int(luma.shape[1]), int(luma.shape[0])))
