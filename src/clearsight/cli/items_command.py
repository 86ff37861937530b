"""``clearsight items``: one record per recorded file, as JSON lines or CSV.

Paths are in their display form (:mod:`clearsight.file_paths`). JSON escapes whatever
else could act on a terminal; CSV cells show control characters as escapes and are
kept from being run as spreadsheet formulas (:mod:`clearsight.text_safety`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import TextIO

import click

from clearsight.cli.case_option import case_option, open_case
from clearsight.store.interface import ItemRow
from clearsight.text_safety import spreadsheet_cell, visible

ITEM_FIELDS = [field.name for field in dataclasses.fields(ItemRow)]


@click.command()
@case_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="JSON lines (one object per file) or CSV with a header.",
)
@click.option("--errors", "only_errors", is_flag=True, help="Only files recorded with an error.")
@click.option(
    "--out",
    type=click.File("w", encoding="utf-8", lazy=True),
    default="-",
    help="Write here instead of standard output.",
)
def items(case_dir: Path, fmt: str, only_errors: bool, out: TextIO) -> int:
    """List every file recorded in the case.

    Each record has the source, the path relative to it, size, mtime, media type,
    kind (image, video or other), width, height, EXIF orientation, md5, sha1, sha256,
    pdq (64 hex digits or null), pdq_quality, error (null or the reasons), matches
    (bank, entry_id, external_id, signal, distance, transform, allow, category, series,
    victim_identified, variant, inliers, coverage: for a match local features
    confirmed, how many agreed and the share of the picture they span), notes, origin
    (verdict, score, reasons; null where not examined), stack and series (ids, null for
    none), priority (score, reasons: the base score, then each rule's weight, which
    add up to the score; null before triage) and video (container, codec, duration in
    seconds, frame_rate, frames_decoded, frames_hashed: the vPDQ frames, one a second,
    has_audio; null for anything but a video).

    Source and path are shown in their display form: a byte that is not UTF-8 as
    \\xHH, a backslash as \\\\, newline and tab as \\n and \\t, other characters
    that do not print as \\xHH or \\uHHHH. In bash, ls $'PATH' finds the file again
    (write a ' in it as \\'). In CSV, control characters are shown escaped and a cell
    that starts with =, +, -, @ gets a leading ' so no spreadsheet runs it.
    """
    with open_case(case_dir, create=False) as case:
        rows = (row for row in case.items() if row.error or not only_errors)
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=ITEM_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(_flat(row) for row in rows)
        else:
            for row in rows:
                out.write(json.dumps(dataclasses.asdict(row)) + "\n")
    return 0


def _flat(row: ItemRow) -> dict[str, object]:
    """A CSV row: the lists (matches, notes) and the origin as text in their cells, each
    cell safe to show in a terminal and to open in a spreadsheet."""
    values = dataclasses.asdict(row)
    values["matches"] = json.dumps(values["matches"]) if row.matches else ""
    values["notes"] = "; ".join(row.notes)
    values["origin"] = json.dumps(values["origin"]) if row.origin else ""
    values["priority"] = json.dumps(values["priority"]) if row.priority else ""
    values["video"] = json.dumps(values["video"]) if row.video else ""
    return {
        name: spreadsheet_cell(visible(value) if isinstance(value, str) else value)
        for name, value in values.items()
    }
