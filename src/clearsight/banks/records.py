"""What a bank file says about one entry, independent of its format.

Every importer turns its format into a stream of :class:`ImportedEntry`, so that the
bank store never sees VICS, XML or CSV. A line an importer cannot use becomes a
:class:`RejectedLine` naming where it was, never an exception that loses the file.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from dataclasses import dataclass, field

from clearsight.signals.pdq import PdqSignal
from clearsight.signals.registry import SIGNAL_NAMES, signal_type
from clearsight.signals.signal_type import Md5Signal, Sha1Signal, Sha256Signal
from clearsight.signals.vpdq import VpdqSignal


class BankSignal(enum.StrEnum):
    """Signal kinds a bank entry may carry: the registry's signals, each named by its
    signal type (the names are spelled once, in :mod:`clearsight.signals`), and PhotoDNA,
    kept opaque: stored, not matched. The members are written out rather than generated
    so that the type checker knows them; the check below (and the registry's tests)
    fails if they and the registry drift apart, in members or in order."""

    MD5 = Md5Signal.name
    SHA1 = Sha1Signal.name
    SHA256 = Sha256Signal.name
    PDQ = PdqSignal.name
    VPDQ = VpdqSignal.name
    PHOTODNA = "photodna"


if tuple(BankSignal) != (*SIGNAL_NAMES, BankSignal.PHOTODNA):  # pragma: no cover
    raise ImportError("BankSignal must list the registry's signals, in its order, then PhotoDNA")

_HEX = re.compile(r"^[0-9a-f]+$")
_PHOTODNA_BYTES = 144


def normalise_signal(kind: BankSignal, value: str) -> str:
    """The canonical form of a signal value; raises ValueError with a one-line reason."""
    text = value.strip()
    if kind is BankSignal.PHOTODNA:
        if not text:
            raise ValueError("empty PhotoDNA value")
        return canonical_photodna(text)
    return signal_type(kind.value).validate(text)


def canonical_photodna(text: str) -> str:
    """A PhotoDNA hash in the one form clearsight stores: base64 of its 144 bytes.

    Lists write the same 144 bytes as base64 (VICS), as 288 hex digits, or as 144
    comma-separated numbers; each becomes standard padded base64, which is also what
    the VICS export writes. PhotoDNA is licensed and never matched here, so a value
    that is none of these is kept exactly as given rather than refused.
    """
    raw: bytes | None = None
    if len(text) == 2 * _PHOTODNA_BYTES and _HEX.match(text.lower()):
        raw = bytes.fromhex(text)
    elif "," in text:
        parts = text.split(",")
        if len(parts) == _PHOTODNA_BYTES and all(p.strip().isdigit() for p in parts):
            numbers = [int(part) for part in parts]
            raw = bytes(numbers) if max(numbers) < 256 else None
    else:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != _PHOTODNA_BYTES:
        return text
    return base64.b64encode(raw).decode("ascii")


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


@dataclass(frozen=True)
class NotImportable(RejectedLine):
    """Records of a kind clearsight does not keep, counted: one event per kind per file.

    Not an error (a StopNCII download always holds VideoTMK records), so it never
    stops an import with ``--on-error stop``; the import's report counts it apart.
    """

    kind: str = ""
    count: int = 0


@dataclass(frozen=True)
class NextPage(RejectedLine):
    """The file is one page of a longer list, and says where the next page is (NCMEC's
    ``<paging><next>``): the address to ask the service for, as the file gives it.

    Not an error either: the import keeps it in its report, so that whoever imported
    the page is told the list goes on (one import reads one file, never the network).
    """

    address: str = ""


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
