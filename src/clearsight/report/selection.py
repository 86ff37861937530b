"""Which items an export covers: ``all``, ``series:ID,...`` or ``items:ID,...``.

A series may be named by its id or its label (``S-3``, as ``clearsight queue`` shows
it); labels are resolved to ids against the case before anything is written, so a
mistyped name fails at once instead of producing an empty report.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from clearsight.errors import UserError


class SelectionKind(enum.StrEnum):
    ALL = "all"
    SERIES = "series"
    ITEMS = "items"


@dataclass(frozen=True)
class Selection:
    kind: SelectionKind = SelectionKind.ALL
    ids: frozenset[int] = frozenset()
    labels: frozenset[str] = frozenset()  # series labels not yet resolved to ids

    @property
    def everything(self) -> bool:
        return self.kind is SelectionKind.ALL

    def text(self) -> str:
        """The canonical form, as the audit log records it."""
        if self.everything:
            return "all"
        names = [str(i) for i in sorted(self.ids)] + sorted(self.labels)
        return f"{self.kind.value}:{','.join(names)}"

    def admits(self, item_id: int, series_id: int | None) -> bool:
        if self.kind is SelectionKind.ITEMS:
            return item_id in self.ids
        if self.kind is SelectionKind.SERIES:
            return series_id is not None and series_id in self.ids
        return True


ALL = Selection()
_PARTIAL = {"series": SelectionKind.SERIES, "items": SelectionKind.ITEMS}


def parse_selection(text: str) -> Selection:
    """Read ``--select``; raises UserError with a one-line reason."""
    text = text.strip()
    if text == "all":
        return ALL
    kind_text, sep, values = text.partition(":")
    kind = _PARTIAL.get(kind_text.strip()) if sep else None
    if kind is None:
        raise UserError(f"--select: expected all, series:ID,... or items:ID,..., not {text!r}")
    names = [name.strip() for name in values.split(",") if name.strip()]
    if not names:
        raise UserError(f"--select: no {kind.value} named after '{kind.value}:'")
    ids = {int(name) for name in names if name.isdigit()}
    labels = {name for name in names if not name.isdigit()}
    if labels and kind is SelectionKind.ITEMS:
        raise UserError(f"--select: item ids are numbers, not {sorted(labels)[0]!r}")
    return Selection(kind, frozenset(ids), frozenset(labels))
