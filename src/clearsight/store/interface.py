"""The narrow interfaces through which stages read and write a case.

Stages depend on these Protocols, never on SQLAlchemy, so that the embedded SQLite
case and a PostgreSQL team server are interchangeable. Each function asks for the
narrowest interface it needs: a scan needs a :class:`ScanLedger`, an export an
:class:`ItemReader`.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from clearsight.media.sniff import MediaKind
from clearsight.media.video_facts import VideoFacts
from clearsight.signals.digests import DigestSet
from clearsight.signals.pdq import PdqHash
from clearsight.signals.variant_hash import VariantHash

if TYPE_CHECKING:  # the review services run SQL: worker processes never import them
    from argon2 import PasswordHasher

    from clearsight.categories import CategoryScheme
    from clearsight.store.queue import ReviewQueue
    from clearsight.store.review.accounts import AccountBook
    from clearsight.store.review.assignments import AssignmentBook
    from clearsight.store.review.audit import AuditLog
    from clearsight.store.review.decisions import Clock, DecisionBook
    from clearsight.store.review.exposure import ExposureMeter
    from clearsight.store.review.item_facts import GroupFacts, ItemFacts
    from clearsight.store.review.login_sessions import LoginSessions, SessionPolicy
    from clearsight.store.review.preferences import PreferenceBook
    from clearsight.store.review.settings import ReviewSettings, SettingsStore


class ErrorStage(enum.StrEnum):
    """Where in the pipeline a file failed."""

    WALK = "walk"
    READ = "read"
    DECODE = "decode"
    HASH = "hash"
    WORKER = "worker"


class Verdict(enum.StrEnum):
    """The origin verdict of an item (see :mod:`clearsight.origin.verdict`)."""

    AI_GENERATED = "ai-generated"
    AI_EDITED = "ai-edited"
    CAMERA_ORIGINAL_LIKELY = "camera-original-likely"
    INCONCLUSIVE = "inconclusive"


class UnitKind(enum.StrEnum):
    """What a reviewer looks at once: a series, a stack outside any series, or an item
    in neither (see :mod:`clearsight.store.queue`)."""

    SERIES = "series"
    STACK = "stack"
    ITEM = "item"


class SelectionKind(enum.StrEnum):
    """Which items a read covers: all, those of some series, or some items."""

    ALL = "all"
    SERIES = "series"
    ITEMS = "items"


@dataclass(frozen=True)
class Selection:
    """The items an export (or any read of items) covers; see
    :mod:`clearsight.report.selection` for its command-line form."""

    kind: SelectionKind = SelectionKind.ALL
    ids: frozenset[int] = frozenset()
    labels: frozenset[str] = frozenset()  # series labels not yet resolved to ids

    @property
    def everything(self) -> bool:
        return self.kind is SelectionKind.ALL

    def text(self) -> str:
        """The canonical form, as the audit log records it."""
        if self.everything:
            return "all"
        names = [str(i) for i in sorted(self.ids)] + sorted(self.labels)
        return f"{self.kind.value}:{','.join(names)}"

    def admits(self, item_id: int, series_id: int | None) -> bool:
        if self.kind is SelectionKind.ITEMS:
            return item_id in self.ids
        if self.kind is SelectionKind.SERIES:
            return series_id is not None and series_id in self.ids
        return True


@dataclass(frozen=True)
class ItemError:
    stage: ErrorStage
    reason: str


@dataclass(frozen=True)
class OriginSummary:
    """The origin verdict of an item: ``ai-generated``, ``ai-edited``,
    ``camera-original-likely`` or ``inconclusive``, a score (0 camera .. 1 AI), and the
    reasons, strongest first."""

    verdict: Verdict
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class EvidenceRecord:
    """One origin finding as stored: kind, ``ai``/``ai-edit``/``camera`` or None,
    ``weak``/``moderate``/``strong``, and where it was found. Never holds prompt text."""

    kind: str
    points_to: str | None
    strength: str
    detail: str


@dataclass(frozen=True)
class ItemOrigin:
    """What the origin stage found in one item, and which detectors and rules found it
    (``examiner``), so a later version knows which items to examine again. Generator
    prompts are kept only when asked for (``--keep-prompts``): they can be abusive."""

    summary: OriginSummary
    evidence: tuple[EvidenceRecord, ...]
    examiner: str
    prompts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Priority:
    """How soon a person should look: a score (0-100, higher first) and why."""

    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PackedFeatures:
    """An item's ORB keypoints packed by ``LocalFeatures.to_bytes``, and the size of the
    picture they were taken from (the 512-pixel box PDQ hashes in)."""

    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class VideoFrameHash:
    """One sampled frame of a video: its vPDQ feature, the hash of its mirror image,
    and whether it represents a shot (those also go through the picture pipeline)."""

    number: int  # in decoding order
    timestamp: float  # seconds, as vPDQ computes it
    pdq: str
    quality: int
    mirror: str | None = None  # the PDQ of the frame flipped left to right
    representative: bool = False
    trimmed: str | None = None  # the PDQ of the picture inside black bars, if it has any
    # One of vPDQ's frames (full resolution, one a second); else a frame sampled between
    # them, hashed smaller, that matching uses to find clips cut between sample points.
    exact: bool = True


@dataclass(frozen=True)
class VideoQuery:
    """A scanned video's sampled frames, by its item id: what video matching reads."""

    item_id: int
    frames: tuple[VideoFrameHash, ...]


