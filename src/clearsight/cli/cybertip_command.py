"""``clearsight cybertip``: file a CyberTipline report through NCMEC's reporting API."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

from clearsight.case.core import Case
from clearsight.cybertip.client import ENVIRONMENTS, IspwsClient
from clearsight.cybertip.submission import CybertipRequest, open_reports, resume, retract, submit
from clearsight.errors import UserError
from clearsight.exchanges.credentials import CredentialStore
from clearsight.report.request import IncidentType, Reporter

case_option = click.option(
    "--case",
    "case_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The case folder.",
)
environment_option = click.option(
    "--environment",
    type=click.Choice(sorted(ENVIRONMENTS)),
    default="test",
    show_default=True,
    help="NCMEC's test environment, or production.",
)
base_url_option = click.option(
    "--base-url", hidden=True, help="Another ISPWS address (a local mock, for tests)."
)


@click.group()
def cybertip() -> None:
    """File CyberTipline reports through NCMEC's reporting API (ISPWS).

    Credentials: `clearsight exchange credentials cybertip` (USER:PASSWORD), or
    CLEARSIGHT_CYBERTIP_CREDENTIALS. Every step goes into the case's audit log.
    """


@cybertip.command("submit")
@case_option
@click.option("--select", "select", required=True, metavar="series:ID,...|items:ID,...")
@click.option("--incident-type", required=True, type=click.Choice([t.key for t in IncidentType]))
@click.option(
    "--incident-time",
    required=True,
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
    help="When the incident happened, ISO 8601 with its zone.",
)
@click.option("--reporter-first-name")
@click.option("--reporter-last-name")
@click.option("--reporter-email")
@click.option("--publicly-available/--not-publicly-available", default=None)
@click.option(
    "--hashes-only",
    is_flag=True,
    help="Send no file: the report lists each selected file's MD5 and SHA-256 instead "
    "(where the platform's policy keeps files from leaving it).",
)
@environment_option
@base_url_option
def submit_command(
    case_dir: Path,
    select: str,
    incident_type: str,
    incident_time: datetime,
    reporter_first_name: str | None,
    reporter_last_name: str | None,
    reporter_email: str | None,
    publicly_available: bool | None,
    hashes_only: bool,
    environment: str,
    base_url: str | None,
) -> int:
    """Submit the selected files as one report: submit, upload, fileinfo, finish
    (with --hashes-only: submit with their hashes, finish).

    Refused where a selected item awaits a second reviewer. A failing step retracts
    the report; one cut off is resumed or retracted with `cybertip resume|retract`.
    """
    request = CybertipRequest(
        select,
        IncidentType.from_key(incident_type),
        incident_time,
        Reporter(reporter_first_name, reporter_last_name, reporter_email),
        publicly_available,
        hashes_only,
    )
    with _session(case_dir, environment, base_url) as (case, client):
        done = submit(case, request, client, actor=_actor(), environment=environment)
    sent = f"{len(done.files)} file(s)" if not hashes_only else "hashes only, no file"
    click.echo(f"Report {done.report_id} filed ({environment}): {sent}.")
    return 0


@cybertip.command("resume")
@case_option
@environment_option
@base_url_option
def resume_command(case_dir: Path, environment: str, base_url: str | None) -> int:
    """Finish the case's open report (one cut off before it finished)."""
    with _session(case_dir, environment, base_url) as (case, client):
        done = resume(case, client, actor=_actor())
    click.echo(f"Report {done.report_id} finished: {len(done.files)} more file(s).")
    return 0


@cybertip.command("retract")
@case_option
@environment_option
@base_url_option
def retract_command(case_dir: Path, environment: str, base_url: str | None) -> int:
    """Retract the case's open report."""
    with _session(case_dir, environment, base_url) as (case, client):
        report_id = retract(case, client, actor=_actor(), reason="retracted by the user")
    click.echo(f"Report {report_id} retracted.")
    return 0


@cybertip.command("status")
@case_option
def status_command(case_dir: Path) -> int:
    """List the case's open reports (submitted, neither finished nor retracted)."""
    with Case.open(case_dir) as case:
        found = open_reports(case)
    if not found:
        click.echo("No open CyberTipline report.")
    for report in found:
        click.echo(
            f"report {report.report_id} ({report.environment}) open: "
            f"{len(report.described)} file(s) described"
        )
    return 0


@contextmanager
def _session(
    case_dir: Path, environment: str, base_url: str | None
) -> Iterator[tuple[Case, IspwsClient]]:
    secret = CredentialStore().secret("cybertip")
    user, _, password = (secret or "").partition(":")
    if not user or not password:
        raise UserError("no cybertip credentials: `clearsight exchange credentials cybertip`")
    client = IspwsClient(base_url or ENVIRONMENTS[environment], user, password)
    try:
        with Case.open(case_dir) as case:
            yield case, client
    finally:
        client.close()


def _actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (OSError, KeyError):
        return f"cli:uid-{os.getuid()}"
