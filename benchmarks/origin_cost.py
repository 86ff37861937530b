"""What the origin stage adds to the scan of one file, per kind of file.

Why: the issue's budget is that examining origin costs at most 25% of the scan time
per image. ``scan_throughput.py`` measures it on its generated JPEG corpus, which
carries no metadata. Real files differ: a camera JPEG has EXIF, maker notes and a
thumbnail to check; a generator's PNG has text chunks and is read in full for the
watermark. So this script times, in one process and on one core, for each group of
shared test files: the worker's whole ``fingerprint_file`` without the origin stage
(the baseline, in the same run), and the origin stage itself, given what the scan hands
it (the bytes, and the luma, RGB and alpha its decode made). Timing the stage directly
rather than as the difference of two scans keeps the machine's noise out of it.

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

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.media.sniff import SNIFF_BYTES, sniff_media_type
from clearsight.origin.stage import RGB_FOR_ORIGIN_UP_TO, default_detectors, examine_bytes
from clearsight.scan.fingerprint import FingerprintOptions, fingerprint_file
from clearsight.signals.pdq import PDQ_WORKING_BOX

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
GROUPS = {
    "camera JPEG (6-10 MP, EXIF)": ("camera", "*.JPG"),
    "DALL-E 2 PNG (1024x1024)": ("generated", "dalle2-*.png"),
    "Stable Diffusion v1 PNG": ("generated", "sd1-*.png"),
    "generator-metadata fixtures": ("metadata-fixtures", "*/*"),
    "C2PA fixtures (JPEG)": ("provenance", "*.jpg"),
}
WITHOUT = FingerprintOptions(origin=False)


def scan_seconds(files: Sequence[Path], reps: int) -> float:
    """The median over ``reps`` of the mean seconds per file the worker takes, no origin."""
    runs = []
    for _ in range(reps):
        started = time.perf_counter()
        for path in files:
            fingerprint_file(str(path), path.name, WITHOUT)
        runs.append((time.perf_counter() - started) / len(files))
    return statistics.median(runs)


def origin_seconds(files: Sequence[Path], reps: int) -> float:
    """The median over ``reps`` of the mean seconds per file of the origin stage, given
    the bytes and the pixels the scan's decode hands it."""
    inputs = []
    for path in files:
        data = path.read_bytes()
        image = decode_luma(
            data, DecodeLimits(), PDQ_WORKING_BOX, keep_rgb_up_to=RGB_FOR_ORIGIN_UP_TO
        )
        inputs.append((data, sniff_media_type(data[:SNIFF_BYTES]), image))
    runs = []
    for _ in range(reps):
        started = time.perf_counter()
        for data, media_type, image in inputs:
            examine_bytes(
                data,
                media_type,
                keep_prompts=False,
                luma=image.luma,
                rgb=image.rgb,
                alpha=image.alpha,
            )
        runs.append((time.perf_counter() - started) / len(inputs))
    return statistics.median(runs)


def run(reps: int) -> dict[str, Any]:
    default_detectors()  # imports and detector set-up are paid once per worker, not per file
    for path in sorted((SHARED / "camera").glob("*.JPG"))[:2]:
        fingerprint_file(str(path), path.name, FingerprintOptions())  # warm cache and code
    groups: dict[str, Any] = {}
    for label, (folder, pattern) in GROUPS.items():
        files = sorted(p for p in (SHARED / folder).glob(pattern) if p.is_file())
        without, origin = scan_seconds(files, reps), origin_seconds(files, reps)
        groups[label] = {
            "files": len(files),
            "ms_per_file_without_origin": 1000 * without,
            "ms_per_file_with_origin": 1000 * (without + origin),
            "origin_ms_per_file": 1000 * origin,
            "origin_share_of_scan": origin / (without + origin),
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
        f"one core, in process, median of {results['reps']} reps; scan = the worker without "
        "origin; share = origin / (scan + origin) (budget: 25%)"
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
