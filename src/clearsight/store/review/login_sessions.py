"""Signing in and out: login sessions, their timeouts, and the brake on password guessing.

A session is a random token in the browser's cookie; the database keeps only its
SHA-256, so a copy of the database signs no one in. Each session has its own CSRF
token, an idle timeout and an absolute one. Failed sign-ins are counted in
``login_attempts`` (not in memory) so the limit holds across server workers; once a
name or an address has failed too often within the window, further tries are refused
without checking the password until the window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, delete, func, select
from sqlalchemy.orm import Session

from clearsight.store.engines import utc_now
from clearsight.store.review.accounts import Account, AccountBook, Refusal, account_of, subject_of
from clearsight.store.review.audit import AuditAction, record
from clearsight.store.review_models import AccountRow, LoginAttemptRow, LoginSessionRow

Clock = Callable[[], datetime]
# The widths of the login_attempts columns; longer input is cut, never refused, so a
# long name fails like any other wrong name.
_NAME_WIDTH = 80
_ADDRESS_WIDTH = 64


class ThrottleReason(StrEnum):
    """Why a sign-in was refused before its password was checked."""

    NAME = "too-many-failures-for-name"
    ADDRESS = "too-many-failures-from-address"


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last and how many failures the brake allows.

    ``touch_every`` spaces out the writes that refresh ``last_seen_at``: a page of
    previews is dozens of requests, and each need not be a write on SQLite's one
    writer. It makes the idle timeout that much less exact.
    """

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    name_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)
    touch_every: timedelta = timedelta(seconds=30)


class LoginOutcome(StrEnum):
    SIGNED_IN = "signed-in"
    REFUSED = "refused"  # wrong name or password, or a disabled account: one answer for all
    THROTTLED = "throttled"  # too many failures: the server answers 429


@dataclass(frozen=True)
class IssuedSession:
    """A new session. ``token`` goes into the cookie and is never seen again here."""

    id: int
    token: str
    csrf_token: str
    account: Account
    expires_at: datetime


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    issued: IssuedSession | None = None
    # For THROTTLED: how long until a try is accepted again (the Retry-After header).
    retry_after: timedelta | None = None


