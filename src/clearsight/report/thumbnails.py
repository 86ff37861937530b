"""Blurred greyscale thumbnails for the HTML report, as ``data:`` URIs.

Only on request (``--thumbnails blurred``): by default a report holds no imagery at all.
The pictures come from the review previewer, so a report shows exactly what a reviewer's
list shows: re-read from the file the scan hashed (a changed file is refused),
downscaled, blurred at the organisation's setting and always greyscale here, whatever a
reviewer's own preference, since a report travels further than a screen.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from clearsight.review.preview import PreviewError, PreviewRenderer
from clearsight.review.settings import PreviewPrefs, ReviewSettings
from clearsight.store.interface import ItemFile


class ItemFiles(Protocol):
    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]: ...


@dataclass(frozen=True)
class Thumbnail:
    data_uri: str | None
    problem: str | None = None  # why there is none


class BlurredThumbnails:
    def __init__(self, items: ItemFiles, settings: ReviewSettings) -> None:
        self._renderer = PreviewRenderer(items)
        self._prefs = PreviewPrefs.resolve(None, True, None, settings)

    def __call__(self, item_id: int) -> Thumbnail:
        try:
            preview = self._renderer.thumbnail(item_id, self._prefs)
        except PreviewError as error:
            return Thumbnail(None, error.problem.value)
        encoded = base64.b64encode(preview.data).decode("ascii")
        return Thumbnail(f"data:{preview.media_type};base64,{encoded}")
