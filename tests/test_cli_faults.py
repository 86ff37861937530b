"""Every command under every operational fault: one line, exit 3, details in the log.

The faults are a store locked by another process, a permission denied, a full disk,
and a PostgreSQL server that hangs up. Each command is run in-process through
``clearsight.cli.main`` (the locked store is held by a real second process; the
permission and disk faults are raised where the store connects, since the tests run as
root, whom permission bits do not stop; ``test_disk_full`` fills a real file system).
The table of commands must name every command the CLI has, so a new command cannot
escape the test.
"""

from __future__ import annotations

import errno
import io
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest

from clearsight.cli import cli, main

from .conftest import photo_like, run_cli

PASSWORD = "a long enough test password"
PG_PASSWORD = "pg-secret-never-shown"


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    case: bool = True  # opens the prepared case folder
    banks: bool = False  # opens the bank store
    url: str | None = None  # the option that names a database by URL, if any


COMMANDS: dict[str, Command] = {
    "api": Command(("api", "--port", "{port}"), False, True, "--banks"),
    "api-key add": Command(
        ("api-key", "add", "new-key", "--role", "matcher"), False, True, "--banks"
    ),
    "api-key list": Command(("api-key", "list"), False, True, "--banks"),
    "api-key revoke": Command(("api-key", "revoke", "test-key"), False, True, "--banks"),
    "audit list": Command(("audit", "list", "--case", "{case}"), url="--database"),
    "audit verify": Command(("audit", "verify", "--case", "{case}"), url="--database"),
    "bank add": Command(("bank", "add", "test-bank-2", "{evidence}/0.png"), False, True, "--banks"),
    "bank export": Command(("bank", "export", "test-bank"), False, True, "--banks"),
    "bank import": Command(
        ("bank", "import", "test-bank", "{bank_file}", "--signal", "md5"), False, True, "--banks"
    ),
    "bank list": Command(("bank", "list"), False, True, "--banks"),
    "bank remove": Command(("bank", "remove", "test-bank"), False, True, "--banks"),
    "bank set": Command(("bank", "set", "test-bank", "--disable"), False, True, "--banks"),
    "bank show": Command(("bank", "show", "test-bank"), False, True, "--banks"),
    "cybertip resume": Command(("cybertip", "resume", "--case", "{case}")),
    "cybertip retract": Command(("cybertip", "retract", "--case", "{case}")),
    "cybertip status": Command(("cybertip", "status", "--case", "{case}")),
    "cybertip submit": Command(
        (
            "cybertip",
            "submit",
            "--case",
            "{case}",
            "--select",
            "items:1",
            "--incident-type",
            "misleading-domain-name",
            "--incident-time",
            "2026-12-01T10:00:00+00:00",
        ),
    ),  # fmt: skip
    "demo": Command(("demo", "--case", "{fresh}"), case=False),
    "exchange add": Command(
        ("exchange", "add", "test-exchange", "--api", "stop_ncii", "--bank", "test-bank-3"),
        False,
        True,
        "--banks",
    ),  # fmt: skip
    "exchange credentials": Command(("exchange", "credentials", "tat", "--stdin"), case=False),
    "exchange disable": Command(("exchange", "disable", "test-exchange"), False, True, "--banks"),
    "exchange enable": Command(("exchange", "enable", "test-exchange"), False, True, "--banks"),
    "exchange fetch": Command(("exchange", "fetch"), False, True, "--banks"),
    "exchange list": Command(("exchange", "list"), False, True, "--banks"),
    "exchange remove": Command(("exchange", "remove", "test-exchange"), False, True, "--banks"),
    "exchange status": Command(("exchange", "status"), False, True, "--banks"),
    "items": Command(("items", "--case", "{case}")),
    "match": Command(("match", "--case", "{case}"), banks=True, url="--banks"),
    "origin evaluate": Command(("origin", "evaluate", "{labelled}"), case=False),
    "origin examine": Command(("origin", "examine", "--case", "{case}")),
    "queue": Command(("queue", "--case", "{case}")),
    "report": Command(
        ("report", "--case", "{case}", "--format", "json", "--out", "{out}"), url="--database"
    ),
    "scan": Command(("scan", "{evidence}", "--case", "{case}"), banks=True, url="--banks"),
    "serve": Command(("serve", "--case", "{case}", "--port", "{port}"), url="--database"),
    "triage": Command(("triage", "--case", "{case}")),
    "user add": Command(
        ("user", "add", "--case", "{case}", "new.user", "--role", "reviewer", "--password-stdin"),
        url="--database",
    ),
    "user disable": Command(("user", "disable", "--case", "{case}", "test.user"), url="--database"),
    "user enable": Command(("user", "enable", "--case", "{case}", "test.user"), url="--database"),
    "user list": Command(("user", "list", "--case", "{case}"), url="--database"),
    "user reset": Command(
        ("user", "reset", "--case", "{case}", "test.user", "--password-stdin"), url="--database"
    ),
}