@dataclass(frozen=True)
class LoginSession:
    """A live session found by its token."""

    id: int
    account: Account
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime

    def csrf_matches(self, submitted: str) -> bool:
        return hmac.compare_digest(self.csrf_token.encode(), submitted.encode())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LoginSessions:
    """Sign-in, session lookup and sign-out for one case database."""

    def __init__(
        self,
        engine: Engine,
        accounts: AccountBook | None = None,
        policy: SessionPolicy | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._engine = engine
        self._accounts = accounts or AccountBook(engine)
        self.policy = policy or SessionPolicy()
        self._clock = clock

    def login(self, name: str, password: str, address: str) -> LoginResult:
        """Check a name and password from ``address`` and open a session if they fit."""
        name_key, address = name[:_NAME_WIDTH], address[:_ADDRESS_WIDTH]
        now = self._clock()
        throttled = self._throttle(name_key, address, now)
        if throttled is not None:
            reason, retry_after = throttled
            with Session(self._engine) as session, session.begin():
                record(
                    session,
                    name_key,
                    AuditAction.LOGIN_FAILED,
                    subject_of(name_key),
                    {"address": address, "reason": reason.value},
                )
            return LoginResult(LoginOutcome.THROTTLED, retry_after=retry_after)
        checked = self._accounts.check(name, password)
        with Session(self._engine) as session, session.begin():
            session.add(
                LoginAttemptRow(
                    name=name_key,
                    address=address,
                    succeeded=isinstance(checked, Account),
                    at=now,
                )
            )
            # Keeps the table small with the (name, at) index; the audit log keeps history.
            session.execute(
                delete(LoginAttemptRow).where(
                    LoginAttemptRow.name == name_key, LoginAttemptRow.at < now - self.policy.window
                )
            )
            if isinstance(checked, Refusal):
                record(
                    session,
                    name_key,
                    AuditAction.LOGIN_FAILED,
                    subject_of(name_key),
                    {"address": address, "reason": checked.value},
                )
                return LoginResult(LoginOutcome.REFUSED)
            issued = self._issue(session, checked, address, now)
        return LoginResult(LoginOutcome.SIGNED_IN, issued=issued)

    def create(self, account: Account, address: str) -> IssuedSession:
        """Open a session for an account already authenticated by other means."""
        with Session(self._engine) as session, session.begin():
            return self._issue(session, account, address[:_ADDRESS_WIDTH], self._clock())

    def lookup(self, token: str) -> LoginSession | None:
        """The live session this cookie token belongs to, or None when it is unknown,
        signed out, idle too long, past its absolute end, or its account is disabled."""
        now = self._clock()
        with Session(self._engine) as session, session.begin():
            found = session.execute(
                select(LoginSessionRow, AccountRow)
                .join(AccountRow, AccountRow.id == LoginSessionRow.account_id)
                .where(LoginSessionRow.token_hash == token_hash(token))
            ).first()
            if found is None:
                return None
            row, account_row = found
            if (
                row.revoked
                or account_row.disabled
                or now >= row.expires_at
                or now >= row.last_seen_at + self.policy.idle
            ):
                return None
            if now - row.last_seen_at >= self.policy.touch_every:
                row.last_seen_at = now
            return LoginSession(
                id=row.id,
                account=account_of(account_row),
                csrf_token=row.csrf_token,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                expires_at=row.expires_at,
            )

    def revoke(self, token: str) -> bool:
        """Sign out the session of this token; False if there was no live one."""
        with Session(self._engine) as session, session.begin():
            found = session.execute(
                select(LoginSessionRow, AccountRow.name)
                .join(AccountRow, AccountRow.id == LoginSessionRow.account_id)
                .where(LoginSessionRow.token_hash == token_hash(token))
            ).first()
            if found is None or found[0].revoked:
                return False
            row, name = found
            row.revoked = True
            record(session, name, AuditAction.LOGOUT, subject_of(name), {"session": row.id})
            return True

    def prune(self) -> int:
        """Forget login attempts older than the window (the audit log keeps them)."""
        cutoff = self._clock() - self.policy.window
        with Session(self._engine) as session, session.begin():
            result = session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < cutoff))
            return cast(CursorResult[Any], result).rowcount

    def _issue(
        self, session: Session, account: Account, address: str, now: datetime
    ) -> IssuedSession:
        token = secrets.token_urlsafe(32)
        row = LoginSessionRow(
            token_hash=token_hash(token),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.policy.absolute,
            revoked=False,
        )
        session.add(row)
        session.flush()
        record(
            session,
            account.name,
            AuditAction.LOGIN,
            subject_of(account.name),
            {"address": address, "session": row.id},
        )
        return IssuedSession(row.id, token, row.csrf_token, account, row.expires_at)

    def _throttle(
        self, name: str, address: str, now: datetime
    ) -> tuple[ThrottleReason, timedelta] | None:
        """Which limit this try is over, and when the window lets it through, if any."""
        policy = self.policy
        since = now - policy.window
        with Session(self._engine) as session:
            # A good sign-in clears the name's count: the owner knew the password. It
            # does not clear the address's, or one account of an attacker's own would.
            last_success = session.scalar(
                select(func.max(LoginAttemptRow.at)).where(
                    LoginAttemptRow.name == name,
                    LoginAttemptRow.succeeded.is_(True),
                    LoginAttemptRow.at >= since,
                )
            )
            name_since = max(since, last_success) if last_success else since
            checks = (
                (
                    ThrottleReason.NAME,
                    LoginAttemptRow.name == name,
                    name_since,
                    policy.name_failures,
                ),
                (
                    ThrottleReason.ADDRESS,
                    LoginAttemptRow.address == address,
                    since,
                    policy.address_failures,
                ),
            )
            for reason, matches, start, limit in checks:
                failures = list(
                    session.scalars(
                        select(LoginAttemptRow.at)
                        .where(matches, LoginAttemptRow.succeeded.is_(False))
                        .where(LoginAttemptRow.at > start)
                        .order_by(LoginAttemptRow.at.desc())
                        .limit(limit)
                    )
                )
                if len(failures) >= limit:
                    # The try is let through once the oldest of the last `limit`
                    # failures has left the window.
                    return reason, max(failures[-1] + policy.window - now, timedelta(0))
        return None
