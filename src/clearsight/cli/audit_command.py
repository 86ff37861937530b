"""``clearsight audit``: check the case's hash-chained audit log and read it.

``verify`` exits 1 when the chain is broken, so scripts and reports can rely on the
exit status; its one-line message names the first entry that breaks the chain.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import click

from clearsight.cli.case_database import case_or_database, open_case_or_database
from clearsight.errors import UserError
from clearsight.review.audit import AuditEntry, AuditLog, ChainCheck

_HASH = re.compile(r"[0-9a-f]{64}")
_PAGE = 1000

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group()
def audit() -> None:
    """The case's audit log: sign-ins, reveals, decisions, exports, account changes.

    Each entry's hash covers the entry and the one before it, so an entry edited or
    deleted in the database breaks the chain there. Entries cut from the end leave a
    shorter chain that still holds; give the head hash recorded earlier (reports
    print it) with --head to catch that too.

    \b
    Examples:
      clearsight audit verify --case ./case-0412
      clearsight audit verify --case ./case-0412 --head 3f1c…(64 hex digits)
      clearsight audit list --case ./case-0412 --limit 20
    """


@audit.command()
@case_or_database
@click.option(
    "--head",
    metavar="HASH",
    help="The head hash recorded earlier (64 hex digits): the chain must still end there.",
)
@json_option
def verify(case_dir: Path | None, database: str | None, head: str | None, as_json: bool) -> int:
    """Check the whole chain; exit 0 when intact, 1 when broken.

    \b
    Example:
      clearsight audit verify --case ./case-0412 && echo intact
    """
    if head is not None:
        head = head.strip().lower()
        if not _HASH.fullmatch(head):
            raise UserError("--head must be 64 hexadecimal digits")
    with open_case_or_database(case_dir, database) as case:
        check = case.audit_log().verify(expected_head=head)
    click.echo(json.dumps(_check_dict(check)) if as_json else describe(check))
    return 0 if check.intact else 1


def describe(check: ChainCheck) -> str:
    if check.intact:
        entries = "1 entry" if check.entries == 1 else f"{check.entries} entries"
        return f"audit log intact: {entries}, head {check.head}"
    return f"audit log broken at entry {check.broken_at}: {check.problem}"


@audit.command("list")
@case_or_database
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Only the newest N entries (still printed oldest first) [all].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of text.")
def list_(case_dir: Path | None, database: str | None, limit: int | None, as_json: bool) -> int:
    """Print the entries, oldest first: number, time (UTC), actor, action, subject, detail.

    This reads the log; it does not check it (see `audit verify`).

    \b
    Example:
      clearsight audit list --case ./case-0412 --limit 50 --json
    """
    with open_case_or_database(case_dir, database) as case:
        log = case.audit_log()
        for entry in _entries(log, limit):
            click.echo(json.dumps(_entry_dict(entry)) if as_json else _entry_line(entry))
    return 0


def _entries(log: AuditLog, limit: int | None) -> Iterator[AuditEntry]:
    if limit is not None:
        yield from reversed(log.entries(limit=limit, newest_first=True))
        return
    # Page through a long log rather than hold it all.
    after = 0
    while page := log.entries(after=after, limit=_PAGE):
        yield from page
        after = page[-1].id


def _entry_line(entry: AuditEntry) -> str:
    detail = json.dumps(entry.detail, sort_keys=True, ensure_ascii=False) if entry.detail else ""
    return (
        f"{entry.id:>6}  {entry.at:%Y-%m-%d %H:%M:%S}Z  {entry.actor}  {entry.action}  "
        f"{entry.subject}  {detail}"
    ).rstrip()


def _entry_dict(entry: AuditEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat() + "Z",
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _check_dict(check: ChainCheck) -> dict[str, object]:
    return {
        "intact": check.intact,
        "entries": check.entries,
        "head": check.head,
        "broken_at": check.broken_at,
        "problem": check.problem,
    }