def leaf_commands(group: click.Group, prefix: str = "") -> Iterator[str]:
    # Through click's own lookup: the top-level commands are imported on first use.
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from leaf_commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_the_table_names_every_command() -> None:
    assert set(leaf_commands(cli)) == set(COMMANDS)


@dataclass(frozen=True)
class Prepared:
    root: Path
    case: Path
    home: Path
    evidence: Path
    bank_file: Path
    labelled: Path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """A scanned case with an account, and a bank store with one bank."""
    root = tmp_path_factory.mktemp("faults")
    home = root / "home"
    evidence = root / "evidence"
    evidence.mkdir()
    for seed in range(2):
        photo_like(seed).save(evidence / f"{seed}.png")
    labelled = root / "labelled"
    for label, seed in (("ai", 5), ("real", 6)):
        (labelled / label).mkdir(parents=True)
        photo_like(seed).save(labelled / label / f"{seed}.png")
    bank_file = root / "hashes.txt"
    bank_file.write_text("0123456789abcdef0123456789abcdef\n", encoding="ascii")
    env = {"CLEARSIGHT_HOME": str(home)}
    case = root / "case"
    for args, given in (
        (("bank", "import", "test-bank", bank_file, "--signal", "md5"), None),
        (("scan", evidence, "--case", case, "--no-origin"), None),
        (("exchange", "credentials", "cybertip", "--stdin"), "test.user:not-a-real-secret"),
        (
            ("user", "add", "--case", case, "test.user", "--role", "admin", "--password-stdin"),
            PASSWORD,
        ),
    ):
        result = run_cli(*args, env=env, input=given)
        assert result.returncode == 0, result.stderr
    return Prepared(root, case, home, evidence, bank_file, labelled)


def arguments(name: str, prepared: Prepared, tmp_path: Path, url: str | None = None) -> list[str]:
    command = COMMANDS[name]
    values = {
        "case": str(prepared.case),
        "evidence": str(prepared.evidence),
        "bank_file": str(prepared.bank_file),
        "labelled": str(prepared.labelled),
        "fresh": str(tmp_path / "demo-case"),
        "out": str(tmp_path / "report.json"),
        "port": str(free_port()),
    }
    args = [part.format(**values) for part in command.args]
    if url is not None:
        assert command.url is not None
        if command.url == "--database":  # instead of --case
            where = args.index("--case")
            del args[where : where + 2]
        args += [command.url, url]
    return args


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Outcome:
    status: int
    stderr: str
    log: str  # what the command added to the log file it named


