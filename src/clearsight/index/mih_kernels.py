"""The compiled loops of the multi-index hash (numba, machine code cached on disk).

They live apart from :mod:`clearsight.index.mih` so that importing numba, and compiling
on a first run, only happens when a bank is big enough to need them.

Two rules keep these loops fast and right:

- every integer that meets a uint64 is made uint64 or int64 first: numba turns
  uint64-with-int64 arithmetic into float64;
- the search runs in stages (bucket bounds for every probe, then candidate slots,
  then ids, then codes), so each stage is one tight loop of independent loads that the
  CPU can overlap. Walking bucket by bucket instead stalls on every branch and runs
  three to four times slower on a 10M-code index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numba
import numpy as np
import numpy.typing as npt
from numba import types
from numba.extending import intrinsic

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]


def _popcount_typing(typingctx: Any, value: Any) -> Any:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


popcount = cast(Callable[[np.uint64], np.uint64], intrinsic(_popcount_typing))
"""One POPCNT instruction on a uint64: numba has no popcount of its own."""


def _chunk_key(words: U64, row: int, start: int, bits: int) -> np.uint64:
    """Bits ``start .. start+bits`` (big-endian order) of code ``row``, as an integer."""
    word = start // 64
    shift = start % 64
    if shift + bits <= 64:
        key = (words[row, word] >> np.uint64(64 - shift - bits)) & np.uint64((1 << bits) - 1)
        return np.uint64(key)
    low_bits = shift + bits - 64
    high = words[row, word] & np.uint64((1 << (64 - shift)) - 1)
    return np.uint64(
        (high << np.uint64(low_bits)) | (words[row, word + 1] >> np.uint64(64 - low_bits))
    )


chunk_key = numba.njit(inline="always")(_chunk_key)


def _build_table(codes: U64, start: int, bits: int, offsets: U32, ids: U32) -> None:
    """Counting-sort code numbers by one chunk: ``ids[offsets[k]:offsets[k+1]]`` hold key k.

    ``offsets`` has ``2**bits + 1`` zeroed slots; ``ids`` has one slot per code.
    """
    n = codes.shape[0]
    for row in range(n):
        offsets[np.int64(chunk_key(codes, row, start, bits)) + 1] += 1
    for bucket in range(offsets.shape[0] - 1):
        offsets[bucket + 1] += offsets[bucket]
    cursor = offsets[:-1].copy()
    for row in range(n):
        key = np.int64(chunk_key(codes, row, start, bits))
        ids[cursor[key]] = row
        cursor[key] += 1


build_table = numba.njit(nogil=True, cache=True)(_build_table)


def _probe_bounds(
    queries: U64,
    chunk_starts: I64,
    chunk_bits: I64,
    table_base: I64,
    offsets: U32,
    masks: U64,
    mask_chunk: I64,
) -> tuple[U32, U32]:
    """Bucket bounds of every probe of every query, query by query, in mask order."""
    chunks = chunk_starts.shape[0]
    probes = masks.shape[0]
    keys = np.empty(chunks, np.uint64)
    lower = np.empty(queries.shape[0] * probes, np.uint32)
    upper = np.empty(queries.shape[0] * probes, np.uint32)
    slot = 0
    for query in range(queries.shape[0]):
        for chunk in range(chunks):
            keys[chunk] = chunk_key(queries, query, chunk_starts[chunk], chunk_bits[chunk])
        for probe in range(probes):
            chunk = mask_chunk[probe]
            bucket = table_base[chunk] + np.int64(keys[chunk] ^ masks[probe])
            lower[slot] = offsets[bucket]
            upper[slot] = offsets[bucket + 1]
            slot += 1
    return lower, upper


def _candidate_slots(lower: U32, upper: U32, mask_chunk: I64, size: int) -> tuple[I64, I64]:
    """Where in ``ids`` each candidate sits, and which query it is a candidate for."""
    probes = mask_chunk.shape[0]
    total = np.int64(0)
    for slot in range(lower.shape[0]):
        total += np.int64(upper[slot]) - np.int64(lower[slot])
    where = np.empty(total, np.int64)
    owner = np.empty(total, np.int64)
    filled = 0
    for slot in range(lower.shape[0]):
        query = slot // probes
        region = mask_chunk[slot - query * probes] * size
        for index in range(np.int64(lower[slot]), np.int64(upper[slot])):
            where[filled] = region + index
            owner[filled] = query
            filled += 1
    return where, owner


def _gather(where: I64, ids: U32) -> I64:
    candidates = np.empty(where.shape[0], np.int64)
    for index in range(where.shape[0]):
        candidates[index] = ids[where[index]]
    return candidates


def _distances(candidates: I64, owner: I64, codes: U64, queries: U64) -> npt.NDArray[np.int32]:
    """Full 256-bit distance of each candidate, written without a branch."""
    distances = np.empty(candidates.shape[0], np.int32)
    for index in range(candidates.shape[0]):
        code = candidates[index]
        query = owner[index]
        distances[index] = (
            popcount(codes[code, 0] ^ queries[query, 0])
            + popcount(codes[code, 1] ^ queries[query, 1])
            + popcount(codes[code, 2] ^ queries[query, 2])
            + popcount(codes[code, 3] ^ queries[query, 3])
        )
    return distances


probe_bounds = numba.njit(nogil=True, cache=True)(_probe_bounds)
candidate_slots = numba.njit(nogil=True, cache=True)(_candidate_slots)
gather = numba.njit(nogil=True, cache=True)(_gather)
distances = numba.njit(nogil=True, cache=True)(_distances)


def _search(
    queries: U64,
    radius: int,
    codes: U64,
    chunk_starts: I64,
    chunk_bits: I64,
    table_base: I64,
    offsets: U32,
    ids: U32,
    masks: U64,
    mask_chunk: I64,
) -> tuple[I64, I64, npt.NDArray[np.int32], int]:
    """Every (query, code) pair within ``radius``, found through any chunk's probes, and
    how many candidates had their full distance computed.

    ``masks[i]`` is one flip pattern of chunk ``mask_chunk[i]``; together they cover every
    pattern of at most ``radius // chunks`` bits. A code near several chunks is reported
    once per chunk: the caller drops repeats. Each stage is its own loop (see the module
    docstring); fusing them measured twice as slow.
    """
    lower, upper = probe_bounds(
        queries, chunk_starts, chunk_bits, table_base, offsets, masks, mask_chunk
    )
    where, owner = candidate_slots(lower, upper, mask_chunk, codes.shape[0])
    candidates = gather(where, ids)
    found = distances(candidates, owner, codes, queries)
    near = np.flatnonzero(found <= radius)
    return owner[near], candidates[near], found[near], candidates.shape[0]


search = numba.njit(nogil=True, cache=True)(_search)
