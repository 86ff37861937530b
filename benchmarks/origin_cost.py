"""What the origin stage adds to the scan of one file, per kind of file.

Why: the issue's budget is that examining origin costs at most 25% of the scan time
per image. ``scan_throughput.py`` measures it on its generated JPEG corpus, which
carries no metadata. Real files differ: a camera JPEG has EXIF, maker notes and a
thumbnail to check; a generator's PNG has text chunks and is decoded in full for the
watermark. So this script times, in one process and on one core, the worker's whole
``fingerprint_file`` with the origin stage and without it (the baseline, in the same
run), for each group of shared test files, and prints the medians and the share.

Usage: python benchmarks/origin_cost.py [--reps R] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clearsight.origin.stage import default_detectors
from clearsight.scan.fingerprint import FingerprintOptions, fingerprint_file

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
GROUPS = {
    "camera JPEG (6-10 MP, EXIF)": ("camera", "*.JPG"),
    "DALL-E 2 PNG (1024x1024)": ("generated", "dalle2-*.png"),
    "Stable Diffusion v1 PNG": ("generated", "sd1-*.png"),
    "generator-metadata fixtures": ("metadata-fixtures", "*/*"),
    "C2PA fixtures (JPEG)": ("provenance", "*.jpg"),
}
WITH, WITHOUT = FingerprintOptions(origin=True), FingerprintOptions(origin=False)


def median_seconds(files: Sequence[Path], options: FingerprintOptions, reps: int) -> float:
    """The median over ``reps`` of the mean seconds per file of ``files``."""
    runs = []
    for _ in range(reps):
        started = time.perf_counter()
        for path in files:
            fingerprint_file(str(path), path.name, options)
        runs.append((time.perf_counter() - started) / len(files))
    return statistics.median(runs)


def run(reps: int) -> dict[str, Any]:
    default_detectors()  # imports and detector set-up are paid once per worker, not per file
    for path in sorted((SHARED / "camera").glob("*.JPG"))[:2]:
        fingerprint_file(str(path), path.name, WITH)  # warm the page cache and the code
    groups: dict[str, Any] = {}
    for label, (folder, pattern) in GROUPS.items():
        files = sorted(p for p in (SHARED / folder).glob(pattern) if p.is_file())
        without = median_seconds(files, WITHOUT, reps)
        with_origin = median_seconds(files, WITH, reps)
        groups[label] = {
            "files": len(files),
            "ms_per_file_without_origin": 1000 * without,
            "ms_per_file_with_origin": 1000 * with_origin,
            "origin_ms_per_file": 1000 * (with_origin - without),
            "origin_share_of_scan": (with_origin - without) / with_origin,
        }
    return {
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "reps": reps,
        "groups": groups,
    }


def report(results: dict[str, Any]) -> str:
    lines = [
        f"{'files':34} {'n':>3} {'scan ms':>8} {'+origin':>8} {'origin ms':>9} {'share':>6}",
    ]
    for label, g in results["groups"].items():
        lines.append(
            f"{label:34} {g['files']:>3} {g['ms_per_file_without_origin']:>8.1f} "
            f"{g['ms_per_file_with_origin']:>8.1f} {g['origin_ms_per_file']:>9.1f} "
            f"{g['origin_share_of_scan']:>6.1%}"
        )
    lines.append(
        f"one core, in-process worker function, median of {results['reps']} reps; "
        "share = origin time / scan time with origin (budget: 25%)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions (median) [5]")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        print(f"shared test data not found at {SHARED}", file=sys.stderr)
        return 2
    results = run(args.reps)
    print(json.dumps(results) if args.json else report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
