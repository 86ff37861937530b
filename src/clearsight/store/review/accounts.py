"""The people who may sign in to a case, their roles, and how their passwords are kept.

Passwords are stored only as Argon2id hashes (argon2-cffi's defaults, rehashed on the
next good sign-in when those change). Checking a name that does not exist still costs
one Argon2 verification, so the time of an answer does not say whether an account
exists. Every change is written to the audit log in the same transaction as the change
itself; neither the audit log nor any message ever holds a password or a hash.
"""

from __future__ import annotations

import builtins
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, Engine, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from clearsight.errors import CaseStoreError, ClearsightError, UserError
from clearsight.store.engines import utc_now
from clearsight.store.review.audit import AuditAction, record
from clearsight.store.review_models import AccountRow, LoginSessionRow

MIN_PASSWORD_LENGTH = 12
# Argon2 hashes any length, but a megabyte "password" is a denial of service, not a secret.
MAX_PASSWORD_LENGTH = 1024
T = TypeVar("T")
NAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,80}")


class Role(StrEnum):
    """What an account may do. The server decides what each role allows."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


class Refusal(StrEnum):
    """Why a name and password did not sign in. Only the audit log may see this; a
    person signing in is told the same thing whatever the reason."""

    UNKNOWN_ACCOUNT = "unknown-account"
    DISABLED = "disabled"
    WRONG_PASSWORD = "wrong-password"


@dataclass(frozen=True)
class Account:
    """An account as the rest of clearsight sees it: never with its password hash."""

    id: int
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    password_changed_at: datetime


def subject_of(name: str) -> str:
    """The audit log subject that names an account."""
    return f"account:{name}"


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise UserError(f"invalid account name {name[:80]!r}: use 1-80 letters, digits or . _ @ -")
    return name


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(
            f"unknown role {role!r}: use one of {', '.join(r.value for r in Role)}"
        ) from None


def check_password(password: str) -> str:
    """Refuse passwords too short to resist guessing (the message never repeats it)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"password too short: use at least {MIN_PASSWORD_LENGTH} characters "
            "(a few unrelated words make a good one)"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"password too long: use at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise UserError("password is only white space")
    return password


