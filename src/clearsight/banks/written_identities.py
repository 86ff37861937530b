"""The identities a first import into an empty bank has written, kept small in memory.

Such an import sets the identity index aside (see :mod:`clearsight.banks.value_index`)
and finds the identities it wrote here instead. A national list has millions, and as
text in a dict they took about 150 bytes each (775 MB at 5M). Here an identity is its
64-bit ``hash()`` beside its entry's id, both in numpy arrays: 16 bytes an entry, kept
as a few sorted runs (each batch a run; runs of like size merged, so lookups search a
handful and merging costs O(log n) moves an entry in all). A hash names only a
candidate, which the caller checks against the row it reads by that id. A hash two
identities share (about one import in a million at 5M entries) names the first; a
later one is kept whole, by its text, in a dict of its own that is looked in first.
A removed entry's id becomes -1 in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

_Array = npt.NDArray[np.int64]
IdentityKeys = _Array  # what new_keys gives and add_keys takes
_NOT_FOUND = -1


class WrittenIdentities:
    """Identity -> entry id of what this import wrote, by hash; exact on a collision."""

    def __init__(self) -> None:
        # (keys sorted, ids in the same order); no key is in two runs.
        self._runs: list[tuple[_Array, _Array]] = []
        self._whole: dict[str, int] = {}  # identities whose hash another one holds

    def new_keys(self, identities: Sequence[str]) -> _Array | None:
        """The keys of ``identities`` if none of them can have been written and no two
        share a key (so none twice), for :meth:`add_keys`; else None (maybe written)."""
        if self._whole and not self._whole.keys().isdisjoint(identities):
            return None
        keys = _keys(identities)
        ordered = np.sort(keys)
        if ordered.size > 1 and bool((ordered[1:] == ordered[:-1]).any()):
            return None
        for run_keys, _ in self._runs:
            if bool(_matches(run_keys, ordered).any()):
                return None
        return keys

    def add_keys(self, keys: _Array, first_id: int) -> None:
        """Note new entries, ids from ``first_id`` on, by the keys :meth:`new_keys` gave."""
        ids = np.arange(first_id, first_id + keys.size, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        self._add_run(keys[order], ids[order])

    def add(self, identities: Sequence[str], entry_ids: Sequence[int]) -> None:
        """Note new entries, none of which was written before."""
        keys = _keys(identities)
        run_of, place_of = self._find(keys)
        fresh: dict[int, int] = {}
        for identity, key, entry_id, run, place in zip(
            identities, keys.tolist(), entry_ids, run_of.tolist(), place_of.tolist(), strict=True
        ):
            if run >= 0 and self._runs[run][1][place] == _NOT_FOUND:
                self._runs[run][1][place] = entry_id  # its last holder was removed
            elif run >= 0 or key in fresh:
                self._whole[identity] = entry_id
            else:
                fresh[key] = entry_id
        if fresh:
            new_keys = np.fromiter(fresh.keys(), np.int64, len(fresh))
            new_ids = np.fromiter(fresh.values(), np.int64, len(fresh))
            order = np.argsort(new_keys, kind="stable")
            self._add_run(new_keys[order], new_ids[order])

    def candidates(self, identities: Sequence[str]) -> set[int]:
        """Entry ids that may hold ``identities``: every one written is among them."""
        found = {self._whole[i] for i in identities if i in self._whole}
        run_of, place_of = self._find(_keys(identities))
        for run, place in zip(run_of.tolist(), place_of.tolist(), strict=True):
            if run >= 0:
                entry_id = int(self._runs[run][1][place])
                if entry_id != _NOT_FOUND:
                    found.add(entry_id)
        return found

    def forget(self, removed: Iterable[tuple[str, int]]) -> None:
        """Drop entries (identity, id) the import has just deleted."""
        for identity, entry_id in removed:
            if self._whole.pop(identity, None) is not None:
                continue
            run_of, place_of = self._find(_keys([identity]))
            run, place = int(run_of[0]), int(place_of[0])
            if run >= 0 and self._runs[run][1][place] == entry_id:
                self._runs[run][1][place] = _NOT_FOUND

    def _find(self, keys: _Array) -> tuple[_Array, _Array]:
        """For each key, the run holding it and its place there (-1, 0 where none)."""
        run_of = np.full(keys.size, -1, dtype=np.int64)
        place_of = np.zeros(keys.size, dtype=np.int64)
        for number, (run_keys, _) in enumerate(self._runs):
            places = np.searchsorted(run_keys, keys)
            hit = _matches(run_keys, keys, places)
            run_of[hit] = number
            place_of[hit] = places[hit]
        return run_of, place_of

    def _add_run(self, keys: _Array, ids: _Array) -> None:
        """A sorted run; the last two merged while the older is no larger than twice
        the newer, so the runs' sizes fall geometrically."""
        self._runs.append((keys, ids))
        while len(self._runs) > 1 and self._runs[-2][0].size <= 2 * self._runs[-1][0].size:
            (older_keys, older_ids), (newer_keys, newer_ids) = self._runs[-2:]
            at = np.searchsorted(older_keys, newer_keys)
            self._runs[-2:] = [
                (np.insert(older_keys, at, newer_keys), np.insert(older_ids, at, newer_ids))
            ]


def _keys(identities: Sequence[str]) -> _Array:
    return np.fromiter(map(hash, identities), np.int64, len(identities))


def _matches(run_keys: _Array, keys: _Array, places: _Array | None = None) -> npt.NDArray[np.bool_]:
    """Which ``keys`` the sorted ``run_keys`` hold."""
    if run_keys.size == 0:
        return np.zeros(keys.size, dtype=bool)
    if places is None:
        places = np.searchsorted(run_keys, keys)
    return run_keys[np.minimum(places, run_keys.size - 1)] == keys  # type: ignore[no-any-return]
