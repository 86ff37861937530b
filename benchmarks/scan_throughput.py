"""Measure how many images per second ``clearsight scan`` fingerprints, against two yardsticks.

Why: a triage tool is judged by how long an analyst waits for a seized drive to be
hashed. A bare number means little, so the same JPEGs are put, in the same run, through

* **clearsight** - the ``clearsight scan DIR --case NEW --json`` console script of this
  venv, on every core. Wall-clock of the whole subprocess (interpreter start, worker pool
  start, case database) is the headline; the ``seconds`` it reports itself is shown too.
  Each repetition scans into a fresh case, so nothing is skipped as already done.
  Note that a scan does more than PDQ: md5/sha1/sha256 of the bytes, a media-type sniff
  and a database record per file.
* **threatexchange** - Meta's python-threatexchange ``PdqSignal.hash_from_file``, as the
  library is used: one process, files hashed one after another. It lives in its own
  venv (``<workdir>/venv-threatexchange``, created on first use) so its dependencies never
  touch this project's. Only the hashing loop is timed (import excluded), which favours
  it; being single-process its images/s is also its per-core figure.
* **floor** - bare Pillow: open, ``draft("L", size that fits a 512x512 box)``, ``load()``,
  on every core through a process pool that is already started. This is the cost of
  reading and DCT-scaled decoding alone, so ``clearsight / floor`` says how close the scan
  gets to the decoder's limit.

The corpus is generated, deterministically, as photo-like landscapes (1/f fractal
terrain and clouds, a sky gradient, ridges, trees and rocks with hard edges, per-pixel
sensor noise) saved as JPEG quality 90 with 4:2:0 chroma: ``--count`` images at 1024x768
and as many at 3000x2000 (about 1.5-3 MB each, like a camera's). It is cached in the
work folder, and every file is read once before timing so all contenders see a warm
page cache. Each contender runs ``--reps`` times per size group; the median images/s
is reported.

Usage: python benchmarks/scan_throughput.py [--count N] [--reps R] [--workdir DIR]
[--keep] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import PIL
from PIL import Image, features

from clearsight.media.decode import fit_in_box
from clearsight.robustness.landscapes import render_landscape

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO_ROOT / ".bench" / "scan_throughput"
SIZES: tuple[tuple[int, int], ...] = ((1024, 768), (3000, 2000))
PDQ_BOX = 512  # clearsight decodes into this box, as the PDQ reference does
CORPUS_VERSION = "v1"  # bump when the generator changes, so caches are not reused
CORPUS_SEED = 20_240_611
JPEG_QUALITY = 90
MAX_GENERATOR_WORKERS = 8  # each worker holds a few hundred MB while rendering

TX_PROGRAM = """
import json, sys, time
started = time.perf_counter()
from pathlib import Path
from threatexchange.signal_type.pdq.signal import PdqSignal
imported = time.perf_counter()
paths = [Path(p) for p in json.load(sys.stdin)]
empty = 0
start = time.perf_counter()
for path in paths:
    if not PdqSignal.hash_from_file(path):
        empty += 1
