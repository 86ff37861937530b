"""What the scan's own process imports: the case store, the walk and the writer, never
the decoders and detectors its workers run (those come from the fork server's
preload, which must name every module the workers import lazily)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from clearsight.scan.fingerprint import PIXEL_MODULES
from clearsight.scan.worker_server import PRELOAD

# Imported by a worker for a picture or a video, not by the command that scans.
WORKERS_ONLY = ("av", "c2pa", *PIXEL_MODULES, "clearsight.origin.camera")

SCAN_AND_LIST = """
import json, sys
from clearsight.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
finally:
    print(json.dumps([name for name in {names!r} if name in sys.modules]), file=sys.stderr)
"""


def test_the_fork_server_preloads_every_pixel_module() -> None:
    assert set(PIXEL_MODULES) <= set(PRELOAD)
    assert "clearsight.scan.work" in PRELOAD


def test_a_scan_leaves_the_decoders_to_its_workers(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    steps = np.arange(96)
    for number in range(2):
        grey = (np.add.outer(steps * 2, steps * (number + 1)) % 256).astype(np.uint8)
        Image.fromarray(np.stack([grey] * 3, axis=-1)).save(evidence / f"gradient_{number}.jpg")
    program = SCAN_AND_LIST.format(names=WORKERS_ONLY)
    done = subprocess.run(
        [sys.executable, "-c", program, "scan", str(evidence), "--case", str(tmp_path / "case")]
        + ["--json", "--workers", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert (report["items"], report["errors"]) == (2, 0)  # the workers did read the pixels
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
