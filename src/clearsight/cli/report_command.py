"""``clearsight report``: export a case as a report, a VICS case, a CyberTipline-style
report or a hash list; a thin shell over :mod:`clearsight.report`."""

from __future__ import annotations

import getpass
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType

import click

from clearsight.case import Case
from clearsight.cli.case_database import case_or_database, open_case_or_database
from clearsight.errors import UserError
from clearsight.report import (
    LOCAL_USER,
    CybertipOptions,
    ExportRequest,
    ExportResult,
    IncidentType,
    Reporter,
    ReportFormat,
    Thumbnails,
    parse_selection,
)
from clearsight.report.classification import classification_of


@click.command()
@case_or_database
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice([f.value for f in ReportFormat]),
    help="html: case report; json, csv: every item; vics: Project VIC case; cybertip: "
    "CyberTipline-style XML; bank-csv, vics-hashset: hash list of confirmed new items.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write here (through a partial file renamed into place) [standard output].",
)
@click.option(
    "--select",
    "select",
    metavar="all|series:ID,...|items:ID,...",
    help="Which items: all, some series (ids or labels such as S-3), or some items "
    "[all; a cybertip report must say].",
)
@click.option(
    "--thumbnails",
    type=click.Choice([t.value for t in Thumbnails]),
    default=Thumbnails.NONE.value,
    show_default=True,
    help="html only: add blurred greyscale thumbnails to the series tables.",
)
@click.option("--case-number", help="vics: the agency's case number.")
@click.option(
    "--incident-type",
    type=click.Choice([t.key for t in IncidentType]),
    help="cybertip (required): the CyberTipline incident type.",
)
@click.option(
    "--incident-time",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M%z"]),
    help="cybertip (required): when the incident happened, ISO 8601 (give the zone, "
    "e.g. 2026-03-01T14:00:00+00:00; without one, none is written).",
)
@click.option("--reporter-first-name", help="cybertip: the reporting person's first name.")
@click.option("--reporter-last-name", help="cybertip: the reporting person's last name.")
@click.option("--reporter-email", help="cybertip: the reporting person's email.")
@click.option(
    "--publicly-available/--not-publicly-available",
    default=None,
    help="cybertip: whether the files were publicly available [not stated].",
)
@click.option(
    "--category-scheme",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="cybertip: the category scheme file (TOML) decisions use, if not the shipped one.",
)
def report(
    case_dir: Path | None,
    database: str | None,
    fmt: str,
    out: Path | None,
    select: str | None,
    thumbnails: str,
    case_number: str | None,
    incident_type: str | None,
    incident_time: datetime | None,
    reporter_first_name: str | None,
    reporter_last_name: str | None,
    reporter_email: str | None,
    publicly_available: bool | None,
    category_scheme: Path | None,
) -> int:
    """Export the case; the export is recorded in the case's audit log.

    Categories, victim flags and AI annotations come from human decisions only, and a
    CyberTipline report says a file was viewed only where a decision records it. The
    HTML report holds no pictures unless --thumbnails blurred is given.

    \b
    Examples:
      clearsight report --case ./case-0412 --format html --out report.html
      clearsight report --case ./case-0412 --format json > items.json
      clearsight report --case ./case-0412 --format vics --case-number 2026-0412 --out case.json
      clearsight report --case ./case-0412 --format cybertip --select series:S-2 \\
          --incident-type child-pornography --incident-time 2026-03-01T14:00:00+00:00
      clearsight report --case ./case-0412 --format bank-csv --out new-hashes.csv
    """
    format_ = ReportFormat(fmt)
    if format_ is ReportFormat.CYBERTIP and select is None:
        raise UserError("a cybertip report covers chosen files: say which with --select")
    case = open_case_or_database(case_dir, database, category_scheme=category_scheme)
    try:
        cybertip = None
        if format_ is ReportFormat.CYBERTIP:
            cybertip = _cybertip_options(
                case,
                incident_type,
                incident_time,
                Reporter(reporter_first_name, reporter_last_name, reporter_email),
                publicly_available,
            )
        request = ExportRequest(
            format=format_,
            selection=parse_selection(select or "all"),
            thumbnails=Thumbnails(thumbnails),
            cybertip=cybertip,
            case_number=case_number,
        )
        if out is None:
            result = _to_standard_output(case, request)
        else:
            with _terminate_as_interrupt():
                result = case.export_to_file(request, out, actor=_actor(), permission=LOCAL_USER)
    finally:
        case.close()
    click.echo(_receipt(result, out), err=True)
    return 0


def _to_standard_output(case: Case, request: ExportRequest) -> ExportResult:
    try:
        return case.export(
            request,
            sys.stdout.buffer,
            actor=_actor(),
            permission=LOCAL_USER,
            destination="standard output",
        )
    except BrokenPipeError:
        # The reader went away (`| head`): what it got is not the report, so nothing is
        # audited; stdout goes to /dev/null so the exit does not fail to flush it again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise UserError("standard output closed before the report was complete") from None


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Let ``kill`` (SIGTERM) end an export the way Ctrl-C does, through its clean-up,
    so that no partial file is left behind. (``kill -9`` cannot be caught: the next
    export to the same file replaces the partial file it left.)"""

    def interrupt(_signal: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding program): leave signals be
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _cybertip_options(
    case: Case,
    incident_type: str | None,
    incident_time: datetime | None,
    reporter: Reporter,
    publicly_available: bool | None,
) -> CybertipOptions:
    if incident_type is None or incident_time is None:
        raise UserError("a cybertip report needs --incident-type and --incident-time")
    return CybertipOptions(
        incident_type=IncidentType.from_key(incident_type),
        incident_time=incident_time,
        reporter=reporter,
        publicly_available=publicly_available,
        classification=classification_of(case.category_scheme()),
    )


def _actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a bare container)
        return f"cli:uid-{os.getuid()}"


def _receipt(result: ExportResult, out: Path | None) -> str:
    written = result.written
    where = str(out) if out is not None else "standard output"
    return (
        f"clearsight: wrote {written.request.format.value} of {written.items} item(s) to "
        f"{where}: {written.bytes} bytes, sha256 {written.sha256}; "
        f"audit entry {result.audit.id} ({result.audit.hash[:12]}…)"
    )
