"""A full disk stops a scan or a bank import cleanly, and the command resumes.

The store lies on a small tmpfs mounted for the test (the tests run as root, in CI
too; elsewhere they are skipped), nearly filled by a filler file. The command must stop
with one line and exit 3, leave a store that passes ``PRAGMA integrity_check``, and,
once the filler is deleted, finish to the same result as a run that never stopped.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import photo_like, run_cli

pytestmark = pytest.mark.slow
IMAGES = 250  # over two of the scan's 100-record batches, however fast it runs


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs, unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def leave_free(disk: Path, free: int) -> Path:
    """Fill ``disk`` until about ``free`` bytes are left; the filler file."""
    filler = disk / "filler"
    stats = os.statvfs(disk)
    size = stats.f_bavail * stats.f_frsize - free
    with filler.open("wb") as out:
        out.truncate(0)
        block = b"\0" * (1 << 16)
        while size > 0:
            size -= out.write(block[: min(len(block), size)])
    return filler


def assert_one_line_disk_full(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("clearsight: error: ") and "full" in line, line


def database_size(case: Path) -> int:
    return sum(file.stat().st_size for file in case.glob("case.sqlite*"))


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def items(case: Path) -> list[dict[str, object]]:
    listed = run_cli("items", "--case", case)
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_a_scan_onto_a_full_disk_stops_cleanly_and_resumes(
    tmp_path: Path, small_disk: Path
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for seed in range(IMAGES):
        photo_like(seed, (128, 96)).save(evidence / f"pattern-{seed:02}.png")
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    reference = tmp_path / "reference"
    case = small_disk / "case"
    for folder in (reference, case):  # both cases made, with their tables and no items
        made = run_cli("scan", nothing, "--case", folder, "--no-origin")
        assert made.returncode == 0, made.stderr
    empty = database_size(reference)
    done = run_cli("scan", evidence, "--case", reference, "--no-origin", "--workers", "1")
    assert done.returncode == 0, done.stderr
    needed = database_size(reference) - empty

    filler = leave_free(small_disk, needed // 2)
    stopped = run_cli("scan", evidence, "--case", case, "--no-origin", "--workers", "1")
    assert_one_line_disk_full(stopped)
    assert str(case / "case.sqlite") in stopped.stderr

    filler.unlink()
    assert integrity(case / "case.sqlite") == "ok"
    recorded = len(items(case))
    print(f"needed {needed} bytes; the full disk stopped the scan after {recorded} items")
    assert 0 < recorded < IMAGES  # it stopped part-way through, and kept what it had
    resumed = run_cli("scan", evidence, "--case", case, "--no-origin", "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert items(case) == items(reference)


def test_a_bank_import_onto_a_full_disk_stops_cleanly_and_resumes(
    tmp_path: Path, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes = tmp_path / "hashes.txt"
    lines = 4_000
    hashes.write_text("".join(f"{n:032x}\n" for n in range(lines)), encoding="ascii")
    reference = tmp_path / "reference-home"
    monkeypatch.setenv("CLEARSIGHT_HOME", str(reference))
    assert run_cli("bank", "list").returncode == 0  # the store, with no banks
    empty = (reference / "banks.sqlite").stat().st_size
    done = run_cli("bank", "import", "test-bank", hashes, "--signal", "md5")
    assert done.returncode == 0, done.stderr
    needed = (reference / "banks.sqlite").stat().st_size - empty

    home = small_disk / "home"
    monkeypatch.setenv("CLEARSIGHT_HOME", str(home))
    assert run_cli("bank", "list").returncode == 0
    filler = leave_free(small_disk, needed // 2)
    stopped = run_cli("bank", "import", "test-bank", hashes, "--signal", "md5")
    assert_one_line_disk_full(stopped)
    assert str(home / "banks.sqlite") in stopped.stderr

    filler.unlink()
    assert integrity(home / "banks.sqlite") == "ok"
    resumed = run_cli("bank", "import", "test-bank", hashes, "--signal", "md5")
    assert resumed.returncode == 0, resumed.stderr
    shown = run_cli("bank", "show", "test-bank", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["entries"] == lines
