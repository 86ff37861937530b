"""The ``--case DIR`` option shared by every command that works on a case."""

from __future__ import annotations

from pathlib import Path

import click

from clearsight import __version__
from clearsight.cli.failure_log import note_case_folder
from clearsight.errors import UserError
from clearsight.store.sql import CASE_DATABASE, SqlCaseStore

case_option = click.option(
    "--case",
    "case_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Case folder (created by scan if missing). It holds the case database.",
)


def open_case(case_dir: Path, *, create: bool) -> SqlCaseStore:
    """Open the case in ``case_dir``; only a scan may create a new one."""
    note_case_folder(case_dir)  # where a failure of this command is logged
    if case_dir.exists() and not case_dir.is_dir():
        raise UserError(f"case path is not a folder: {case_dir}")
    if not create and not (case_dir / CASE_DATABASE).is_file():
        raise UserError(f"not a clearsight case (no {CASE_DATABASE}): {case_dir}")
    return SqlCaseStore.open_folder(case_dir, __version__)
