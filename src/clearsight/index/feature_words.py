"""An inverted index over the ORB feature words of a bank's pictures.

PDQ finds a copy only while the picture as a whole stays put: an off-centre crop of
10% or a turn of 3 degrees moves the hash 40 bits or more, out of any useful radius.
ORB keypoints move with the scene instead, and their descriptors keep many of their
bits (a copy's twin of a keypoint differs in 10-30 of 256). So an own bank (made with
``bank add``, which keeps each picture's keypoints) is also searched by **feature
words**: 32-bit pieces of descriptors, as :mod:`clearsight.series.scene_links` cuts
them. An entry that shares many words with the query is a candidate; local features
and RANSAC (:func:`clearsight.signals.features.verify`) then decide, so retrieval may
cast a wide net without loosening what a match means.

Why our own: faiss's binary indexes answer nearest neighbours per descriptor (hundreds
per query picture, each a search) and would hold all 32 bytes of every descriptor; an
exact-word inverted list is what the retrieval needs and is a few sorted arrays.

Size is kept small, as banks grow to 10^5 pictures and more:

* only the first ``KEYPOINTS`` keypoints of an entry (ORB returns the strongest
  first) and ``POSITIONS`` of the 8 word positions are indexed (the query side uses
  all of its own);
* the words of one position are sorted and cut at their top 16 bits: a table of
  65,537 offsets, then 2 bytes of word and 4 of entry per posting (6 bytes, not 12).

A word held by more than ``MAX_HOLDERS`` entries (a flat sky, JPEG blocks) says
nothing of a pair and is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from clearsight.signals.features import LocalFeatures

KEYPOINTS = 256
POSITIONS = (0, 2, 4, 6)
WORD_BYTES = 4
MAX_HOLDERS = 256
# Candidates need this many words in common with the query ...
MIN_SHARED = 6
# ... and of those, the best few per query picture go on to RANSAC.
CANDIDATES = 8
_BUCKETS = 1 << 16

UInt32s = npt.NDArray[np.uint32]
_Key = TypeVar("_Key", np.uint32, np.uint64)
Ints = npt.NDArray[np.int64]


def words_at(descriptors: npt.NDArray[np.uint8], position: int) -> UInt32s:
    """Word ``position`` (bytes 4p to 4p + 3, little-endian) of each descriptor."""
    start = position * WORD_BYTES
    piece = np.ascontiguousarray(descriptors[:, start : start + WORD_BYTES])
    return piece.view("<u4")[:, 0].astype(np.uint32)


@dataclass(frozen=True)
class _Postings:
    """The words of one position: ``offsets[h]`` is where words with top 16 bits ``h``
    start; ``low`` their bottom 16 bits, ascending within a bucket; ``owners`` the row
    (of the index's entry ids) that holds each."""

    offsets: npt.NDArray[np.uint32]
    low: npt.NDArray[np.uint16]
    owners: UInt32s

    @classmethod
    def of(cls, words: UInt32s, owners: UInt32s) -> _Postings:
        keys = _distinct((words.astype(np.uint64) << np.uint64(32)) | owners.astype(np.uint64))
        sorted_words = (keys >> np.uint64(32)).astype(np.uint32)
        high = sorted_words >> np.uint32(16)
        offsets = np.searchsorted(high, np.arange(_BUCKETS + 1), side="left").astype(np.uint32)
        low = (sorted_words & np.uint32(0xFFFF)).astype(np.uint16)
        return cls(offsets, low, (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32))

    def holders(self, words: UInt32s) -> tuple[Ints, Ints]:
        """For each query word, the [start, end) of its postings (empty where absent)."""
        high = (words >> np.uint32(16)).astype(np.int64)
        target = (words & np.uint32(0xFFFF)).astype(np.int64)
        low_bound = self.offsets[high].astype(np.int64)
        high_bound = self.offsets[high + 1].astype(np.int64)
        start = _bisect(self.low, low_bound, high_bound, target, right=False)
        end = _bisect(self.low, start, high_bound, target, right=True)
        return start, end

    @property
    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.low.nbytes + self.owners.nbytes)


