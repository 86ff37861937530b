"""A database driver's operational errors, said as one line naming the store.

SQLite and PostgreSQL report a full disk, a lock held too long, a read-only file or a
lost server as driver exceptions whose text carries the SQL statement (and, unless
hidden, its parameters). Each store engine turns those into a
:class:`~clearsight.errors.StoreBusyError` or
:class:`~clearsight.errors.StoreUnavailableError` here, at the boundary, so a shell
can print one line and exit 3. Errors that mean a bug or a constraint (an integrity
error, a syntax error) are left as they are.
"""

from __future__ import annotations

import sqlite3

from clearsight.errors import DependencyError, StoreUnavailableError
from clearsight.store.lock_waits import LockWait

# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_AUTH, _SQLITE_NOTADB = 23, 26
_SQLITE_BUSY_SNAPSHOT = 517  # a stale snapshot: waiting longer never helps
_SQLITE_BY_TEXT = {
    "database is locked": _SQLITE_BUSY,
    "database table is locked": _SQLITE_LOCKED,
    "database or disk is full": _SQLITE_FULL,
    "attempt to write a readonly database": _SQLITE_READONLY,
    "unable to open database file": _SQLITE_CANTOPEN,
    "disk i/o error": _SQLITE_IOERR,
}


def sqlite_code(error: sqlite3.Error) -> int | None:
    """The primary result code of ``error`` (read from its text where it has none)."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    return _SQLITE_BY_TEXT.get(str(error).strip().lower())


def sqlite_waitable(error: BaseException) -> bool:
    """Whether ``error`` is SQLite saying another connection holds the lock right now."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    if getattr(error, "sqlite_errorcode", None) == _SQLITE_BUSY_SNAPSHOT:
        return False
    return sqlite_code(error) == _SQLITE_BUSY


def store_failure(error: BaseException, wait: LockWait) -> DependencyError | None:
    """The one-line error for a driver's operational ``error`` on ``wait.store``, or
    None when ``error`` is not one."""
    if isinstance(error, sqlite3.Error):
        return _sqlite_failure(error, wait)
    if type(error).__module__.partition(".")[0] == "psycopg":
        return _postgres_failure(error, wait)
    return None


def _sqlite_failure(error: sqlite3.Error, wait: LockWait) -> DependencyError | None:
    code = sqlite_code(error)
    what = _first_line(error)
    store = wait.store
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return wait.gave_up()
    if code == _SQLITE_FULL:
        return StoreUnavailableError(
            f"{store}: the disk is full ({what}); free some space and run the command "
            "again to resume"
        )
    if code in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_AUTH):
        return StoreUnavailableError(f"{store}: permission denied ({what})")
    if code == _SQLITE_CANTOPEN:
        return StoreUnavailableError(
            f"{store}: cannot open the database file ({what}); is its folder there and writable?"
        )
    if code == _SQLITE_IOERR:
        return StoreUnavailableError(f"{store}: the disk failed to read or write ({what})")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreUnavailableError(f"{store}: not a usable database ({what})")
    return None


def _postgres_failure(error: BaseException, wait: LockWait) -> DependencyError | None:
    state = getattr(error, "sqlstate", None)
    what = _first_line(error)
    store = wait.store
    if state in ("55P03", "40P01"):  # lock_not_available (lock_timeout), deadlock
        return wait.gave_up()
    if state == "53100":
        return StoreUnavailableError(f"{store}: the server's disk is full ({what})")
    if state in ("53200", "53300"):  # out of memory, too many connections
        return StoreUnavailableError(f"{store}: the server refused ({what})")
    if state == "42501":
        return StoreUnavailableError(f"{store}: permission denied ({what})")
    if state is not None and state.startswith(("08", "57P")):
        return StoreUnavailableError(f"{store}: the connection was lost ({what})")
    if state is None and type(error).__name__ in ("OperationalError", "InterfaceError"):
        # Raised by the client: the server could not be reached or hung up.
        return StoreUnavailableError(f"{store}: no connection to the server ({what})")
    return None


def _first_line(error: BaseException) -> str:
    # The first line names no values; PostgreSQL's DETAIL lines may quote a row.
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__
