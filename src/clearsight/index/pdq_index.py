"""Look PDQ hashes up within a Hamming radius.

An index answers a batch of queries at once, because a scan matches in batches and
because batching is what lets the fast index overlap its memory reads.
:class:`BruteForcePdqIndex` compares every query with every code (numpy XOR and
popcount over four 64-bit words). It is exact, it is what small banks use, and it is
the reference the multi-index hash (:mod:`clearsight.index.mih`) must agree with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from clearsight.signals.pdq import PdqCodes

Codes = PdqCodes
"""PDQ hashes as an (n, 4) array of big-endian 64-bit words (``PdqSignal.pack``)."""


@dataclass(frozen=True)
class PdqHits:
    """Query ``queries[i]`` lies ``distances[i]`` bits from code ``positions[i]``.

    Each (query, position) pair appears once; pairs are sorted by query, then position.
    ``compared`` counts the full 256-bit distances the index computed to find them:
    every query against every code for brute force, the candidates for an index. It is
    what an index saves, and what a test can check it saved.
    """

    queries: npt.NDArray[np.int64]
    positions: npt.NDArray[np.int64]
    distances: npt.NDArray[np.int32]
    compared: int = 0

    def __len__(self) -> int:
        return int(self.queries.shape[0])

    @classmethod
    def empty(cls, compared: int = 0) -> PdqHits:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32), compared)

    @classmethod
    def collect(
        cls,
        queries: npt.NDArray[np.int64],
        positions: npt.NDArray[np.int64],
        distances: npt.NDArray[np.int32],
        compared: int = 0,
    ) -> PdqHits:
        """Sort raw hits and drop repeats (an index may find one code more than once)."""
        order = np.lexsort((positions, queries))
        queries, positions, distances = queries[order], positions[order], distances[order]
        first = np.ones(queries.shape[0], dtype=bool)
        first[1:] = (queries[1:] != queries[:-1]) | (positions[1:] != positions[:-1])
        return cls(queries[first], positions[first], distances[first], compared)


class PdqIndex(Protocol):
    def __len__(self) -> int: ...

    def search_many(self, queries: Codes, radius: int) -> PdqHits:
        """Every (query, code) pair within ``radius`` bits; ``queries`` packed as codes."""
        ...


def distances_to(codes: Codes, query: npt.NDArray[np.uint64]) -> npt.NDArray[np.int32]:
    """Distance from one packed ``query`` to every code, in index order."""
    counts: npt.NDArray[np.int32] = np.bitwise_count(codes ^ query).sum(axis=1, dtype=np.int32)
    return counts


class BruteForcePdqIndex:
    def __init__(self, codes: Codes) -> None:
        self._codes = codes.reshape(-1, 4)

    def __len__(self) -> int:
        return int(self._codes.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self._codes.nbytes)

    def search_many(self, queries: Codes, radius: int) -> PdqHits:
        found_q: list[npt.NDArray[np.int64]] = []
        found_p: list[npt.NDArray[np.int64]] = []
        found_d: list[npt.NDArray[np.int32]] = []
        for number, query in enumerate(queries.reshape(-1, 4)):
            distances = distances_to(self._codes, query)
            positions = np.flatnonzero(distances <= radius)
            found_q.append(np.full(positions.shape[0], number, dtype=np.int64))
            found_p.append(positions.astype(np.int64))
            found_d.append(distances[positions])
        if not found_q:
            return PdqHits.empty()
        return PdqHits.collect(
            np.concatenate(found_q),
            np.concatenate(found_p),
            np.concatenate(found_d),
            compared=len(found_q) * len(self),
        )