class AccountBook:
    """The accounts of one case database."""

    def __init__(self, engine: Engine, hasher: PasswordHasher | None = None) -> None:
        self._engine = engine
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    def add(self, name: str, role: Role, password: str, *, actor: str) -> Account:
        check_name(name)
        role = check_role(role)
        check_password(password)
        hashed = self._hasher.hash(password)
        return _hash_kept_out(
            f"cannot add account {name!r}",
            lambda: self._insert(name, role, hashed, actor),
            # A second writer may add the same name between the check and the insert.
            duplicate=f"account {name!r} already exists",
        )

    def disable(self, name: str, *, actor: str) -> Account:
        """Disable an account and sign it out everywhere; its history stays. The last
        active admin cannot be disabled (by anyone, themselves included): nobody could
        manage the accounts any more."""
        with Session(self._engine) as session, session.begin():
            row = _row_of(session, name)
            if row.role == Role.ADMIN.value and not row.disabled:
                _keep_an_admin(session, row)
            row.disabled = True
            signed_out = _revoke_sessions(session, row.id)
            record(
                session,
                actor,
                AuditAction.USER_DISABLED,
                subject_of(name),
                {"sessions_revoked": signed_out},
            )
            return account_of(row)

    def enable(self, name: str, *, actor: str) -> Account:
        with Session(self._engine) as session, session.begin():
            row = _row_of(session, name)
            row.disabled = False
            record(session, actor, AuditAction.USER_ENABLED, subject_of(name))
            return account_of(row)

    def reset_password(self, name: str, password: str, *, actor: str) -> Account:
        """Set a new password and sign the account out everywhere, so that whoever knew
        the old one loses any session they had."""
        check_password(password)
        hashed = self._hasher.hash(password)
        return _hash_kept_out(
            f"cannot reset the password of {name!r}",
            lambda: self._replace_hash(name, hashed, actor),
        )

    def get(self, name: str) -> Account | None:
        with Session(self._engine) as session:
            row = session.scalar(select(AccountRow).where(AccountRow.name == name))
            return account_of(row) if row else None

    def get_by_id(self, account_id: int) -> Account | None:
        with Session(self._engine) as session:
            row = session.get(AccountRow, account_id)
            return account_of(row) if row else None

    def list(self) -> builtins.list[Account]:
        with Session(self._engine) as session:
            rows = session.scalars(select(AccountRow).order_by(AccountRow.name))
            return [account_of(row) for row in rows]

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account if ``password`` is its password and it is enabled, else None."""
        checked = self.check(name, password)
        return checked if isinstance(checked, Account) else None

    def check(self, name: str, password: str) -> Account | Refusal:
        """Like ``authenticate``, but saying why it refused (for the audit log only)."""
        dummy = self._dummy()
        with Session(self._engine) as session:
            row = session.scalar(select(AccountRow).where(AccountRow.name == name))
            if row is None:
                # Spend the same Argon2 work as for a real account.
                self._verify(dummy, password)
                return Refusal.UNKNOWN_ACCOUNT
            account, stored = account_of(row), row.password_hash
        if not self._verify(stored, password):
            return Refusal.WRONG_PASSWORD
        if account.disabled:
            return Refusal.DISABLED
        if self._hasher.check_needs_rehash(stored):
            self._rehash(account.id, stored, password)
        return account

    def _insert(self, name: str, role: Role, hashed: str, actor: str) -> Account:
        now = utc_now()
        with Session(self._engine) as session, session.begin():
            if session.scalar(select(AccountRow.id).where(AccountRow.name == name)):
                raise UserError(f"account {name!r} already exists")
            row = AccountRow(
                name=name,
                role=role.value,
                password_hash=hashed,
                disabled=False,
                created_at=now,
                password_changed_at=now,
            )
            session.add(row)
            session.flush()
            record(session, actor, AuditAction.USER_ADDED, subject_of(name), {"role": row.role})
            return account_of(row)

    def _replace_hash(self, name: str, hashed: str, actor: str) -> Account:
        with Session(self._engine) as session, session.begin():
            row = _row_of(session, name)
            row.password_hash = hashed
            row.password_changed_at = utc_now()
            signed_out = _revoke_sessions(session, row.id)
            record(
                session,
                actor,
                AuditAction.PASSWORD_RESET,
                subject_of(name),
                {"sessions_revoked": signed_out},
            )
            return account_of(row)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _rehash(self, account_id: int, stored: str, password: str) -> None:
        hashed = self._hasher.hash(password)

        def replace() -> None:
            # Only replace the hash that was verified: a reset in between wins.
            with Session(self._engine) as session, session.begin():
                session.execute(
                    update(AccountRow)
                    .where(AccountRow.id == account_id, AccountRow.password_hash == stored)
                    .values(password_hash=hashed)
                )

        _hash_kept_out("cannot store a new password hash", replace)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(24))
        return self._dummy_hash


def _hash_kept_out(what: str, write: Callable[[], T], *, duplicate: str | None = None) -> T:
    """Run a write that carries a password hash, replacing any database error.

    SQLAlchemy's error text quotes the statement's parameters, hash and all, and
    PostgreSQL's DETAIL line quotes the failing row. The error raised instead keeps the
    driver's first line (an integrity error becomes ``duplicate`` when given), and it is
    raised after the ``except`` has ended so that not even ``__context__`` holds the
    original.
    """
    replacement: ClearsightError
    try:
        return write()
    except IntegrityError as exc:
        replacement = UserError(duplicate) if duplicate else _first_line(what, exc)
    except DBAPIError as exc:
        replacement = _first_line(what, exc)
    except SQLAlchemyError as exc:
        replacement = CaseStoreError(f"{what}: {type(exc).__name__}")
    raise replacement


def _first_line(what: str, exc: DBAPIError) -> CaseStoreError:
    # PostgreSQL puts the failing row on its DETAIL line; the first line names no values.
    lines = str(exc.orig).splitlines()
    return CaseStoreError(f"{what}: {lines[0] if lines else type(exc.orig).__name__}")


def _row_of(session: Session, name: str) -> AccountRow:
    row = session.scalar(select(AccountRow).where(AccountRow.name == name))
    if row is None:
        raise UserError(f"no account named {name[:80]!r}")
    return row


def _keep_an_admin(session: Session, leaving: AccountRow) -> None:
    """Refuse to take away ``leaving``, an active admin, if no other would remain.
    The active admins' rows are locked in id order (PostgreSQL) until the change
    commits, so two admins disabling each other at once wait for each other, and the
    second sees the first's change; SQLite has one writer anyway."""
    active = session.scalars(
        select(AccountRow.id)
        .where(AccountRow.role == Role.ADMIN.value, AccountRow.disabled.is_(False))
        .order_by(AccountRow.id)
        .with_for_update()
    ).all()
    if not set(active) - {leaving.id}:
        raise UserError(
            f"{leaving.name!r} is the last active admin account and cannot be disabled: "
            "add or enable another admin first"
        )


def _revoke_sessions(session: Session, account_id: int) -> int:
    result = session.execute(
        update(LoginSessionRow)
        .where(LoginSessionRow.account_id == account_id, LoginSessionRow.revoked.is_(False))
        .values(revoked=True)
    )
    return cast(CursorResult[Any], result).rowcount


def account_of(row: AccountRow) -> Account:
    """The account of a database row, without its password hash."""
    return Account(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        disabled=row.disabled,
        created_at=row.created_at,
        password_changed_at=row.password_changed_at,
    )
