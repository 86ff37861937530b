"""The failure log is bounded: rotated past 4 MiB, three backups, each entry capped.

Before, ``clearsight.log`` was only ever appended to, so a command failing in a loop
(a cron job against a locked store) grew it without end on the disk that holds the
case. Entries are written by the real ``log_failure`` with real tracebacks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clearsight.cli import failure_log
from clearsight.cli.failure_log import BACKUPS, LOG_NAME, MAX_ENTRY_BYTES, MAX_LOG_BYTES

from .conftest import run_cli


def _failure(number: int, message_bytes: int = 2000) -> BaseException:
    try:
        raise OSError(f"failure {number}: " + "x" * message_bytes)
    except OSError as error:
        return error


@pytest.fixture(autouse=True)
def _no_case_folder() -> None:
    failure_log.note_case_folder(None)


def test_the_log_rotates_and_stays_bounded(tmp_path: Path) -> None:
    written = 0
    number = 0
    while written < (BACKUPS + 3) * MAX_LOG_BYTES:  # enough to rotate past every backup
        path = failure_log.log_failure(_failure(number), "scan", tmp_path)
        assert path == tmp_path / LOG_NAME
        written += 2000
        number += 1
    files = sorted(tmp_path.glob(f"{LOG_NAME}*"))
    assert [file.name for file in files] == [LOG_NAME] + [
        f"{LOG_NAME}.{n}" for n in range(1, BACKUPS + 1)
    ]
    for file in files:
        assert file.stat().st_size <= MAX_LOG_BYTES, file
        assert file.stat().st_mode & 0o777 == 0o600, file
        assert " clearsight " in file.read_text().splitlines()[0]  # begins with an entry
    assert f"OSError: failure {number - 1}: " in (tmp_path / LOG_NAME).read_text()  # newest
    oldest = (tmp_path / f"{LOG_NAME}.{BACKUPS}").read_text()
    assert "OSError: failure 0: " not in oldest  # the oldest entries were dropped
    backups = [(tmp_path / f"{LOG_NAME}.{n}").read_text() for n in range(1, BACKUPS + 1)]
    first_numbers = [int(re.findall(r"OSError: failure (\d+):", text)[0]) for text in backups]
    assert first_numbers == sorted(first_numbers, reverse=True)  # .1 newest, .3 oldest


def test_a_huge_entry_is_cut_to_its_start_and_end(tmp_path: Path) -> None:
    path = failure_log.log_failure(_failure(7, message_bytes=10_000_000), "bank import", tmp_path)
    assert path is not None
    text = path.read_text()
    assert len(text.encode()) <= MAX_ENTRY_BYTES
    assert "`bank import` failed" in text and "bytes not logged" in text
    assert text.rstrip().endswith("x")  # the message's end, after its type, is kept


def test_a_failing_command_writes_a_bounded_log(tmp_path: Path, clearsight_home: Path) -> None:
    """Through the CLI: a log already at its limit is rotated before the next entry."""
    log = clearsight_home / LOG_NAME
    log.write_bytes(b"earlier entry\n" * (MAX_LOG_BYTES // 14))
    log.chmod(0o600)
    (clearsight_home / "banks.sqlite").write_bytes(b"not a database" * 100)  # a failure
    result = run_cli("bank", "list")
    assert result.returncode == 3, result.stderr
    assert (clearsight_home / f"{LOG_NAME}.1").read_bytes().startswith(b"earlier entry")
    assert log.stat().st_size < 64 * 1024 and "`bank list` failed" in log.read_text()
