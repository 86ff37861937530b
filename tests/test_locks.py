"""Commands that share a store wait for each other, say so, and lose nothing.

Real processes, as users start them: two scans creating one new case at once, two
scans of different sources into one case, a scan while the review server signs people
in, a command that waits for a lock another process holds and one that gives up, and
the same on PostgreSQL. And the stores' files are private (0600).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from clearsight import __version__
from clearsight.store.sql import SqlCaseStore

from .conftest import CLEARSIGHT, empty_postgres, photo_like, run_cli
from .server_support import serving

pytestmark = pytest.mark.slow
PASSWORD = "benign test passphrase"
WAITING = re.compile(r"^clearsight: waiting for .* \(locked by another command\)\.\.\.$", re.M)


def evidence(folder: Path, seeds: range) -> Path:
    folder.mkdir(parents=True)
    for seed in seeds:
        photo_like(seed, (96, 72)).save(folder / f"pattern-{seed}.png")
    return folder


def start(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CLEARSIGHT), *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=240)
    assert "Traceback" not in err, err
    return process.returncode, out, err


def item_paths(case: Path) -> list[tuple[str, str]]:
    listed = run_cli("items", "--case", case)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    return sorted((row["source"], row["path"]) for row in rows)


def test_two_scans_creating_one_new_case_at_once(tmp_path: Path) -> None:
    first = evidence(tmp_path / "first", range(3))
    second = evidence(tmp_path / "second", range(3, 6))
    for attempt in range(3):
        case = tmp_path / f"case-{attempt}"
        scans = [start("scan", source, "--case", case, "--no-origin") for source in (first, second)]
        for scan in scans:
            status, _out, err = finish(scan)
            assert status == 0, err
        assert len(item_paths(case)) == 6
        with sqlite3.connect(case / "case.sqlite") as connection:
            assert connection.execute("SELECT count(*) FROM cases").fetchone() == (1,)


def test_two_scans_of_different_sources_into_one_case(tmp_path: Path) -> None:
    case = tmp_path / "case"
    first = evidence(tmp_path / "first", range(10, 22))
    second = evidence(tmp_path / "second", range(22, 34))
    assert run_cli("scan", first, "--case", case, "--no-origin").returncode == 0
    (first / "late.png").write_bytes((second / "pattern-22.png").read_bytes())
    scans = [
        start("scan", source, "--case", case, "--no-origin", "--workers", "1")
        for source in (first, second)
    ]
    for scan in scans:
        status, _out, err = finish(scan)
        assert status == 0, err
    assert len(item_paths(case)) == 12 + 1 + 12


HOLD = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
sys.stdin.read()
connection.execute("COMMIT")
"""


