"""``Case``: the one core object every shell builds (the CLI, the demo, the review server).

A case is opened from a folder or a database URL; :mod:`clearsight.case.opening` picks
the store. The case owns that store, the banks it is matched against with their index
cache (:mod:`clearsight.case.banks`), and its configuration: the priority weights
(:mod:`clearsight.case.config`) and the category scheme decisions use. It offers one
method per stage, and the rules for putting the stages together live here: a scan
never reads the case's own folder; ``clearsight scan`` matches only where banks exist
and then triages; triage links scenes by reading the files again unless told
otherwise.

A case is used from many threads by the review server: the store and the bank store
are SQLAlchemy engines, which are; nothing else here holds state that changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from argon2 import PasswordHasher

from clearsight.case.banks import CaseBanks
from clearsight.case.config import triage_config
from clearsight.case.opening import (
    is_database_url,
    open_database_store,
    open_folder_store,
)
from clearsight.categories import CategoryScheme
from clearsight.index.cache import PdqIndexCache
from clearsight.match.engine import MatchReport
from clearsight.media.decode import DecodeLimits
from clearsight.origin.stage import OriginRun, examine_case
from clearsight.origin.stage import Progress as OriginProgress
from clearsight.report import (
    LOCAL_USER,
    ExportPermission,
    ExportRequest,
    ExportResult,
    case_scheme,
    export_report,
    export_to_file,
)
from clearsight.review.accounts import AccountBook
from clearsight.review.assignments import AssignmentBook
from clearsight.review.audit import AuditLog
from clearsight.review.decisions import DecisionBook
from clearsight.review.exposure import ExposureMeter
from clearsight.review.login_sessions import LoginSessions, SessionPolicy
from clearsight.review.preferences import PreferenceBook
from clearsight.review.preview import PreviewRenderer
from clearsight.review.queue import ReviewQueue
from clearsight.review.settings import ReviewSettings, SettingsStore
from clearsight.scan import ScanExecutor, ScanObserver, ScanOptions, ScanReport, run_scan
from clearsight.series.linking import SceneLinker
from clearsight.store.engines import utc_now
from clearsight.store.interface import ItemRow, QueueEntry, VideoRecord
from clearsight.store.sql import SqlCaseStore
from clearsight.triage.run import Linker, TriageReport, run_triage

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class IngestReport:
    """What :meth:`Case.ingest` did: the scan, the matching (None where there are no
    banks), and the triage."""

    scan: ScanReport
    matching: MatchReport | None
    triage: TriageReport


class Case:
    """One case: its store, its banks and index cache, and its configuration.

    Open it with :meth:`open` (or :meth:`open_folder`, :meth:`open_database`), use it,
    and close it (it is a context manager). ``banks_url`` names the bank store (None:
    ``banks.sqlite`` under CLEARSIGHT_HOME, if it exists); ``index_cache`` the PDQ
    index cache (None: the machine's); ``category_scheme`` the scheme file decisions
    use (None: the shipped one).
    """

    def __init__(
        self,
        store: SqlCaseStore,
        *,
        folder: Path | None = None,
        banks_url: str | None = None,
        index_cache: PdqIndexCache | None = None,
        category_scheme: Path | None = None,
    ) -> None:
        self._store = store
        self._folder = folder
        self._banks = CaseBanks(banks_url, index_cache)
        self._scheme_file = category_scheme

    # Opening and closing

    @classmethod
    def open(
        cls,
        location: Path | str,
        *,
        create: bool = False,
        banks_url: str | None = None,
        index_cache: PdqIndexCache | None = None,
        category_scheme: Path | None = None,
    ) -> Case:
        """Open the case at ``location``: a database URL (``postgresql://…``), or a
        folder holding ``case.sqlite``, made there if ``create`` (only a scan should)."""
        if isinstance(location, str) and is_database_url(location):
            return cls.open_database(
                location,
                banks_url=banks_url,
                index_cache=index_cache,
                category_scheme=category_scheme,
            )
        return cls.open_folder(
            Path(location),
            create=create,
            banks_url=banks_url,
            index_cache=index_cache,
            category_scheme=category_scheme,
        )

    @classmethod
    def open_folder(
        cls,
        folder: Path,
        *,
        create: bool = False,
        banks_url: str | None = None,
        index_cache: PdqIndexCache | None = None,
        category_scheme: Path | None = None,
    ) -> Case:
        """Open the case in ``folder`` (SQLite), making it if ``create``."""
        store = open_folder_store(folder, create=create)
        return cls(
            store,
            folder=folder,
            banks_url=banks_url,
            index_cache=index_cache,
            category_scheme=category_scheme,
        )

    @classmethod
    def open_database(
        cls,
        url: str,
        *,
        banks_url: str | None = None,
        index_cache: PdqIndexCache | None = None,
        category_scheme: Path | None = None,
    ) -> Case:
        """Open the case in the database at ``url`` (PostgreSQL, or SQLite by URL)."""
        return cls(
            open_database_store(url),
            banks_url=banks_url,
            index_cache=index_cache,
            category_scheme=category_scheme,
        )

    def close(self) -> None:
        try:
            self._banks.close()
        finally:
            self._store.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def folder(self) -> Path | None:
        """The case folder, or None for a case in a database."""
        return self._folder

    @property
    def store(self) -> SqlCaseStore:
        """The case store, for the library's own readers."""
        return self._store

    @property
    def banks(self) -> CaseBanks:
        """The bank store and index cache this case is matched with."""
        return self._banks

    # Stages

    def scan(
        self,
        paths: Sequence[Path],
        options: ScanOptions | None = None,
        observer: ScanObserver | None = None,
        executor: ScanExecutor | None = None,
    ) -> ScanReport:
        """Fingerprint every file under ``paths`` into the case, resuming where an
        earlier scan stopped. The case's own folder is never scanned. ``executor`` runs
        the work (default: a process pool on this machine)."""
        options = options or ScanOptions()
        if self._folder is not None:
            options = replace(options, exclude=options.exclude | {str(self._folder.resolve())})
        return run_scan(self._store, list(paths), options, observer, executor)

    def match(self, banks: Sequence[str] | None = None) -> MatchReport:
        """Match every item against ``banks`` (default: every enabled bank); incremental."""
        return self._banks.match(self._store, banks)

    def triage(self, config: Path | None = None, linker: Linker | None = None) -> TriageReport:
        """Stack, link, form series and score, with the weights of ``config``, else the
        case folder's ``triage.toml``, else the defaults. Scene links are confirmed on
        the files read again, unless ``linker`` says otherwise."""
        return run_triage(
            self._store,
            triage_config(self._folder, config),
            linker or SceneLinker(self._store),
        )

    def ingest(
        self,
        paths: Sequence[Path],
        options: ScanOptions | None = None,
        observer: ScanObserver | None = None,
        *,
        executor: ScanExecutor | None = None,
        after_scan: Callable[[ScanReport], object] | None = None,
    ) -> IngestReport:
        """What ``clearsight scan`` does: scan, then match against every enabled bank
        where a bank store exists, then triage. ``after_scan`` is told when the scan
        is done (the CLI closes its progress bar)."""
        scanned = self.scan(paths, options, observer, executor)
        if after_scan is not None:
            after_scan(scanned)
        matched = self._banks.match_if_present(self._store)
        return IngestReport(scanned, matched, self.triage())

    def origin(
        self,
        *,
        everything: bool = False,
        keep_prompts: bool = False,
        pixel_model: str | None = None,
        max_bytes: int = DecodeLimits.max_file_bytes,
        progress: OriginProgress | None = None,
    ) -> OriginRun:
        """Examine the origin evidence of the images not yet examined by this version
        (every image with ``everything``)."""
        return examine_case(
            self._store,
            everything=everything,
            keep_prompts=keep_prompts,
            max_bytes=max_bytes,
            pixel_model=pixel_model,
            progress=progress,
        )

    def export(
        self,
        request: ExportRequest,
        out: BinaryIO,
        *,
        actor: str,
        permission: ExportPermission = LOCAL_USER,
        destination: str | None = None,
    ) -> ExportResult:
        """Write the report ``request`` asks for to ``out``, then audit it."""
        return export_report(
            self._store,
            request,
            out,
            actor=actor,
            permission=permission,
            destination=destination,
        )

    def export_to_file(
        self,
        request: ExportRequest,
        path: Path,
        *,
        actor: str,
        permission: ExportPermission = LOCAL_USER,
    ) -> ExportResult:
        """Write the report to ``path`` through a partial file renamed into place, then
        audit it."""
        return export_to_file(self._store, request, path, actor=actor, permission=permission)

    # What was recorded

    def items(self) -> Iterator[ItemRow]:
        """Every recorded file, in the order ``clearsight items`` lists them."""
        return self._store.iter_items()

    def video(self, item_id: int) -> VideoRecord | None:
        """A scanned video's facts and frame hashes (its vPDQ); None for other items."""
        return self._store.video(item_id)

    def queue(self) -> list[QueueEntry]:
        """The review queue as ``clearsight queue`` prints it, most urgent first."""
        return self._store.queue()

    # Configuration

    def category_scheme(self) -> CategoryScheme:
        """The scheme decisions use: the file the case was opened with, else the
        shipped one, provided the case's review settings name it."""
        return case_scheme(self._store.review_settings().load(), self._scheme_file)

    # Review services (the review server's, and the CLI's account and audit commands)

    def accounts(self, hasher: PasswordHasher | None = None) -> AccountBook:
        return self._store.accounts(hasher)

    def audit_log(self) -> AuditLog:
        return self._store.audit_log()

    def review_settings(self) -> SettingsStore:
        return self._store.review_settings()

    def login_sessions(
        self, accounts: AccountBook, policy: SessionPolicy, clock: Clock = utc_now
    ) -> LoginSessions:
        return self._store.login_sessions(accounts, policy, clock)

    def review_queue(self) -> ReviewQueue:
        return self._store.review_queue()

    def previews(self) -> PreviewRenderer:
        return PreviewRenderer(self._store)

    def assignments(self) -> AssignmentBook:
        return self._store.assignments()

    def preferences(self) -> PreferenceBook:
        return self._store.preferences()

    def exposure(self, settings: ReviewSettings, clock: Clock = utc_now) -> ExposureMeter:
        return self._store.exposure(settings, clock)

    def decisions(
        self, settings: ReviewSettings, scheme: CategoryScheme, clock: Clock = utc_now
    ) -> DecisionBook:
        return self._store.decisions(settings, scheme, clock)
