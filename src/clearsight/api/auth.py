"""Who is calling: a bearer token checked against the API keys, and the roles a route
admits. HMA has no authentication; every route but the status ones needs a key here.

Keys are read from the bank store by the service's refresh thread every second, so a
revoked key stops working within about a second without a query per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from clearsight.api.errors import ApiError
from clearsight.banks.access_keys import ApiKey, ApiRole, find_key

HASHER, MATCHER, CURATOR = ApiRole.HASHER, ApiRole.MATCHER, ApiRole.CURATOR
ANY_ROLE = frozenset(ApiRole)
_SCHEME = "bearer "


@dataclass(frozen=True)
class Caller:
    name: str
    roles: frozenset[ApiRole]


NO_AUTH_CALLER = Caller("no-auth", frozenset(ApiRole))


def caller_of(
    request: Request, keys: dict[str, ApiKey], *, no_auth: bool, needs: frozenset[ApiRole]
) -> Caller:
    """The caller, where its key admits one of the roles ``needs``: else 401 (no key, or
    not one we know) or 403 (a key without the role)."""
    return caller_from(request.headers.get("authorization"), keys, no_auth=no_auth, needs=needs)


def caller_from(
    header: str | None, keys: dict[str, ApiKey], *, no_auth: bool, needs: frozenset[ApiRole]
) -> Caller:
    """:func:`caller_of`, from the ``Authorization`` header's value."""
    if no_auth:
        return NO_AUTH_CALLER
    if header is None or header[: len(_SCHEME)].lower() != _SCHEME:
        raise ApiError(401, "an API key is required: Authorization: Bearer <token>")
    key = find_key(keys, header[len(_SCHEME) :].strip())
    if key is None:
        raise ApiError(401, "the API key is not valid (unknown or revoked)")
    if not key.roles & needs:
        wanted = " or ".join(sorted(needs))
        raise ApiError(403, f"this API key lacks the role this route needs ({wanted})")
    return Caller(key.name, key.roles)


def require_all(caller: Caller, *roles: ApiRole) -> None:
    """For a route that does two things (hash, then look up): every role is needed."""
    missing = [role for role in roles if role not in caller.roles]
    if missing:
        raise ApiError(403, f"this API key lacks the role {' and '.join(missing)}")
