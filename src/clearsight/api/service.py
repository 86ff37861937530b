"""One matching service: the banks, their live index, the keys, and the thread that
keeps the index and the keys current.

What the routes call lives here or in the library; the routes only translate HMA's
parameters and shapes. The refresh thread runs :meth:`LiveIndex.refresh` every
``refresh_every`` seconds (sooner when this process just changed a bank), and reads the
keys; lookups never wait for it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from clearsight.api.batching import PdqBatcher
from clearsight.api.config import ApiConfig
from clearsight.api.fetch_schedule import FetchSchedule
from clearsight.banks.access_keys import ApiKey
from clearsight.banks.lookup import BankTarget
from clearsight.case import CaseBanks
from clearsight.match.bank_matcher import BankMatcher
from clearsight.match.live_index import PdqFound
from clearsight.signals.vpdq import parse_signal_string

LOGGER = logging.getLogger("clearsight.api")

PDQ = "pdq"
MD5 = "md5"
VPDQ = "vpdq"
# HMA's signal type names, and clearsight's signal each means: HMA's video_md5 is the
# MD5 of the file's bytes, which is what clearsight's md5 of any file is; vpdq is
# python-threatexchange's VPDQSignal (its signal string: a JSON list of frames).
SIGNAL_TYPES = {"pdq": PDQ, "md5": MD5, "video_md5": MD5, "vpdq": VPDQ}


@dataclass(frozen=True)
class DigestFound:
    bank: str
    entry_id: int


@dataclass(frozen=True)
class VideoFound:
    """A bank video a vPDQ query matched, with vPDQ's two percentages."""

    bank: str
    entry_id: int
    query_percent: float
    compared_percent: float

    @property
    def distance(self) -> str:
        """As HMA writes a vPDQ match (python-threatexchange's ``VPDQSimilarityInfo``)."""
        return f"{self.query_percent:.0f}%[{self.compared_percent:.0f}%]"


class MatchingService:
    def __init__(self, banks: CaseBanks, config: ApiConfig) -> None:
        self.banks = banks
        self.config = config
        self.index = banks.live_index()
        self.edits = banks.edits()
        self.audit = banks.service_audit()
        self._key_book = banks.access_keys()
        self.keys: dict[str, ApiKey] = {}
        self.batcher = PdqBatcher(lambda codes: self.index.search_pdq(codes, enabled_only=False))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh_failure: str | None = None
        self.warmed = False
        self.fetches: FetchSchedule | None = None
        # Videos are matched by the project's video matcher, one bank matcher kept per
        # process (it keeps each bank's frame index until the bank changes); it is not
        # thread-safe, and video lookups are few and dear, so they take turns.
        self._videos: BankMatcher | None = None
        self._videos_lock = threading.Lock()
        if config.fetch_every:
            self.fetches = FetchSchedule(banks, config.fetch_every, self.changed)

    # Lifetime

    def start(self) -> None:
        self.keys = self._key_book.active_by_digest()
        self._thread = threading.Thread(
            target=self._keep_current, name="clearsight-index-refresh", daemon=True
        )
        self._thread.start()
        if self.fetches is not None:
            self.fetches.start()

    def stop(self) -> None:
        if self.fetches is not None:
            self.fetches.stop()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.batcher.close()
        self.banks.close()

    def changed(self) -> None:
        """This process changed a bank: refresh now rather than within a second."""
        self._wake.set()

    def refresh_now(self) -> None:
        self.index.refresh()
        self.keys = self._key_book.active_by_digest()
        if not self.warmed:
            # The first search loads the compiled kernels and touches the mapped index:
            # done here, before /status says ready, not by the first callers.
            self.index.search_pdq(np.zeros((1, 4), dtype=np.uint64), enabled_only=False)
            self.warmed = True

    def _keep_current(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh_now()
                self.refresh_failure = None
            except Exception as exc:  # noqa: BLE001 - the service keeps serving what it has
                self.refresh_failure = type(exc).__name__
                LOGGER.exception("refreshing the index failed; serving the index as it was")
            self._wake.wait(self.config.refresh_every)
            self._wake.clear()

    # Status

    def status(self) -> str:
        """HMA's ``/status`` words: I-AM-ALIVE, INDEX-NOT-LOADED or INDEX-STALE."""
        if self.index.snapshot is None or self.index.refreshed_at is None or not self.warmed:
            return "INDEX-NOT-LOADED"
        if time.monotonic() - self.index.refreshed_at > self.config.stale_after:
            return "INDEX-STALE"
        return "I-AM-ALIVE"

    # Lookups

    async def pdq_hits(self, value: str) -> list[PdqFound]:
        from clearsight.signals.pdq import PdqSignal

        code: np.ndarray = PdqSignal.pack([value])[0]
        return await self.batcher.search(code)

    def digest_hits(self, value: str, banks: Collection[str] | None) -> list[DigestFound]:
        snapshot = self.index.snapshot
        if snapshot is None:
            return []
        targets: list[BankTarget] = [
            bank.state.target
            for name, bank in snapshot.banks.items()
            if banks is None or name in banks
        ]
        if not targets:
            return []
        hits = self.banks.store().exact_hits(MD5, [value], targets).get(value, [])
        return [DigestFound(hit.bank.name, hit.entry_id) for hit in hits]

    def video_hits(self, value: str, banks: Collection[str] | None) -> list[VideoFound]:
        """The bank videos a vPDQ signal string matches by vPDQ's rule (80% of the
        query's frames), in the enabled banks (those of ``banks`` only, if given).
        Blocking: call off the loop."""
        features = parse_signal_string(value)
        with self._videos_lock:
            if self._videos is None:
                self._videos = self.banks.matcher()
            else:
                self._videos.refresh()
            matches = self._videos.lookup_video(features)
        return [
            VideoFound(
                match.bank,
                match.entry_id,
                100 * (match.coverage or 0.0),
                100 * (match.compared_coverage or 0.0),
            )
            for match in matches
            if banks is None or match.bank in banks
        ]

    def banks_seen(self, seed: str | None, bypass_coinflip: bool = False) -> set[str]:
        """The banks a lookup sees: HMA's coin flip, one per lookup (seeded by the
        caller's ``seed`` where given, so that one piece of content always gets the same
        answer), against each bank's ``matching_enabled_ratio``; every bank, disabled
        ones included, where the caller bypasses the flip (as HMA does)."""
        snapshot = self.index.snapshot
        if snapshot is None:
            return set()
        ratios = {name: bank.state.enabled_ratio for name, bank in snapshot.banks.items()}
        if bypass_coinflip:
            coin = 0.0
        elif all(ratio in (0.0, 1.0) for ratio in ratios.values()):
            coin = 0.5  # the answer of any flip: spares seeding a generator per lookup
        else:
            coin = random.Random(seed).random()
        return {name for name, ratio in ratios.items() if ratio >= coin}

    pdq_threshold = 31  # HMA's PDQ_CONFIDENT_MATCH_THRESHOLD, for /m/compare

    def built_to(self) -> int:
        """The wall-clock time (epoch seconds) of the last complete refresh, or -1."""
        if self.index.refreshed_at is None:
            return -1
        return int(time.time() - (time.monotonic() - self.index.refreshed_at))

    def signal_count(self, kind: str) -> int:
        summaries = self.banks.summaries() or []
        return sum(summary.signals.get(kind, 0) for summary in summaries)
