"""How many pictures per second a whole ``clearsight scan`` reads, against two peers
run in the same run on the same files.

Why: a triage tool is judged by how long an analyst waits for a seized drive. A bare
number means little on a shared machine, so each repetition runs, back to back:

* **clearsight** - the ``clearsight scan DIR --case NEW --json`` console script of this
  venv, every stage on (digests, PDQ and its dihedral forms, query views, scene views,
  keypoints, origin), on every core. The wall clock of the whole command (interpreter
  start, imports, case creation, worker start, triage) is the headline.
* **threatexchange** - Meta's python-threatexchange ``PdqSignal.hash_from_file``, the
  issue's named baseline, in a pool of as many processes as clearsight has workers. Only
  the hashing is timed (the pool is started and imported first), which favours it.
* **floor** - Pillow opening each file and decoding it at 1/8 scale in the DCT domain
  (``draft``), in a started pool of as many processes: reading and the cheapest decode,
  the least any scan can cost.

The ratios are taken within each repetition (the peers run one after another, so they
share the machine's load) and their median is reported, with the machine's load
average before and after.

The corpus is camera-derived: the shared camera originals (``../shared/data/camera``)
cropped at random (60-100% of the side, 3:2), resized to 1224x816 (1 MP) and
3000x2000 (6 MP), and saved as JPEG quality 85-95 with their EXIF, ``--count`` of each.
It is cached in the work folder and read once before timing (warm page cache).

``--stages`` also takes each stage's CPU time per file in a child process, one core:
what the per-stage budget table in docs/benchmarks.md holds.

``--compare SRC`` also scans with the clearsight package in another checkout's ``src``
folder, in the same repetitions: the speed-up of this checkout over that one.

Usage: python benchmarks/scan_throughput.py [--count N] [--reps R] [--workers W]
[--stages] [--compare SRC] [--workdir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import PIL
from PIL import Image, features

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO_ROOT / ".bench" / "scan_throughput"
CAMERA = REPO_ROOT.parent / "shared" / "data" / "camera"
SIZES: dict[str, tuple[int, int]] = {"1MP": (1224, 816), "6MP": (3000, 2000)}
CORPUS_VERSION = "camera-v1"  # bump when the corpus changes, so caches are not reused
CORPUS_SEED = 20_261_206
QUALITIES = (85, 90, 92, 95)
# The targets: clearsight over threatexchange, and over the floor.
TARGETS = {"1MP": (3.0, None), "6MP": (10.0, 0.5)}


# ---------------------------------------------------------------- corpus


def _derive(job: tuple[str, str, int, int, int]) -> str:
    """Crop one camera original at random, resize it and save it (pool worker)."""
    out, source, width, height, seed = job
    rng = random.Random(seed)
    with Image.open(source) as im:
        exif = im.info.get("exif", b"")
        full_w, full_h = im.size
        scale = rng.uniform(0.6, 1.0)
        crop_w = int(full_w * scale)
        crop_h = min(full_h, int(crop_w * height / width))
        crop_w = int(crop_h * width / height)
        left, top = rng.randint(0, full_w - crop_w), rng.randint(0, full_h - crop_h)
        picture = im.crop((left, top, left + crop_w, top + crop_h))
        picture = picture.resize((width, height), Image.Resampling.LANCZOS)
        partial_path = f"{out}.partial"
        picture.save(partial_path, "JPEG", quality=rng.choice(QUALITIES), subsampling=2, exif=exif)
    os.replace(partial_path, out)
    return out


@dataclass
class Group:
    name: str
    folder: Path
    files: list[Path] = field(default_factory=list)

    def mean_bytes(self) -> float:
        return statistics.fmean(path.stat().st_size for path in self.files)


def ensure_corpus(workdir: Path, count: int) -> list[Group]:
    """``count`` camera-derived JPEGs per size, made where missing."""
    sources = sorted(CAMERA.iterdir()) if CAMERA.is_dir() else []
    if not sources:
        raise SystemExit(f"no camera originals in {CAMERA}")
    root = workdir / f"corpus-{CORPUS_VERSION}-n{count}"
    groups, jobs = [], []
    for index, (name, (width, height)) in enumerate(SIZES.items()):
        group = Group(name, root / name)
        group.folder.mkdir(parents=True, exist_ok=True)
        for number in range(count):
            path = group.folder / f"photo_{number:05d}.jpg"
            group.files.append(path)
            if not path.is_file():
                source = sources[number % len(sources)]
                seed = CORPUS_SEED + 100_000 * index + number
                jobs.append((str(path), str(source), width, height, seed))
        groups.append(group)
    if jobs:
        log(f"deriving {len(jobs)} corpus photos in {root}...")
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(_derive, jobs, chunksize=4))
    return groups


def warm_page_cache(groups: Sequence[Group]) -> None:
    for group in groups:
        for path in group.files:
            path.read_bytes()


# ---------------------------------------------------------------- contenders


def clearsight_executable() -> Path:
    return Path(sys.executable).parent / "clearsight"


def run_clearsight(
    folder: Path, files: int, workdir: Path, workers: int, source: Path | None = None
) -> float:
    """Wall seconds of one ``clearsight scan`` of ``folder`` into a new case; with
    ``source``, of the clearsight whose package lies in that ``src`` folder."""
    holder = Path(tempfile.mkdtemp(prefix="case-", dir=workdir))
    command = [
        str(clearsight_executable()),
        "scan",
        str(folder),
        "--case",
        str(holder / "case"),
        "--json",
        "--workers",
        str(workers),
    ]
    try:
        started = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, env=_environment(source)
        )
        wall = time.perf_counter() - started
    finally:
        shutil.rmtree(holder, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"clearsight scan exited {done.returncode}: {done.stderr[-600:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if (report["files_seen"], report["items"], report["errors"]) != (files, files, 0):
        raise RuntimeError(f"clearsight scan of {folder} reported {report}")
    return wall


def _environment(source: Path | None) -> dict[str, str]:
    if source is None:
        return dict(os.environ)
    return {**os.environ, "PYTHONPATH": str(source)}


def run_command(*arguments: str) -> float:
    """Wall seconds of ``clearsight ARGUMENTS``."""
    started = time.perf_counter()
    subprocess.run([str(clearsight_executable()), *arguments], capture_output=True, check=True)
    return time.perf_counter() - started


def threatexchange_hash(path: str) -> bool:
    """The baseline on one file (pool worker): True when it gave a hash."""
    from threatexchange.signal_type.pdq.signal import PdqSignal

    return bool(PdqSignal.hash_from_file(Path(path)))


def draft_decode(path: str) -> tuple[int, int]:
    """The floor on one file (pool worker): decode at 1/8 scale, luma only."""
    with Image.open(path) as im:
        im.draft("L", (max(1, im.width // 8), max(1, im.height // 8)))
        im.load()
        return im.size


def _warm_worker(_: int) -> None:
    from threatexchange.signal_type.pdq.signal import PdqSignal  # noqa: F401


def start_pool(workers: int) -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(max_workers=workers)
    list(pool.map(_warm_worker, range(workers * 4)))  # every worker started and imported
    return pool


def timed_map(pool: ProcessPoolExecutor, task: Callable[[str], Any], group: Group) -> float:
    paths = [str(path) for path in group.files]
    started = time.perf_counter()
    list(pool.map(task, paths, chunksize=4))
    return time.perf_counter() - started


# ---------------------------------------------------------------- stages, in process


def stage_costs(files: Sequence[Path]) -> dict[str, float]:
    """Mean CPU ms per file of each stage of the worker, as the scan runs them (this
    thread's CPU time, which the machine's load inflates far less than the wall clock)."""
    import cv2

    from clearsight.media.decode import DecodeLimits, decode_luma
    from clearsight.media.sniff import SNIFF_BYTES, sniff_media_type
    from clearsight.origin.stage import RGB_FOR_ORIGIN_UP_TO, examine_bytes
    from clearsight.scan.fingerprint import FingerprintOptions, fingerprint_file
    from clearsight.scan.pixels import larger_luma
    from clearsight.signals.digests import StreamingDigests
    from clearsight.signals.features import extract
    from clearsight.signals.pdq import PDQ_WORKING_BOX, PdqSignal
    from clearsight.signals.scene import scene_views
    from clearsight.signals.variants import hash_views, query_views

    cv2.setNumThreads(1)
    limits = DecodeLimits()
    costs: dict[str, list[float]] = {}

    def clock(name: str, since: float) -> float:
        now = time.thread_time()
        costs.setdefault(name, []).append(1000 * (now - since))
        return now

    for path in [*files[:2], *files]:  # the first two warm the caches, then counted again
        start = time.thread_time()
        data = path.read_bytes()
        now = clock("read", start)
        media_type = sniff_media_type(data[:SNIFF_BYTES])
        now = clock("sniff", now)
        digests = StreamingDigests()
        digests.update(data)
        digests.result()
        now = clock("digests", now)
        image = decode_luma(data, limits, PDQ_WORKING_BOX, keep_rgb_up_to=RGB_FOR_ORIGIN_UP_TO)
        now = clock("decode", now)
        pdq = PdqSignal.hash_from_luma_numpy(image.luma)
        now = clock("pdq + dihedral", now)
        sharper = partial(larger_luma, data, limits, image.luma)
        hash_views(query_views(image.luma, sharper), pdq.hex)
        now = clock("query views", now)
        hash_views(scene_views(image.luma), pdq.hex)
        now = clock("scene views", now)
        extract(image.luma).to_bytes()
        now = clock("keypoints", now)
        examine_bytes(
            data,
            image.media_type,
            keep_prompts=False,
            luma=image.luma,
            rgb=image.rgb,
            alpha=image.alpha,
        )
        now = clock("origin", now)
        record = fingerprint_file(str(path), path.name, FingerprintOptions())
        now = time.thread_time()
        pickle.dumps(record)
        clock("record to parent (pickle)", now)
        del media_type
    for name in costs:
        costs[name] = costs[name][2:]
    # Means, not medians: a few files cost many times the typical one (a larger decode
    # for a region, a view hashed again by pdqhash), and throughput pays for them.
    means = {name: statistics.fmean(values) for name, values in costs.items()}
    means["sum of stages"] = sum(means.values())
    return means


def stages_in_worker(group: Group) -> dict[str, float]:
    """:func:`stage_costs` in a child process set up as the scan's workers are (one
    thread for OpenBLAS, OpenMP and OpenCV)."""
    from clearsight.scan.worker_server import SINGLE_THREADED

    done = subprocess.run(
        [sys.executable, __file__, "--stages-of", str(group.folder)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **SINGLE_THREADED},
    )
    costs: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return costs


# ---------------------------------------------------------------- running and reporting


@dataclass
class Samples:
    clearsight: list[float] = field(default_factory=list)
    compared: list[float] = field(default_factory=list)
    threatexchange: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)


def run_bench(
    groups: list[Group], workdir: Path, reps: int, workers: int, compare: Path | None
) -> dict[str, Any]:
    samples = {group.name: Samples() for group in groups}
    fixed: list[float] = []
    helps: list[float] = []
    empty = workdir / "empty"
    empty.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    warm_page_cache(groups)
    with start_pool(workers) as pool:
        for rep in range(1, reps + 1):
            helps.append(run_command("--help"))
            fixed.append(run_clearsight(empty, 0, workdir, workers))
            for group in groups:
                log(f"rep {rep}/{reps} {group.name}")
                s = samples[group.name]
                files = len(group.files)
                s.clearsight.append(run_clearsight(group.folder, files, workdir, workers))
                if compare is not None:
                    s.compared.append(
                        run_clearsight(group.folder, files, workdir, workers, compare)
                    )
                s.threatexchange.append(timed_map(pool, threatexchange_hash, group))
                s.floor.append(timed_map(pool, draft_decode, group))
    load_after = os.getloadavg()
    result: dict[str, Any] = {
        "machine": machine_facts(),
        "workers": workers,
        "reps": reps,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "help_seconds_median": statistics.median(helps),
        "empty_scan_seconds_median": statistics.median(fixed),
        "groups": {},
    }
    for group in groups:
        s, n = samples[group.name], len(group.files)
        per_rep_tx = [t / c for c, t in zip(s.clearsight, s.threatexchange, strict=True)]
        per_rep_floor = [f / c for c, f in zip(s.clearsight, s.floor, strict=True)]
        result["groups"][group.name] = {
            "images": n,
            "mean_file_bytes": round(group.mean_bytes()),
            "images_per_s": {
                "clearsight": statistics.median(n / x for x in s.clearsight),
                "threatexchange": statistics.median(n / x for x in s.threatexchange),
                "floor": statistics.median(n / x for x in s.floor),
            },
            "clearsight_over_threatexchange": statistics.median(per_rep_tx),
            "clearsight_over_compared": (
                statistics.median(b / a for a, b in zip(s.clearsight, s.compared, strict=True))
                if s.compared
                else None
            ),
            "clearsight_over_floor": statistics.median(per_rep_floor),
            "seconds": {
                "clearsight": s.clearsight,
                "compared": s.compared,
                "threatexchange": s.threatexchange,
                "floor": s.floor,
            },
            "targets": dict(zip(("threatexchange", "floor"), TARGETS[group.name], strict=True)),
        }
    return result


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
    }


def format_table(summary: dict[str, Any]) -> str:
    m = summary["machine"]
    lines = [
        f"machine: {m['cpu_model']}, {m['cores']} cores, Python {m['python']}, "
        f"Pillow {m['pillow']} (libjpeg-turbo {m['libjpeg_turbo']}), numpy {m['numpy']}",
        f"{summary['workers']} processes each; median of {summary['reps']} reps; load average "
        f"{summary['load_average_before']} before, {summary['load_average_after']} after",
        "",
        f"{'group':<6} {'MB':>5} {'clearsight':>10} {'threatex':>9} {'floor':>7} "
        f"{'cs/tx':>6} {'target':>6} {'cs/floor':>8} {'target':>6}",
    ]
    for name, g in summary["groups"].items():
        rate, targets = g["images_per_s"], g["targets"]
        lines.append(
            f"{name:<6} {g['mean_file_bytes'] / 1e6:>5.2f} {rate['clearsight']:>10.1f} "
            f"{rate['threatexchange']:>9.1f} {rate['floor']:>7.1f} "
            f"{g['clearsight_over_threatexchange']:>6.2f} {_target(targets['threatexchange'])} "
            f"{g['clearsight_over_floor']:>8.2f} {_target(targets['floor'])}"
        )
    lines += [
        "",
        "images/s; clearsight = wall clock of the whole `clearsight scan --json` command;",
        "ratios are medians of the per-rep ratios (peers run back to back).",
        f"`clearsight --help`: {summary['help_seconds_median']:.2f} s; scan of an empty "
        f"folder into a new case: {summary['empty_scan_seconds_median']:.2f} s (medians).",
    ]
    for name, g in summary["groups"].items():
        if g["clearsight_over_compared"] is not None:
            lines.append(
                f"{name}: this clearsight is {g['clearsight_over_compared']:.2f}x as fast as the "
                f"one in {summary['compared_source']} (median of per-rep ratios)"
            )
    for name, stages in summary.get("stages", {}).items():
        lines.append(f"\nper-stage mean CPU ms per file, one core, in process ({name}):")
        lines += [f"  {stage:<28} {ms:7.2f}" for stage, ms in stages.items()]
    return "\n".join(lines)


def _target(value: float | None) -> str:
    return f"{'>=' + format(value, 'g'):>6}" if value is not None else f"{'-':>6}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=128, help="photos per size [128]")
    parser.add_argument("--reps", type=int, default=3, help="repetitions [3]")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes each [all cores]"
    )
    parser.add_argument("--stages", action="store_true", help="also time each stage in process")
    parser.add_argument(
        "--compare",
        type=Path,
        help="also scan with the clearsight package of this src folder (an older checkout)",
    )
    parser.add_argument("--stages-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.count < 1 or args.reps < 1 or args.workers < 1:
        parser.error("--count, --reps and --workers must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.stages_of is not None:  # the child that --stages runs
        print(json.dumps(stage_costs(sorted(args.stages_of.glob("*.jpg"))[:40])))
        return 0
    workdir: Path = args.workdir.resolve()
    groups = ensure_corpus(workdir, args.count)
    summary = run_bench(groups, workdir, args.reps, args.workers, args.compare)
    summary["compared_source"] = str(args.compare) if args.compare else None
    if args.stages:
        summary["stages"] = {group.name: stages_in_worker(group) for group in groups}
    print(json.dumps(summary, indent=2) if args.json else format_table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
