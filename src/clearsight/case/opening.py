"""Which store holds a case: the one place that picks SQLite or PostgreSQL.

A case is a folder holding ``case.sqlite``, or a database named by a URL. Only a scan
may make a new folder case; every other use of a folder that holds no case database
is a mistake to report, not a case to create.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from clearsight import __version__
from clearsight.errors import DependencyError, UserError
from clearsight.store.sql import CASE_DATABASE, SqlCaseStore


class NotADatabaseUrl(UserError):
    """The text given for a case database is not a database URL. The text may hold a
    password, so the message never repeats it."""

    def __init__(self) -> None:
        super().__init__("not a database URL (postgresql://USER@HOST/DB)")


def is_database_url(location: str) -> bool:
    """Whether ``location`` names a database rather than a folder."""
    return "://" in location


def open_folder_store(folder: Path, *, create: bool) -> SqlCaseStore:
    """The SQLite store of the case in ``folder``; only ``create`` may make a new one."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"case path is not a folder: {folder}")
    if not create and not (folder / CASE_DATABASE).is_file():
        raise UserError(f"not a clearsight case (no {CASE_DATABASE}): {folder}")
    return SqlCaseStore.open_folder(folder, __version__)


def open_database_store(url: str) -> SqlCaseStore:
    """The store of the case in the database at ``url`` (made on first use)."""
    parsed = database_url(url)
    try:
        return SqlCaseStore.open_url(
            parsed.render_as_string(hide_password=False), parsed.database or "case", __version__
        )
    except ModuleNotFoundError as exc:
        raise DependencyError(
            f"no database driver for {parsed.drivername} ({exc.name} is not installed)"
        ) from exc


def database_url(text: str) -> URL:
    """The SQLAlchemy URL of ``text``; plain ``postgresql://`` means psycopg 3, the
    driver clearsight installs (SQLAlchemy's own default would be psycopg2)."""
    try:
        url = make_url(text)
    except ArgumentError:
        raise NotADatabaseUrl from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url
