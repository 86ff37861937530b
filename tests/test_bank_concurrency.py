"""Bank commands at the same time as a large ``clearsight bank import``, as users run them.

While one import holds the bank store's write lock, readers (``bank list``, ``bank show``)
see the last committed state and exit 0, and a second import waits for the lock and
succeeds, or gives up with one line and exit 3; either way nothing is lost or half-made.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from clearsight.banks.write_lock import bank_lock_key

from .conftest import CLEARSIGHT, run_cli
from .private_schema import private_postgres

BIG = 300_000  # rows: several seconds of import, so the other commands overlap it
SMALL = 2_000


def pdq_csv(path: Path, rows: int, seed: int) -> Path:
    rng = random.Random(seed)
    lines = [f"{rng.getrandbits(256):064x},test-category-1" for _ in range(rows)]
    path.write_text("pdq,category\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_until(started: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Wait for the import to be writing (and fail if it ends first)."""
    deadline = time.monotonic() + 120
    while not started():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.05)


def sqlite_writing(home: Path) -> Callable[[], bool]:
    """True once someone holds the store's write lock (a write cannot start at once)."""

    def held() -> bool:
        if not (home / "banks.sqlite").is_file():
            return False
        probe = sqlite3.connect(home / "banks.sqlite", timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
        return False

    return held


def postgres_writing(url: str, bank: str) -> Callable[[], bool]:
    """True once an import holds bank ``bank``'s advisory lock (a bigint key, which
    pg_locks shows as its high and low 32 bits)."""
    key = bank_lock_key(bank) & 0xFFFFFFFFFFFFFFFF

    def held() -> bool:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                count = connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND classid = :high AND objid = :low AND granted"
                    ),
                    {"high": key >> 32, "low": key & 0xFFFFFFFF},
                )
        finally:
            engine.dispose()
        return bool(count)

    return held


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_readers_and_a_second_writer_during_an_import(
    tmp_path: Path, clearsight_home: Path, database: str
) -> None:
    env = dict(os.environ)
    if database == "postgresql":
        env["CLEARSIGHT_BANKS"] = private_postgres("test_bank_concurrency")
        writing = postgres_writing(env["CLEARSIGHT_BANKS"], "big")
    else:
        writing = sqlite_writing(clearsight_home)
    extra = {k: v for k, v in env.items() if k == "CLEARSIGHT_BANKS"}
    small = pdq_csv(tmp_path / "small.csv", SMALL, seed=1)
    assert run_cli("bank", "import", "small", small, env=extra).returncode == 0
    big = pdq_csv(tmp_path / "big.csv", BIG, seed=2)
    other = pdq_csv(tmp_path / "other.csv", SMALL, seed=3)

    with subprocess.Popen(
        [str(CLEARSIGHT), "bank", "import", "big", str(big), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as importer:
        try:
            wait_until(writing, importer)
            listed = run_cli("bank", "list", "--json", env=extra)
            shown = run_cli("bank", "show", "small", "--json", env=extra)
            still_importing = importer.poll() is None
            second = run_cli("bank", "import", "other", other, "--json", env=extra, timeout=600)
            out, err = importer.communicate(timeout=600)
        finally:
            importer.kill()

    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert still_importing, "the import ended before the readers did: make BIG larger"
    # Readers saw the last committed state: the small bank, not a half-made big one.
    assert [(b["name"], b["entries"]) for b in json.loads(listed.stdout)] == [("small", SMALL)]
    assert json.loads(shown.stdout)["entries"] == SMALL

    assert importer.returncode == 0, err
    assert json.loads(out)["added"] == BIG
    if second.returncode == 0:  # it waited for the lock
        assert json.loads(second.stdout)["added"] == SMALL
    else:  # it gave up waiting: a notice that it waits, one line, exit 3, nothing written
        assert second.returncode == 3, second.stderr
        *notices, last = second.stderr.strip().splitlines()
        assert all(line.startswith("clearsight: waiting for") for line in notices), second.stderr
        assert last.startswith("clearsight: error: gave up"), second.stderr
    final = json.loads(run_cli("bank", "list", "--json", env=extra).stdout)
    expected = {"small": SMALL, "big": BIG}
    if second.returncode == 0:
        expected["other"] = SMALL
    assert {b["name"]: b["entries"] for b in final} == expected


def test_an_import_that_cannot_get_the_lock_says_so_and_writes_nothing(
    tmp_path: Path, clearsight_home: Path
) -> None:
    """Another writer holds the store past the lock timeout: readers still read, and the
    import gives up with one line and exit 3, leaving the store as it was."""
    small = pdq_csv(tmp_path / "small.csv", SMALL, seed=1)
    assert run_cli("bank", "import", "small", small).returncode == 0
    holder = sqlite3.connect(clearsight_home / "banks.sqlite")
    try:
        holder.execute("BEGIN IMMEDIATE")
        listed = run_cli("bank", "list", "--json")
        refused = run_cli("bank", "import", "other", small, env={"CLEARSIGHT_LOCK_TIMEOUT": "2"})
    finally:
        holder.close()
    assert listed.returncode == 0, listed.stderr
    assert [b["name"] for b in json.loads(listed.stdout)] == ["small"]
    assert refused.returncode == 3, refused.stderr
    *notices, last = refused.stderr.strip().splitlines()
    assert all(line.startswith("clearsight: waiting for") for line in notices), refused.stderr
    assert last.startswith("clearsight: error: gave up after 2 s waiting"), refused.stderr
    after = run_cli("bank", "list", "--json")
    assert [b["name"] for b in json.loads(after.stdout)] == ["small"]
