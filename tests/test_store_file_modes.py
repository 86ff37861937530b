"""Store files created world-readable by an earlier version are made private on open.

New case and bank stores are created 0600, but ``case.sqlite`` and ``banks.sqlite``
made before that rule (and their ``-wal``/``-shm`` files) stayed 0644, readable by
every user of the machine although they hold paths and password hashes. Opening a
store now takes group and other access away, and leaves the owner's bits as they are.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from clearsight.store.engines import sqlite_engine

from .conftest import photo_like, run_cli

COMPANIONS = ("", "-wal", "-shm", ".lock")


def _loosen(database: Path) -> list[Path]:
    files = [Path(f"{database}{suffix}") for suffix in COMPANIONS]
    for file in files:
        assert file.exists(), file
        file.chmod(0o644)
    return files


def test_old_case_and_bank_stores_are_tightened_when_opened(
    tmp_path: Path, clearsight_home: Path
) -> None:
    source = tmp_path / "evidence"
    source.mkdir()
    photo_like(1, (96, 72)).save(source / "pattern-1.png")
    hashes = tmp_path / "hashes.txt"
    hashes.write_text("0123456789abcdef0123456789abcdef\n")
    case = tmp_path / "case"
    assert run_cli("bank", "import", "test-bank", hashes, "--signal", "md5").returncode == 0
    assert run_cli("scan", source, "--case", case, "--no-origin").returncode == 0
    # A reader keeps the -wal and -shm files in place, as a running command would.
    with (
        sqlite3.connect(case / "case.sqlite") as case_reader,
        sqlite3.connect(clearsight_home / "banks.sqlite") as bank_reader,
    ):
        case_reader.execute("SELECT count(*) FROM items").fetchone()
        bank_reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        case_files = _loosen(case / "case.sqlite")
        bank_files = _loosen(clearsight_home / "banks.sqlite")
        assert run_cli("items", "--case", case).returncode == 0
        assert run_cli("bank", "list").returncode == 0
        for file in case_files + bank_files:
            assert file.stat().st_mode & 0o777 == 0o600, file


def test_only_group_and_other_bits_are_taken(tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite"
    sqlite3.connect(database).close()
    database.chmod(0o444)  # read-only to its owner: it stays so, without the others' read
    sqlite_engine(database).dispose()
    assert database.stat().st_mode & 0o777 == 0o400
    database.chmod(0o640)
    sqlite_engine(database).dispose()
    assert database.stat().st_mode & 0o777 == 0o600
