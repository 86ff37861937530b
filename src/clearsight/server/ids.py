"""The type of every row id a request names: a path, a query, a form field or JSON.

PostgreSQL's integer columns hold at most 2^63 - 1 (SQLite's too), and Python's ``int``
holds anything, so an id of twenty digits used to reach the driver and come back as a
500. Every id a request carries is checked here first, and out of range it is the
request's mistake (422), answered like any other invalid field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ROW_ID = 2**63 - 1

RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
"""A row id as a request may name it: from 1 to :data:`MAX_ROW_ID`."""


def in_range(value: int) -> bool:
    """Whether ``value`` can name a row (for ids read from tokens by hand)."""
    return 1 <= value <= MAX_ROW_ID