@dataclass(frozen=True)
class VideoRecord:
    """What a scan learned of a video: its facts, and its sampled frames in order.
    ``stopped`` says why decoding ended early (a broken stream), if it did."""

    facts: VideoFacts
    frames_decoded: int
    frames: tuple[VideoFrameHash, ...] = ()
    stopped: str | None = None


@dataclass(frozen=True)
class ScannedFile:
    """Everything one scan learned about one path of a source. ``path`` is relative to
    the source, as :func:`os.fsdecode` gives it: bytes that are not UTF-8 are kept, and
    the store records the exact bytes (see :mod:`clearsight.store.paths`)."""

    path: str
    media_type: str
    kind: MediaKind
    size: int | None = None
    mtime: float | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    digests: DigestSet | None = None
    pdq: PdqHash | None = None
    pdq_variants: tuple[VariantHash, ...] = ()
    scene_views: tuple[VariantHash, ...] = ()  # quadrants and centre crops, for scene links
    features: PackedFeatures | None = None  # ORB keypoints, for scene links and bank checks
    errors: tuple[ItemError, ...] = field(default=())
    origin: ItemOrigin | None = None
    video: VideoRecord | None = None  # facts and frame hashes, for a video


@dataclass(frozen=True)
class ScanTally:
    """The counts a scan run reports; every file seen lands in exactly one bucket."""

    files_seen: int = 0
    items: int = 0
    errors: int = 0
    already_done: int = 0


@dataclass(frozen=True)
class MatchView:
    """An item found in a bank entry, with the entry's metadata as the bank said it then."""

    bank: str
    entry_id: int
    external_id: str | None
    signal: str
    distance: int
    transform: str
    allow: bool
    category: str | None
    series: str | None
    victim_identified: bool | None
    variant: str | None = None
    inliers: int | None = None
    # The share (0-1) of the item's picture that the confirming features span.
    coverage: float | None = None


@dataclass(frozen=True)
class MatchRecord:
    """A match found for one item of the case."""

    item_id: int
    match: MatchView


@dataclass(frozen=True)
class BankCheck:
    """A bank as a case was last matched against it, up to item ``through_item``."""

    bank: str
    bank_uid: str
    bank_revision: int
    pdq_threshold: int
    allow: bool
    through_item: int
    matcher: str = ""