elapsed = time.perf_counter() - start
from importlib.metadata import version
print(json.dumps({
    "seconds": elapsed,
    "import_seconds": imported - started,
    "hashed": len(paths),
    "empty_hashes": empty,
    "versions": {name: version(name) for name in ("threatexchange", "pdqhash", "pillow")},
}))
"""


# ---------------------------------------------------------------- corpus generation


def _write_image(job: tuple[str, int, int, int]) -> str:
    """Render one corpus image and write it atomically (pool worker)."""
    path, width, height, index = job
    pixels = render_landscape((CORPUS_SEED, width, height, index), width, height)
    partial = f"{path}.partial"
    Image.fromarray(pixels, "RGB").save(
        partial, "JPEG", quality=JPEG_QUALITY, subsampling="4:2:0", optimize=False
    )
    os.replace(partial, path)
    return path


@dataclass
class Group:
    """One resolution group of the corpus: its folder and files."""

    width: int
    height: int
    folder: Path
    files: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.width}x{self.height}"

    def mean_bytes(self) -> float:
        return statistics.fmean(path.stat().st_size for path in self.files)


def ensure_corpus(workdir: Path, count: int) -> list[Group]:
    """The corpus for ``count`` images per size, generating whatever is missing."""
    root = workdir / f"corpus-{CORPUS_VERSION}-n{count}"
    groups: list[Group] = []
    jobs: list[tuple[str, int, int, int]] = []
    for width, height in SIZES:
        group = Group(width, height, root / f"{width}x{height}")
        group.folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            path = group.folder / f"landscape_{index:04d}.jpg"
            group.files.append(path)
            if not path.is_file():
                jobs.append((str(path), width, height, index))
        groups.append(group)
    if jobs:
        workers = min(os.cpu_count() or 1, MAX_GENERATOR_WORKERS)
        log(f"generating {len(jobs)} corpus images in {root} ({workers} processes)...")
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(_write_image, jobs):
                pass
        log(f"  done in {time.perf_counter() - started:.1f} s")
    else:
        log(f"reusing cached corpus in {root}")
    return groups


def warm_page_cache(groups: Sequence[Group]) -> None:
    """Read every file once so no contender pays for the first, cold read."""
    for group in groups:
        for path in group.files:
            path.read_bytes()


# ---------------------------------------------------------------- contender: clearsight


@dataclass(frozen=True)
class ScanRun:
    wall_seconds: float
    scan_seconds: float
    report: dict[str, Any]


def clearsight_executable() -> Path:
    return Path(sys.executable).parent / "clearsight"


def run_clearsight(
    exe: Path, folder: Path, files: int, workdir: Path, keep: bool, *extra: str
) -> ScanRun:
    """One ``clearsight scan`` of ``folder`` (holding ``files`` files) into a new case folder."""
    cases = workdir / "cases"
    cases.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix=f"{folder.name}-", dir=cases))
    case = holder / "case"
    command = [str(exe), "scan", str(folder), "--case", str(case), "--json", *extra]
    try:
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
    finally:
        if not keep:
            shutil.rmtree(holder, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"clearsight scan exited {done.returncode}: {_tail(done.stderr)}")
    report = _last_json_line(done.stdout)
    expected = {"files_seen": files, "items": files, "errors": 0, "already_done": 0}
    wrong = {k: report.get(k) for k, v in expected.items() if report.get(k) != v}
    if wrong:
        raise RuntimeError(f"clearsight scan of {folder} reported {wrong}, expected {expected}")
    return ScanRun(wall, float(report["seconds"]), report)


def clearsight_fixed_cost(exe: Path, workdir: Path, keep: bool) -> float:
    """Wall seconds of a scan of an empty folder: process start, imports, case creation."""
    empty = workdir / "empty"
    empty.mkdir(parents=True, exist_ok=True)
    return run_clearsight(exe, empty, 0, workdir, keep).wall_seconds


def _last_json_line(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.strip().startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise RuntimeError(f"no JSON object on stdout: {_tail(stdout)}")


def _tail(text: str, limit: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


# ---------------------------------------------------------------- contender: threatexchange


def ensure_threatexchange(workdir: Path) -> Path:
    """The python of ``<workdir>/venv-threatexchange``, creating the venv if needed."""
    venv = workdir / "venv-threatexchange"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import threatexchange.signal_type.pdq.signal"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    log(f"creating {venv} and installing threatexchange (once)...")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "threatexchange"],
        check=True,
        stdout=sys.stderr,
    )
    subprocess.run(probe, check=True)
    return python


def run_threatexchange(python: Path, group: Group) -> dict[str, Any]:
    """Hash the group sequentially in one threatexchange process; its own timing."""
    paths = json.dumps([str(path) for path in group.files])
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), "-c", TX_PROGRAM], input=paths, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"threatexchange run exited {done.returncode}: {_tail(done.stderr)}")
    result = _last_json_line(done.stdout)
    result["wall_seconds"] = wall
    return result


# ---------------------------------------------------------------- contender: Pillow floor


def draft_decode(path: str) -> tuple[int, int]:
    """Open, DCT-scale to the PDQ box in luma, decode; the decoded size (pool worker)."""
    with Image.open(path) as im:
        # The same target size clearsight computes, so the DCT scaling is the same.
        im.draft("L", fit_in_box(*im.size, PDQ_BOX))
        im.load()
        return im.size


def _noop(_: int) -> None:
    return None


def run_floor(
    pool: ProcessPoolExecutor, group: Group, workers: int
) -> tuple[float, tuple[int, int]]:
    """Seconds to draft-decode the whole group on a started pool, and one decoded size."""
    paths = [str(path) for path in group.files]
    chunksize = max(1, len(paths) // (workers * 4))
    started = time.perf_counter()
    sizes = list(pool.map(draft_decode, paths, chunksize=chunksize))
    return time.perf_counter() - started, sizes[0]


def start_pool(workers: int) -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(max_workers=workers)
    list(pool.map(_noop, range(workers * 4)))  # make every worker exist before timing
    return pool


# ---------------------------------------------------------------- running and reporting


@dataclass
class Samples:
    """Per-group timings of every contender, one entry per repetition."""

    cs_wall: list[float] = field(default_factory=list)
    cs_scan: list[float] = field(default_factory=list)
    cs_scan_no_origin: list[float] = field(default_factory=list)
    tx_loop: list[float] = field(default_factory=list)
    tx_wall: list[float] = field(default_factory=list)
    tx_empty: int = 0
    floor: list[float] = field(default_factory=list)
    floor_decoded: tuple[int, int] | None = None


@dataclass
class Bench:
    groups: list[Group]
    samples: dict[str, Samples]
    problems: dict[str, str] = field(default_factory=dict)
    tx_versions: dict[str, str] = field(default_factory=dict)
    cs_fixed: list[float] = field(default_factory=list)


def run_bench(groups: list[Group], workdir: Path, reps: int, keep: bool) -> Bench:
    bench = Bench(groups, {group.name: Samples() for group in groups})
    exe = clearsight_executable()
    if not exe.exists():
        bench.problems["clearsight"] = f"no console script at {exe}"
    try:
        tx_python: Path | None = ensure_threatexchange(workdir)
    except (OSError, subprocess.CalledProcessError) as exc:
        tx_python, bench.problems["threatexchange"] = None, f"venv setup failed: {exc}"
    workers = os.cpu_count() or 1
    log("warming the page cache...")
    warm_page_cache(groups)
    with start_pool(workers) as pool:
        for rep in range(1, reps + 1):
            _fixed_cost_rep(bench, exe, workdir, keep)
            for group in groups:
                log(f"rep {rep}/{reps} {group.name}")
                _one_rep(bench, group, workdir, keep, exe, tx_python, pool, workers)
    return bench


def _fixed_cost_rep(bench: Bench, exe: Path, workdir: Path, keep: bool) -> None:
    if "clearsight" in bench.problems:
        return
    try:
        bench.cs_fixed.append(clearsight_fixed_cost(exe, workdir, keep))
    except RuntimeError as exc:
        bench.problems["clearsight"] = str(exc)


def _one_rep(
    bench: Bench,
    group: Group,
    workdir: Path,
    keep: bool,
    exe: Path,
    tx_python: Path | None,
    pool: ProcessPoolExecutor,
    workers: int,
) -> None:
    samples = bench.samples[group.name]
    if "clearsight" not in bench.problems:
        try:
            run = run_clearsight(exe, group.folder, len(group.files), workdir, keep)
            samples.cs_wall.append(run.wall_seconds)
            samples.cs_scan.append(run.scan_seconds)
            # The same scan without the origin stage: what examining origin costs.
            plain = run_clearsight(
                exe, group.folder, len(group.files), workdir, keep, "--no-origin"
            )
            samples.cs_scan_no_origin.append(plain.scan_seconds)
        except RuntimeError as exc:
            bench.problems["clearsight"] = str(exc)
    if tx_python is not None and "threatexchange" not in bench.problems:
        try:
            result = run_threatexchange(tx_python, group)
            samples.tx_loop.append(float(result["seconds"]))
            samples.tx_wall.append(float(result["wall_seconds"]))
            samples.tx_empty = int(result["empty_hashes"])
            bench.tx_versions = dict(result["versions"])
        except RuntimeError as exc:
            bench.problems["threatexchange"] = str(exc)
    seconds, decoded = run_floor(pool, group, workers)
    samples.floor.append(seconds)
    samples.floor_decoded = decoded


def median_rate(count: int, seconds: Sequence[float]) -> float | None:
    """Median images/s over the repetitions, or None when the contender did not run."""
    return statistics.median(count / s for s in seconds) if seconds else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def machine_facts() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def summarise(bench: Bench, reps: int) -> dict[str, Any]:
    """Every number of the run as one JSON-ready object."""
    cores = os.cpu_count() or 1
    groups: dict[str, Any] = {}
    for group in bench.groups:
        s, n = bench.samples[group.name], len(group.files)
        cs, cs_scan = median_rate(n, s.cs_wall), median_rate(n, s.cs_scan)
        tx, floor = median_rate(n, s.tx_loop), median_rate(n, s.floor)
        groups[group.name] = {
            "images": n,
            "mean_file_bytes": round(group.mean_bytes()),
            "clearsight": {
                "images_per_s": cs,
                "images_per_s_in_scan": cs_scan,
                "images_per_s_per_core": ratio(cs, cores),
                "wall_seconds": s.cs_wall,
                "scan_seconds": s.cs_scan,
                "scan_seconds_no_origin": s.cs_scan_no_origin,
                "origin_share_of_scan": _origin_share(s),
            },
            "threatexchange": {
                "images_per_s": tx,
                "images_per_s_per_core": tx,
                "images_per_s_incl_process_start": median_rate(n, s.tx_wall),
                "loop_seconds": s.tx_loop,
                "wall_seconds": s.tx_wall,
                "empty_hashes": s.tx_empty,
            },
            "floor": {
                "images_per_s": floor,
                "seconds": s.floor,
                "decoded_size": list(s.floor_decoded) if s.floor_decoded else None,
            },
            "ratios": {
                "clearsight_over_threatexchange": ratio(cs, tx),
                "clearsight_over_threatexchange_per_core": ratio(ratio(cs, cores), tx),
                "clearsight_over_floor": ratio(cs, floor),
            },
        }
    return {
        "machine": machine_facts(),
        "threatexchange_versions": bench.tx_versions,
        "reps": reps,
        "statistic": "median images/s over reps",
        "corpus": {
            "jpeg_quality": JPEG_QUALITY,
            "subsampling": "4:2:0",
            "version": CORPUS_VERSION,
            "folder": str(bench.groups[0].folder.parent),
        },
        "clearsight_fixed_cost": {
            "what": "wall seconds of `clearsight scan` of an empty folder into a new case",
            "median_seconds": statistics.median(bench.cs_fixed) if bench.cs_fixed else None,
            "seconds": bench.cs_fixed,
        },
        "groups": groups,
        "problems": bench.problems,
    }


def _origin_share(samples: Samples) -> float | None:
    """The share of the in-scan time the origin stage takes (medians of the reps)."""
    if not samples.cs_scan or not samples.cs_scan_no_origin:
        return None
    with_origin = statistics.median(samples.cs_scan)
    return (with_origin - statistics.median(samples.cs_scan_no_origin)) / with_origin


def _num(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_table(summary: dict[str, Any]) -> str:
    m = summary["machine"]
    tx_v = summary["threatexchange_versions"]
    lines = [
        f"machine: {m['cpu_model']}, {m['cores']} cores, Python {m['python']}, "
        f"Pillow {m['pillow']} (libjpeg-turbo {m['libjpeg_turbo']}), numpy {m['numpy']}",
        "threatexchange venv: " + (", ".join(f"{k} {v}" for k, v in tx_v.items()) or "n/a"),
        f"images/s, median of {summary['reps']} reps (higher is better)",
        "",
        f"{'group':<10} {'mean MB':>7} {'clearsight':>10} {'(in-scan)':>9} {'threatex':>9} "
        f"{'floor':>8} {'cs/tx':>7} {'cs/tx/core':>10} {'cs/floor':>8}",
    ]
    for name, g in summary["groups"].items():
        r = g["ratios"]
        lines.append(
            f"{name:<10} {g['mean_file_bytes'] / 1e6:>7.2f} "
            f"{_num(g['clearsight']['images_per_s']):>10} "
            f"{_num(g['clearsight']['images_per_s_in_scan']):>9} "
            f"{_num(g['threatexchange']['images_per_s']):>9} {_num(g['floor']['images_per_s']):>8} "
            f"{_num(r['clearsight_over_threatexchange'], 2):>7} "
            f"{_num(r['clearsight_over_threatexchange_per_core'], 2):>10} "
            f"{_num(r['clearsight_over_floor'], 2):>8}"
        )
    lines += [
        "",
        "clearsight: wall-clock of `clearsight scan --json` incl. process and pool start, all "
        "cores; (in-scan) = its own `seconds`.",
        "threatexchange: PdqSignal.hash_from_file, one process (= per core), hashing loop only.",
        "floor: Pillow open + draft('L', 512-box) + load on a started pool, all cores; decoded "
        + ", ".join(f"{n} -> {g['floor']['decoded_size']}" for n, g in summary["groups"].items()),
        "cs/tx/core: clearsight per core (images/s / cores) over threatexchange.",
        "clearsight fixed cost per run (scan of an empty folder into a new case): "
        f"{_num(summary['clearsight_fixed_cost']['median_seconds'], 2)} s (median)",
    ]
    for name, g in summary["groups"].items():
        share = g["clearsight"]["origin_share_of_scan"]
        lines.append(
            f"origin stage in {name}: {_num(None if share is None else 100 * share)}% of the "
            "in-scan time (scan with and without --no-origin, medians)"
        )
    for name, g in summary["groups"].items():
        if g["threatexchange"]["empty_hashes"]:
            lines.append(
                f"note: threatexchange gave {g['threatexchange']['empty_hashes']} empty "
                f"hash(es) (quality < 50) in {name}"
            )
    for who, why in summary["problems"].items():
        lines.append(f"PROBLEM {who}: {why}")
    return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=40, help="images per size group [40]")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per contender [3]")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"corpus, venv and case folder [{DEFAULT_WORKDIR}]",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each rep's clearsight case folder under WORKDIR/cases",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.count < 1 or args.reps < 1:
        parser.error("--count and --reps must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir: Path = args.workdir.resolve()
    groups = ensure_corpus(workdir, args.count)
    for group in groups:
        log(
            f"corpus {group.name}: {len(group.files)} files, mean {group.mean_bytes() / 1e6:.2f} MB"
        )
    bench = run_bench(groups, workdir, args.reps, args.keep)
    summary = summarise(bench, args.reps)
    print(json.dumps(summary, indent=2) if args.json else format_table(summary))
    return 1 if bench.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
