"""Decoding libraries' warnings go to the log, never raw to the terminal."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import warnings
from pathlib import Path

import pytest

from clearsight.scan.library_output import library_output_to

from .conftest import run_cli

# libtiff writes a few hundred "TIFFFetchNormalTag: ..." lines on this damaged file.
DAMAGED_TIFF = "malformed/crash-2020-10-test.tif"


def test_a_scan_of_a_damaged_tiff_prints_no_raw_warning(shared_data: Path, tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    shutil.copy(shared_data / DAMAGED_TIFF, evidence / "damaged.tif")
    case = tmp_path / "case"
    scanned = run_cli("scan", evidence, "--case", case)
    assert scanned.returncode == 0, scanned.stderr
    assert "TIFF" not in scanned.stderr
    assert "TIFF" not in scanned.stdout
    log = (case / "clearsight.log").read_text("utf-8")
    assert "`scan`: library output:" in log
    assert "TIFFFetchNormalTag" in log
    queue = run_cli("queue", "--case", case)
    assert "Could not read (1 file):" in queue.stdout
    assert "damaged.tif: decode:" in queue.stdout
    (line,) = run_cli("queue", "--case", case, "--json").stdout.splitlines()
    unreadable = json.loads(line)  # not a unit of the queue: a kind of its own
    assert (unreadable["kind"], unreadable["path"]) == ("could-not-read", "damaged.tif")
    assert unreadable["error"].startswith("decode: ")


def test_library_output_goes_to_the_sink_and_our_own_to_the_terminal(
    capfd: pytest.CaptureFixture[str],
) -> None:
    caught: list[str] = []
    with library_output_to(caught.append):
        os.write(2, b"libfoo: a raw warning on descriptor 2\n")
        sys.stderr.write("clearsight: a message of our own\n")
        logging.getLogger("PIL.TiffImagePlugin").warning("a library's log record")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("Possibly corrupt EXIF data", UserWarning, stacklevel=1)
    terminal = capfd.readouterr().err
    assert "clearsight: a message of our own" in terminal
    assert "libfoo" not in terminal and "log record" not in terminal
    assert "EXIF" not in terminal
    (text,) = caught
    assert "libfoo: a raw warning on descriptor 2" in text
    assert "PIL.TiffImagePlugin WARNING: a library's log record" in text
    assert "UserWarning: Possibly corrupt EXIF data" in text
    os.write(2, b"after\n")  # descriptor 2 is the terminal's again
    assert capfd.readouterr().err == "after\n"


def test_no_sink_call_when_the_libraries_said_nothing() -> None:
    caught: list[str] = []
    with library_output_to(caught.append):
        pass
    assert caught == []
