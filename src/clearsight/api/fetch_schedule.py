"""``clearsight api --fetch-every SECONDS``: the service fetches its exchanges on a timer.

HMA's fetcher runs each enabled exchange every few minutes beside the matcher; so does
this thread, in each service worker. Each exchange is claimed in the bank store
(:meth:`ExchangeBook.claim`) before it is fetched, so with several workers one
fetches it and the others pass, and a fetch started by hand
(``POST /c/exchange/<name>/fetch`` or ``clearsight exchange fetch``) is not run twice.

A fetch never holds up lookups: the library runs in a process of its own
(:mod:`clearsight.exchanges.fetch_ahead`), the commits are short transactions on this
thread, and lookups keep the index they have. Each commit bumps its bank's revision;
the service's refresh thread, woken after each fetch and otherwise every second,
catches the index up through its delta. A failure is logged in one line (what
:func:`~clearsight.exchanges.apis.fetch_errors` made of it: never a URL or a secret)
and recorded on the exchange; the next round resumes from its checkpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from clearsight.banks.exchange_book import ExchangeBook
from clearsight.case import CaseBanks
from clearsight.errors import ClearsightError

LOGGER = logging.getLogger("clearsight.api")

# A fetch that started this long ago and never ended is taken as died (its process was
# killed), as the status route takes it.
ABANDONED_AFTER = 6 * 3600.0


class FetchSchedule:
    """Fetches every enabled exchange of ``banks`` every ``every`` seconds, first at
    start; ``changed`` is called after each fetch (the index refresh)."""

    def __init__(self, banks: CaseBanks, every: float, changed: Callable[[], None]) -> None:
        self._banks = banks
        self._every = every
        self._changed = changed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="clearsight-exchange-fetch", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the fetch under way, waiting at most ``timeout`` seconds for it
        (a fetch cut off by the process's end resumes from its last commit)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.fetch_due()
            except Exception as exc:  # noqa: BLE001 - the schedule outlives one bad round
                LOGGER.warning("scheduled exchange fetches failed: %s", _said(exc))
            self._stop.wait(max(0.0, self._every - (time.monotonic() - started)))

    def fetch_due(self) -> list[str]:
        """One round: fetch each enabled exchange this worker claims; their names."""
        book = self._banks.exchanges()
        fetched = []
        for info in book.all():
            if self._stop.is_set():
                break
            # Half a period: workers whose timers drift apart do not fetch twice a period.
            if not info.enabled or not book.claim(
                info.name, due_after=self._every / 2, abandoned_after=ABANDONED_AFTER
            ):
                continue
            try:
                self._banks.fetch_exchange(info.name)
                fetched.append(info.name)
            except Exception as exc:  # noqa: BLE001 - recorded on the exchange, logged
                said = _said(exc)
                LOGGER.warning("scheduled fetch of exchange %s failed: %s", info.name, said)
                _release(book, info.name, said)
            finally:
                self._changed()
        return fetched


def _release(book: ExchangeBook, name: str, said: str) -> None:
    """End the claim even where the fetch failed before it said it had started."""
    try:
        book.note_end(name, up_to_date=False, error=said)
    except Exception:  # noqa: BLE001 - the failure is logged already
        pass


def _said(error: Exception) -> str:
    """A failure in one line: clearsight's own message, else only its kind."""
    return str(error) if isinstance(error, ClearsightError) else type(error).__name__
