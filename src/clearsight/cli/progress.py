"""A terminal progress bar for scans, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
from typing import Never

from tqdm import tqdm


class ProgressBar:
    """A :class:`~clearsight.scan.ScanObserver` that draws rate and ETA with tqdm."""

    def __init__(self, desc: str = "scanning", unit: str = "file") -> None:
        self._bar: tqdm[Never] | None = None
        self._desc, self._unit = desc, unit

    def discovered(self, total: int, already_done: int) -> None:
        self._bar = tqdm(
            total=total,
            initial=already_done,
            unit=self._unit,
            desc=self._desc,
            dynamic_ncols=True,
            disable=not sys.stderr.isatty(),
        )

    def advanced(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