@dataclass(frozen=True)
class MatchTotals:
    """A case's matches against some banks: items matched, matches, items noted as weak."""

    matched_items: int
    matches: int
    noted_items: int


@dataclass(frozen=True)
class MatchQuery:
    """What the matcher needs of one item: its digests and its PDQ hashes."""

    item_id: int
    digests: dict[str, str]
    pdq: str | None
    pdq_quality: int | None
    dihedral: tuple[str, ...]
    variants: tuple[VariantHash, ...] = ()


@dataclass(frozen=True)
class ItemFile:
    """Where an item's bytes are, and the SHA-256 they had when scanned: ``path`` in its
    display form, for people (:mod:`clearsight.file_paths`), ``raw_path`` the exact
    bytes, to open the file again."""

    path: str
    sha256: str | None
    raw_path: bytes

    @property
    def os_path(self) -> str:
        """The file as Python opens it (bytes that are not UTF-8 as lone surrogates)."""
        return os.fsdecode(self.raw_path)


@dataclass(frozen=True)
class VideoSummary:
    """A video's facts as item listings show them."""

    container: str
    codec: str
    duration: float | None
    frame_rate: float
    frames_decoded: int
    frames_hashed: int
    has_audio: bool


@dataclass(frozen=True)
class ItemRow:
    """One recorded file as exports show it: ``source`` and ``path`` in their display
    form (:mod:`clearsight.file_paths`), which names the file again."""

    source: str
    path: str
    size: int | None
    mtime: float | None
    media_type: str
    kind: str
    width: int | None
    height: int | None
    orientation: int | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None
    error: str | None
    matches: tuple[MatchView, ...] = ()
    notes: tuple[str, ...] = ()
    origin: OriginSummary | None = None
    stack: int | None = None  # id of the item's near-duplicate stack
    series: int | None = None  # id of the item's series
    priority: Priority | None = None
    video: VideoSummary | None = None


class ScanLedger(Protocol):
    """What a scan needs: sources, what is already recorded, and a place to record."""

    def open_source(self, root: str) -> int:
        """Return the id of the source rooted at ``root`` (as :func:`os.fsdecode` gives
        it), creating it if new."""
        ...

    def recorded_paths(self, source_id: int) -> set[str]:
        """Paths of ``source_id`` that already have a row (item or error), as
        :func:`os.fsdecode` gives them: equal to the walk's paths of those files."""
        ...

    def record_files(self, scan_id: int, files: Sequence[tuple[int, ScannedFile]]) -> None:
        """Record ``(source_id, file)`` pairs atomically: after a crash all are there or none."""
        ...

    def start_scan(self, roots: Sequence[str]) -> int: ...

    def finish_scan(self, scan_id: int, tally: ScanTally, completed: bool) -> None: ...


class ItemReader(Protocol):
    """Read access to recorded items, in a stable order."""

    def iter_items(self) -> Iterator[ItemRow]: ...

    def video(self, item_id: int) -> VideoRecord | None:
        """The facts and frame hashes of a scanned video; None for any other item."""
        ...


@dataclass(frozen=True)
class TriageItem:
    """What triage needs of one item: its hashes, size, bank matches and origin."""

    item_id: int
    path: str  # display form
    kind: str
    sha256: str | None
    pdq: str | None  # None where missing or too weak (quality below 50) to compare
    dihedral: tuple[str, ...]
    pixels: int
    size: int
    matches: tuple[MatchView, ...]
    origin: OriginSummary | None
    scene_codes: tuple[str, ...] = ()  # hashes of its scene views, for scene links
    view_codes: tuple[str, ...] = ()  # hashes of its query views (trimmed, tiles)
    unreadable: str | None = None  # why the scan could not read it ("decode: ..."), if so


@dataclass(frozen=True)
class StackRecord:
    members: tuple[int, ...]
    representative: int
    priority: Priority


