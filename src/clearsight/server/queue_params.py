"""The queue's filters as they travel in links: read from a query string, written back.

The item page keeps the filters of the queue it was opened from, so j and k, and the
page shown after a decision, follow the same queue. Only filter names, scores and ids
ever go into a query string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode

from fastapi import Request

from clearsight.errors import UserError
from clearsight.origin.verdict import Verdict
from clearsight.review.queue import (
    BankStatus,
    DecisionState,
    QueueFilter,
    QueuePosition,
    QueueUnit,
    SeriesScope,
    UnitKind,
)
from clearsight.review.settings import ReviewSettings
from clearsight.server.access import Viewer
from clearsight.server.ids import in_range

E = TypeVar("E", BankStatus, DecisionState, SeriesScope)
FILTER_NAMES = ("bank", "origin", "series", "state", "assigned")
VERDICTS = tuple(verdict.value for verdict in Verdict)


@dataclass(frozen=True)
class QueueView:
    """The filters of one queue view, and the query string that names them."""

    filters: QueueFilter
    params: dict[str, str]

    def encoded(self) -> str:
        """The filters for a form's hidden ``queue`` field."""
        return urlencode(self.params)

    def query(self, **extra: str | int | None) -> str:
        values = {**self.params, **{k: str(v) for k, v in extra.items() if v is not None}}
        return ("?" + urlencode(values)) if values else ""

    def without_series(self) -> QueueView:
        params = {k: v for k, v in self.params.items() if k != "series"}
        filters = QueueFilter(
            bank=self.filters.bank,
            origin=self.filters.origin,
            state=self.filters.state,
            assigned_to=self.filters.assigned_to,
            two_reviewer_banks=self.filters.two_reviewer_banks,
        )
        return QueueView(filters, params)

    def link_to(self, unit: QueueUnit) -> str:
        """Where a queue row leads: a series opens as its own list, others show."""
        if unit.kind is UnitKind.SERIES:
            return f"/series/{unit.id}" + self.without_series().query()
        return f"/items/{unit.representative}" + self.query()


def queue_view(query: Mapping[str, str], viewer: Viewer, settings: ReviewSettings) -> QueueView:
    """The filters in a query string (a bad value is a 400, not ignored)."""
    params = {name: query[name] for name in FILTER_NAMES if query.get(name)}
    bank = _choice(BankStatus, params.get("bank", "any"), "bank")
    state = _choice(DecisionState, params.get("state", "any"), "state")
    origin = params.get("origin")
    if origin is not None and origin not in VERDICTS:
        raise UserError(f"origin: expected one of {', '.join(VERDICTS)}")
    series = params.get("series", "any")
    series_id: int | None = None
    scope = SeriesScope.ANY
    if series.isascii() and series.isdigit():
        series_id = _row_id(series, "series")
    else:
        scope = _choice(SeriesScope, series, "series")
    assigned = params.get("assigned", "any")
    if assigned not in ("any", "me"):
        raise UserError("assigned: expected any or me")
    filters = QueueFilter(
        bank=bank,
        origin=Verdict(origin) if origin is not None else None,
        series_scope=scope,
        series_id=series_id,
        state=state,
        assigned_to=viewer.account.id if assigned == "me" else None,
        two_reviewer_banks=settings.two_reviewer_banks,
    )
    defaults = {"bank": "any", "state": "any", "series": "any", "assigned": "any"}
    kept = {k: v for k, v in params.items() if defaults.get(k) != v}
    return QueueView(filters, kept)


def queue_field(text: str, viewer: Viewer, settings: ReviewSettings) -> QueueView:
    """The filters a form carries in its hidden ``queue`` field (a query string)."""
    return queue_view(dict(parse_qsl(text[:1000])), viewer, settings)


def position_param(request: Request, name: str) -> QueuePosition | None:
    token = request.query_params.get(name)
    if not token:
        return None
    position = QueuePosition.parse(token)
    if not in_range(position.id):
        raise UserError(f"{name}: not a queue position")
    return position


def _row_id(text: str, name: str) -> int:
    # Twenty digits and more cannot name a row; nor would Python read 5,000 of them.
    value = int(text) if len(text) <= 19 else 0
    if not in_range(value):
        raise UserError(f"{name}: no such id")
    return value


def _choice(kind: type[E], value: str, name: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise UserError(f"{name}: expected one of {', '.join(v.value for v in kind)}") from None
