"""The banks a case is matched against: the bank store and the PDQ index cache together.

The bank store is opened on first use and kept until :meth:`CaseBanks.close`; where
no store is named and the machine's default was never made, there are no banks, and
asking again later finds a store made meanwhile (a review server runs for days while
banks are imported). Removing a bank also drops its cached index, which is as big as
the bank: that rule lives here, not in each command that removes one.

Matching is put together here only: a :class:`~clearsight.match.bank_matcher.BankMatcher`
over the store and the cache, which ``match_case`` drives for a case and which a
case-free lookup (:meth:`CaseBanks.matcher`) uses as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from clearsight.banks.access_keys import AccessKeyBook
from clearsight.banks.exchange_book import ExchangeBook
from clearsight.banks.lookup import BankSummary
from clearsight.banks.records import ImportEvent
from clearsight.banks.service_audit import ServiceAuditLog
from clearsight.banks.service_edits import BankEdits
from clearsight.banks.store import BankSettings, BankStore, ImportReport
from clearsight.errors import UserError
from clearsight.exchanges.credentials import CredentialStore
from clearsight.exchanges.fetch import FetchReport, Progress, fetch_exchange
from clearsight.index.cache import PdqIndexCache
from clearsight.match.bank_matcher import BankMatcher
from clearsight.match.engine import MatchReport, match_case
from clearsight.match.item_features import FileItemFeatures
from clearsight.match.live_index import LiveIndex
from clearsight.store.sql import SqlCaseStore

NO_BANK_STORE = "no bank store: import a bank with `clearsight bank import` first"


class CaseBanks:
    """The bank store at ``url`` (None: the default under CLEARSIGHT_HOME) and the index
    cache (None: the machine's). Safe to share between threads."""

    def __init__(self, url: str | None = None, index_cache: PdqIndexCache | None = None) -> None:
        self._url = url
        self._cache = index_cache
        self._store: BankStore | None = None
        self._lock = threading.Lock()

    @property
    def index_cache(self) -> PdqIndexCache:
        if self._cache is None:
            self._cache = PdqIndexCache.default()
        return self._cache

    def store(self) -> BankStore:
        """The bank store, made where it does not exist yet."""
        with self._lock:
            if self._store is None:
                self._store = BankStore.open(self._url)
            return self._store

    def store_if_present(self) -> BankStore | None:
        """The bank store, or None where none was named and the default was never made."""
        with self._lock:
            if self._store is None:
                self._store = BankStore.open_if_present(self._url)
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # Matching

    def matcher(self, names: Sequence[str] | None = None) -> BankMatcher:
        """A case-free matcher over ``names`` (default: every enabled bank)."""
        return BankMatcher(self.store(), self.index_cache, names)

    def match(self, case: SqlCaseStore, names: Sequence[str] | None = None) -> MatchReport:
        """Match the case's items against ``names`` (default: every enabled bank), the
        bank store made if need be (so an empty one says there is nothing to match)."""
        return self._match(case, self.store(), names)

    def match_if_present(self, case: SqlCaseStore) -> MatchReport | None:
        """Match against every enabled bank, or None where there is no bank store."""
        store = self.store_if_present()
        return None if store is None else self._match(case, store, None)

    def _match(
        self, case: SqlCaseStore, store: BankStore, names: Sequence[str] | None
    ) -> MatchReport:
        # The case's files are read again to confirm candidates by local features.
        matcher = BankMatcher(store, self.index_cache, names)
        return match_case(case, matcher, item_features=FileItemFeatures(case))

    # The matching service (clearsight.api): edits one entry at a time, its keys, its
    # audit log, and the live index that follows the edits.

    def edits(self) -> BankEdits:
        return BankEdits(self.store().engine)

    def access_keys(self) -> AccessKeyBook:
        return AccessKeyBook(self.store().engine)

    def service_audit(self) -> ServiceAuditLog:
        return ServiceAuditLog(self.store().engine)

    def live_index(self) -> LiveIndex:
        """Every bank's PDQ index, kept current by its ``refresh``; cached indexes are
        memory-mapped, so the processes of one service share them."""
        store = self.store()
        return LiveIndex(BankEdits(store.engine), store, self.index_cache.mapped())

    # Administration

    def summaries(self) -> list[BankSummary] | None:
        """Every bank's summary, or None where there is no bank store."""
        store = self.store_if_present()
        return None if store is None else store.summaries()

    def set_enabled(self, name: str, enabled: bool) -> BankSummary:
        """Enable or disable bank ``name`` for matching."""
        store = self.store_if_present()
        if store is None:
            raise UserError(NO_BANK_STORE)
        return store.update_settings(name, enabled=enabled)

    def import_entries(
        self,
        name: str,
        events: Iterable[ImportEvent],
        settings: BankSettings,
        *,
        file_name: str,
        stop_on_error: bool = True,
    ) -> ImportReport:
        """Import ``events`` into bank ``name`` (created with ``settings`` if new)."""
        return self.store().import_entries(
            name, events, settings, stop_on_error=stop_on_error, file_name=file_name
        )

    # Exchanges (feeds that keep a bank in sync; see clearsight.exchanges)

    def exchanges(self) -> ExchangeBook:
        """The exchanges of this bank store, made if need be."""
        return ExchangeBook(self.store().engine)

    def fetch_exchange(
        self,
        name: str,
        *,
        progress: Progress | None = None,
        credentials: CredentialStore | None = None,
    ) -> FetchReport:
        """Fetch exchange ``name`` into its bank, resuming from its checkpoint.

        Safe beside lookups: each batch is a short transaction, and readers keep the
        last committed state meanwhile. The bank's revision goes up with each batch
        that changed entries, so an index built from it knows to catch up.
        """
        return fetch_exchange(self.store(), name, progress=progress, credentials=credentials)

    def remove(self, name: str) -> int:
        """Delete bank ``name`` and its cached index; returns how many entries went."""
        store = self.store()
        uid = store.summary(name).uid
        entries = store.remove(name)
        self.index_cache.forget(uid)  # a big bank's index is as big as the bank
        return entries
