"""API keys of the matching service: who may call it, in which roles.

A key's token is shown once, when it is made, and kept only as its SHA-256. A slow
password hash (argon2) protects secrets people choose, which are few enough to guess;
a token is 32 random bytes, which no one can guess, and the service checks one on every
request, in microseconds, where argon2 would cost tens of milliseconds. Tokens start
with ``csk_`` so that secret scanners and people can tell one when they see it.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from clearsight.banks.service_models import API_KEYS
from clearsight.errors import UserError
from clearsight.store.engines import utc_now

TOKEN_PREFIX = "csk_"
_NAME_LIMIT = 200


class ApiRole(enum.StrEnum):
    """What a key may do: hash media, look signals up, or change the banks."""

    HASHER = "hasher"
    MATCHER = "matcher"
    CURATOR = "curator"


@dataclass(frozen=True)
class ApiKey:
    name: str
    roles: frozenset[ApiRole]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "roles": sorted(self.roles),
            "created_at": self.created_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
        }


def parse_roles(text: str | Iterable[str]) -> frozenset[ApiRole]:
    """Roles from "hasher,matcher" (or a list of such); a UserError names a wrong one."""
    parts = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    roles: set[ApiRole] = set()
    for part in (p.strip() for p in parts):
        if not part:
            continue
        try:
            roles.add(ApiRole(part))
        except ValueError:
            known = ", ".join(role.value for role in ApiRole)
            raise UserError(f"no role {part[:40]!r}: the roles are {known}") from None
    if not roles:
        raise UserError("give at least one role: hasher, matcher or curator")
    return frozenset(roles)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccessKeyBook:
    """The API keys of one bank store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, name: str, roles: frozenset[ApiRole]) -> tuple[ApiKey, str]:
        """Make key ``name``; returns it and its token, which is not kept."""
        name = name.strip()
        if not name or len(name) > _NAME_LIMIT or not name.isprintable():
            raise UserError(f"a key name is 1 to {_NAME_LIMIT} printable characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utc_now()
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(API_KEYS).values(
                        name=name,
                        roles=",".join(sorted(roles)),
                        secret_sha256=token_digest(token),
                        created_at=now,
                    )
                )
        except IntegrityError:
            raise UserError(f"there is already a key named {name!r}") from None
        return ApiKey(name, roles, now), token

    def all(self) -> list[ApiKey]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(API_KEYS).order_by(API_KEYS.c.name)).all()
        return [_key(row) for row in rows]

    def revoke(self, name: str) -> ApiKey:
        """Revoke key ``name`` (kept, marked, so the audit log's actor stays known)."""
        with self._engine.begin() as connection:
            done = connection.execute(
                update(API_KEYS)
                .where(API_KEYS.c.name == name, API_KEYS.c.revoked_at.is_(None))
                .values(revoked_at=utc_now())
            )
            row = connection.execute(select(API_KEYS).where(API_KEYS.c.name == name)).first()
        if row is None:
            raise UserError(f"no key named {name[:80]!r} (see `clearsight api-key list`)")
        if not done.rowcount:
            raise UserError(f"key {name[:80]!r} was already revoked")
        return _key(row)

    def active_by_digest(self) -> dict[str, ApiKey]:
        """Every key not revoked, by its token's SHA-256: what a service checks against."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(API_KEYS).where(API_KEYS.c.revoked_at.is_(None))).all()
        return {row.secret_sha256: _key(row) for row in rows}


def find_key(keys: dict[str, ApiKey], token: str) -> ApiKey | None:
    """The active key whose token this is. Looked up by the token's SHA-256, so the
    time a lookup takes tells nothing about any stored secret."""
    return keys.get(token_digest(token))


def _key(row: object) -> ApiKey:
    return ApiKey(
        name=row.name,  # type: ignore[attr-defined]
        roles=parse_roles(row.roles),  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        revoked_at=row.revoked_at,  # type: ignore[attr-defined]
    )
