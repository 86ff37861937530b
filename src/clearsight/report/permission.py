"""Who may export: the check every export makes before it writes a byte.

An export takes the case's evidence out of clearsight, so the review server lets only
supervisors and admins do it; reviewers and auditors may not. The command line runs as
the local user, who can read the case database directly anyway, so it checks nothing
more than that (``LOCAL_USER``). A refused attempt is itself written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from clearsight.errors import UserError
from clearsight.report.request import ReportFormat
from clearsight.review.accounts import Role

EXPORTING_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})


class ExportRefused(UserError):
    """The person asking may not export; the message says why in one line."""


class ExportPermission(Protocol):
    def refusal(self, fmt: ReportFormat) -> str | None:
        """Why this export is not allowed, or None if it is."""
        ...


@dataclass(frozen=True)
class RolePermission:
    """The server's check: an account's role decides."""

    role: Role

    def refusal(self, fmt: ReportFormat) -> str | None:
        if self.role in EXPORTING_ROLES:
            return None
        return f"the {self.role.value} role may not export ({fmt.value}); ask a supervisor"


@dataclass(frozen=True)
class LocalUser:
    """The command line's check: whoever can open the case database may export it."""

    def refusal(self, fmt: ReportFormat) -> str | None:
        return None


LOCAL_USER = LocalUser()
