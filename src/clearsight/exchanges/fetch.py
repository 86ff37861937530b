"""One fetch of one exchange: the library's pages into the bank, resumable at any moment.

The pages are fetched, translated and cut into commits ahead of this process
(:mod:`clearsight.exchanges.fetch_ahead`, :mod:`clearsight.exchanges.batches`); here
each commit is one bank-store transaction holding the entries *and* the checkpoint of
the last page they complete (:meth:`BankStore.apply_batch`), so a fetch killed at any
moment leaves either both or neither: it resumes from the last checkpoint, and pages
fetched again are upserted by identity, so nothing is lost and nothing doubles.

Withdrawals remove entries; a snapshot API (a local file) withdraws what it no longer
lists, at the end of a complete fetch. Each commit bumps the bank's revision, so an
index built from the bank knows it changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from clearsight.banks.exchange_book import ExchangeBook
from clearsight.banks.store import BankSettings, BankStore, ImportReport
from clearsight.errors import ClearsightError, UserError
from clearsight.exchanges.batches import BATCH_ENTRIES, BATCH_SECONDS, Commit, FetchJob, Started
from clearsight.exchanges.credentials import CredentialStore
from clearsight.exchanges.fetch_ahead import fetched_ahead

__all__ = ["BATCH_ENTRIES", "BATCH_SECONDS", "FetchReport", "Progress", "fetch_exchange"]


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
    own_process: bool | None = None,
) -> FetchReport:
    """Fetch exchange ``name`` into its bank from its checkpoint until it is up to date.

    ``own_process``: fetch the pages in a child process (None: where one can start).
    Raises UserError for a disabled or unknown exchange, DependencyError (exit 3) for
    a failing or refusing server, ExchangeCredentialsError for credentials; what was
    committed before a failure stays, with its checkpoint, and the next call resumes.
    """
    book = ExchangeBook(store.engine)
    info = book.get(name)
    if not info.enabled:
        raise UserError(f"exchange {name!r} is disabled: `clearsight exchange enable {name}`")
    secret = (credentials or CredentialStore()).secret(info.api) if info.api != "file" else None
    job = FetchJob(info.api, info.config, secret, info.checkpoint, batch_entries, batch_seconds)
    report = FetchReport(info.name, info.api, info.bank)
    settings = BankSettings(source=f"exchange {info.name} ({info.api})")
    started = time.monotonic()
    book.note_start(name)
    try:
        with fetched_ahead(job, own_process=own_process) as messages:
            for message in messages:
                if isinstance(message, Started):
                    report.resumed = message.resumed
                    continue
                _apply(store, book, info.name, info.bank, settings, message, report)
                report.seconds = time.monotonic() - started
                if progress is not None:
                    progress(report)
    except BaseException as error:
        message_text = str(error) if isinstance(error, ClearsightError) else type(error).__name__
        _quietly(lambda: book.note_end(name, up_to_date=False, error=message_text))
        raise
    report.up_to_date = True
    report.seconds = time.monotonic() - started
    book.note_end(name, up_to_date=True, error=None)
    return report


def _apply(
    store: BankStore,
    book: ExchangeBook,
    name: str,
    bank: str,
    settings: BankSettings,
    commit: Commit,
    report: FetchReport,
) -> None:
    """One commit: its entries, its checkpoint and its withdrawals in one transaction."""
    then = book.after_batch(
        name,
        updates=commit.updates,
        checkpoint=commit.checkpoint,
        withdraw_unseen=commit.withdraw_unseen,
    )
    report.note(store.apply_batch(bank, commit.batch, settings, then=then))
    report.updates += commit.updates


def _quietly(action: Callable[[], object]) -> None:
    """Record a failure's note where the store still can; the failure itself wins."""
    try:
        action()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass
