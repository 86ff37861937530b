"""Read a case's items again, to confirm candidate matches with local features.

A case keeps hashes, never pixels, so confirming a candidate means opening the item's
file once more. The file must still be what was scanned: its SHA-256 is checked before
its pixels are used, and a file that is gone, changed or unreadable simply yields no
features, so its candidates stay unconfirmed rather than confirmed on other bytes.
Nothing read here is logged or written anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from clearsight.media.decode import DecodeLimits, ImageDecodeError, decode_luma
from clearsight.media.stored import StaleFileError, read_scanned
from clearsight.signals.features import LocalFeatures, extract
from clearsight.signals.pdq import PDQ_WORKING_BOX
from clearsight.store.interface import ItemFile


class ItemLocator(Protocol):
    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]: ...


class FileItemFeatures:
    """Implements the matcher's ItemFeatures by reading each item's file."""

    def __init__(self, locator: ItemLocator, limits: DecodeLimits | None = None) -> None:
        self._locator = locator
        self._limits = limits or DecodeLimits()

    def features_of(self, item_ids: Sequence[int]) -> Mapping[int, LocalFeatures]:
        found: dict[int, LocalFeatures] = {}
        for item_id, item in self._locator.item_files(item_ids).items():
            features = self._read(item)
            if features is not None:
                found[item_id] = features
        return found

    def _read(self, item: ItemFile) -> LocalFeatures | None:
        try:
            data = read_scanned(item.path, item.sha256, self._limits.max_file_bytes)
            image = decode_luma(data, self._limits, PDQ_WORKING_BOX)
        except (StaleFileError, ImageDecodeError):
            return None
        return extract(image.luma)
