"""Write a bank back out, in the formats it can be imported from.

What is written re-imports to the same entries: CSV carries every field; VICS carries
every field its model has (it has no date); plain text carries one signal per line.
Writing streams, so a large bank is never held in memory.

VICS is written as Project VIC's tools write model 2.0's hash sets: ``{"@odata.context":
".../2.0.xml/US/$metadata#Media", "value": [Media, ...]}``, MD5 and SHA1 in upper-case
hex, a numeric ``Category`` as a number, PhotoDNA as base64 (the form banks store).
CSV cells are written by :func:`~clearsight.banks.formats.csv_cells.csv_cell`: no
spreadsheet runs them, and they read back as they were.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from clearsight.banks.formats.csv_cells import csv_cell
from clearsight.banks.formats.delimited import METADATA_COLUMNS
from clearsight.banks.records import BankSignal, ImportedEntry

VICS_CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
_DISTRIBUTED = "distributed"


def vics_category(category: str) -> int | str:
    """VICS categories are numbers (0 to 5 in Project VIC's scheme); others stay text,
    as does a number that would not read back the same ("007")."""
    if category.isascii() and category.isdigit() and len(category) < 10:
        number = int(category)
        if str(number) == category:
            return number
    return category


def vics_hex(value: str) -> str:
    """MD5 and SHA1 as Project VIC writes them: upper-case hex."""
    return value.upper()


def write_csv(entries: Iterable[ImportedEntry], out: TextIO) -> int:
    signal_columns = [signal.value for signal in BankSignal]
    writer = csv.DictWriter(
        out, fieldnames=[*signal_columns, *METADATA_COLUMNS], lineterminator="\n"
    )
    writer.writeheader()
    count = 0
    for entry in entries:
        meta = entry.metadata
        row: dict[str, str] = {kind.value: value for kind, value in entry.signals}
        row.update(
            external_id=csv_cell(meta.external_id or ""),
            category=csv_cell(meta.category or ""),
            series=csv_cell(meta.series or ""),
            victim_identified=_flag_text(meta.victim_identified),
            offender_identified=_flag_text(meta.offender_identified),
            tags=csv_cell(";".join(meta.tags)),
            comments=csv_cell(meta.comments or ""),
            date=csv_cell(meta.date or ""),
        )
        writer.writerow(row)
        count += 1
    return count


def write_text(entries: Iterable[ImportedEntry], out: TextIO, signal: BankSignal) -> int:
    count = 0
    for entry in entries:
        for kind, value in entry.signals:
            if kind is signal:
                out.write(value + "\n")
                count += 1
    return count


def write_vics(entries: Iterable[ImportedEntry], out: TextIO) -> int:
    """VICS model 2.0 as a bare ``value[]`` of Media, written one Media at a time."""
    out.write('{"@odata.context": ' + json.dumps(VICS_CONTEXT) + ', "value": [')
    count = 0
    for entry in entries:
        out.write(("," if count else "") + "\n  " + json.dumps(_media_of(entry)))
        count += 1
    out.write("\n]}\n")
    return count


def _media_of(entry: ImportedEntry) -> dict[str, object]:
    signals = dict(entry.signals)
    meta = entry.metadata
    media: dict[str, object] = {}
    if meta.external_id is not None:
        media["MediaID"] = meta.external_id
    for field, kind in (
        ("MD5", BankSignal.MD5),
        ("SHA1", BankSignal.SHA1),
        ("PhotoDNA", BankSignal.PHOTODNA),
    ):
        if kind in signals:
            value = signals[kind]
            media[field] = value if kind is BankSignal.PHOTODNA else vics_hex(value)
    alternatives = [
        {"HashName": name, "HashValue": signals[kind]}
        for name, kind in (("SHA256", BankSignal.SHA256), ("PDQ", BankSignal.PDQ))
        if kind in signals
    ]
    if alternatives:
        media["AlternativeHashes"] = alternatives
    optional = {
        "Category": None if meta.category is None else vics_category(meta.category),
        "Series": meta.series,
        "VictimIdentified": meta.victim_identified,
        "OffenderIdentified": meta.offender_identified,
        "Comments": meta.comments,
    }
    media.update({key: value for key, value in optional.items() if value is not None})
    tags = [tag for tag in meta.tags if tag != _DISTRIBUTED]
    if tags:
        media["Tags"] = ";".join(tags)
    if _DISTRIBUTED in meta.tags:
        media["IsDistributed"] = True
    return media


def _flag_text(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")