def _distinct(values: npt.NDArray[_Key]) -> npt.NDArray[_Key]:
    """The distinct values, ascending. (np.unique hashes, which is many times slower
    than a sort on millions of integer keys.)"""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def _bisect(
    values: npt.NDArray[np.uint16], lo: Ints, hi: Ints, target: Ints, *, right: bool
) -> Ints:
    """Vectorised bisection: per query, the first index in [lo, hi) whose value is
    >= target (> target with ``right``)."""
    last = max(len(values) - 1, 0)
    while True:
        open_ = lo < hi
        if not open_.any():
            return lo
        mid = (lo + hi) // 2
        value = values[np.minimum(mid, last)].astype(np.int64) if len(values) else target
        below = (value <= target) if right else (value < target)
        go_right = open_ & below
        go_left = open_ & ~below
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(go_left, mid, hi)


class FeatureWordIndex:
    """Feature words of many pictures (bank entries), for candidate retrieval."""

    def __init__(self, entry_ids: npt.NDArray[np.int64], postings: Sequence[_Postings]) -> None:
        self.entry_ids = entry_ids
        self._postings = tuple(postings)

    @classmethod
    def build(cls, items: Iterable[tuple[int, LocalFeatures]]) -> FeatureWordIndex:
        """The index of ``items`` (entry id, features), read once: only the indexed
        words of each are kept meanwhile, not its descriptors."""
        entry_ids: list[int] = []
        words: list[list[UInt32s]] = [[] for _ in POSITIONS]
        owners: list[UInt32s] = []
        for row, (entry, features) in enumerate(items):
            descriptors = features.descriptors[:KEYPOINTS]
            entry_ids.append(entry)
            owners.append(np.full(len(descriptors), row, np.uint32))
            for column, position in zip(words, POSITIONS, strict=True):
                column.append(words_at(descriptors, position))
        owner = np.concatenate([np.zeros(0, np.uint32), *owners])
        postings = [
            _Postings.of(np.concatenate([np.zeros(0, np.uint32), *column]), owner)
            for column in words
        ]
        return cls(np.array(entry_ids, dtype=np.int64), postings)

    def __len__(self) -> int:
        return int(self.entry_ids.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.entry_ids.nbytes) + sum(p.nbytes for p in self._postings)

    def candidates(self, features: LocalFeatures, limit: int = CANDIDATES) -> list[tuple[int, int]]:
        """Up to ``limit`` entries sharing the most words with ``features`` (at least
        MIN_SHARED), as (entry id, words shared), most first."""
        if not len(self) or not len(features):
            return []
        found: list[npt.NDArray[np.uint32]] = []
        for position, postings in zip(POSITIONS, self._postings, strict=True):
            words = _distinct(words_at(features.descriptors, position))
            start, end = postings.holders(words)
            lengths = end - start
            useful = (lengths > 0) & (lengths <= MAX_HOLDERS)
            if not useful.any():
                continue
            start, lengths = start[useful], lengths[useful]
            # Every posting in each [start, end), as one flat index array.
            flat = np.repeat(start - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
            flat += np.arange(int(lengths.sum()))
            found.append(postings.owners[flat])
        if not found:
            return []
        ordered = np.sort(np.concatenate(found))
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        rows, shared = ordered[starts], np.diff(np.r_[starts, len(ordered)])
        good = shared >= MIN_SHARED
        rows, shared = rows[good], shared[good]
        best = np.argsort(-shared, kind="stable")[:limit]
        return [(int(self.entry_ids[rows[at]]), int(shared[at])) for at in best]

    def to_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        arrays: dict[str, npt.NDArray[np.generic]] = {"entry_ids": self.entry_ids}
        for number, postings in enumerate(self._postings):
            arrays[f"offsets{number}"] = postings.offsets
            arrays[f"low{number}"] = postings.low
            arrays[f"owners{number}"] = postings.owners
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[np.generic]]) -> FeatureWordIndex:
        postings = [
            _Postings(
                np.asarray(arrays[f"offsets{n}"], np.uint32),
                np.asarray(arrays[f"low{n}"], np.uint16),
                np.asarray(arrays[f"owners{n}"], np.uint32),
            )
            for n in range(len(POSITIONS))
        ]
        return cls(np.asarray(arrays["entry_ids"], np.int64), postings)