def hold_write_lock(database: Path) -> subprocess.Popen[str]:
    """Another process holding ``database``'s write lock until its stdin is closed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def test_a_command_waits_for_a_lock_and_says_so(tmp_path: Path) -> None:
    case = tmp_path / "case"
    source = evidence(tmp_path / "evidence", range(40, 42))
    assert run_cli("scan", source, "--case", case, "--no-origin").returncode == 0
    (source / "more.png").write_bytes((source / "pattern-40.png").read_bytes())
    holder = hold_write_lock(case / "case.sqlite")
    scan = start("scan", source, "--case", case, "--no-origin")
    assert scan.stderr is not None
    notice = scan.stderr.readline()  # waits until the scan says it is waiting
    holder.communicate(timeout=30)  # then the lock is released
    status, _out, err = finish(scan)
    assert status == 0, notice + err
    assert WAITING.match(notice.rstrip("\n")), notice
    assert not WAITING.search(err), err  # said once
    assert len(item_paths(case)) == 3


def test_a_command_gives_up_with_one_line(tmp_path: Path) -> None:
    case = tmp_path / "case"
    source = evidence(tmp_path / "evidence", range(50, 52))
    assert run_cli("scan", source, "--case", case, "--no-origin").returncode == 0
    holder = hold_write_lock(case / "case.sqlite")
    try:
        process = start(
            "user", "add", "--case", case, "rita.reviewer", "--role", "reviewer",
            "--password-stdin", env={"CLEARSIGHT_LOCK_TIMEOUT": "3"},
        )  # fmt: skip
        out, err = process.communicate(PASSWORD + "\n", timeout=240)
    finally:
        holder.communicate(timeout=30)
    assert process.returncode == 3, err
    notice, error = err.splitlines()
    assert WAITING.match(notice)
    assert error.startswith("clearsight: error: gave up after 3 s waiting for ")
    assert f"(details in {case / 'clearsight.log'})" in error
    # Nothing half-done: the account was not added, and adding it now works.
    added = run_cli(
        "user", "add", "--case", case, "rita.reviewer", "--role", "reviewer",
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def test_a_scan_while_the_review_server_signs_people_in(tmp_path: Path) -> None:
    case = tmp_path / "case"
    first = evidence(tmp_path / "first", range(60, 63))
    assert run_cli("scan", first, "--case", case, "--no-origin").returncode == 0
    added = run_cli(
        "user", "add", "--case", case, "rita.reviewer", "--role", "reviewer",
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    second = evidence(tmp_path / "second", range(63, 83))
    with serving(case, tmp_path / "server.log") as base:
        scan = start("scan", second, "--case", case, "--no-origin", "--workers", "1")
        answers: list[int] = []
        while scan.poll() is None or not answers:
            with httpx.Client(base_url=base, timeout=60) as client:
                answers.append(sign_in(client).status_code)
                answers.append(client.get("/api/queue?limit=5").status_code)
        status, _out, err = finish(scan)
    assert status == 0, err
    assert set(answers) <= {200, 303}, answers
    assert len(item_paths(case)) == 23


def sign_in(client: httpx.Client) -> httpx.Response:
    form = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token, form.text
    return client.post(
        "/login",
        data={"name": "rita.reviewer", "password": PASSWORD, "login_token": token.group(1)},
    )


def test_store_files_are_private(tmp_path: Path, clearsight_home: Path) -> None:
    case = tmp_path / "case"
    source = evidence(tmp_path / "evidence", range(90, 91))
    hashes = tmp_path / "hashes.txt"
    hashes.write_text("0123456789abcdef0123456789abcdef\n")
    assert run_cli("bank", "import", "test-bank", hashes, "--signal", "md5").returncode == 0
    assert run_cli("scan", source, "--case", case, "--no-origin").returncode == 0
    # Leave the -wal and -shm files in place, as a running command has them.
    with sqlite3.connect(case / "case.sqlite") as reader:
        reader.execute("SELECT count(*) FROM items").fetchone()
        files = [
            case / "case.sqlite",
            case / "case.sqlite-wal",
            case / "case.sqlite-shm",
            case / "case.sqlite.lock",
            clearsight_home / "banks.sqlite",
        ]
        for file in files:
            assert file.exists(), file
            assert file.stat().st_mode & 0o777 == 0o600, file


@pytest.mark.postgres
def test_postgres_waits_for_a_lock_says_so_and_gives_up(tmp_path: Path) -> None:
    url = empty_postgres()
    store = SqlCaseStore.open_url(url, "test-case", __version__)
    store.close()
    holder = create_engine(url)
    with holder.connect() as connection:
        connection.execute(text("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        process = start("user", "list", "--database", url, env={"CLEARSIGHT_LOCK_TIMEOUT": "4"})
        status, _out, err = finish(process)
        waited = time.monotonic() - started
        connection.rollback()
    holder.dispose()
    assert status == 3, err
    notice, error = err.splitlines()
    assert WAITING.match(notice) and "database clearsight_test on 127.0.0.1" in notice
    assert error.startswith("clearsight: error: gave up after 4 s waiting for database ")
    assert "clearsight-test" not in err  # the URL's password
    assert waited >= 4


@pytest.mark.postgres
def test_postgres_two_processes_creating_one_new_case(tmp_path: Path) -> None:
    opener = (
        "import sys\nfrom clearsight.store.sql import SqlCaseStore\n"
        "SqlCaseStore.open_url(sys.argv[1], 'test-case', '0').close()\n"
    )
    for _attempt in range(3):
        url = empty_postgres()
        openers = [
            subprocess.Popen([sys.executable, "-c", opener, url], stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        for process in openers:
            _out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM cases")) == 1
        engine.dispose()


@pytest.mark.postgres
def test_postgres_connection_lost_mid_command(tmp_path: Path) -> None:
    """The server ends the session of a command that waits for a lock: one line, exit 3."""
    url = empty_postgres()
    SqlCaseStore.open_url(url, "test-case", __version__).close()
    holder = create_engine(url)
    with holder.connect() as connection:
        connection.execute(text("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE"))
        process = start("user", "list", "--database", url)
        assert process.stderr is not None
        notice = process.stderr.readline()  # it waits for the lock
        connection.execute(
            text(
                # Only the sessions this lock holds up: other tests (other workers,
                # other people) may wait for locks of their own on the same server.
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
        )
        status, _out, err = finish(process)
        connection.rollback()
    holder.dispose()
    assert WAITING.match(notice.rstrip("\n")), notice
    assert status == 3, err
    (error,) = err.splitlines()
    assert error.startswith("clearsight: error: database clearsight_test on 127.0.0.1"), error
    assert "connection was lost" in error and "clearsight-test" not in error
