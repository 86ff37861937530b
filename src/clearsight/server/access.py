"""Who may reach each route: one access rule per route, checked before anything else.

Every route names exactly one :class:`AccessRule` as a dependency; the access test
walks ``app.routes``, reads each route's rule, and fails on a route without one. A rule
finds the login session from the cookie, refuses the roles it does not admit, and on
every state-changing request checks the session's CSRF token (a hidden form field or
the ``X-CSRF-Token`` header) and, when the browser sends one, the ``Origin``. The
only state-changing routes without a session, the login forms, check a login token of
their own (:mod:`clearsight.server.routes.login`).

Refusals: a page asked for without a session redirects to the login page; an API call
gets 401; a role that is not admitted gets 403, as does a missing or wrong CSRF token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from clearsight.review.accounts import Account, Role
from clearsight.review.login_sessions import LoginSession
from clearsight.server.services import services_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Over TLS the cookie takes the __Host- prefix: the browser then refuses it unless it
# is Secure, for this host only and for every path, so no other site can plant one.
SECURE_COOKIE = "__Host-clearsight"
PLAIN_COOKIE = "clearsight"


_UNKNOWN = object()


class SignInRequired(Exception):
    """No live login session came with the request."""


class Refusal(StrEnum):
    """Why a request was refused at the door; sent as ``X-Clearsight-Refused`` so a
    client (and the access test) can tell a refusal from a route's own answer."""

    SIGN_IN = "sign-in"
    ROLE = "role"
    CSRF = "csrf"


class NotAllowed(Exception):
    """The request is refused: the role, or the CSRF token. The message says which."""

    def __init__(self, message: str, refusal: Refusal = Refusal.ROLE) -> None:
        super().__init__(message)
        self.refusal = refusal


@dataclass(frozen=True)
class Viewer:
    """The signed-in person behind a request."""

    session: LoginSession

    @property
    def account(self) -> Account:
        return self.session.account

    @property
    def role(self) -> Role:
        return self.session.account.role

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    def may(self, rule: AccessRule) -> bool:
        return rule.roles is None or self.role in rule.roles


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def secure_request(request: Request) -> bool:
    return services_of(request).config.secure_cookies or request.url.scheme == "https"


def cookie_name(request: Request) -> str:
    return SECURE_COOKIE if secure_request(request) else PLAIN_COOKIE


@dataclass(frozen=True, eq=False)
class AccessRule:
    """A route's access: ``public`` routes need no session; otherwise ``roles`` (None:
    every role) says who may come in. Used as ``Depends(rule)``; returns the
    :class:`Viewer`, or None on a public route."""

    name: str
    roles: frozenset[Role] | None
    public: bool = False

    async def __call__(self, request: Request) -> Viewer | None:
        if self.public:
            return None
        viewer = await signed_in_viewer(request)
        if viewer is None:
            raise SignInRequired()
        if self.roles is not None and viewer.role not in self.roles:
            raise NotAllowed(f"the {viewer.role.value} role may not do this")
        if request.method not in SAFE_METHODS:
            await check_origin(request)
            submitted = request.headers.get(CSRF_HEADER)
            if submitted is None and _is_form(request):
                value = (await request.form()).get(CSRF_FIELD)
                submitted = value if isinstance(value, str) else None
            if not submitted or not viewer.session.csrf_matches(submitted):
                raise NotAllowed(
                    "the form's security token is missing or out of date", Refusal.CSRF
                )
        return viewer

    def admits(self, role: Role | None) -> bool:
        """Whether a request with this role (None: anonymous) gets past the rule."""
        if self.public:
            return True
        return role is not None and (self.roles is None or role in self.roles)


async def signed_in_viewer(request: Request) -> Viewer | None:
    """The live session of the request's cookie, if any (cached on the request)."""
    cached = getattr(request.state, "viewer", _UNKNOWN)
    if cached is None or isinstance(cached, Viewer):
        return cached
    token = request.cookies.get(cookie_name(request))
    viewer = None
    if token:
        session = await run_in_threadpool(services_of(request).sessions.lookup, token)
        viewer = Viewer(session) if session is not None else None
    request.state.viewer = viewer
    return viewer


async def check_origin(request: Request) -> None:
    """Refuse a request a browser says came from another site. ``Sec-Fetch-Site`` is
    the surer sign; ``Origin`` is checked when it names one (under this server's
    ``Referrer-Policy: no-referrer`` a browser sends ``Origin: null`` with forms,
    which says nothing either way). SameSite=Strict cookies and the CSRF token stand
    behind this check; it is the first line, not the only one."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise NotAllowed("the request came from another site", Refusal.CSRF)
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise NotAllowed("the request came from another site", Refusal.CSRF)


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def _rule(name: str, roles: Iterable[Role] | None, public: bool = False) -> AccessRule:
    return AccessRule(name, frozenset(roles) if roles is not None else None, public)


# The rules, from the most open to the most closed.
PUBLIC = _rule("public", None, public=True)
SIGNED_IN = _rule("signed-in", None)
REVIEW_READERS = _rule("review-readers", (Role.SUPERVISOR, Role.REVIEWER, Role.AUDITOR))
REVIEWERS = _rule("reviewers", (Role.SUPERVISOR, Role.REVIEWER))
DECISION_READERS = _rule("decision-readers", (Role.SUPERVISOR, Role.AUDITOR))
SUPERVISORS = _rule("supervisors", (Role.SUPERVISOR,))
EXPORTERS = _rule("exporters", (Role.SUPERVISOR, Role.ADMIN))
AUDIT_READERS = _rule("audit-readers", (Role.AUDITOR, Role.ADMIN))
ADMINS = _rule("admins", (Role.ADMIN,))
RULES = (
    PUBLIC,
    SIGNED_IN,
    REVIEW_READERS,
    REVIEWERS,
    DECISION_READERS,
    SUPERVISORS,
    EXPORTERS,
    AUDIT_READERS,
    ADMINS,
)