def run_in_process(
    args: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    logs: tuple[Path, ...] = (),
) -> Outcome:
    """Run ``clearsight ARGS``; ``logs`` are log files that may hold older entries."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    sizes = {path: path.stat().st_size for path in logs if path.exists()}
    capsys.readouterr()
    status = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    log = ""
    if "(details in " in captured.err:
        path = Path(captured.err.rsplit("(details in ", 1)[1].split(")")[0])
        log = path.read_bytes()[sizes.get(path, 0) :].decode("utf-8")
    return Outcome(status, captured.err, log)


def assert_operational_failure(outcome: Outcome, name: str) -> None:
    lines = outcome.stderr.splitlines()
    assert outcome.status == 3, outcome.stderr
    assert len(lines) == 1 and lines[0].startswith("clearsight: error: "), outcome.stderr
    assert "Traceback (most recent call last)" in outcome.log
    assert f"`{name}` failed" in outcome.log


def logs_of(prepared: Prepared) -> tuple[Path, ...]:
    return (prepared.case / "clearsight.log", prepared.home / "clearsight.log")


@pytest.fixture
def at_home(prepared: Prepared, monkeypatch: pytest.MonkeyPatch) -> Prepared:
    monkeypatch.setenv("CLEARSIGHT_HOME", str(prepared.home))
    monkeypatch.setenv("CLEARSIGHT_LOCK_TIMEOUT", "1")
    return prepared


# -- a store locked by another process -------------------------------------------------

HOLDER = """
import sqlite3, sys
connections = []
for path in sys.argv[1:]:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA locking_mode=EXCLUSIVE")
    connection.execute("BEGIN EXCLUSIVE")
    connection.execute("COMMIT")  # the exclusive lock stays until the connection closes
    connections.append(connection)
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def locked_stores(prepared: Prepared) -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(prepared.case / "case.sqlite"),
         str(prepared.home / "banks.sqlite")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"
    yield
    holder.stdin.close()
    holder.wait(timeout=30)
    holder.stdout.close()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_on_a_locked_store(
    name: str,
    at_home: Prepared,
    locked_stores: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    command = COMMANDS[name]
    outcome = run_in_process(
        arguments(name, at_home, tmp_path), capsys, monkeypatch, logs_of(at_home)
    )
    if not (command.case or command.banks):  # its stores are its own: not locked
        assert outcome.status == 0, outcome.stderr
        return
    assert_operational_failure(outcome, name)
    assert "another command holds its lock" in outcome.stderr


# -- permission denied and a full disk where a store connects --------------------------


def sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    error.sqlite_errorname = "SQLITE_FULL" if code == 13 else "SQLITE_READONLY"
    return error


FAULTS: dict[str, Callable[[str], BaseException]] = {
    "permission denied": lambda path: PermissionError(errno.EACCES, "Permission denied", path),
    "read-only database": lambda _path: sqlite_error("attempt to write a readonly database", 8),
    "disk full (OS)": lambda path: OSError(errno.ENOSPC, "No space left on device", path),
    "disk full (SQLite)": lambda _path: sqlite_error("database or disk is full", 13),
}
EXPECTED = {
    "permission denied": "permission denied",
    "read-only database": "permission denied",
    "disk full (OS)": "no space left on the disk",
    "disk full (SQLite)": "the disk is full",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_under_a_failing_disk(
    name: str,
    fault: str,
    at_home: Prepared,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_connect = sqlite3.dbapi2.connect

    def failing_connect(database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if str(database).endswith(".sqlite"):
            raise FAULTS[fault](str(database))
        connection: sqlite3.Connection = real_connect(database, *args, **kwargs)
        return connection

    monkeypatch.setattr(sqlite3.dbapi2, "connect", failing_connect)
    outcome = run_in_process(
        arguments(name, at_home, tmp_path), capsys, monkeypatch, logs_of(at_home)
    )
    command = COMMANDS[name]
    if not (command.case or command.banks) and name != "demo":
        assert outcome.status == 0, outcome.stderr  # it opens no store
        return
    assert_operational_failure(outcome, name)
    assert EXPECTED[fault] in outcome.stderr


# -- a PostgreSQL server that hangs up ---------------------------------------------------


@pytest.fixture(scope="module")
def hanging_up_server() -> Iterator[str]:
    """A TCP server on loopback that accepts each connection and closes it at once."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"postgresql://examiner:{PG_PASSWORD}@127.0.0.1:{port}/case_0412"
    stop.set()
    listener.close()
    thread.join(timeout=5)


@pytest.mark.parametrize("name", sorted(name for name, c in COMMANDS.items() if c.url))
def test_every_command_that_takes_a_database_url_when_the_server_hangs_up(
    name: str,
    at_home: Prepared,
    hanging_up_server: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = hanging_up_server
    if COMMANDS[name].url == "--banks":
        url = url.replace("postgresql://", "postgresql+psycopg://")
    outcome = run_in_process(
        arguments(name, at_home, tmp_path, url), capsys, monkeypatch, logs_of(at_home)
    )
    assert_operational_failure(outcome, name)
    assert "127.0.0.1" in outcome.stderr
    assert PG_PASSWORD not in outcome.stderr and PG_PASSWORD not in outcome.log


# -- what is not operational -------------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_exit_1(
    at_home: Prepared,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("a fault of clearsight's own")

    monkeypatch.setattr("clearsight.cli.items_command.open_case", broken)
    outcome = run_in_process(
        arguments("items", at_home, tmp_path), capsys, monkeypatch, logs_of(at_home)
    )
    assert outcome.status == 1
    (line,) = outcome.stderr.splitlines()
    assert line.startswith("clearsight: internal error: ValueError: a fault of clearsight's own")
    assert f"(details in {at_home.home / 'clearsight.log'})" in line  # no case opened yet
    assert "ValueError" in outcome.log and "`items` failed" in outcome.log
    assert (at_home.home / "clearsight.log").stat().st_mode & 0o777 == 0o600


def test_the_log_keeps_no_secrets_and_the_terminal_no_traceback(
    at_home: Prepared,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = (
        "postgresql://ana:hunter2-secret@db.lab/case failed\n"
        "[parameters: ('$argon2id$v=19$secret-hash',)]\n"
        "DETAIL:  Key (name)=(secret-row) already exists.\n"
        "https://graph.example/v1?access_token=secret-token&x=1"
    )

    def leaky(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(message)

    monkeypatch.setattr("clearsight.cli.items_command.open_case", leaky)
    outcome = run_in_process(
        arguments("items", at_home, tmp_path), capsys, monkeypatch, logs_of(at_home)
    )
    assert outcome.status == 1 and len(outcome.stderr.splitlines()) == 1
    assert "hunter2" not in outcome.stderr
    assert "RuntimeError" in outcome.log
    assert "secret" not in outcome.log, outcome.log


def test_a_user_mistake_is_still_exit_2_without_a_log(
    at_home: Prepared,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcome = run_in_process(["items", "--case", str(tmp_path / "nowhere")], capsys, monkeypatch)
    assert outcome.status == 2
    assert outcome.stderr.startswith("clearsight: error: not a clearsight case")
    assert "details in" not in outcome.stderr
