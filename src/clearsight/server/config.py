"""How one review server runs: cookies, clock, session policy, limits.

Which banks and which category scheme belong to the case (:class:`clearsight.Case`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from argon2 import PasswordHasher

from clearsight.review.login_sessions import SessionPolicy
from clearsight.store.engines import utc_now


@dataclass(frozen=True)
class ServerConfig:
    """``secure_cookies``: the browser reaches the server over TLS (served with
    ``--tls-cert`` or behind a TLS proxy), so cookies are Secure and take the
    ``__Host-`` prefix; a request that arrives as https gets them anyway.
    ``anonymous_body_bytes``, ``body_bytes``: the largest request body without a
    session cookie (the sign-in among them), and with one (see
    :mod:`clearsight.server.body_limit`).
    ``password_checks``: how many sign-ins check a password at once; the others wait
    their turn. Each Argon2 check holds 64 MiB (argon2-cffi's default cost) and its
    own threads: unbounded, twenty reviewers signing in together took the server from
    140 MB to 1.1 GB.
    ``clock`` and ``password_hasher`` are for tests."""

    secure_cookies: bool = False
    session_policy: SessionPolicy = field(default_factory=SessionPolicy)
    page_size: int = 50
    anonymous_body_bytes: int = 16 * 1024
    body_bytes: int = 1024 * 1024
    password_checks: int = 2
    clock: Callable[[], datetime] = utc_now
    password_hasher: PasswordHasher | None = None
