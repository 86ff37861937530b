"""Every export is audited once complete, with the SHA-256 of what was written; only
supervisors and admins may export, and a refused attempt is audited too."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from clearsight.errors import UserError
from clearsight.report import (
    LOCAL_USER,
    ExportRefused,
    ExportRequest,
    ReportFormat,
    RolePermission,
    export_report,
    export_to_file,
    parse_selection,
)
from clearsight.review.accounts import Role
from clearsight.review.audit import AuditAction
from clearsight.store.sql import SqlCaseStore

from .test_report_case import NOW


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_each_export_is_audited_with_the_digest_of_its_bytes(
    report_case: SqlCaseStore, fmt: ReportFormat
) -> None:
    from .test_report_golden import CYBERTIP

    log = report_case.audit_log()
    head_before = log.head()
    buffer = io.BytesIO()
    request = ExportRequest(fmt, parse_selection("series:1"), cybertip=CYBERTIP)
    result = export_report(
        report_case,
        request,
        buffer,
        actor="supervisor-b",
        permission=RolePermission(Role.SUPERVISOR),
        now=NOW,
    )
    data = buffer.getvalue()
    (entry,) = log.entries(newest_first=True, limit=1)
    assert entry == result.audit
    assert (entry.actor, entry.action, entry.subject) == (
        "supervisor-b",
        "export",
        "case:test-case",
    )
    assert entry.detail["sha256"] == hashlib.sha256(data).hexdigest() == result.written.sha256
    assert entry.detail["bytes"] == len(data)
    assert entry.detail["format"] == fmt.value and entry.detail["selection"] == "series:1"
    assert entry.detail["items"] == result.written.items
    assert entry.prev_hash == head_before
    assert log.verify().intact
    if fmt in (ReportFormat.JSON, ReportFormat.HTML):
        assert head_before in data.decode("utf-8")  # the report names the log it came from


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.AUDITOR])
def test_roles_without_the_right_are_refused_and_the_attempt_is_audited(
    report_case: SqlCaseStore, role: Role
) -> None:
    buffer = io.BytesIO()
    with pytest.raises(ExportRefused, match=f"the {role.value} role may not export"):
        export_report(
            report_case,
            ExportRequest(ReportFormat.JSON),
            buffer,
            actor="someone",
            permission=RolePermission(role),
        )
    assert buffer.getvalue() == b""
    (entry,) = report_case.audit_log().entries()
    assert entry.action == AuditAction.EXPORT.value and entry.actor == "someone"
    assert "may not export" in entry.detail["refused"] and "sha256" not in entry.detail


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR])
def test_supervisors_and_admins_may_export(report_case: SqlCaseStore, role: Role) -> None:
    result = export_report(
        report_case,
        ExportRequest(ReportFormat.CSV),
        io.BytesIO(),
        actor="x",
        permission=RolePermission(role),
    )
    assert result.written.items == 10


def test_a_file_export_lands_whole_under_its_name_then_is_audited(
    report_case: SqlCaseStore, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "items.json"
    target.parent.mkdir()
    result = export_to_file(
        report_case, ExportRequest(ReportFormat.JSON), target, actor="t", permission=LOCAL_USER
    )
    assert sorted(p.name for p in target.parent.iterdir()) == ["items.json"]
    assert result.audit.detail["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert result.audit.detail["destination"] == str(target.resolve())


def test_a_failed_export_leaves_no_file_and_no_audit_entry(
    report_case: SqlCaseStore, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "items.json"
    with pytest.raises(UserError, match="no item 99"):
        export_to_file(
            report_case,
            ExportRequest(ReportFormat.JSON, parse_selection("items:99")),
            target,
            actor="t",
            permission=LOCAL_USER,
        )
    assert list(target.parent.iterdir()) == []
    assert report_case.audit_log().entries() == []
