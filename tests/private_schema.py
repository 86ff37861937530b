"""A PostgreSQL schema of a test's own, for tests that run long on the shared server.

``conftest.empty_postgres`` empties the ``public`` schema, and test files run at the
same time (by other people on the same server) may do so in the middle of a long test.
A schema of its own, first on the search path, keeps such a test's tables apart.
"""

from __future__ import annotations

from sqlalchemy import create_engine, make_url, text

from .conftest import postgres_url


def private_postgres(schema: str) -> str:
    """The test server's URL with ``schema`` (made empty) first on its search path."""
    url = make_url(postgres_url())
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    private = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return private.render_as_string(hide_password=False)
