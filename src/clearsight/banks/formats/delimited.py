"""CSV and TSV hash lists, HMA / ThreatExchange style: a header names the columns.

Signal columns are ``pdq``, ``md5``, ``sha1``, ``sha256`` (and ``photodna``), or one
``hash`` column whose signal is named with ``--signal`` or told by length as in a plain
list (32 hex digits md5, 40 sha1; 64 are sha256 or PDQ, so they must be named). A
header of one column is still a header: a list headed ``pdq`` is a PDQ list. Metadata
columns are optional; other columns are ignored. The delimiter is sniffed from the
header line, so a TSV and a CSV need no flag. Rows are read one at a time, through
:mod:`.text_lines` (any encoding, gzip, no line longer than its limit), and a row the
csv module cannot read (a field over its 128 KiB limit) is rejected by its line, like
any other bad row. A metadata cell loses the ``'`` clearsight's own export puts before
formula-like text (see :mod:`.csv_cells`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from clearsight.banks.formats.csv_cells import unguarded_cell
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.field_limits import checked_text
from clearsight.banks.formats.plain_text import HASH_HEADER, signal_by_length
from clearsight.banks.formats.text_lines import BoundedLines, open_bank_text
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
    normalise_signal,
    parse_flag,
)

SIGNAL_COLUMNS = {signal.value: signal for signal in BankSignal}
METADATA_COLUMNS = (
    "external_id",
    "category",
    "series",
    "victim_identified",
    "offender_identified",
    "tags",
    "comments",
    "date",
)
# A column of hashes that does not say which: the signal is given, or told by length.
HASH_COLUMN = HASH_HEADER


def parse_delimited(path: Path, signal: BankSignal | None = None) -> Iterator[ImportEvent]:
    with open_bank_text(path) as handle:
        lines = BoundedLines(handle)
        header_line = next(iter(lines), "")
        delimiter = "\t" if header_line.count("\t") > header_line.count(",") else ","
        header = _header(path, header_line, delimiter)
        signals = [name for name in header if name in SIGNAL_COLUMNS]
        hash_column = HASH_COLUMN in header
        if not signals and not hash_column:
            raise BankFormatError(
                f"{path.name} line 1: the header names no signal column "
                f"(expected one of {', '.join(SIGNAL_COLUMNS)}, or {HASH_COLUMN})"
            )
        reader = csv.DictReader(lines, fieldnames=header, delimiter=delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:  # a field over the csv module's limit, say
                yield from lines.overlong()
                yield RejectedLine(f"line {lines.number}", f"not a CSV row: {error}")
                continue
            yield from lines.overlong()
            where = f"line {lines.number}"
            hashed = _hash_cell(path, row, signal, where) if hash_column else None
            yield _entry(row, signals, where, hashed)
        yield from lines.overlong()


def _header(path: Path, line: str, delimiter: str) -> list[str]:
    """The header's column names, lowered; BankFormatError if the csv module refuses it
    (a name over its 128 KiB field limit: no list's header, and no row can follow it)."""
    if not line.strip():
        return []
    try:
        names = next(csv.reader([line], delimiter=delimiter))
    except csv.Error as error:
        raise BankFormatError(f"{path.name} line 1: not a CSV header: {error}") from None
    return [name.strip().lower() for name in names]


def _hash_cell(
    path: Path, row: dict[str, str | None], signal: BankSignal | None, where: str
) -> tuple[BankSignal | None, str] | None:
    """The ``hash`` cell of a row with its signal: the one given, else told by length
    (None where no hash has that length, which rejects the row); None for an empty cell.
    64 digits without ``--signal`` stop the file, as in a plain list."""
    value = (row.get(HASH_COLUMN) or "").strip()
    if not value:
        return None
    return (signal or signal_by_length(path, value, where), value)


def _entry(
    row: dict[str, str | None],
    signal_columns: list[str],
    where: str,
    hashed: tuple[BankSignal | None, str] | None = None,
) -> ImportEvent:
    try:
        signals = tuple(
            (SIGNAL_COLUMNS[name], normalise_signal(SIGNAL_COLUMNS[name], value))
            for name in signal_columns
            if (value := (row.get(name) or "").strip())
        )
        if hashed is not None:
            kind, value = hashed
            if kind is None:
                raise ValueError(f"no hash is {len(value)} characters long: {value[:80]!r}")
            signals += ((kind, normalise_signal(kind, value)),)
        metadata = EntryMetadata(
            external_id=_text(row, "external_id"),
            category=_text(row, "category"),
            series=_text(row, "series"),
            victim_identified=parse_flag(_text(row, "victim_identified")),
            offender_identified=parse_flag(_text(row, "offender_identified")),
            tags=split_tags(_text(row, "tags")),
            comments=_text(row, "comments"),
            date=_text(row, "date"),
        )
    except ValueError as exc:
        return RejectedLine(where, str(exc))
    if not signals:
        return RejectedLine(where, "no signal value in this row")
    return ImportedEntry(signals, metadata, where=where)


def split_tags(value: object) -> tuple[str, ...]:
    """Tags as lists write them: a list, or one string separated by commas or semicolons."""
    if value is None:
        return ()
    if isinstance(value, list):
        parts = [str(part) for part in value if part is not None]
    else:
        parts = str(value).replace(";", ",").split(",")
    return tuple(part.strip() for part in parts if part.strip())


def _text(row: dict[str, str | None], column: str) -> str | None:
    value = unguarded_cell((row.get(column) or "").strip())
    return checked_text(column, value) or None
