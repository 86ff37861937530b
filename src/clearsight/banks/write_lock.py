"""How a bank import holds the bank store: one writer at a time, readers undisturbed.

An import reads which identities a bank holds and then writes, so two imports must not
interleave. Its transaction therefore takes the write lock with its first statement:

* SQLite: ``BEGIN IMMEDIATE``. A second writer waits for the busy timeout, and a
  plain deferred transaction could not do that: one that read first and then tried to
  write would fail at once rather than wait. In WAL mode readers (``bank list``,
  ``bank show``, matching) keep reading the last committed state meanwhile.
* PostgreSQL: a transaction-scoped advisory lock keyed by the bank's name, so imports
  into one bank queue up while imports into other banks and all readers go on.

How long a writer waits, the notice it prints meanwhile, and the one line it ends
with if it gives up (exit 3) are the store engine's (:mod:`clearsight.store.engines`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, func, select

# While an import runs on SQLite its connection keeps up to this much of the database
# in its page cache (KiB, as a negative cache_size): the identity and hash indexes are
# written in random order, and a small cache rereads their pages from the file.
_IMPORT_CACHE_KIB = 256 * 1024


@contextmanager
def import_transaction(connection: Connection, bank_name: str) -> Iterator[None]:
    """One transaction on ``connection`` holding the right to write bank ``bank_name``.

    On SQLite the transaction runs with foreign keys off: checked, they cost a lookup in
    ``banks`` or ``bank_entries`` for each of millions of rows, a fifth of the writing,
    and the import writes only references it has just made (ids it took under this
    lock, its own bank's id) and deletes signals before their entries itself. SQLite
    can change the setting only between transactions, so it is set before the first
    and set back after it ends, committed or not.
    """
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with _transaction(connection, bank_name):
                yield
        finally:
            driver.execute("PRAGMA foreign_keys=ON")
    else:
        with _transaction(connection, bank_name):
            yield


@contextmanager
def _transaction(connection: Connection, bank_name: str) -> Iterator[None]:
    dialect = connection.dialect.name
    with connection.begin():
        if dialect == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size=-{_IMPORT_CACHE_KIB}")
            try:
                yield
            finally:
                connection.exec_driver_sql(f"PRAGMA cache_size={int(previous or -2000)}")
        else:
            if dialect == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(bank_lock_key(bank_name))))
            yield


def bank_lock_key(bank_name: str) -> int:
    """A signed 64-bit advisory-lock key for a bank name, the same in every process."""
    digest = hashlib.blake2b(f"clearsight-bank:{bank_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
