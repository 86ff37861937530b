"""``clearsight api-key``: the keys that may call the matching service (``clearsight api``).

A key has a name and roles: ``hasher`` (``/h``), ``matcher`` (``/m``), ``curator``
(``/c``). Its token is printed once, when it is made; the bank store keeps only its
SHA-256. Adding and revoking are written to the service's audit log.
"""

from __future__ import annotations

import json

import click

from clearsight.banks.access_keys import ApiRole, parse_roles
from clearsight.case import CaseBanks
from clearsight.cli.bank_options import banks_option, json_option

ROLES = ", ".join(role.value for role in ApiRole)


@click.group("api-key")
def api_key() -> None:
    """API keys of the matching service (`clearsight api`).

    \b
    Examples:
      clearsight api-key add moderation-pipeline --role matcher
      clearsight api-key add curation-desk --role curator,hasher --json
      clearsight api-key list
      clearsight api-key revoke moderation-pipeline
    """


@api_key.command("add")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help=f"What the key may do, comma-separated or repeated: {ROLES}.",
)
@banks_option
@json_option
def add(name: str, roles: tuple[str, ...], banks_url: str | None, as_json: bool) -> int:
    """Make key NAME and print its token, once: it is not kept, only its hash is."""
    chosen = parse_roles(roles)
    banks = CaseBanks(banks_url)
    try:
        key, token = banks.access_keys().add(name, chosen)
        banks.service_audit().append("cli", "api-key-added", key.name, {"roles": sorted(chosen)})
    finally:
        banks.close()
    if as_json:
        click.echo(json.dumps({"name": key.name, "roles": sorted(key.roles), "token": token}))
    else:
        click.echo(f"key {key.name} ({', '.join(sorted(key.roles))}); its token, shown once:")
        click.echo(token)
        click.echo("Clients send it as: Authorization: Bearer <token>", err=True)
    return 0


@api_key.command("list")
@banks_option
@json_option
def list_(banks_url: str | None, as_json: bool) -> int:
    """List the keys, revoked ones included (never their tokens)."""
    banks = CaseBanks(banks_url)
    try:
        keys = banks.access_keys().all()
    finally:
        banks.close()
    if as_json:
        click.echo(json.dumps([key.as_dict() for key in keys]))
    elif not keys:
        click.echo("no API keys: add one with `clearsight api-key add NAME --role matcher`")
    for key in keys if not as_json else ():
        state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        click.echo(f"{key.name}\t{','.join(sorted(key.roles))}\t{state}")
    return 0


@api_key.command("revoke")
@click.argument("name")
@banks_option
@json_option
def revoke(name: str, banks_url: str | None, as_json: bool) -> int:
    """Revoke key NAME: a running service refuses it within about a second."""
    banks = CaseBanks(banks_url)
    try:
        key = banks.access_keys().revoke(name)
        banks.service_audit().append("cli", "api-key-revoked", key.name, {})
    finally:
        banks.close()
    if as_json:
        click.echo(json.dumps(key.as_dict()))
    else:
        click.echo(f"key {key.name} revoked")
    return 0
