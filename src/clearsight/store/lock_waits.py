"""How long a store waits for another command's lock, and how it says so.

Two commands may write one store at once (two scans into a case, a scan while the
review server records decisions, two bank commands). SQLite and PostgreSQL let the
second writer wait; clearsight waits up to ``CLEARSIGHT_LOCK_TIMEOUT`` seconds (60 by
default), says once, after about a second, that it is waiting, and then gives up with
:class:`~clearsight.errors.StoreBusyError` instead of hanging or crashing. The library
itself stays quiet: a shell that wants the notice shown installs it with
:func:`set_wait_notice`.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable

from clearsight.errors import StoreBusyError, UserError

LOCK_TIMEOUT_ENV = "CLEARSIGHT_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 60.0
# How long a wait lasts before it is worth a line on the terminal.
NOTICE_AFTER = 1.0

_notice: Callable[[str], None] | None = None


def set_wait_notice(notice: Callable[[str], None] | None) -> None:
    """Show waiting notices through ``notice`` (None: keep them to oneself)."""
    global _notice
    _notice = notice


def lock_timeout() -> float:
    """Seconds a store waits for a lock: ``$CLEARSIGHT_LOCK_TIMEOUT`` or 60."""
    configured = os.environ.get(LOCK_TIMEOUT_ENV)
    if configured is None or not configured.strip():
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(configured)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise UserError(f"{LOCK_TIMEOUT_ENV} must be a number of seconds: {configured!r}")
    return seconds


class LockWait:
    """One store's waits: what to call it, how long to wait, and whether it said so."""

    def __init__(self, store: str, timeout: float | None = None) -> None:
        self.store = store
        self.timeout = lock_timeout() if timeout is None else timeout
        self._said = False
        self._guard = threading.Lock()

    @property
    def said(self) -> bool:
        return self._said

    def say(self) -> None:
        """Tell the person, once per store, that a command is waiting for its lock."""
        with self._guard:
            if self._said:
                return
            self._said = True
        if _notice is not None:
            _notice(f"waiting for {self.store} (locked by another command)...")

    def gave_up(self) -> StoreBusyError:
        return StoreBusyError(
            f"gave up after {self.timeout:g} s waiting for {self.store}: another command "
            f"holds its lock (run again when it is done, or set {LOCK_TIMEOUT_ENV} "
            "to wait longer)"
        )
