"""Multi-index hashing: PDQ lookups within a radius without comparing every code.

The 256 bits are cut into m chunks, and each chunk keys a table of the codes that
carry that chunk value. If two codes lie within r bits, then by the pigeonhole principle
at least one chunk differs in at most ``r // m`` bits. Probing every chunk key within
that many flips therefore finds every code within r: the index is exact, not
approximate. Each candidate is then checked on all 256 bits.

The number of chunks trades probes (more flips per chunk when chunks are few) against
candidates (fuller buckets when chunks are short). :meth:`MihLayout.choose` picks it
from the bank's size and radius, within a memory budget for the tables. For 10M codes
at radius 31 that is 11 chunks of 23-24 bits: about 3,100 probes and 3,200 candidates
per query, against 10M comparisons for brute force.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from math import comb
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from clearsight.cores import available_cores
from clearsight.index.pdq_index import BruteForcePdqIndex, Codes, PdqHits

CODE_BITS = 256
MAX_FLIPS = 3
"""Above this many flips per chunk, probes outnumber what a brute-force pass costs."""
MIN_CHUNKS = 11
"""Keys of at most 24 bits: a table of 2**24 bucket bounds is 64 MB."""
MAX_CHUNKS = 32
TABLE_BYTES_PER_CODE = 48
MIN_TABLE_BYTES = 1 << 20
QUERY_BATCH = 256
"""Queries per compiled call: enough to amortise the call, small enough to stay in cache."""

T = TypeVar("T")


@dataclass(frozen=True)
class MihLayout:
    """How the 256 bits are cut into chunks, each chunk keying one table."""

    chunk_bits: tuple[int, ...]

    @classmethod
    def split(cls, chunks: int) -> MihLayout:
        """``chunks`` chunks of as near equal width as 256 bits allow."""
        if not MIN_CHUNKS <= chunks <= MAX_CHUNKS:
            raise ValueError(f"chunks must be {MIN_CHUNKS} to {MAX_CHUNKS}, not {chunks}")
        wide = CODE_BITS % chunks
        narrow = CODE_BITS // chunks
        return cls(tuple([narrow + 1] * wide + [narrow] * (chunks - wide)))

    @classmethod
    def choose(cls, size: int, radius: int) -> MihLayout | None:
        """The cheapest exact layout for ``size`` codes at ``radius``, or None if none pays."""
        budget = max(MIN_TABLE_BYTES, TABLE_BYTES_PER_CODE * size)
        layouts = [cls.split(chunks) for chunks in range(MIN_CHUNKS, MAX_CHUNKS + 1)]
        usable = [
            layout
            for layout in layouts
            if layout.flips(radius) <= MAX_FLIPS and layout.table_bytes() <= budget
        ]
        if not usable:
            return None
        return min(usable, key=lambda layout: layout.expected_cost(size, radius))

    @property
    def chunk_starts(self) -> tuple[int, ...]:
        return tuple(itertools.accumulate(self.chunk_bits, initial=0))[:-1]

    def flips(self, radius: int) -> int:
        return radius // len(self.chunk_bits)

    def table_bytes(self) -> int:
        return sum(((1 << bits) + 1) * 4 for bits in self.chunk_bits)

    def expected_cost(self, size: int, radius: int) -> float:
        """Memory reads per query on random codes: one per probe and one per candidate."""
        flips = self.flips(radius)
        cost = 0.0
        for bits in self.chunk_bits:
            probes = sum(comb(bits, flipped) for flipped in range(flips + 1))
            cost += probes * (1 + size / (1 << bits))
        return cost


class MultiIndexPdqIndex:
    """An exact radius index over ``codes`` (n × 4 uint64), with one table per chunk.

    ``offsets`` holds every chunk's bucket bounds end to end (2**bits + 1 each) and
    ``ids`` every chunk's code numbers sorted by key (n each). Both are uint32: an
    index holds fewer than 2**32 codes.
    """

    def __init__(
        self,
        codes: Codes,
        layout: MihLayout,
        offsets: npt.NDArray[np.uint32],
        ids: npt.NDArray[np.uint32],
    ) -> None:
        size = codes.shape[0]
        if codes.shape != (size, 4) or codes.dtype != np.uint64:
            raise ValueError("codes must be an (n, 4) uint64 array")
        if offsets.shape != (layout.table_bytes() // 4,) or ids.shape != (
            size * len(layout.chunk_bits),
        ):
            raise ValueError("the tables do not fit the layout and the codes")
        self._codes = codes
        self._layout = layout
        self._offsets = offsets
        self._ids = ids
        self._chunk_starts = np.array(layout.chunk_starts, dtype=np.int64)
        self._chunk_bits = np.array(layout.chunk_bits, dtype=np.int64)
        self._table_base = np.array(
            tuple(itertools.accumulate(((1 << b) + 1 for b in layout.chunk_bits), initial=0))[:-1],
            dtype=np.int64,
        )

    @classmethod
    def build(
        cls,
        codes: Codes,
        radius: int,
        layout: MihLayout | None = None,
        threads: int | None = None,
    ) -> MultiIndexPdqIndex:
        """Index ``codes`` for lookups at ``radius`` (the layout is chosen for it)."""
        from clearsight.index import mih_kernels

        codes = np.ascontiguousarray(codes, dtype=np.uint64).reshape(-1, 4)
        if codes.shape[0] >= 1 << 32:
            raise ValueError("an index holds fewer than 2**32 codes")
        # Where no layout pays, lookups fall back to brute force: keep the tables small.
        layout = layout or MihLayout.choose(codes.shape[0], radius) or MihLayout.split(MAX_CHUNKS)
        size = codes.shape[0]
        offsets = np.zeros(layout.table_bytes() // 4, dtype=np.uint32)
        ids = np.empty(size * len(layout.chunk_bits), dtype=np.uint32)
        index = cls(codes, layout, offsets, ids)

        def build_chunk(chunk: int) -> None:
            base = int(index._table_base[chunk])
            bits = layout.chunk_bits[chunk]
            mih_kernels.build_table(
                codes,
                layout.chunk_starts[chunk],
                bits,
                offsets[base : base + (1 << bits) + 1],
                ids[chunk * size : (chunk + 1) * size],
            )

        _run_all(build_chunk, range(len(layout.chunk_bits)), threads)
        return index

    def __len__(self) -> int:
        return int(self._codes.shape[0])

    @property
    def layout(self) -> MihLayout:
        return self._layout

    @property
    def codes(self) -> Codes:
        return self._codes

    @property
    def offsets(self) -> npt.NDArray[np.uint32]:
        return self._offsets

    @property
    def ids(self) -> npt.NDArray[np.uint32]:
        return self._ids

    @property
    def nbytes(self) -> int:
        return int(self._codes.nbytes + self._offsets.nbytes + self._ids.nbytes)

    def search_many(self, queries: Codes, radius: int, threads: int | None = None) -> PdqHits:
        """Every (query, code) pair within ``radius``; ``threads`` defaults to every core."""
        from clearsight.index import mih_kernels

        queries = np.ascontiguousarray(queries, dtype=np.uint64).reshape(-1, 4)
        flips = self._layout.flips(radius)
        if flips > MAX_FLIPS:
            return BruteForcePdqIndex(self._codes).search_many(queries, radius)
        if not len(self) or not queries.shape[0]:
            return PdqHits.empty()
        masks, mask_chunk = _flip_masks(self._layout.chunk_bits, flips)

        def search_batch(
            start: int,
        ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32], int]:
            found_q, found_p, found_d, compared = mih_kernels.search(
                queries[start : start + QUERY_BATCH],
                radius,
                self._codes,
                self._chunk_starts,
                self._chunk_bits,
                self._table_base,
                self._offsets,
                self._ids,
                masks,
                mask_chunk,
            )
            return found_q + start, found_p, found_d, int(compared)

        parts = _run_all(search_batch, range(0, queries.shape[0], QUERY_BATCH), threads)
        return PdqHits.collect(
            np.concatenate([part[0] for part in parts]),
            np.concatenate([part[1] for part in parts]),
            np.concatenate([part[2] for part in parts]).astype(np.int32),
            compared=sum(part[3] for part in parts),
        )


@cache
def _flip_masks(
    chunk_bits: tuple[int, ...], flips: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Every pattern of at most ``flips`` set bits within each chunk, with its chunk."""
    masks: list[int] = []
    owners: list[int] = []
    for chunk, bits in enumerate(chunk_bits):
        for flipped in range(flips + 1):
            for positions in itertools.combinations(range(bits), flipped):
                masks.append(sum(1 << position for position in positions))
                owners.append(chunk)
    return np.array(masks, dtype=np.uint64), np.array(owners, dtype=np.int64)


def _run_all(work: Callable[[int], T], items: range, threads: int | None) -> list[T]:
    """``work`` over ``items`` in order, on ``threads`` threads (the kernels drop the GIL)."""
    workers = min(threads or available_cores(), len(items))
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, items))
