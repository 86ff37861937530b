"""``clearsight user``: the accounts that may sign in to a case's review server.

A password is typed at a hidden prompt (twice) or piped on standard input; it is never
a command-line argument, where ``ps`` and the shell history would keep it. Each change
is recorded in the case's audit log under ``cli:`` and the operating-system login.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

import click

from clearsight.cli.case_database import case_or_database, open_case_or_database
from clearsight.errors import UserError
from clearsight.review.accounts import (
    Account,
    Role,
    check_name,
    check_password,
)

password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
role_option = click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    required=True,
    help="admin: accounts and settings; supervisor: assigns and extends exposure; "
    "reviewer: reviews and decides; auditor: reads the audit log.",
)


def cli_actor() -> str:
    """Who the audit log says acted: the login of whoever ran the command."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):
        # A container user with no name: the number still tells people apart.
        login = f"uid-{os.getuid()}"
    return f"cli:{login}"[:80]


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise UserError("--password-stdin: standard input held no password")
    else:
        password = click.prompt(
            "Password", hide_input=True, confirmation_prompt="Repeat the password", err=True
        )
    return check_password(password)


@click.group()
def user() -> None:
    """Accounts that may sign in to review a case.

    Roles: admin, supervisor, reviewer, auditor. Passwords are at least 12
    characters, kept only as Argon2id hashes, and are typed at a hidden prompt or
    piped with --password-stdin (never given as an argument). Every change is
    written to the case's audit log.

    \b
    Examples:
      clearsight user add --case ./case-0412 ana.lima --role reviewer
      clearsight user list --case ./case-0412
      clearsight user reset --case ./case-0412 ana.lima
      clearsight user disable --database postgresql://cs@db.lab/case_0412 ana.lima
    """


@user.command("add")
@click.argument("name")
@role_option
@case_or_database
@password_stdin_option
def add(
    name: str, role: str, case_dir: Path | None, database: str | None, password_stdin: bool
) -> int:
    """Add an account NAME (letters, digits and . _ @ -, up to 80).

    \b
    Examples:
      clearsight user add --case ./case-0412 ana.lima --role reviewer
      pass show clearsight/ana | clearsight user add --case ./case-0412 \\
          ana.lima --role reviewer --password-stdin
    """
    check_name(name)
    case = open_case_or_database(case_dir, database)
    try:
        book = case.accounts()
        if book.get(name) is not None:
            raise UserError(f"account {name!r} already exists")
        account = book.add(name, Role(role), read_password(password_stdin), actor=cli_actor())
    finally:
        case.close()
    click.echo(f"Added {account.role} account {account.name!r}.")
    return 0


@user.command("disable")
@click.argument("name")
@case_or_database
def disable(name: str, case_dir: Path | None, database: str | None) -> int:
    """Stop NAME from signing in and sign it out everywhere. Its decisions and audit
    entries stay; `user enable` undoes this. The last active admin cannot be disabled.

    \b
    Example:
      clearsight user disable --case ./case-0412 ana.lima
    """
    case = open_case_or_database(case_dir, database)
    try:
        case.accounts().disable(name, actor=cli_actor())
    finally:
        case.close()
    click.echo(f"Disabled account {name!r}; its sessions are signed out.")
    return 0


@user.command("enable")
@click.argument("name")
@case_or_database
def enable(name: str, case_dir: Path | None, database: str | None) -> int:
    """Let a disabled account NAME sign in again.

    \b
    Example:
      clearsight user enable --case ./case-0412 ana.lima
    """
    case = open_case_or_database(case_dir, database)
    try:
        case.accounts().enable(name, actor=cli_actor())
    finally:
        case.close()
    click.echo(f"Enabled account {name!r}.")
    return 0


@user.command("reset")
@click.argument("name")
@case_or_database
@password_stdin_option
def reset(name: str, case_dir: Path | None, database: str | None, password_stdin: bool) -> int:
    """Give NAME a new password and sign it out everywhere.

    \b
    Examples:
      clearsight user reset --case ./case-0412 ana.lima
      clearsight user reset --case ./case-0412 ana.lima --password-stdin < new-password.txt
    """
    case = open_case_or_database(case_dir, database)
    try:
        book = case.accounts()
        if book.get(name) is None:
            # Before the prompt: nobody should type a password for a typo.
            raise UserError(f"no account named {name[:80]!r}")
        book.reset_password(name, read_password(password_stdin), actor=cli_actor())
    finally:
        case.close()
    click.echo(f"Reset the password of {name!r}; its sessions are signed out.")
    return 0


@user.command("list")
@case_or_database
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array instead of text.")
def list_(case_dir: Path | None, database: str | None, as_json: bool) -> int:
    """List the accounts: name, role, status, when added and when the password changed.

    \b
    Example:
      clearsight user list --case ./case-0412 --json
    """
    case = open_case_or_database(case_dir, database)
    try:
        accounts = case.accounts().list()
    finally:
        case.close()
    if as_json:
        click.echo(json.dumps([_account_dict(account) for account in accounts]))
        return 0
    if not accounts:
        click.echo("No accounts: add one with `clearsight user add`.", err=True)
        return 0
    width = max(len(account.name) for account in accounts)
    for account in accounts:
        status = "disabled" if account.disabled else "active"
        click.echo(
            f"{account.name:<{width}}  {account.role.value:<10}  {status:<8}  "
            f"added {account.created_at:%Y-%m-%d %H:%M}Z  "
            f"password {account.password_changed_at:%Y-%m-%d %H:%M}Z"
        )
    return 0


def _account_dict(account: Account) -> dict[str, object]:
    return {
        "name": account.name,
        "role": account.role.value,
        "disabled": account.disabled,
        "created_at": account.created_at.isoformat() + "Z",
        "password_changed_at": account.password_changed_at.isoformat() + "Z",
    }
