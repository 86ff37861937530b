"""PostgreSQL waits for a row or table lock, says so, and gives up at the deadline.

Each connection sets ``lock_timeout`` to the store's wait, so the server itself ends
a wait that lasts too long (SQLSTATE 55P03, turned into StoreBusyError). To say that a
statement is waiting, one watcher thread per engine looks at statements running for
over a second and asks the server, on a connection of its own, whether another
session blocks them (``pg_blocking_pids``); a merely slow query is not called waiting.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Connection, Engine, event

from clearsight.store.lock_waits import NOTICE_AFTER, LockWait

_POLL = 0.25  # seconds between the watcher's looks


def install_postgres_waits(engine: Engine, wait: LockWait) -> None:
    """Give ``engine``'s connections a lock timeout and a notice when they wait."""
    watch = _BlockedStatementWatch(engine, wait)

    def connect(dbapi_connection: Any, record: Any) -> None:
        # Autocommit, so that the setting is not undone by the first rollback.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"SET lock_timeout = {max(1, round(wait.timeout * 1000))}")
            cursor.execute("SELECT pg_backend_pid()")
            record.info["backend_pid"] = cursor.fetchone()[0]
        finally:
            cursor.close()
            dbapi_connection.autocommit = autocommit

    event.listen(engine, "connect", connect)
    event.listen(engine, "before_cursor_execute", watch.started)
    event.listen(engine, "after_cursor_execute", watch.ended)
    event.listen(engine, "handle_error", watch.failed)


class _BlockedStatementWatch:
    def __init__(self, engine: Engine, wait: LockWait) -> None:
        self._engine = engine
        self._wait = wait
        self._running: dict[int, tuple[float, int]] = {}  # thread -> (since, backend pid)
        self._guard = threading.Lock()
        self._watcher: threading.Thread | None = None

    def started(self, connection: Connection, *_args: Any) -> None:
        pid = connection.info.get("backend_pid")
        if self._wait.said or not isinstance(pid, int):
            return
        with self._guard:
            self._running[threading.get_ident()] = (time.monotonic(), pid)
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name="clearsight-lock-watch", daemon=True
                )
                self._watcher.start()

    def ended(self, *_args: Any) -> None:
        with self._guard:
            self._running.pop(threading.get_ident(), None)

    def failed(self, _context: Any) -> None:
        self.ended()

    def _watch(self) -> None:
        while True:
            time.sleep(_POLL)
            with self._guard:
                if not self._running or self._wait.said:
                    self._watcher = None
                    return
                now = time.monotonic()
                long_running = [
                    pid for since, pid in self._running.values() if now - since >= NOTICE_AFTER
                ]
            if long_running and self._blocked(long_running):
                self._wait.say()

    def _blocked(self, pids: list[int]) -> bool:
        try:
            connection = self._engine.raw_connection()
        except Exception:  # a notice is a courtesy: the statement reports the real error
            return False
        try:
            cursor = connection.cursor()
            cursor.execute(
                "SELECT bool_or(cardinality(pg_blocking_pids(pid)) > 0) "
                "FROM unnest(%(pids)s::int[]) AS pid",
                {"pids": pids},
            )
            row = cursor.fetchone()
            connection.rollback()
            return bool(row and row[0])
        except Exception:
            return False
        finally:
            connection.close()
