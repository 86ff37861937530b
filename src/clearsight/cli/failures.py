"""What the person sees when a command fails: one line, never a traceback.

A failing dependency (a store's error, a locked database, a full disk, a permission
denied, a lost database connection) is an operational failure: one line naming what
failed, exit 3. Anything else is a fault of clearsight's: one line saying so, exit 1.
Either way the details go to the log file (:mod:`clearsight.cli.failure_log`), which
the line names.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
from collections.abc import Iterator

import click
from sqlalchemy.exc import DBAPIError

from clearsight.cli.failure_log import log_failure, scrub
from clearsight.errors import ClearsightError, DependencyError
from clearsight.home import clearsight_home
from clearsight.store.failures import store_failure
from clearsight.store.lock_waits import LockWait
from clearsight.text_safety import visible

OPERATIONAL_EXIT = DependencyError.exit_code
INTERNAL_EXIT = 1
_LONGEST = 400  # characters of a message shown on the terminal

_OS_REASONS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
}


def report_failure(error: BaseException, command: str) -> int:
    """Print ``error`` as one line on standard error, log its details; the exit status."""
    if isinstance(error, ClearsightError) and not isinstance(error, DependencyError):
        _say(f"error: {_one_line(str(error))}")
        return error.exit_code
    if isinstance(error, BrokenPipeError):
        # The reader went away (`| head`); stdout goes to /dev/null so that the exit
        # does not fail to flush it again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _say("error: standard output was closed before the output was complete")
        return INTERNAL_EXIT
    logged = log_failure(error, command, clearsight_home())
    where = f"details in {logged}" if logged else "details could not be logged"
    message = operational_message(error)
    if message is not None:
        _say(f"error: {_one_line(message)} ({where})")
        return OPERATIONAL_EXIT
    _say(f"internal error: {type(error).__name__}: {_one_line(str(error))} ({where})")
    return INTERNAL_EXIT


def operational_message(error: BaseException) -> str | None:
    """The one-line description of ``error`` when a dependency failed, else None."""
    for cause in _causes(error):
        if isinstance(cause, DependencyError):
            return str(cause)
        if isinstance(cause, DBAPIError) and cause.orig is not None:
            cause = cause.orig
        if isinstance(cause, sqlite3.Error) or _is_psycopg(cause):
            failure = store_failure(cause, LockWait("the database", timeout=0))
            if failure is not None:
                return _without_wait_time(str(failure))
        if isinstance(cause, OSError):
            return _os_message(cause)
        if isinstance(cause, MemoryError):
            return "not enough memory"
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__


def _is_psycopg(error: BaseException) -> bool:
    return type(error).__module__.partition(".")[0] == "psycopg"


def _os_message(error: OSError) -> str:
    reason = _OS_REASONS.get(error.errno or 0) or error.strerror or type(error).__name__
    names = [str(name) for name in (error.filename, error.filename2) if name is not None]
    return f"{reason}: {' -> '.join(names)}" if names else reason


def _without_wait_time(message: str) -> str:
    # A lock error found here did not come through a store's own engine, so how long
    # it waited is unknown.
    return message.replace("gave up after 0 s waiting for", "gave up waiting for")


def _one_line(message: str) -> str:
    lines = message.strip().splitlines()
    line = visible(scrub(lines[0] if lines else ""))
    return line if len(line) <= _LONGEST else line[: _LONGEST - 1] + "…"


def _say(line: str) -> None:
    click.echo(f"clearsight: {line}", err=True)
