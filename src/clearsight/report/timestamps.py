"""How exports write times: ISO 8601 in UTC with a ``Z``, to the second.

The stores keep naive UTC (see ``utc_now``); a time without a zone in an export would
be read as local time by the next tool, so the zone is always spelt out.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds") + "Z"


def iso_epoch(seconds: float) -> str:
    """A file time (seconds since the epoch) as ISO 8601 UTC."""
    return iso_utc(datetime.fromtimestamp(seconds, UTC))
