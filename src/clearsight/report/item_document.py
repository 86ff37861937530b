"""One item as a JSON object: the shape ``schema/items.schema.json`` documents.

The JSON export writes these, and the CSV export flattens the same objects, so the two
cannot drift apart. Values are exactly as recorded; nothing is summarised away: the
current decision is given even where it awaits a second reviewer, and
``decision_status`` says whether it is final.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from clearsight.report.rows import HumanDecision, ReportRow
from clearsight.report.timestamps import iso_utc


def item_document(row: ReportRow) -> dict[str, Any]:
    item = row.item
    decision = row.decision
    return {
        "item_id": row.item_id,
        "source": item.source,
        "path": item.path,
        "size": item.size,
        "mtime": item.mtime,
        "media_type": item.media_type,
        "kind": item.kind,
        "width": item.width,
        "height": item.height,
        "orientation": item.orientation,
        "status": row.status.value,
        "digests": {"md5": item.md5, "sha1": item.sha1, "sha256": item.sha256},
        "signals": {"pdq": item.pdq, "pdq_quality": item.pdq_quality},
        "error": item.error,
        "matches": [dataclasses.asdict(match) for match in item.matches],
        "notes": list(item.notes),
        "origin": (
            {
                "verdict": item.origin.verdict,
                "score": item.origin.score,
                "reasons": list(item.origin.reasons),
            }
            if item.origin
            else None
        ),
        "stack": item.stack,
        "series": item.series,
        "priority": (
            {"score": item.priority.score, "reasons": list(item.priority.reasons)}
            if item.priority
            else None
        ),
        "decision_status": row.decision_status.value,
        "decision": decision_document(decision) if decision else None,
        "earlier_decisions": [decision_document(d) for d in row.decisions[:-1]],
        "revealed": row.revealed,
    }


def decision_document(decision: HumanDecision) -> dict[str, Any]:
    return {
        "id": decision.id,
        "reviewer": decision.reviewer,
        "decided_at": iso_utc(decision.decided_at),
        "category": decision.category,
        "origin": decision.origin,
        "series": decision.series,
        "victim_identified": decision.victim_identified,
        "viewed_unblurred": decision.viewed_unblurred,
        "confirms": decision.confirms,
        "notes": decision.notes,
    }
