"""The JSON export: every selected item with all that is known of it, streamed.

One JSON document (described by ``schema/items.schema.json``): a header naming the
case, the selection, the clearsight version and the audit log's head, then ``items``
written one object per line as they are read, then ``item_count``, which is known only
at the end and so comes last.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from clearsight.report.item_document import item_document
from clearsight.report.output import DigestingOutput
from clearsight.report.request import ExportContext
from clearsight.report.rows import ReportRow
from clearsight.report.timestamps import iso_utc

FORMAT = "clearsight-items"
FORMAT_VERSION = 1  # raised when a field changes meaning or goes; new fields keep it


def write_json(rows: Iterable[ReportRow], context: ExportContext, out: DigestingOutput) -> int:
    header: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "clearsight_version": context.version,
        "generated_at": iso_utc(context.generated_at),
        "case": {"name": context.case.name, "created_at": iso_utc(context.case.created_at)},
        "selection": context.request.selection.text(),
        "audit_head": context.audit_head,
    }
    out.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "items": [')
    count = 0
    for row in rows:
        out.write(("," if count else "") + "\n" + _dumps(item_document(row)))
        count += 1
    out.write(f'\n], "item_count": {count}}}\n')
    return count


def _dumps(document: dict[str, Any]) -> str:
    # ensure_ascii=False keeps names readable; allow_nan=False refuses what JSON lacks.
    return json.dumps(document, ensure_ascii=False, allow_nan=False)
