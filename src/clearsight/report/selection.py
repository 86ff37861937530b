"""Which items an export covers: ``all``, ``series:ID,...`` or ``items:ID,...``.

A series may be named by its id or its label (``S-3``, as ``clearsight queue`` shows
it); labels are resolved to ids against the case before anything is written, so a
mistyped name fails at once instead of producing an empty report.
"""

from __future__ import annotations

from clearsight.errors import UserError
from clearsight.store.interface import Selection, SelectionKind

__all__ = ["ALL", "Selection", "SelectionKind", "parse_selection"]


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
