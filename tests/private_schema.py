"""A PostgreSQL schema of a test's own, for tests that run long on the shared server.

Every test process already keeps its tables apart from other processes' (see
``conftest.fresh_schema``); a test that wants a schema apart from the one that
``conftest.empty_postgres`` empties for each test asks for one by name here.
"""

from __future__ import annotations

from .conftest import fresh_schema


def private_postgres(schema: str) -> str:
    """The test server's URL with ``schema`` (made empty, and this process's own) first on
    its search path."""
    return fresh_schema(schema)
