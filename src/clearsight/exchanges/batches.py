"""One exchange's pages, as the commits a fetch makes of them.

The loop is HMA's fetcher's (hasher-matcher-actioner ``background_tasks/fetcher.py``):
start from the stored checkpoint (none, or a stale one, fetches from scratch), walk
the library's ``fetch_iter``, and close a batch every so many entries or seconds. Each
:class:`Commit` holds its entries *and* the checkpoint of the last page they complete,
so the fetch (:mod:`clearsight.exchanges.fetch`) writes both in one transaction. A
commit inside a long page (a local file is one page) carries its entries but no
checkpoint, which bounds memory the same way. A snapshot API (a local file) withdraws,
with its last commit, what it no longer lists.

No SQL and no store here: this runs where the pages are fetched, in a process of its
own (:mod:`clearsight.exchanges.fetch_ahead`), and hands over plain rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from clearsight.banks.prepared import BatchBuilder, PreparedBatch, PreparedEntry, prepare
from clearsight.banks.records import ImportedEntry, ImportEvent
from clearsight.errors import DependencyError

# Entries per commit, and the longest a commit waits: HMA commits every 5000 updates
# or 60 s; a larger batch halves the per-transaction cost on a national list.
BATCH_ENTRIES = 20_000
BATCH_SECONDS = 30.0


@dataclass(frozen=True)
class FetchJob:
    """What a fetch needs to fetch: the API, its settings and secret, where to start."""

    api: str
    config: dict[str, Any]
    secret: str | None
    checkpoint: dict[str, Any] | None  # as the exchange book stores it
    batch_entries: int = BATCH_ENTRIES
    batch_seconds: float = BATCH_SECONDS


@dataclass(frozen=True)
class Started:
    """The API is connected; ``resumed``: from a stored checkpoint (not from scratch)."""

    resumed: bool


@dataclass(frozen=True)
class Commit:
    """One transaction's worth: the entries, the saved checkpoint of the last page they
    complete (None inside a page), the API's updates they came from, and at the end of
    a snapshot the identities it listed (the others are withdrawn)."""

    batch: PreparedBatch
    checkpoint: str | None
    updates: int
    withdraw_unseen: frozenset[str] | None = None


def produce(job: FetchJob) -> Generator[Started | Commit, None, None]:
    """:class:`Started`, then the commits of the fetch, to the end of the API's pages.

    Raises DependencyError (exit 3) for a failing or refusing server or a missing
    library, ExchangeCredentialsError for credentials, UserError for bad settings.
    """
    try:
        from clearsight.exchanges import apis
    except ImportError as exc:  # the [exchange] extra is not installed
        raise DependencyError(
            f"exchanges need python-threatexchange: pip install 'clearsight[exchange]' ({exc.name})"
        ) from None
    connected = apis.connect(job.api, job.config, job.secret)
    checkpoint = restore(connected.checkpoint_cls, job.checkpoint)
    yield Started(resumed=checkpoint is not None)
    batches = _Batches(job, connected.snapshot)
    with apis.fetch_errors(job.api):
        for delta in connected.api.fetch_iter(apis.SIGNAL_TYPES, checkpoint):
            yield from batches.add_page(connected.translate(delta.updates), len(delta.updates))
            if delta.checkpoint is not None:
                yield from batches.page_done(delta.checkpoint)
    yield batches.last()


class _Batches:
    """The batch being built, and when it is closed."""

    def __init__(self, job: FetchJob, snapshot: bool) -> None:
        self._entries = job.batch_entries
        self._seconds = job.batch_seconds
        self._snapshot = snapshot
        self._seen: set[str] = set()  # identities a snapshot listed
        self._builder = BatchBuilder()
        self._checkpoint: Any = None  # the last page's, not yet in a commit
        self._pending = 0  # entries since the last checkpoint went
        self._updates = 0  # updates since the last commit
        self._last = time.monotonic()

    def add_page(
        self, events: Iterable[PreparedEntry | ImportEvent], updates: int
    ) -> Iterator[Commit]:
        builder = self._builder
        for event in events:
            if isinstance(event, ImportedEntry):
                event = prepare(event)
            if isinstance(event, tuple):
                builder.add(event)
                self._pending += 1
                if self._snapshot and not event[4]:  # not withdrawn
                    self._seen.add(event[0])
                if len(builder) >= 2 * self._entries:
                    # A page far larger than a batch (a local file is one page): its
                    # entries go now, its checkpoint when the page is done.
                    yield self._commit(None)
            else:
                builder.add_other(event)
        self._updates += updates

    def page_done(self, checkpoint: Any) -> Iterator[Commit]:
        self._checkpoint = checkpoint
        full = self._pending >= self._entries
        if full or time.monotonic() - self._last >= self._seconds:
            yield self._commit(checkpoint)

    def last(self) -> Commit:
        """What is left, the last checkpoint, a snapshot's withdrawals."""
        commit = self._commit(self._checkpoint)
        if not self._snapshot:
            return commit
        return Commit(commit.batch, commit.checkpoint, commit.updates, frozenset(self._seen))

    def _commit(self, checkpoint: Any) -> Commit:
        updates, self._updates = self._updates, 0
        if checkpoint is not None:
            self._checkpoint = None
            self._pending = 0
        self._last = time.monotonic()
        saved = None if checkpoint is None else _saved(checkpoint)
        return Commit(self._builder.take(), saved, updates)


def _saved(checkpoint: Any) -> str:
    return json.dumps({"type": type(checkpoint).__name__, "state": asdict(checkpoint)})


def restore(checkpoint_cls: type[Any], saved: dict[str, Any] | None) -> Any:
    """The stored checkpoint as the library's class; None for none, or a stale one
    (HMA's rule: the API's records of deletions may be gone, so fetch from scratch)."""
    if saved is None:
        return None
    import dacite  # the library's own dependency, for its nested checkpoint dataclasses

    try:
        checkpoint = dacite.from_dict(checkpoint_cls, saved.get("state", {}))
    except dacite.DaciteError:
        return None  # written by another library version: start again, upserts are safe
    return None if checkpoint.is_stale() else checkpoint
