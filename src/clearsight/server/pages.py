"""Server-rendered pages: one Jinja2 environment (autoescaped) and what every page shows.

Every page of a signed-in person shows the exposure meter (seconds seen unblurred
today against today's allowance) and, after ``break_after_min`` of continuous review,
a banner suggesting a break. Pages carry their CSRF token in a ``<meta>`` tag for the
review script and in each form's hidden field; nothing is inline, so the CSP can
forbid inline script and style. A reviewer's pages also offer, for a few seconds, to
take back their last decision (:mod:`clearsight.server.undo_offer`).

The filters here shape facts for people, never their wording: durations and sizes
as people read them, a path's file name and folder, and which priority reason is a
flag that needs a badge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from clearsight import __version__
from clearsight.match.explain import by_entry, how_entry_matched
from clearsight.review.accounts import Role
from clearsight.server.access import (
    ADMINS,
    AUDIT_READERS,
    DECISION_READERS,
    EXPORTERS,
    REVIEW_READERS,
    SUPERVISORS,
    AccessRule,
    Viewer,
)
from clearsight.server.services import ReviewServices, services_of
from clearsight.server.undo_offer import undo_offer

_ENVIRONMENT = Environment(
    loader=PackageLoader("clearsight.server", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str
    rule: AccessRule


NAVIGATION = (
    NavLink("/queue", "Queue", REVIEW_READERS),
    NavLink("/supervise/decisions", "Decisions", DECISION_READERS),
    NavLink("/supervise/exposure", "Exposure", SUPERVISORS),
    NavLink("/supervise/export", "Export", EXPORTERS),
    NavLink("/admin/users", "Users", ADMINS),
    NavLink("/admin/settings", "Settings", ADMINS),
    NavLink("/admin/banks", "Banks", ADMINS),
    NavLink("/audit", "Audit log", AUDIT_READERS),
    NavLink("/account", "My preferences", REVIEW_READERS),
)


@dataclass(frozen=True)
class Wellness:
    seconds_today: float
    allowance_s: float
    break_due: bool
    break_after_min: int

    @property
    def spent(self) -> bool:
        return self.seconds_today >= self.allowance_s


def wellness_of(services: ReviewServices, viewer: Viewer) -> Wellness:
    settings = services.settings()
    meter = services.meter(settings)
    account_id = viewer.account.id
    return Wellness(
        meter.seconds_today(account_id),
        meter.allowance_today(account_id),
        meter.break_due(account_id),
        settings.break_after_min,
    )


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` for ``viewer`` (None on the login page)."""
    services = services_of(request)
    values: dict[str, Any] = {
        "viewer": viewer,
        "case_name": services.store.case_record().name,
        "csrf_token": viewer.csrf_token if viewer else "",
        "navigation": [link for link in NAVIGATION if viewer and viewer.may(link.rule)],
        "wellness": wellness_of(services, viewer) if viewer else None,
        "undo": undo_offer(services, viewer) if viewer else None,
        "version": __version__,
        "path": request.url.path,
        "Role": Role,
        **context,
    }
    body = _ENVIRONMENT.get_template(template).render(values)
    return HTMLResponse(body, status_code=status_code)


def duration(seconds: float) -> str:
    """Seconds as a person reads them: "45 s", "3 min 05 s", "1 h 02 min"."""
    # Halves round up, as the review script's Math.round does: the live meter and the
    # page drawn after it must show the same figure.
    whole = max(0, math.floor(seconds + 0.5))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def human_size(size: float) -> str:
    """Bytes as a person reads them: "812 B", "14.2 kB", "1.5 MB" (powers of 1000, as
    file managers show them)."""
    if size < 1000:
        return f"{int(size)} B"
    for unit in ("kB", "MB", "GB", "TB"):
        size /= 1000
        if size < 999.95 or unit == "TB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def file_name(location: str) -> str:
    """The last part of a path (or of a path inside an archive: ``a.zip!/b/c.png``)."""
    return PurePath(location.rsplit("!", 1)[-1]).name or location


def folder_of(location: str) -> str:
    """Where the file lies: ``location`` without its file name."""
    name = file_name(location)
    return location[: -len(name)] if name and location.endswith(name) else ""


# Priority reasons that flag an item rather than rank it, and the badge each gets.
_FLAGS = (("FLAGGED AI-generated", "AI-generated"), ("FLAGGED AI-edited", "AI-edited"))


def flag_of(reason: str) -> str | None:
    """The badge for a reason that flags the item (e.g. "AI-generated"), else None."""
    return next((badge for prefix, badge in _FLAGS if reason.startswith(prefix)), None)


_ENVIRONMENT.filters["duration"] = duration
_ENVIRONMENT.filters["human_size"] = human_size
_ENVIRONMENT.filters["file_name"] = file_name
_ENVIRONMENT.filters["folder_of"] = folder_of
_ENVIRONMENT.globals["flag_of"] = flag_of
# How a match was made, worded once for the CLI, the report and these pages.
_ENVIRONMENT.globals.update(matches_by_entry=by_entry, how_entry_matched=how_entry_matched)
