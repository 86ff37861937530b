"""CSV and TSV hash lists, HMA / ThreatExchange style: a header names the columns.

Signal columns are ``pdq``, ``md5``, ``sha1``, ``sha256`` (and ``photodna``); metadata
columns are optional. The delimiter is sniffed from the header line, so a TSV and a CSV
need no flag. Rows are read one at a time.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from clearsight.banks.formats.errors import BankFormatError
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


def parse_delimited(path: Path) -> Iterator[ImportEvent]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header_line = handle.readline()
        delimiter = "\t" if header_line.count("\t") > header_line.count(",") else ","
        header = [
            name.strip().lower() for name in next(csv.reader([header_line], delimiter=delimiter))
        ]
        signals = [name for name in header if name in SIGNAL_COLUMNS]
        if not signals:
            raise BankFormatError(
                f"{path.name} line 1: the header names no signal column "
                f"(expected one of {', '.join(SIGNAL_COLUMNS)})"
            )
        reader = csv.DictReader(handle, fieldnames=header, delimiter=delimiter)
        for line, row in enumerate(reader, start=2):
            yield _entry(row, signals, f"line {line}")


def _entry(row: dict[str, str | None], signal_columns: list[str], where: str) -> ImportEvent:
    try:
        signals = tuple(
            (SIGNAL_COLUMNS[name], normalise_signal(SIGNAL_COLUMNS[name], value))
            for name in signal_columns
            if (value := (row.get(name) or "").strip())
        )
        metadata = EntryMetadata(
            external_id=_text(row, "external_id"),
            category=_text(row, "category"),
            series=_text(row, "series"),
            victim_identified=parse_flag(row.get("victim_identified")),
            offender_identified=parse_flag(row.get("offender_identified")),
            tags=split_tags(row.get("tags")),
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
        parts = [str(part) for part in value]
    else:
        parts = str(value).replace(";", ",").split(",")
    return tuple(part.strip() for part in parts if part.strip())


def _text(row: dict[str, str | None], column: str) -> str | None:
    value = (row.get(column) or "").strip()
    return value or None
