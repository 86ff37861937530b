"""A source root longer than PostgreSQL's btree limit is kept, unique, on both engines.

The sources table was unique on ``(case_id, root)``, and PostgreSQL refuses an index
entry over 2704 bytes, so a scan of a root longer than that (a deep mount point, a
long carved-file path) failed as it opened its source. Migration 0011 makes sources
unique by ``root_key``, the SHA-256 of the root's bytes. Roots here are made of random
characters, since PostgreSQL compresses an index entry before it measures it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text

from clearsight import __version__
from clearsight.file_paths import display_path
from clearsight.media.sniff import MediaKind
from clearsight.signals.digests import digest_bytes
from clearsight.store import sql
from clearsight.store.engines import sqlite_engine
from clearsight.store.interface import ScannedFile, ScanTally
from clearsight.store.sql import SqlCaseStore

from .private_schema import private_postgres

SCHEMA = "long_source_root_test"


def _long_root(seed: int, size: int = 6000) -> str:
    """An absolute path of ``size`` bytes, in components of 200 random characters."""
    pick = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_é"
    parts: list[str] = []
    while len("/".join(parts).encode()) < size:
        parts.append("".join(pick.choice(alphabet) for _ in range(200)))
    return "/" + "/".join(parts)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'case.sqlite'}"
    else:
        yield private_postgres(SCHEMA)


def test_a_root_past_the_btree_limit_is_a_source(store_url: str) -> None:
    store = SqlCaseStore.open_url(store_url, "long-roots", __version__)
    try:
        root = _long_root(1)
        twin = root[:-1] + ("x" if root[-1] != "x" else "y")  # the same but its last byte
        assert len(root.encode()) > 2704 * 2
        source = store.open_source(root)
        assert store.open_source(root) == source  # found again by its key
        other = store.open_source(twin)
        assert other != source
        scan = store.start_scan([root, twin])
        picture = ScannedFile(
            "picture.jpg", "image/jpeg", MediaKind.IMAGE, size=5, digests=digest_bytes(b"one")
        )
        store.record_files(scan, [(source, picture), (other, picture)])
        store.finish_scan(scan, ScanTally(2, 2, 0, 0), completed=True)
        assert sorted(row.source for row in store.iter_items()) == sorted(
            [display_path(root.encode()), display_path(twin.encode())]
        )
    finally:
        store.close()


def _engine(store_url: str, tmp_path: Path) -> Engine:
    if store_url.startswith("sqlite"):
        return sqlite_engine(tmp_path / "case.sqlite")
    return create_engine(store_url)


def test_the_migration_keys_existing_sources(store_url: str, tmp_path: Path) -> None:
    engine = _engine(store_url, tmp_path)
    config = Config()
    config.set_main_option("script_location", str(Path(sql.__file__).with_name("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
    root = "/evidence/drive-1"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (id, name, created_at, clearsight_version) "
                "VALUES (1, 'long-roots', '2026-01-01', '0.1')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO sources (id, case_id, root, root_raw, added_at) "
                "VALUES (7, 1, :root, :raw, '2026-01-01')"
            ),
            {"root": root, "raw": root.encode()},
        )
    store = SqlCaseStore(engine, "long-roots", __version__)  # upgrades to the newest
    try:
        with engine.connect() as connection:
            key = connection.execute(text("SELECT root_key FROM sources WHERE id = 7")).scalar()
        assert key is not None
        assert bytes(key) == hashlib.sha256(root.encode()).digest()
        assert store.open_source(root) == 7
        assert store.open_source(_long_root(2)) != 7
    finally:
        store.close()
