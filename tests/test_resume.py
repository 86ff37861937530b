"""A scan killed with SIGKILL at any moment resumes to the same result as one that was not."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import CLEARSIGHT, photo_like, run_cli

FILES = 160


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for index in range(FILES):
        folder = root / f"folder-{index % 7}"
        folder.mkdir(exist_ok=True)
        image = photo_like(index, (1200, 900))
        if index % 10 == 3:
            (folder / f"note-{index}.txt").write_text(f"note {index}\n", encoding="utf-8")
        elif index % 10 == 7:
            (folder / f"broken-{index}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))
        else:
            image.save(folder / f"picture-{index}.jpg", quality=88)
    return root


def signals_of(case: Path) -> dict[str, tuple[object, ...]]:
    result = run_cli("items", "--case", case)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    paths = [row["path"] for row in rows]
    assert len(paths) == len(set(paths)), "a file was recorded twice"
    return {
        row["path"]: (row["md5"], row["sha256"], row["pdq"], row["media_type"], row["error"])
        for row in rows
    }


def assert_sound(case: Path) -> None:
    with sqlite3.connect(case / "case.sqlite") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def recorded_count(case: Path) -> int:
    database = case / "case.sqlite"
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            return int(connection.execute("SELECT count(*) FROM items").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the schema is not there yet


def scan_killed_at(corpus: Path, case: Path, recorded: int) -> bool:
    """Start a scan and SIGKILL it (workers too) once ``recorded`` items are committed.

    ``recorded == 0`` kills during start-up. Returns whether the kill hit a live scan.
    """
    process = subprocess.Popen(
        [str(CLEARSIGHT), "scan", str(corpus), "--case", str(case), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if recorded == 0:
            time.sleep(0.3)
        while process.poll() is None and recorded and recorded_count(case) < recorded:
            time.sleep(0.02)
        if process.poll() is not None:
            return False
        os.killpg(process.pid, signal.SIGKILL)
        return True
    finally:
        process.wait()


@pytest.mark.slow
def test_sigkill_at_any_moment_then_resume_equals_uninterrupted(
    corpus: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    assert run_cli("scan", corpus, "--case", reference).returncode == 0
    expected = signals_of(reference)
    assert len(expected) == FILES

    case = tmp_path / "killed"
    mid_scan_kills = 0
    # Kill during start-up, then each time a little more has been committed.
    for target in (0, 1, FILES // 4, FILES // 2, FILES * 3 // 4):
        before = recorded_count(case)
        killed = scan_killed_at(corpus, case, max(target, before + 1) if target else 0)
        after = recorded_count(case)
        if killed and 0 < after < FILES:
            mid_scan_kills += 1
        if (case / "case.sqlite").exists():
            assert_sound(case)
    assert mid_scan_kills >= 2, "the scan finished before it could be interrupted"

    final = run_cli("scan", corpus, "--case", case, "--json")
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["files_seen"] == FILES
    assert summary["already_done"] + summary["items"] + summary["errors"] == FILES
    assert summary["already_done"] > 0
    assert signals_of(case) == expected
    assert_sound(case)
