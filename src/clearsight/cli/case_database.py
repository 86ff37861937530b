"""``--case DIR`` or ``--database URL``: which case database a review command works on.

A case reviewed by several people lives in PostgreSQL, so the commands that manage
accounts and read the audit log take either. The URL may also come from
``CLEARSIGHT_DATABASE``, which keeps a database password off the command line (and out
of ``ps``); ``--case`` given on the command line wins over that variable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from clearsight.case import Case, NotADatabaseUrl
from clearsight.cli.case_option import open_case
from clearsight.errors import UserError

DATABASE_ENV = "CLEARSIGHT_DATABASE"


def case_or_database(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--case`` and ``--database`` to a command (its ``case_dir`` and ``database``)."""
    command = click.option(
        "--database",
        "database",
        envvar=DATABASE_ENV,
        metavar="URL",
        help=(
            "A case in PostgreSQL instead of a folder, e.g. "
            f"postgresql://clearsight@db.lab/case_0412 [env {DATABASE_ENV}]."
        ),
    )(command)
    return click.option(
        "--case",
        "case_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Case folder (holding case.sqlite).",
    )(command)


def open_case_or_database(
    case_dir: Path | None,
    database: str | None,
    *,
    banks_url: str | None = None,
    category_scheme: Path | None = None,
) -> Case:
    """Open the case named by exactly one of ``--case`` and ``--database``."""
    if case_dir is not None and database is not None and not _from_environment("database"):
        raise UserError("give either --case or --database, not both")
    if case_dir is not None:
        return open_case(
            case_dir, create=False, banks_url=banks_url, category_scheme=category_scheme
        )
    if database is None:
        raise UserError(f"name the case: --case DIR or --database URL (or set {DATABASE_ENV})")
    try:
        return Case.open_database(database, banks_url=banks_url, category_scheme=category_scheme)
    except NotADatabaseUrl:
        raise UserError(f"--database is {NotADatabaseUrl()}") from None


def _from_environment(parameter: str) -> bool:
    context = click.get_current_context(silent=True)
    return bool(context and context.get_parameter_source(parameter) is ParameterSource.ENVIRONMENT)
