"""Engines and migrations shared by every SQL store (the case store, the bank store)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event


def sqlite_engine(database: Path) -> Engine:
    """An engine on a SQLite file, set up for one writer and crash safety."""
    engine = create_engine(f"sqlite:///{database}")
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def upgrade_to_head(engine: Engine, migrations: Path) -> None:
    """Bring the database to the newest revision of the Alembic tree in ``migrations``."""
    config = Config()
    config.set_main_option("script_location", str(migrations))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def utc_now() -> datetime:
    """The time stores write: UTC, without a zone, so SQLite and PostgreSQL agree."""
    return datetime.now(UTC).replace(tzinfo=None)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL keeps readers off the writer's back; a killed process loses at most the open
    # transaction, and the database stays consistent.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
