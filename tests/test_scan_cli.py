"""``clearsight scan`` and ``clearsight items`` run as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from clearsight.signals.digests import digest_bytes

from .conftest import photo_like, run_cli


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    """A small source: images in nested folders, a renamed image, text, links, a pipe."""
    root = tmp_path / "evidence"
    (root / "holiday" / "day-2").mkdir(parents=True)
    photo_like(1).save(root / "holiday" / "beach.jpg", quality=90)
    photo_like(2).save(root / "holiday" / "day-2" / "hills.png")
    photo_like(3).save(root / "holiday" / "renamed.txt", "PNG")
    (root / "notes.txt").write_text("benign notes\n", encoding="utf-8")
    (root / "empty.bin").write_bytes(b"")
    outside = tmp_path / "outside.jpg"
    photo_like(4).save(outside)
    (root / "link-out.jpg").symlink_to(outside)
    (root / "link-in.jpg").symlink_to(root / "holiday" / "beach.jpg")
    (root / "link-folder").symlink_to(root / "holiday")
    os.mkfifo(root / "pipe")
    return root


def scan_json(*args: str | Path) -> dict[str, object]:
    result = run_cli("scan", *args, "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    parsed = json.loads(result.stdout)
    assert isinstance(parsed, dict)
    return parsed


def items_of(case: Path) -> dict[str, dict[str, object]]:
    result = run_cli("items", "--case", case)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {str(row["path"]): row for row in rows}


EXPECTED_PATHS = {
    "empty.bin",
    "holiday/beach.jpg",
    "holiday/day-2/hills.png",
    "holiday/renamed.txt",
    "link-folder",
    "link-in.jpg",
    "link-out.jpg",
    "notes.txt",
    "pipe",
}


def test_scan_records_every_entry_once(evidence: Path, tmp_path: Path) -> None:
    case = tmp_path / "case"
    summary = scan_json(evidence, "--case", case)
    assert summary["files_seen"] == len(EXPECTED_PATHS)
    assert summary["already_done"] == 0
    assert summary["items"] == 6
    assert summary["errors"] == 3  # the link out, the link to a folder, the pipe
    assert isinstance(summary["seconds"], float)

    rows = items_of(case)
    assert set(rows) == EXPECTED_PATHS

    beach = rows["holiday/beach.jpg"]
    data = (evidence / "holiday" / "beach.jpg").read_bytes()
    digests = digest_bytes(data)
    assert (beach["md5"], beach["sha1"], beach["sha256"]) == (
        digests.md5,
        digests.sha1,
        digests.sha256,
    )
    assert (beach["media_type"], beach["width"], beach["height"]) == ("image/jpeg", 320, 240)
    assert beach["size"] == len(data)
    assert isinstance(beach["pdq"], str) and len(beach["pdq"]) == 64
    assert isinstance(beach["pdq_quality"], int) and beach["pdq_quality"] >= 50
    assert beach["error"] is None

    assert rows["holiday/renamed.txt"]["media_type"] == "image/png"
    assert rows["holiday/renamed.txt"]["pdq"] is not None
    assert (rows["notes.txt"]["media_type"], rows["notes.txt"]["kind"]) == ("text/plain", "other")
    assert rows["notes.txt"]["pdq"] is None and rows["notes.txt"]["md5"] is not None
    assert rows["empty.bin"]["size"] == 0 and rows["empty.bin"]["error"] is None
    assert rows["link-in.jpg"]["sha256"] == beach["sha256"]
    assert "outside the source" in str(rows["link-out.jpg"]["error"])
    assert rows["link-out.jpg"]["md5"] is None  # never read
    assert "folder" in str(rows["link-folder"]["error"])
    assert "not a regular file" in str(rows["pipe"]["error"])


def test_rescan_skips_what_is_done(evidence: Path, tmp_path: Path) -> None:
    case = tmp_path / "case"
    scan_json(evidence, "--case", case)
    before = items_of(case)
    photo_like(9).save(evidence / "new.jpg")
    again = scan_json(evidence, "--case", case)
    assert again["files_seen"] == len(EXPECTED_PATHS) + 1
    assert again["already_done"] == len(EXPECTED_PATHS)
    assert (again["items"], again["errors"]) == (1, 0)
    after = items_of(case)
    assert set(after) == set(before) | {"new.jpg"}
    assert all(after[path] == row for path, row in before.items())


def test_items_csv_has_the_documented_columns(evidence: Path, tmp_path: Path) -> None:
    case = tmp_path / "case"
    scan_json(evidence, "--case", case)
    result = run_cli("items", "--case", case, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(EXPECTED_PATHS)
    for column in (
        "path",
        "size",
        "media_type",
        "md5",
        "sha1",
        "sha256",
        "width",
        "height",
        "pdq",
        "pdq_quality",
        "error",
    ):
        assert column in rows[0]
    only_errors = run_cli("items", "--case", case, "--errors")
    assert len(only_errors.stdout.splitlines()) == 3


def test_case_inside_the_source_is_not_scanned(evidence: Path) -> None:
    case = evidence / "case"
    summary = scan_json(evidence, "--case", case)
    assert summary["files_seen"] == len(EXPECTED_PATHS)
    assert not any(path.startswith("case") for path in items_of(case))


def test_a_single_file_is_a_source(evidence: Path, tmp_path: Path) -> None:
    case = tmp_path / "case"
    summary = scan_json(evidence / "notes.txt", "--case", case)
    assert (summary["files_seen"], summary["items"]) == (1, 1)
    assert set(items_of(case)) == {"notes.txt"}


def test_human_summary(evidence: Path, tmp_path: Path) -> None:
    result = run_cli("scan", evidence, "--case", tmp_path / "case")
    assert result.returncode == 0
    assert "Scanned 9 files" in result.stdout
    assert "recorded with an error" in result.stdout
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    # The hint for the errors is a command that runs as printed, in a shell without
    # the virtual environment on its PATH (as after ``make demo``).
    hint = next(line for line in result.stdout.splitlines() if line.startswith("See why"))
    command = hint.removeprefix("See why with: ")
    shown = subprocess.run(
        command,
        shell=True,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
    )
    assert shown.returncode == 0, shown.stderr
    assert "pipe" in shown.stdout  # the special file is one of the error rows


def test_missing_path_is_a_user_error(tmp_path: Path) -> None:
    result = run_cli("scan", tmp_path / "nope", "--case", tmp_path / "case")
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr and "nope" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "case").exists()


def test_items_of_a_folder_that_is_not_a_case(tmp_path: Path) -> None:
    result = run_cli("items", "--case", tmp_path)
    assert result.returncode == 2
    assert "not a clearsight case" in result.stderr


def test_case_path_that_is_a_file(tmp_path: Path, evidence: Path) -> None:
    result = run_cli("scan", evidence, "--case", evidence / "notes.txt")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [[], ["scan"], ["items"], ["demo"]])
def test_help_is_useful(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    assert len(result.stdout.splitlines()) > 5


def test_sqlite_case_is_sound_after_scan(evidence: Path, tmp_path: Path) -> None:
    case = tmp_path / "case"
    scan_json(evidence, "--case", case)
    with sqlite3.connect(case / "case.sqlite") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
