"""Exports of a case: the HTML case report, JSON and CSV of every item, a VICS case,
a CyberTipline-style report, and hash lists of confirmed new material.

Each format has one writer; every writer streams the case a page at a time and writes
as it goes. Every export is checked against the exporter's permission first and
recorded in the case's audit log, with the SHA-256 of what was written, once complete.
Categories, victim flags and AI annotations come from human decisions only.
"""

from clearsight.report.case_rows import ReportSource
from clearsight.report.classification import case_scheme, classification_of
from clearsight.report.export import (
    ExportResult,
    WrittenReport,
    export_report,
    export_to_file,
    record_export,
    write_report,
)
from clearsight.report.permission import (
    EXPORTING_ROLES,
    LOCAL_USER,
    ExportPermission,
    ExportRefused,
    RolePermission,
)
from clearsight.report.request import (
    CybertipOptions,
    ExportRequest,
    IncidentType,
    Reporter,
    ReportFormat,
    Thumbnails,
)
from clearsight.report.selection import Selection, parse_selection

__all__ = [
    "EXPORTING_ROLES",
    "LOCAL_USER",
    "CybertipOptions",
    "ExportPermission",
    "ExportRefused",
    "ExportRequest",
    "ExportResult",
    "IncidentType",
    "ReportFormat",
    "ReportSource",
    "Reporter",
    "RolePermission",
    "Selection",
    "Thumbnails",
    "WrittenReport",
    "case_scheme",
    "classification_of",
    "export_report",
    "export_to_file",
    "parse_selection",
    "record_export",
    "write_report",
]
