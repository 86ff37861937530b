"""One fetch of one exchange: the library's pages into the bank, resumable at any moment.

The loop is HMA's fetcher's (hasher-matcher-actioner ``background_tasks/fetcher.py``):
start from the stored checkpoint (none, or a stale one, fetches from scratch), walk
the library's ``fetch_iter``, and commit what it gave every so many entries or
seconds. Each commit is one bank-store transaction holding the entries *and* the
checkpoint of the last page they complete (:meth:`BankStore.apply_batch`), so a fetch
killed at any moment leaves either both or neither: it resumes from the last
checkpoint, and pages fetched again are upserted by identity, so nothing is lost and
nothing doubles. A commit inside a long page (a local file is one page) writes its
entries but keeps the old checkpoint, which bounds memory the same way.

Withdrawals remove entries; a snapshot API (a local file) withdraws what it no longer
lists, at the end of a complete fetch. Each commit bumps the bank's revision, so an
index built from the bank knows it changed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from clearsight.banks.exchange_book import AfterBatch, ExchangeBook, ExchangeInfo
from clearsight.banks.prepared import BatchBuilder, PreparedBatch, prepare
from clearsight.banks.records import ImportedEntry
from clearsight.banks.store import BankSettings, BankStore, ImportReport
from clearsight.errors import ClearsightError, DependencyError, UserError
from clearsight.exchanges.credentials import CredentialStore

# Entries per commit, and the longest a commit waits: HMA commits every 5000 updates
# or 60 s; a larger batch halves the per-transaction cost on a national list.
BATCH_ENTRIES = 20_000
BATCH_SECONDS = 30.0


@dataclass
class FetchReport:
    """What one fetch of one exchange did, so far (progress) or in all."""

    name: str
    api: str
    bank: str
    resumed: bool = False
    updates: int = 0  # records the API gave
    commits: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: int = 0
    not_importable: dict[str, int] = field(default_factory=dict)
    up_to_date: bool = False
    seconds: float = 0.0

    def note(self, report: ImportReport) -> None:
        self.commits += 1
        self.added += report.added
        self.updated += report.updated
        self.unchanged += report.unchanged
        self.removed += report.removed
        self.rejected += report.rejected_count
        for kind, count in report.not_importable.items():
            self.not_importable[kind] = self.not_importable.get(kind, 0) + count

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[FetchReport], None]


def fetch_exchange(
    store: BankStore,
    name: str,
    *,
    credentials: CredentialStore | None = None,
    progress: Progress | None = None,
    batch_entries: int = BATCH_ENTRIES,
    batch_seconds: float = BATCH_SECONDS,
) -> FetchReport:
    """Fetch exchange ``name`` into its bank from its checkpoint until it is up to date.

    Raises UserError for a disabled or unknown exchange, DependencyError (exit 3) for
    a failing or refusing server, ExchangeCredentialsError for credentials; what was
    committed before a failure stays, with its checkpoint, and the next call resumes.
    """
    book = ExchangeBook(store.engine)
    info = book.get(name)
    if not info.enabled:
        raise UserError(f"exchange {name!r} is disabled: `clearsight exchange enable {name}`")
    try:
        from clearsight.exchanges import apis
    except ImportError as exc:  # the [exchange] extra is not installed
        raise DependencyError(
            f"exchanges need python-threatexchange: pip install 'clearsight[exchange]' ({exc.name})"
        ) from None
    secret = (credentials or CredentialStore()).secret(info.api) if info.api != "file" else None
    connected = apis.connect(info.api, info.config, secret)
    run = _Run(store, info, connected.snapshot, batch_entries, batch_seconds, progress)
    checkpoint = _restore(connected.checkpoint_cls, info.checkpoint)
    run.report.resumed = checkpoint is not None
    book.note_start(name)
    try:
        with apis.fetch_errors(info.api):
            for delta in connected.api.fetch_iter(apis.SIGNAL_TYPES, checkpoint):
                run.add_page(connected.translate(delta.updates), len(delta.updates))
                if delta.checkpoint is not None:
                    run.page_done(delta.checkpoint)
            run.finish()
    except BaseException as error:
        run.close()
        message = str(error) if isinstance(error, ClearsightError) else type(error).__name__
        _quietly(lambda: book.note_end(name, up_to_date=False, error=message))
        raise
    run.close()
    book.note_end(name, up_to_date=True, error=None)
    return run.report


class _Run:
    """The state of one fetch: the batch being built and what is committed."""

    def __init__(
        self,
        store: BankStore,
        info: ExchangeInfo,
        snapshot: bool,
        batch_entries: int,
        batch_seconds: float,
        progress: Progress | None,
    ) -> None:
        self._store = store
        self._book = ExchangeBook(store.engine)
        self._info = info
        self._snapshot = snapshot
        self._seen: set[str] = set()  # identities a snapshot listed
        self._batch_entries = batch_entries
        self._batch_seconds = batch_seconds
        self._progress = progress
        self._builder = BatchBuilder()
        self._checkpoint: Any = None  # the last page's, not yet committed
        self._pending = 0  # entries since the last checkpoint was committed
        self._updates = 0  # updates since the last commit
        self._started = time.monotonic()
        self._last_commit = self._started
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exchange-commit")
        self._in_flight: Future[None] | None = None
        self._settings = BankSettings(source=f"exchange {info.name} ({info.api})")
        self.report = FetchReport(info.name, info.api, info.bank)

    def add_page(self, events: Any, updates: int) -> None:
        for event in events:
            if isinstance(event, ImportedEntry):
                prepared = prepare(event)
                self._builder.add(prepared)
                self._pending += 1
                if self._snapshot and not event.remove:
                    self._seen.add(prepared[0])
                if len(self._builder) >= 2 * self._batch_entries:
                    # A page far larger than a batch (a local file is one page): its
                    # entries go now, its checkpoint when the page is done.
                    self._commit(checkpoint=None)
            else:
                self._builder.add_other(event)
        self._updates += updates
        self.report.updates += updates

    def page_done(self, checkpoint: Any) -> None:
        self._checkpoint = checkpoint
        full = self._pending >= self._batch_entries
        if full or time.monotonic() - self._last_commit >= self._batch_seconds:
            self._commit(checkpoint)

    def finish(self) -> None:
        """The last commit: what is left, the last checkpoint, a snapshot's withdrawals."""
        self._commit(self._checkpoint, final=True)
        self.wait()
        self.report.up_to_date = True

    def _commit(self, checkpoint: Any, *, final: bool = False) -> None:
        batch = self._builder.take()
        updates, self._updates = self._updates, 0
        then = self._book.after_batch(
            self._info.name,
            updates=updates,
            checkpoint=None if checkpoint is None else _saved(checkpoint),
            withdraw_unseen=self._seen if final and self._snapshot else None,
        )

        if checkpoint is not None:
            self._checkpoint = None
            self._pending = 0
        self.wait()  # one batch in flight at a time: commits stay in order
        self._last_commit = time.monotonic()
        self._in_flight = self._writer.submit(self._write, batch, then)

    def _write(self, batch: PreparedBatch, then: AfterBatch) -> None:
        """One commit, on the writer thread: SQLite works with the GIL released, so the
        next pages are fetched and parsed meanwhile."""
        self.report.note(self._store.apply_batch(self._info.bank, batch, self._settings, then=then))
        self.report.seconds = time.monotonic() - self._started
        if self._progress is not None:
            self._progress(self.report)

    def wait(self) -> None:
        """Wait for the commit in flight; its failure is raised here."""
        if self._in_flight is not None:
            done, self._in_flight = self._in_flight, None
            done.result()

    def close(self) -> None:
        """Let the commit in flight end (it is atomic either way), then stop the writer."""
        self._writer.shutdown(wait=True)


def _saved(checkpoint: Any) -> str:
    return json.dumps({"type": type(checkpoint).__name__, "state": asdict(checkpoint)})


def _restore(checkpoint_cls: type[Any], saved: dict[str, Any] | None) -> Any:
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


def _quietly(action: Callable[[], object]) -> None:
    """Record a failure's note where the store still can; the failure itself wins."""
    try:
        action()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass
