"""Rows written in bulk by the driver itself, for the bank import's inserts.

An import writes millions of rows, and SQLAlchemy's per-row parameter handling costs
more than SQLite's insert of the row. So the import hands whole batches to the driver:
PostgreSQL gets them through ``COPY`` (psycopg), any other database through the
DB-API's ``executemany`` of a statement SQLAlchemy compiled once for its dialect.

New entries need their ids before their signals can be written; rather than reading
them back, the import takes them up front: from the table's sequence on PostgreSQL,
and on SQLite as the next numbers after the largest, which is safe because an import
holds the write lock for its whole transaction (see ``write_lock``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, text

from clearsight.banks.models import ENTRIES

Row = tuple[Any, ...]


def insert_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    """Insert ``rows`` (values in the order of ``columns``) into ``table``."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, table, columns, rows)
        return
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=list(columns))
    if compiled.positional:
        order = [list(columns).index(name) for name in compiled.positiontup or ()]
        params: Sequence[Any] = (
            rows
            if order == list(range(len(columns)))
            else [tuple(row[at] for at in order) for row in rows]
        )
    else:
        params = [dict(zip(columns, row, strict=True)) for row in rows]
    connection.exec_driver_sql(compiled.string, params)


def next_entry_ids(connection: Connection, count: int) -> list[int]:
    """``count`` unused ids for new rows of ``bank_entries``, in rising order."""
    if connection.dialect.name == "postgresql":
        return list(
            connection.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('bank_entries', 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"count": count},
            )
        )
    largest = connection.scalar(select(func.max(ENTRIES.c.id))) or 0
    return list(range(largest + 1, largest + 1 + count))


def _copy_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    """PostgreSQL's COPY, on the connection's own psycopg connection and transaction."""
    driver = connection.connection.driver_connection
    assert driver is not None
    names = ", ".join(f'"{name}"' for name in columns)
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(row)