@dataclass(frozen=True)
class SeriesRecord:
    label: str
    name: str | None  # a bank's series name, where a member matched one
    victim_identified: bool | None
    members: tuple[int, ...]
    priority: Priority


@dataclass(frozen=True)
class SceneLinkRecord:
    item_a: int
    item_b: int
    inliers: int
    overlap: float
    strength: float
    reason: str


@dataclass(frozen=True)
class TriageResult:
    stacks: tuple[StackRecord, ...]
    series: tuple[SeriesRecord, ...]
    links: tuple[SceneLinkRecord, ...]
    priorities: dict[int, Priority]


@dataclass(frozen=True)
class QueueEntry:
    """One unit of the review queue: a series, a stack outside any series, or an item
    in neither, with its score, its reasons, and the file to look at first."""

    kind: UnitKind
    id: int
    label: str
    size: int
    score: float
    reasons: tuple[str, ...]
    representative: str  # path of the file to look at first (display form)
    path: str = ""  # that file's path under its source (display form)


class TriageLedger(Protocol):
    def triage_items(self) -> Iterator[TriageItem]: ...

    def record_triage(self, result: TriageResult) -> None:
        """Replace the case's stacks, series, links and priorities in one transaction."""
        ...

    def queue(self) -> list[QueueEntry]:
        """The review queue, highest score first."""
        ...


class OriginLedger(Protocol):
    """What the origin stage needs when it runs on its own (``clearsight origin``)."""

    def origin_targets(self, examiner: str, *, everything: bool) -> list[int]:
        """Image items with no origin recorded by ``examiner`` (all images if
        ``everything``), in item order."""
        ...

    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]: ...

    def record_origins(self, found: Sequence[tuple[int, ItemOrigin]]) -> None:
        """Replace the origin of each item named."""
        ...


class MatchLedger(Protocol):
    """What matching needs of a case: the items' signals, and a place for the results."""

    def iter_match_queries(self, after_item: int = 0) -> Iterator[MatchQuery]:
        """The items numbered above ``after_item``, in item order."""
        ...

    def iter_video_queries(self, after_item: int = 0) -> Iterator[VideoQuery]:
        """Scanned videos' sampled frames, items after ``after_item``, by item id."""
        ...

    def bank_checks(self) -> dict[str, BankCheck]:
        """How far the case was matched against each bank, by bank name."""
        ...

    def record_bank_matches(
        self, check: BankCheck, matches: Sequence[MatchRecord], *, after_item: int
    ) -> None:
        """In one transaction: drop the bank's matches for items above ``after_item``,
        add ``matches``, and remember ``check``."""
        ...

    def record_match_notes(self, notes: Sequence[tuple[int, str]], *, after_item: int) -> None:
        """Replace the match notes of the items above ``after_item``."""
        ...

    def match_totals(self, banks: Sequence[str]) -> MatchTotals: ...

    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]:
        """Where to read the named items again (to confirm a candidate match)."""
        ...


# What exports read (clearsight.report) and what the review server reads and writes.


@dataclass(frozen=True)
class CaseRecord:
    id: int
    name: str
    created_at: datetime
    clearsight_version: str


@dataclass(frozen=True)
class ErrorRecord:
    """One error an item met; ``source`` and ``path`` in their display form."""

    item_id: int
    source: str
    path: str
    stage: str
    reason: str


@dataclass(frozen=True)
class SeriesSummary:
    id: int
    label: str
    name: str | None  # a bank's series name, where a member matched one
    victim_identified: bool | None  # what the banks say
    score: float
    reasons: tuple[str, ...]
    size: int


@dataclass(frozen=True)
class SeriesMemberRecord:
    """A member of a series, ranked by priority within it, with what it met."""

    item_id: int
    series_id: int
    source: str  # display form
    path: str  # display form
    verdict: Verdict | None
    score: float
    reasons: tuple[str, ...]
    total: int  # members of the series in the selection, shown or not
    matches: tuple[MatchView, ...]
    errors: tuple[str, ...]


