"""SQLite waits for a writer's lock, says so, and gives up at the deadline.

Python's ``sqlite3`` offers no busy-handler hook, only ``PRAGMA busy_timeout``. So
SQLite waits one second at a time, and each statement is retried here until the store's
deadline, with a notice after the first second. Retrying a statement that got
SQLITE_BUSY is safe in WAL mode: the statement that takes the write lock is the first
write of its transaction (the driver begins a transaction just before it), so nothing
of the transaction had happened yet. A stale snapshot (SQLITE_BUSY_SNAPSHOT) is not
retried; it can never succeed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

from clearsight.store.failures import sqlite_waitable
from clearsight.store.lock_waits import NOTICE_AFTER, LockWait

_BUSY_STEP_MS = int(NOTICE_AFTER * 1000)


def install_sqlite_waits(engine: Engine, wait: LockWait) -> None:
    """Set up ``engine``'s connections to wait politely for each other's locks."""

    def connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        busy_ms = min(_BUSY_STEP_MS, int(wait.timeout * 1000))
        retry_busy(wait, lambda: _pragmas(dbapi_connection, busy_ms))

    def execute(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool:
        retry_busy(wait, lambda: cursor.execute(statement, parameters))
        return True

    def executemany(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool:
        retry_busy(wait, lambda: cursor.executemany(statement, parameters))
        return True

    def execute_no_params(cursor: Any, statement: str, _context: Any) -> bool:
        retry_busy(wait, lambda: cursor.execute(statement))
        return True

    event.listen(engine, "connect", connect)
    event.listen(engine, "do_execute", execute)
    event.listen(engine, "do_executemany", executemany)
    event.listen(engine, "do_execute_no_params", execute_no_params)


def retry_busy(wait: LockWait, run: Callable[[], object]) -> None:
    """Run ``run`` until SQLite stops answering SQLITE_BUSY or the deadline passes."""
    deadline = time.monotonic() + wait.timeout
    while True:
        try:
            run()
            return
        except sqlite3.OperationalError as error:
            if not sqlite_waitable(error) or time.monotonic() >= deadline:
                raise
            wait.say()


def _pragmas(dbapi_connection: sqlite3.Connection, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # First, so that the statements below wait for a lock too.
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        # WAL keeps readers off the writer's back; a killed process loses at most the
        # open transaction, and the database stays consistent.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
