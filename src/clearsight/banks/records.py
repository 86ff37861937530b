"""What a bank file says about one entry, independent of its format.

Every importer turns its format into a stream of :class:`ImportedEntry`, so that the
bank store never sees VICS, XML or CSV. A line an importer cannot use becomes a
:class:`RejectedLine` naming where it was, never an exception that loses the file.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field


class BankSignal(enum.StrEnum):
    """Signal kinds a bank entry may carry. PhotoDNA is kept opaque: stored, not matched."""

    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    PDQ = "pdq"
    PHOTODNA = "photodna"


_HEX_LENGTH = {BankSignal.MD5: 32, BankSignal.SHA1: 40, BankSignal.SHA256: 64, BankSignal.PDQ: 64}
_HEX = re.compile(r"^[0-9a-f]+$")


def normalise_signal(kind: BankSignal, value: str) -> str:
    """The canonical form of a signal value; raises ValueError with a one-line reason."""
    text = value.strip()
    if kind is BankSignal.PHOTODNA:
        if not text:
            raise ValueError("empty PhotoDNA value")
        return text  # licensed and opaque: kept exactly as given
    lowered = text.lower()
    expected = _HEX_LENGTH[kind]
    if len(lowered) != expected or not _HEX.match(lowered):
        raise ValueError(f"not a {kind.value} value ({expected} hex digits): {text[:80]!r}")
    return lowered


@dataclass(frozen=True)
class EntryMetadata:
    """What a list says about a known item. ``None`` means the list did not say."""

    external_id: str | None = None
    category: str | None = None
    series: str | None = None
    victim_identified: bool | None = None
    offender_identified: bool | None = None
    tags: tuple[str, ...] = ()
    comments: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class ImportedEntry:
    """One entry of a bank: its signals (normalised) and metadata.

    ``remove`` marks an entry the list withdraws (NCMEC ``deletedImage``); such an entry
    is identified by its ``external_id``, or failing that, by its signals.
    """

    signals: tuple[tuple[BankSignal, str], ...]
    metadata: EntryMetadata = field(default_factory=EntryMetadata)
    remove: bool = False
    where: str = ""
    # Only for originals the user holds (``bank add``): the PDQ hashes of crops, turns
    # and quadrants by variant name, and the packed local features used to confirm
    # candidates. Lists from elsewhere carry neither, and exports leave them out.
    pdq_variants: tuple[tuple[str, str], ...] = ()
    features: str | None = None


@dataclass(frozen=True)
class RejectedLine:
    """A part of a bank file that could not be used, and why (one line)."""

    where: str
    reason: str


ImportEvent = ImportedEntry | RejectedLine


def parse_flag(value: object) -> bool | None:
    """Read the yes/no flags lists use: true/false, yes/no, 1/0, or nothing."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "null", "none", "unknown"):
        return None
    if text in ("true", "yes", "y", "1"):
        return True
    if text in ("false", "no", "n", "0"):
        return False
    raise ValueError(f"not a yes/no value: {str(value)[:40]!r}")
