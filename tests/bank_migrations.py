"""What the bank-store migration tests share: an engine on either database, and one
Alembic step run on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine, create_engine

import clearsight.banks
from clearsight.store.engines import sqlite_engine

from .private_schema import private_postgres

MIGRATIONS = Path(clearsight.banks.__file__).with_name("migrations")


def bank_engine(database: str, tmp_path: Path, schema: str) -> Engine:
    """A fresh SQLite file under ``tmp_path``, or PostgreSQL in the private ``schema``."""
    if database == "sqlite":
        return sqlite_engine(tmp_path / "banks.sqlite")
    return create_engine(private_postgres(schema))


def migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """``step`` (alembic's upgrade or downgrade) to ``revision``, in one transaction."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        step(config, revision)
