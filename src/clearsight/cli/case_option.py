"""The ``--case DIR`` option shared by every command that works on a case."""

from __future__ import annotations

from pathlib import Path

import click

from clearsight.case import Case
from clearsight.cli.failure_log import note_case_folder

case_option = click.option(
    "--case",
    "case_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Case folder (created by scan if missing). It holds the case database.",
)


def open_case(
    case_dir: Path,
    *,
    create: bool,
    banks_url: str | None = None,
    category_scheme: Path | None = None,
) -> Case:
    """Open the case in ``case_dir``; only a scan may create a new one."""
    note_case_folder(case_dir)  # where a failure of this command is logged
    return Case.open_folder(
        case_dir, create=create, banks_url=banks_url, category_scheme=category_scheme
    )
