"""The CSV export: one row per selected item, streamed, for a spreadsheet.

The columns flatten the JSON export's objects (see ``item_document``): the current
decision gets columns of its own, after ``decision_status``, which says whether it is
final or awaits a second reviewer; the matches stay one JSON text per cell, because
a row has room for one item, not for a list. A file name is attacker-controlled, and a
spreadsheet runs a cell starting with ``=``, ``+``, ``-``, ``@`` or a tab as a formula,
so such text cells get a leading ``'`` (the OWASP advice); the JSON export keeps the
exact values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any

from clearsight.report.item_document import item_document
from clearsight.report.output import DigestingOutput
from clearsight.report.request import ExportContext
from clearsight.report.rows import ReportRow
from clearsight.text_safety import spreadsheet_cell

COLUMNS = (
    "item_id",
    "source",
    "path",
    "size",
    "mtime",
    "media_type",
    "kind",
    "width",
    "height",
    "orientation",
    "status",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "error",
    "matches",
    "notes",
    "origin_verdict",
    "origin_score",
    "origin_reasons",
    "stack",
    "series",
    "priority_score",
    "priority_reasons",
    "decision_status",
    "decision_category",
    "decision_origin",
    "decision_series",
    "decision_victim_identified",
    "decision_viewed_unblurred",
    "decision_reviewer",
    "decided_at",
    "decision_notes",
    "decisions",
    "revealed",
)


def write_csv(rows: Iterable[ReportRow], context: ExportContext, out: DigestingOutput) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([spreadsheet_cell(value) for value in _flat(item_document(row))])
        count += 1
    return count


def _flat(doc: dict[str, Any]) -> list[object]:
    origin = doc["origin"] or {}
    priority = doc["priority"] or {}
    decision = doc["decision"] or {}
    return [
        doc["item_id"],
        doc["source"],
        doc["path"],
        doc["size"],
        doc["mtime"],
        doc["media_type"],
        doc["kind"],
        doc["width"],
        doc["height"],
        doc["orientation"],
        doc["status"],
        doc["digests"]["md5"],
        doc["digests"]["sha1"],
        doc["digests"]["sha256"],
        doc["signals"]["pdq"],
        doc["signals"]["pdq_quality"],
        doc["error"],
        json.dumps(doc["matches"], ensure_ascii=False) if doc["matches"] else None,
        "; ".join(doc["notes"]),
        origin.get("verdict"),
        origin.get("score"),
        "; ".join(origin.get("reasons", ())),
        doc["stack"],
        doc["series"],
        priority.get("score"),
        "; ".join(priority.get("reasons", ())),
        doc["decision_status"],
        decision.get("category"),
        decision.get("origin"),
        decision.get("series"),
        decision.get("victim_identified"),
        _flag(decision.get("viewed_unblurred")),
        decision.get("reviewer"),
        decision.get("decided_at"),
        decision.get("notes"),
        len(doc["earlier_decisions"]) + (1 if doc["decision"] else 0),
        _flag(doc["revealed"]),
    ]


def _flag(value: object) -> str | None:
    return None if value is None else ("true" if value else "false")
