"""The read side of the banks as matching sees it: plain types and one Protocol.

Nothing here knows SQL. The bank store implements :class:`BankLookup`
(:class:`clearsight.banks.reader.BankReader`); a matcher, a case or a matching service
depends on this module only, so any store (or a fake in a test) can serve.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from clearsight.banks.records import EntryMetadata
from clearsight.index.cache import PdqArrays


@dataclass(frozen=True)
class BankSummary:
    name: str
    source: str | None
    description: str | None
    enabled: bool
    allow: bool
    pdq_threshold: int
    entries: int
    signals: dict[str, int]
    updated_at: datetime
    uid: str
    revision: int


@dataclass(frozen=True)
class BankTarget:
    """An enabled bank as the matcher needs it. ``uid`` and ``revision`` name its
    content (an index built from it stays good while both hold)."""

    id: int
    name: str
    allow: bool
    pdq_threshold: int
    uid: str
    revision: int
    has_features: bool = False


@dataclass(frozen=True)
class BankHit:
    """A bank entry a signal was found in, with what the bank says about it."""

    bank: BankTarget
    entry_id: int
    metadata: EntryMetadata


class BankLookup(Protocol):
    """What matching needs of a bank store: read only."""

    def match_targets(self, names: Sequence[str] | None = None) -> list[BankTarget]:
        """The enabled banks, or those named (each must exist)."""
        ...

    def exact_hits(
        self, kind: str, values: Iterable[str], targets: Sequence[BankTarget]
    ) -> dict[str, list[BankHit]]:
        """The entries of ``targets`` holding each of ``values`` as signal ``kind``."""
        ...

    def pdq_arrays(self, bank_id: int) -> PdqArrays:
        """A bank's PDQ codes, of its pictures and of their variants."""
        ...

    def video_signals(self, bank_id: int) -> list[tuple[int, str]]:
        """A bank's vPDQ signals, as (entry id, signal string)."""
        ...

    def entry_metadata(self, entry_ids: Iterable[int]) -> dict[int, EntryMetadata]: ...

    def entry_features(self, entry_ids: Iterable[int]) -> dict[int, str]:
        """The packed local features of those entries that have them."""
        ...
