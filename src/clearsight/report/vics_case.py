"""The VICS case export: Project VIC data model 2.0, one case with its Media, streamed.

It is the 2.0 case form that tools reading VICS look for: ``{"@odata.context":
".../2.0.xml/US/$metadata#Cases", "value": [Case]}``, the Case holding ``CaseID``,
``CaseNumber``, ``SourceApplicationName``, ``SourceApplicationVersion`` and ``Media``;
MD5 and SHA1 in upper-case hex, and a numeric category as a number, as Project VIC
writes them (see :mod:`clearsight.banks.formats.export`).

A Media's ``Category``, ``Series`` and ``VictimIdentified`` come from the item's
current human decision where it is final; one that awaits a second reviewer (the
two-reviewer rule) gives none. Where no person's decision is final but the file's exact
bytes are in a bank of known material that names a category, the bank's values are
given instead and ``IsPrecategorized`` is true, as VICS means it: categorised by a hash
list, not by the examiner. A near (PDQ) match never precategorises; an automated origin verdict or a
priority never becomes a category. Items of no media kind (notes, archives) and items
with no digest are left out: a VICS Media is a picture or a video known by its hashes.

It re-imports through clearsight's own VICS reader (``clearsight bank import``) to the
same hashes and metadata, with ``MediaID`` (the item id) as the entry's id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from clearsight.banks.formats.export import vics_category, vics_hex
from clearsight.report.output import DigestingOutput
from clearsight.report.request import ExportContext
from clearsight.report.rows import ReportRow
from clearsight.report.timestamps import iso_epoch

VICS_CASES_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"
)
SOURCE_APPLICATION = "clearsight"
_MEDIA_KINDS = frozenset({"image", "video"})


def write_vics_case(rows: Iterable[ReportRow], context: ExportContext, out: DigestingOutput) -> int:
    case: dict[str, Any] = {"CaseID": context.case.name}
    if context.request.case_number:
        case["CaseNumber"] = context.request.case_number
    case["SourceApplicationName"] = SOURCE_APPLICATION
    case["SourceApplicationVersion"] = context.version
    out.write(
        '{"@odata.context": '
        + json.dumps(VICS_CASES_CONTEXT)
        + ', "value": [\n'
        + json.dumps(case, ensure_ascii=False)[:-1]
        + ', "Media": ['
    )
    count = 0
    for row in rows:
        media = media_of(row)
        if media is not None:
            out.write(("," if count else "") + "\n  " + json.dumps(media, ensure_ascii=False))
            count += 1
    out.write("\n]}\n]}\n")
    return count


def media_of(row: ReportRow) -> dict[str, Any] | None:
    """The VICS Media of one item, or None where it is no Media (see the docstring)."""
    item = row.item
    if item.kind not in _MEDIA_KINDS or not (item.md5 or item.sha1 or item.sha256):
        return None
    media: dict[str, Any] = {"MediaID": row.item_id}
    if item.md5:
        media["MD5"] = vics_hex(item.md5)
    if item.sha1:
        media["SHA1"] = vics_hex(item.sha1)
    media.update(_categorisation(row))
    if item.size is not None:
        media["MediaSize"] = item.size
    media["MimeType"] = item.media_type
    media["RelativeFilePath"] = item.path
    alternatives = [
        {"HashName": name, "HashValue": value}
        for name, value in (("SHA256", item.sha256), ("PDQ", item.pdq))
        if value
    ]
    if alternatives:
        media["AlternativeHashes"] = alternatives
    media["MediaFiles"] = [_media_file(row)]
    return media


def _categorisation(row: ReportRow) -> dict[str, Any]:
    decision = row.final_decision
    if decision is not None:
        found: dict[str, Any] = {
            "Category": vics_category(decision.category),
            "IsPrecategorized": False,
        }
        if decision.series:
            found["Series"] = decision.series
        if decision.victim_flag is not None:
            found["VictimIdentified"] = decision.victim_flag
        return found
    hit = row.bank_category
    if hit is None:
        return {"IsPrecategorized": False}
    category = None if hit.category is None else vics_category(hit.category)
    found = {"Category": category, "IsPrecategorized": True}
    if hit.series:
        found["Series"] = hit.series
    if hit.victim_identified is not None:
        found["VictimIdentified"] = hit.victim_identified
    return found


def _media_file(row: ReportRow) -> dict[str, Any]:
    item = row.item
    media_file: dict[str, Any] = {"FileName": PurePath(item.path).name, "FilePath": row.location}
    if item.size is not None:
        media_file["FileSize"] = item.size
    if item.mtime is not None:
        media_file["Written"] = iso_epoch(item.mtime)
    return media_file
