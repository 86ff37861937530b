"""Connected groups of items from pairs that belong together (a union-find).

Stacks are the groups of near-duplicate pairs; series the groups of stacks joined by
scene links. Both are computed afresh by each triage run from what the case recorded.
"""

from __future__ import annotations

from collections.abc import Iterable


class Groups:
    """Disjoint sets over item ids, with path halving and union by size."""

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}
        self._size: dict[int, int] = {}

    def find(self, item: int) -> int:
        parent = self._parent.setdefault(item, item)
        if parent == item:
            self._size.setdefault(item, 1)
            return item
        while parent != self._parent[parent]:
            self._parent[item] = self._parent[parent]  # path halving
            item, parent = parent, self._parent[parent]
        return parent

    def join(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        if self._size[root_a] < self._size[root_b]:
            root_a, root_b = root_b, root_a
        self._parent[root_b] = root_a
        self._size[root_a] += self._size.pop(root_b)

    def join_all(self, pairs: Iterable[tuple[int, int]]) -> None:
        for a, b in pairs:
            self.join(a, b)

    def groups(self, items: Iterable[int]) -> list[list[int]]:
        """The groups of ``items`` with two members or more, members and groups sorted."""
        found: dict[int, list[int]] = {}
        for item in items:
            found.setdefault(self.find(item), []).append(item)
        return sorted(sorted(members) for members in found.values() if len(members) > 1)
