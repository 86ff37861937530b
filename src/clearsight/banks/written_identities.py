"""The identities a first import into an empty bank has written, kept small in memory.

Such an import sets the identity index aside (see :mod:`clearsight.banks.value_index`)
and finds the identities it wrote here instead. A national list has millions, so they
are not kept as text: an identity's 64-bit ``hash()`` maps to its entry's id, about 100
bytes an entry in all, against 155 for the identity text itself. A hash names only a
candidate, which the caller checks against the row it reads by that id. Two identities
with one hash (about one import in a million at 5M entries) cannot share a slot: the
one written later is kept whole, by its text, in a dict of its own that is looked in
first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class WrittenIdentities:
    """Identity -> entry id of what this import wrote, by hash; exact on a collision."""

    def __init__(self) -> None:
        self._by_hash: dict[int, int] = {}
        self._whole: dict[str, int] = {}  # identities whose hash another one holds

    def new_keys(self, identities: Sequence[str]) -> list[int] | None:
        """The keys of ``identities`` if none of them can have been written and no two
        share a key (so none twice), for :meth:`add_keys`; else None (maybe written)."""
        if self._whole and not self._whole.keys().isdisjoint(identities):
            return None
        keys = list(map(hash, identities))
        if len(set(keys)) != len(keys) or not self._by_hash.keys().isdisjoint(keys):
            return None
        return keys

    def add_keys(self, keys: list[int], first_id: int) -> None:
        """Note new entries, ids from ``first_id`` on, by the keys :meth:`new_keys` gave."""
        self._by_hash.update(zip(keys, range(first_id, first_id + len(keys)), strict=True))

    def candidates(self, identities: Iterable[str]) -> set[int]:
        """Entry ids that may hold ``identities``: every one written is among them."""
        found: set[int] = set()
        whole, by_hash = self._whole, self._by_hash
        for identity in identities:
            entry_id = whole.get(identity)
            if entry_id is None:
                entry_id = by_hash.get(hash(identity))
            if entry_id is not None:
                found.add(entry_id)
        return found

    def add(self, identities: Sequence[str], entry_ids: Iterable[int]) -> None:
        """Note new entries, none of which was written before."""
        by_hash = self._by_hash
        keys = list(map(hash, identities))
        if len(set(keys)) == len(keys) and by_hash.keys().isdisjoint(keys):
            by_hash.update(zip(keys, entry_ids, strict=True))
            return
        for identity, key, entry_id in zip(identities, keys, entry_ids, strict=True):
            if key in by_hash:
                self._whole[identity] = entry_id
            else:
                by_hash[key] = entry_id

    def forget(self, removed: Iterable[tuple[str, int]]) -> None:
        """Drop entries (identity, id) the import has just deleted."""
        for identity, entry_id in removed:
            if (
                self._whole.pop(identity, None) is None
                and self._by_hash.get(hash(identity)) == entry_id
            ):
                del self._by_hash[hash(identity)]
