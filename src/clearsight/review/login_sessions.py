"""Login sessions and the throttle on failed logins.

The review services keep their SQL in the store,
:mod:`clearsight.store.review.login_sessions` (no module outside the store
writes SQL); this module is their name in the review layer. Get the services
from the case store (``SqlCaseStore``), which builds them on its engine.
"""

from clearsight.store.review.login_sessions import (
    IssuedSession,
    LoginOutcome,
    LoginResult,
    LoginSession,
    LoginSessions,
    SessionPolicy,
    ThrottleReason,
    token_hash,
)

__all__ = [
    "IssuedSession",
    "LoginOutcome",
    "LoginResult",
    "LoginSession",
    "LoginSessions",
    "SessionPolicy",
    "ThrottleReason",
    "token_hash",
]
