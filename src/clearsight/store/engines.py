"""Engines and migrations shared by every SQL store (the case store, the bank store).

Every store engine is made here, so each one behaves the same way under trouble:

* it waits for another command's lock, says so, and gives up at a deadline
  (:mod:`~clearsight.store.lock_waits`);
* a full disk, a read-only file or a lost server becomes one line naming the store
  (:mod:`~clearsight.store.failures`), and error texts never quote statement
  parameters, which may hold paths, prompts or password hashes;
* a new SQLite file is created readable by its owner only (0600), and SQLite gives its
  ``-wal`` and ``-shm`` files the same mode; one created earlier with a wider mode
  (0644, before this rule) is tightened to 0600 when opened, with its ``-wal``,
  ``-shm``, ``-journal`` and ``.lock`` files;
* migrations are serialised (:func:`schema_lock`), so two commands creating the same
  new store at once do not both create its tables.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, ExceptionContext, make_url

from clearsight.errors import DependencyError
from clearsight.store.failures import store_failure
from clearsight.store.lock_waits import NOTICE_AFTER, LockWait
from clearsight.store.postgres_waits import install_postgres_waits
from clearsight.store.sqlite_waits import install_sqlite_waits

_OWNER_ONLY = 0o600
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal", ".lock")
_POLL = 0.1  # seconds between tries of a lock that cannot wait in the kernel
# One key for every clearsight schema in a PostgreSQL database.
_SCHEMA_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"clearsight schema").digest()[:8], "big", signed=True
)
_held: dict[str, int] = {}
_held_guard = threading.Lock()


def sqlite_engine(database: Path) -> Engine:
    """An engine on a SQLite file, set up for one writer at a time and crash safety."""
    if not database.exists():
        # Before SQLite makes it 0644: case and bank stores hold paths and password
        # hashes. O_CREAT without O_EXCL: two commands creating it at once both succeed.
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, _OWNER_ONLY))
    else:
        _tighten(database)
    engine = create_engine(f"sqlite:///{database}", hide_parameters=True)
    wait = LockWait(str(database))
    install_sqlite_waits(engine, wait)
    _install_failures(engine, wait)
    return engine


def _tighten(database: Path) -> None:
    """Take group and other access from a store file and its companions, where the
    user may (the owner; a read-only file system or another's file is left as it is)."""
    for suffix in _SQLITE_COMPANIONS:
        path = Path(f"{database}{suffix}")
        try:
            mode = path.stat().st_mode & 0o7777
            if mode & 0o077:
                os.chmod(path, mode & ~0o077)  # the owner's own bits as they were
        except OSError:  # gone meanwhile, not ours, or a read-only file system
            continue


def url_engine(url: str | URL) -> Engine:
    """An engine on a database URL (a SQLite file URL gets :func:`sqlite_engine`)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return sqlite_engine(Path(str(parsed.database)))
    engine = create_engine(parsed, hide_parameters=True)
    wait = LockWait(store_name(parsed))
    if backend == "postgresql":
        install_postgres_waits(engine, wait)
    _install_failures(engine, wait)
    return engine


def store_name(url: URL) -> str:
    """How a store is named in messages: its file, or its database and server, with
    no password."""
    if url.get_backend_name() == "sqlite":
        return str(url.database or "an in-memory database")
    where = f"{url.host or 'localhost'}:{url.port}" if url.port else url.host or "localhost"
    user = f" as {url.username}" if url.username else ""
    return f"database {url.database or '(default)'} on {where}{user}"


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold the store's schema lock: one command at a time creates or upgrades it.

    SQLite: an exclusive ``flock`` on ``<database>.lock`` beside the file. PostgreSQL:
    a session advisory lock. Both wait with a notice and give up at the store's
    deadline. Re-entrant within a process.
    """
    key = engine.url.render_as_string(hide_password=True)
    with _held_guard:
        depth = _held.get(key, 0)
        _held[key] = depth + 1
    try:
        if depth:
            yield
            return
        backend = engine.url.get_backend_name()
        if backend == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            with _file_lock(Path(str(engine.url.database) + ".lock"), _wait_of(engine)):
                yield
        elif backend == "postgresql":
            with _advisory_lock(engine, _wait_of(engine)):
                yield
        else:
            yield
    finally:
        with _held_guard:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]


def upgrade_to_head(
    engine: Engine, migrations: Path, version_table: str = "alembic_version"
) -> None:
    """Bring the database to the newest revision of the Alembic tree in ``migrations``
    (whose ``env.py`` keeps its history in ``version_table``).

    A store already at the newest revision is only read, so opening it never waits for
    a writer. Otherwise the upgrade runs under :func:`schema_lock`, and on SQLite in
    one transaction that holds the write lock: Python's driver would commit each
    ``CREATE TABLE`` on its own, and a full disk or a kill part-way through would leave
    tables without the revision that says they exist.
    """
    config = Config()
    config.set_main_option("script_location", str(migrations))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": version_table})
        if set(context.get_current_heads()) == heads:
            return
    with schema_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def utc_now() -> datetime:
    """The time stores write: UTC, without a zone, so SQLite and PostgreSQL agree."""
    return datetime.now(UTC).replace(tzinfo=None)


_waits: weakref.WeakKeyDictionary[Engine, LockWait] = weakref.WeakKeyDictionary()


def _wait_of(engine: Engine) -> LockWait:
    return _waits.get(engine) or LockWait(store_name(engine.url))


def _install_failures(engine: Engine, wait: LockWait) -> None:
    _waits[engine] = wait

    def translate(context: ExceptionContext) -> DependencyError | None:
        return store_failure(context.original_exception, wait)

    event.listen(engine, "handle_error", translate)


@contextmanager
def _file_lock(path: Path, wait: LockWait) -> Iterator[None]:
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, _OWNER_ONLY)
    except OSError:
        # A case on read-only media: nobody can migrate it, so there is nothing to
        # serialise; SQLite itself says what it cannot do.
        yield
        return
    try:
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= wait.timeout:
                    raise wait.gave_up() from None
                if waited >= NOTICE_AFTER:
                    wait.say()
                time.sleep(_POLL)
        yield
    finally:
        os.close(descriptor)  # releases the lock


@contextmanager
def _advisory_lock(engine: Engine, wait: LockWait) -> Iterator[None]:
    with engine.connect() as connection:
        started = time.monotonic()
        while not connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY}
        ):
            connection.rollback()
            waited = time.monotonic() - started
            if waited >= wait.timeout:
                raise wait.gave_up()
            if waited >= NOTICE_AFTER:
                wait.say()
            time.sleep(_POLL)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            connection.commit()