@dataclass(frozen=True)
class RevealRecord:
    """A reveal as recorded: ``seconds`` is 0 while it is open."""

    id: int
    account_id: int
    item_id: int
    started_at: datetime
    seconds: float
    frame_number: int | None = None  # the video frame shown, where one frame was


class ExportReader(Protocol):
    """What exports read of a case: its items a page at a time (the one item reader),
    their decisions and reveals, its series and errors, and where the files are (for
    the HTML report's thumbnails); and the audit log an export is recorded in."""

    def video(self, item_id: int) -> VideoRecord | None:
        """A scanned video's facts and frame hashes; None for any other item."""
        ...

    def case_record(self) -> CaseRecord: ...

    def item_pages(
        self, selection: Selection, page_size: int
    ) -> Iterator[list[tuple[int, ItemRow]]]:
        """Pages of (item id, row) of the selected items, source by source, by path."""
        ...

    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]: ...

    def known_items(self, item_ids: Sequence[int]) -> set[int]:
        """Those of ``item_ids`` that the case has."""
        ...

    def known_series(
        self, series_ids: Sequence[int], labels: Sequence[str]
    ) -> tuple[set[int], dict[str, int]]:
        """Those of ``series_ids`` that exist, and the ids of those of ``labels`` that do."""
        ...

    def revealed_among(self, item_ids: Sequence[int]) -> set[int]:
        """Those of ``item_ids`` that anyone ever saw unblurred."""
        ...

    def error_records(self, selection: Selection) -> Iterator[ErrorRecord]: ...

    def series_labels(self, series_ids: Sequence[int]) -> dict[int, str]: ...

    def series_pages(self, selection: Selection, page_size: int) -> Iterator[list[SeriesSummary]]:
        """The selected series, highest score first, a page at a time."""
        ...

    def series_members(
        self, series_ids: Sequence[int], selection: Selection, cap: int
    ) -> list[SeriesMemberRecord]:
        """The first ``cap`` selected members of each series by priority."""
        ...

    def audit_log(self) -> AuditLog: ...

    def review_settings(self) -> SettingsStore: ...

    def decisions(
        self, settings: ReviewSettings, scheme: CategoryScheme, clock: Clock = ...
    ) -> DecisionBook: ...


class ReviewStore(Protocol):
    """The review services of a case, built on its database: what the review server
    (and ``clearsight user``, ``clearsight audit``) use, never the tables."""

    def audit_log(self) -> AuditLog: ...

    def accounts(self, hasher: PasswordHasher | None = None) -> AccountBook: ...

    def login_sessions(
        self,
        accounts: AccountBook | None = None,
        policy: SessionPolicy | None = None,
        clock: Clock = ...,
    ) -> LoginSessions: ...

    def review_settings(self) -> SettingsStore: ...

    def preferences(self) -> PreferenceBook: ...

    def assignments(self) -> AssignmentBook: ...

    def exposure(self, settings: ReviewSettings, clock: Clock = ...) -> ExposureMeter: ...

    def decisions(
        self, settings: ReviewSettings, scheme: CategoryScheme, clock: Clock = ...
    ) -> DecisionBook: ...

    def review_queue(self) -> ReviewQueue:
        """The one queue of the case (``clearsight queue`` lists the same)."""
        ...

    def item_facts(self, item_id: int) -> ItemFacts | None: ...

    def series_facts(self, series_id: int) -> GroupFacts | None: ...

    def prompts(self, item_id: int) -> tuple[str, ...]:
        """Generator prompts kept for an item: show them only behind a reveal."""
        ...

    def reveal(self, reveal_id: int) -> RevealRecord | None: ...

    def matched_banks(self) -> list[str]: ...

    def item_files(self, item_ids: Sequence[int]) -> dict[int, ItemFile]: ...
