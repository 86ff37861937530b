"""Scanning broken, hostile and unusual files finishes, accounts for all, and stays quiet."""

from __future__ import annotations

import json
import os
from pathlib import Path

from clearsight.media.decode import DecodeLimits
from clearsight.scan import ScanOptions, run_scan
from clearsight.store.sql import SqlCaseStore

from .conftest import run_cli


def test_scan_of_malformed_files_accounts_for_every_file(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "malformed"
    case = tmp_path / "case"
    result = run_cli("scan", source, "--case", case, "--json", "--file-timeout", "30")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout

    files = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    summary = json.loads(result.stdout)
    assert summary["files_seen"] == len(files)
    assert summary["items"] + summary["errors"] == len(files)
    assert summary["errors"] > 10  # the fuzzer cases really are broken

    listing = run_cli("items", "--case", case)
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert sorted(row["path"] for row in rows) == files
    for row in rows:
        assert row["sha256"] is not None, row["path"]  # every file was at least digested
        if row["error"]:
            assert "\n" not in row["error"]
    bomb = next(row for row in rows if row["path"] == "decompression_bomb.ico")
    assert "decompression bomb" in bomb["error"]


def test_a_file_over_the_time_limit_becomes_an_error_row_with_digests(tmp_path: Path) -> None:
    """A huge but valid PNG cannot decode within 50 ms; the scan gives it up and goes on."""
    from PIL import Image

    source = tmp_path / "source"
    source.mkdir()
    Image.new("L", (9000, 9000), 128).save(source / "slow.png")
    (source / "quick.txt").write_text("fine\n", encoding="utf-8")
    store = SqlCaseStore.open_folder(tmp_path / "case", "test")
    options = ScanOptions(workers=1, file_timeout=0.05, limits=DecodeLimits(max_pixels=10**9))
    report = run_scan(store, [source], options)
    rows = {row.path: row for row in store.iter_items()}
    store.close()

    assert report.completed and report.tally.files_seen == 2
    slow = rows["slow.png"]
    assert slow.error is not None and "per-file limit" in slow.error
    assert slow.sha256 is not None and slow.pdq is None
    assert rows["quick.txt"].error is None
    assert os.path.getsize(source / "slow.png") == slow.size
