"""The first commands a newcomer types: what ``make demo`` prints must run as printed.

``make demo`` runs ``.venv/bin/clearsight demo`` from the clearsight folder, where
``clearsight`` is not on the PATH. The test does the same: a folder holding ``.venv``
(a link to this test's virtual environment), a PATH without it, and then every
command the demo printed, run by a shell exactly as printed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from clearsight.cli.demo_command import next_steps

from .conftest import CLEARSIGHT


def test_the_demos_next_steps_run_as_typed_without_activating(tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(CLEARSIGHT.parents[1], target_is_directory=True)
    bin_dir = str(CLEARSIGHT.parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != bin_dir)
    env = {**os.environ, "PATH": path}
    demo = subprocess.run(
        [".venv/bin/clearsight", "demo", "--case", "demo-case"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    assert "run `. .venv/bin/activate` once, then type clearsight" in demo.stdout
    printed = [line.strip() for line in demo.stdout.splitlines() if line.startswith("  .venv/bin/")]
    assert [shlex.split(line)[1] for line in printed] == ["items", "queue", "report"]
    for line in printed:
        ran = subprocess.run(
            line,
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert ran.returncode == 0, (line, ran.stderr)
        if " items " in line:
            assert "mountain-lake.jpg" in ran.stdout
    report = (tmp_path / "demo-case" / "report.html").read_text(encoding="utf-8")
    assert report.startswith("<!DOCTYPE html>") or "<html" in report[:200]
    # The browser step names make serve, which serves demo-case by default.
    assert "  make serve\n" in demo.stdout


def test_next_steps_name_the_case_and_the_program_as_given() -> None:
    activated = next_steps("clearsight", Path("demo-case"))
    assert "  clearsight items --case demo-case" in activated.splitlines()
    assert "activate" not in activated and "  make serve" in activated.splitlines()
    elsewhere = next_steps("/opt/cs/bin/clearsight", Path("/tmp/my case"))
    assert "  /opt/cs/bin/clearsight queue --case '/tmp/my case'" in elsewhere.splitlines()
    assert "`. /opt/cs/bin/activate`" in elsewhere
    assert "  make serve CASE='/tmp/my case'" in elsewhere.splitlines()
