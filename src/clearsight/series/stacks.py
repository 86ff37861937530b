"""Near-duplicate stacks: items whose PDQ hashes (with rotations and flips) are close,
or whose bytes are identical, so the same picture is looked at once.

Pairs come from the PDQ index (multi-index hashing), never from comparing all pairs:
each item's own hash is indexed once and looked up with its eight dihedral hashes, so a
case of a million items stacks in the time of a million lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clearsight.index.mih import MultiIndexPdqIndex
from clearsight.index.pdq_index import BruteForcePdqIndex, PdqIndex
from clearsight.series.groups import Groups
from clearsight.signals.pdq import PdqSignal

# Below this many hashes a brute-force pass is cheaper than building tables (the
# brute-force index loops over queries in Python: at 10k items it is 10x slower).
BRUTE_FORCE_BELOW = 1_000


@dataclass(frozen=True)
class StackInput:
    """What stacking needs of an item: its hashes, and how to pick a representative."""

    item_id: int
    sha256: str | None
    pdq: str | None  # None where the item has no usable hash (quality below 50)
    dihedral: tuple[str, ...]
    pixels: int  # width x height; 0 for non-images
    size: int  # bytes


@dataclass(frozen=True)
class Stack:
    members: tuple[int, ...]  # item ids, sorted
    representative: int


def near_duplicate_pairs(items: Sequence[StackInput], distance: int) -> list[tuple[int, int]]:
    """Pairs of items within ``distance`` (any dihedral form), and pairs of equal bytes."""
    pairs: list[tuple[int, int]] = []
    hashed = [item for item in items if item.pdq is not None]
    if hashed:
        codes = PdqSignal.pack([item.pdq for item in hashed if item.pdq is not None])
        index: PdqIndex = (
            BruteForcePdqIndex(codes)
            if len(hashed) < BRUTE_FORCE_BELOW
            else MultiIndexPdqIndex.build(codes, distance)
        )
        owners: list[int] = []
        queries: list[str] = []
        for position, item in enumerate(hashed):
            for code in (item.pdq, *item.dihedral):
                if code is not None:
                    queries.append(code)
                    owners.append(position)
        hits = index.search_many(PdqSignal.pack(queries), distance)
        ids = np.asarray([item.item_id for item in hashed], dtype=np.int64)
        one = ids[np.asarray(owners, dtype=np.int64)[hits.queries]]
        other = ids[hits.positions]
        apart = one != other  # never an item with itself
        low, high = np.minimum(one, other)[apart], np.maximum(one, other)[apart]
        found = {(int(a), int(b)) for a, b in zip(low, high, strict=True)}
        pairs.extend(sorted(found))
    by_digest: dict[str, int] = {}
    for item in items:
        if item.sha256 is None:
            continue
        seen = by_digest.setdefault(item.sha256, item.item_id)
        if seen != item.item_id:
            pairs.append((seen, item.item_id))
    return pairs


def stacks_of(items: Sequence[StackInput], distance: int) -> list[Stack]:
    """The stacks of two or more items; each item is in one stack at most."""
    groups = Groups()
    groups.join_all(near_duplicate_pairs(items, distance))
    by_id = {item.item_id: item for item in items}
    return [
        Stack(tuple(members), _representative([by_id[m] for m in members]))
        for members in groups.groups(by_id)
    ]


def _representative(members: Sequence[StackInput]) -> int:
    """The largest picture, then the largest file, then the first recorded."""
    best = max(members, key=lambda item: (item.pixels, item.size, -item.item_id))
    return best.item_id
