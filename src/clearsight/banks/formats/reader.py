"""Pick the parser for a bank file: named by the user, or told from the file itself.

Any of them may be gzip-compressed (told by its magic bytes, whatever its name).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from pathlib import Path

from clearsight.banks.formats.byte_source import open_bank_bytes
from clearsight.banks.formats.delimited import SIGNAL_COLUMNS, parse_delimited
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.ncmec_xml import parse_ncmec_xml
from clearsight.banks.formats.plain_text import parse_plain_text
from clearsight.banks.formats.stopncii import parse_stopncii
from clearsight.banks.formats.vics import parse_vics
from clearsight.banks.records import BankSignal, ImportEvent

_PEEK_BYTES = 4096


class BankFormat(enum.StrEnum):
    AUTO = "auto"
    VICS = "vics"
    NCMEC_XML = "ncmec-xml"
    STOPNCII = "stopncii"
    CSV = "csv"
    TXT = "txt"


def read_bank_file(
    path: Path, fmt: BankFormat, signal: BankSignal | None = None
) -> Iterator[ImportEvent]:
    """Stream the entries of ``path``; raises BankFormatError for an unreadable file."""
    if not path.is_file():
        raise BankFormatError(f"no such bank file: {path}")
    chosen = detect_format(path) if fmt is BankFormat.AUTO else fmt
    if chosen is BankFormat.VICS:
        return parse_vics(path)
    if chosen is BankFormat.NCMEC_XML:
        return parse_ncmec_xml(path)
    if chosen is BankFormat.STOPNCII:
        return parse_stopncii(path)
    if chosen is BankFormat.CSV:
        return parse_delimited(path)
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
    if len(columns) > 1 and columns & set(SIGNAL_COLUMNS):
        return BankFormat.CSV
    return BankFormat.TXT
