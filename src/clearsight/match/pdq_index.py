"""Look PDQ hashes up within a Hamming radius.

:class:`BruteForcePdqIndex` compares every query with every code (numpy XOR and
popcount over four 64-bit words). It is exact, and it is the reference a faster
Hamming-space index must agree with; it is also what the matcher uses until one lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PdqHit:
    """Code number ``position`` of the index lies ``distance`` bits from the query."""

    position: int
    distance: int


class PdqIndex(Protocol):
    def __len__(self) -> int: ...

    def search(self, query: str, radius: int) -> list[PdqHit]:
        """Every code within ``radius`` bits of ``query`` (64 hex digits)."""
        ...


def pack_pdq(hashes: Sequence[str]) -> npt.NDArray[np.uint64]:
    """Hex PDQ hashes as an (n, 4) array of big-endian 64-bit words."""
    raw = b"".join(bytes.fromhex(value) for value in hashes)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(hashes), 4)


class BruteForcePdqIndex:
    def __init__(self, hashes: Sequence[str]) -> None:
        self._codes = pack_pdq(hashes) if hashes else np.zeros((0, 4), dtype=np.uint64)

    def __len__(self) -> int:
        return int(self._codes.shape[0])

    def search(self, query: str, radius: int) -> list[PdqHit]:
        if not len(self):
            return []
        distances = self.distances(query)
        positions = np.flatnonzero(distances <= radius)
        return [PdqHit(int(p), int(distances[p])) for p in positions]

    def distances(self, query: str) -> npt.NDArray[np.int64]:
        """Distance from ``query`` to every code, in index order."""
        words = pack_pdq([query])[0]
        counts: npt.NDArray[np.int64] = np.bitwise_count(self._codes ^ words).sum(
            axis=1, dtype=np.int64
        )
        return counts
