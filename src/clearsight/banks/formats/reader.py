"""Pick the parser for a bank file: named by the user, or told from the file itself.

Any of them may be gzip-compressed (told by its magic bytes, whatever its name).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from pathlib import Path
from typing import overload

from clearsight.banks.formats.byte_source import open_bank_bytes
from clearsight.banks.formats.delimited import HASH_COLUMN, SIGNAL_COLUMNS, parse_delimited
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.ncmec_xml import parse_ncmec_xml
from clearsight.banks.formats.plain_text import parse_plain_text
from clearsight.banks.formats.stopncii import parse_stopncii
from clearsight.banks.formats.vics import parse_vics
from clearsight.banks.prepared import PreparedEntry
from clearsight.banks.records import BankSignal, ImportEvent

_PEEK_BYTES = 4096


class BankFormat(enum.StrEnum):
    AUTO = "auto"
    VICS = "vics"
    NCMEC_XML = "ncmec-xml"
    STOPNCII = "stopncii"
    CSV = "csv"
    TXT = "txt"


class BankFile(Iterator[ImportEvent]):
    """The events of a bank file, parsed as they are asked for.

    It names what it reads (``path``, the format told, ``signal``) so that an import
    can instead parse the file in a process of its own (``banks.parse_ahead``), as
    long as nothing was read from it here yet (``started``).
    """

    def __init__(self, path: Path, fmt: BankFormat, signal: BankSignal | None) -> None:
        self.path, self.fmt, self.signal = path, fmt, signal
        self._events: Iterator[ImportEvent] | None = None

    @property
    def started(self) -> bool:
        return self._events is not None

    def __next__(self) -> ImportEvent:
        if self._events is None:
            self._events = parse_bank_file(self.path, self.fmt, self.signal)
        return next(self._events)

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()


def read_bank_file(path: Path, fmt: BankFormat, signal: BankSignal | None = None) -> BankFile:
    """Stream the entries of ``path``; raises BankFormatError for an unreadable file."""
    if not path.is_file():
        raise BankFormatError(f"no such bank file: {path}")
    return BankFile(path, detect_format(path) if fmt is BankFormat.AUTO else fmt, signal)


@overload
def parse_bank_file(
    path: Path, chosen: BankFormat, signal: BankSignal | None = None
) -> Iterator[ImportEvent]: ...


@overload
def parse_bank_file(
    path: Path, chosen: BankFormat, signal: BankSignal | None = None, *, prepared: bool
) -> Iterator[ImportEvent | PreparedEntry]: ...


def parse_bank_file(
    path: Path, chosen: BankFormat, signal: BankSignal | None = None, *, prepared: bool = False
) -> Iterator[ImportEvent | PreparedEntry]:
    """The events of ``path`` read as format ``chosen`` (not AUTO).

    ``prepared``: a reader may give an entry as the write path takes it
    (:data:`~clearsight.banks.prepared.PreparedEntry`) where it can make that
    quicker than an :class:`ImportedEntry` (the VICS reader, for the common Media).
    """
    if chosen is BankFormat.VICS:
        return parse_vics(path, prepared=prepared)
    if chosen is BankFormat.NCMEC_XML:
        return parse_ncmec_xml(path)
    if chosen is BankFormat.STOPNCII:
        return parse_stopncii(path)
    if chosen is BankFormat.CSV:
        return parse_delimited(path, signal)
    return parse_plain_text(path, signal)


def detect_format(path: Path) -> BankFormat:
    """Tell the format from the first bytes: JSON flavour by its keys, XML, CSV header.

    The bytes are read as the parsers will read them: gunzipped and in UTF-8.
    """
    with open_bank_bytes(path) as handle:
        head = handle.read(_PEEK_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if head.startswith(("{", "[")):
        return BankFormat.STOPNCII if '"hashrecords"' in head.lower() else BankFormat.VICS
    if head.startswith("<"):
        return BankFormat.NCMEC_XML
    first_line = head.splitlines()[0] if head else ""
    columns = {c.strip().lower() for c in first_line.replace("\t", ",").split(",")}
    # A header naming a signal column or a ``hash`` column makes a CSV, even a header
    # of one column (``pdq``): read as plain text, its name would be a rejected line.
    if columns & {*SIGNAL_COLUMNS, HASH_COLUMN}:
        return BankFormat.CSV
    return BankFormat.TXT
