"""Scan, match, triage and export with two source trees, side by side, on the same inputs.

Why: issue 16 ("One core") moved the pipeline into ``clearsight.Case``, the bank read
side into ``BankMatcher``, the index into ``index/`` and all SQL into the store. None of
that should cost time. The honest check is to run the same commands, on the same inputs,
with the code from before the change and the code after it, alternately in one run, on
the same (shared, loaded) machine, and to quote ratios.

Each tree runs as ``python -m clearsight ...`` in a subprocess of this venv with
``PYTHONPATH=<tree>/src`` (checked: the subprocess imports that tree's package) and its
own ``CLEARSIGHT_HOME`` (the bank store schema differs between the trees). Inputs, built
once per run:

* **images**: ``--images`` benign generated landscapes at 1024x768 (JPEG quality 90),
  cached in the work folder. Stage ``scan``: ``clearsight scan DIR --case NEW --json``
  into a fresh case with no banks (so the scan, origin and the triage a scan ends with).
* **case**: a synthetic case of ``--items`` items at the hash level (``synthetic_case``,
  built once with the newer tree; the case schema is the same in both trees), copied
  afresh for each run so matching is never incremental.
* **banks**: a PDQ CSV bank of ``--bank`` random codes plus a code 0-20 bits from every
  100th item's, and a plain md5 list with every 200th item's md5 among random ones,
  imported into each tree's own home before timing.

Stages on the case copy: ``match --json``, then ``triage --json``, then
``report --format json`` and ``--format csv`` to /dev/null. Every stage runs once per
tree untimed (warm-up: page cache, bytecode), then ``--reps`` rounds; within a round each
stage runs for both trees back to back, the order alternating round by round. Reported
per stage and tree: the median wall seconds of the whole subprocess and the median CPU
seconds (user + system of it and its workers), and the ratio new/base of each. On a
shared machine the CPU ratio is the steadier of the two. The outputs of the two trees
(item, match, stack and series counts, export sizes) are checked equal.

Usage: python benchmarks/core_side_by_side.py --base DIR [--new DIR] [--images 40]
       [--items 50000] [--bank 100000] [--reps 5] [--workdir DIR] [--json]
  DIR is a checkout's root (its ``src`` goes on PYTHONPATH); --new defaults to this one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_case import fill_case  # noqa: E402

from clearsight import __version__  # noqa: E402
from clearsight.robustness.landscapes import render_landscape  # noqa: E402
from clearsight.store.sql import SqlCaseStore  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO_ROOT / ".bench" / "core_side_by_side"
IMAGE_SIZE = (1024, 768)
CORPUS_SEED = 20_261_205
STAGES = ("scan", "match", "triage", "export-json", "export-csv")
BASE, NEW = "base", "new"


# ---------------------------------------------------------------- inputs


def _write_image(job: tuple[str, int]) -> None:
    """Render one benign landscape and write it atomically (pool worker)."""
    path, index = job
    width, height = IMAGE_SIZE
    pixels = render_landscape((CORPUS_SEED, width, height, index), width, height)
    partial = f"{path}.partial"
    Image.fromarray(pixels, "RGB").save(partial, "JPEG", quality=90, subsampling="4:2:0")
    os.replace(partial, path)


def ensure_images(workdir: Path, count: int) -> Path:
    folder = workdir / f"images-{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}-n{count}"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [
        (str(folder / f"landscape_{i:04d}.jpg"), i)
        for i in range(count)
        if not (folder / f"landscape_{i:04d}.jpg").is_file()
    ]
    if jobs:
        log(f"generating {len(jobs)} images in {folder}...")
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(_write_image, jobs))
    for path in folder.iterdir():
        path.read_bytes()  # warm page cache for both trees alike
    return folder


def ensure_case(workdir: Path, items: int) -> Path:
    folder = workdir / f"case-n{items}"
    if not (folder / "case.sqlite").is_file():
        log(f"building a synthetic case of {items:,} items in {folder}...")
        shutil.rmtree(folder, ignore_errors=True)
        store = SqlCaseStore.open_folder(folder, __version__)
        try:
            fill_case(store, items, seed=7)
        finally:
            store.close()
    return folder


def write_banks(workdir: Path, case: Path, bank_size: int, seed: int = 11) -> tuple[Path, Path]:
    """A PDQ CSV and an md5 list, with planted near and exact hits on the case's items."""
    import sqlite3

    rng = random.Random(seed)
    pdq_csv = workdir / f"bank-pdq-{bank_size}.csv"
    md5_txt = workdir / f"bank-md5-{bank_size}.txt"
    connection = sqlite3.connect(case / "case.sqlite")
    try:
        rows = connection.execute(
            "SELECT item_id, kind, value FROM signals WHERE kind IN ('pdq', 'md5') ORDER BY item_id"
        ).fetchall()
    finally:
        connection.close()
    pdq = {item: value for item, kind, value in rows if kind == "pdq"}
    md5 = {item: value for item, kind, value in rows if kind == "md5"}
    with pdq_csv.open("w") as out:
        out.write("pdq,category\n")
        for _ in range(bank_size):
            out.write(f"{rng.getrandbits(256):064x},bench-category\n")
        for item in sorted(pdq)[::100]:
            flips = 0
            for bit in rng.sample(range(256), rng.randint(0, 20)):
                flips |= 1 << bit
            out.write(f"{int(pdq[item], 16) ^ flips:064x},bench-category\n")
    with md5_txt.open("w") as out:
        for _ in range(bank_size // 10):
            out.write(f"{rng.getrandbits(128):032x}\n")
        for item in sorted(md5)[::200]:
            out.write(f"{md5[item]}\n")
    return pdq_csv, md5_txt


# ---------------------------------------------------------------- running a tree


@dataclass
class Tree:
    label: str
    root: Path
    home: Path
    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.root / "src")
        env["CLEARSIGHT_HOME"] = str(self.home)
        env.pop("CLEARSIGHT_DATABASE", None)
        return env

    def run(self, *arguments: str, home: Path | None = None) -> tuple[float, float, str]:
        """Run ``python -m clearsight ARGUMENTS``: (wall s, CPU s, stdout)."""
        env = self.env()
        if home is not None:
            env["CLEARSIGHT_HOME"] = str(home)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "clearsight", *arguments],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise RuntimeError(
                f"{self.label}: clearsight {' '.join(arguments[:2])} exited "
                f"{done.returncode}: {done.stderr[-2000:]}"
            )
        return wall, cpu, done.stdout

    def check_imports_itself(self) -> None:
        done = subprocess.run(
            [sys.executable, "-c", "import clearsight; print(clearsight.__file__)"],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        where = Path(done.stdout.strip()).resolve()
        if not where.is_relative_to((self.root / "src").resolve()):
            raise RuntimeError(f"{self.label}: imports clearsight from {where}, not {self.root}")

    def record(self, stage: str, wall: float, cpu: float) -> None:
        self.wall.setdefault(stage, []).append(wall)
        self.cpu.setdefault(stage, []).append(cpu)


def _last_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise RuntimeError(f"no JSON object in output: {stdout[-500:]}")


def _summary(stage: str, stdout: str) -> Any:
    """What must come out the same from both trees (counts, not timings)."""
    if stage.startswith("export"):
        return len(stdout.encode())
    report = _last_json(stdout)
    return {
        key: value
        for key, value in report.items()
        if isinstance(value, int | str | list) and "second" not in key and key != "case"
    }


def one_round(
    trees: Sequence[Tree],
    images: Path,
    case: Path,
    scratch: Path,
    timed: bool,
) -> None:
    """Every stage for every tree, in the given order, stage by stage."""
    for tree in trees:
        shutil.rmtree(scratch / tree.label, ignore_errors=True)
        (scratch / tree.label).mkdir(parents=True)
    for tree in trees:  # scan into a fresh case, with no banks
        empty_home = scratch / tree.label / "empty-home"
        empty_home.mkdir()
        wall, cpu, out = tree.run(
            "scan", str(images), "--case", str(scratch / tree.label / "scanned"), "--json",
            home=empty_home,
        )  # fmt: skip
        _keep(tree, "scan", wall, cpu, out, timed)
    for tree in trees:
        shutil.copytree(case, scratch / tree.label / "case")
    for stage, arguments in (
        ("match", ["match", "--json"]),
        ("triage", ["triage", "--json"]),
        ("export-json", ["report", "--format", "json"]),
        ("export-csv", ["report", "--format", "csv"]),
    ):
        for tree in trees:
            wall, cpu, out = tree.run(*arguments, "--case", str(scratch / tree.label / "case"))
            _keep(tree, stage, wall, cpu, out, timed)
    for tree in trees:
        shutil.rmtree(scratch / tree.label, ignore_errors=True)


def _keep(tree: Tree, stage: str, wall: float, cpu: float, out: str, timed: bool) -> None:
    tree.outputs[stage] = _summary(stage, out)
    if timed:
        tree.record(stage, wall, cpu)


# ---------------------------------------------------------------- main


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _git_head(root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the earlier checkout's root")
    parser.add_argument("--new", type=Path, default=REPO_ROOT, help="the later checkout [this]")
    parser.add_argument("--images", type=int, default=40, help="images to scan [40]")
    parser.add_argument("--items", type=int, default=50_000, help="synthetic case items [50k]")
    parser.add_argument("--bank", type=int, default=100_000, help="random PDQ bank codes [100k]")
    parser.add_argument("--reps", type=int, default=5, help="timed rounds (median) [5]")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    trees = [
        Tree(BASE, args.base.resolve(), workdir / "home-base"),
        Tree(NEW, args.new.resolve(), workdir / "home-new"),
    ]
    for tree in trees:
        tree.check_imports_itself()
    images = ensure_images(workdir, args.images)
    case = ensure_case(workdir, args.items)
    pdq_csv, md5_txt = write_banks(workdir, case, args.bank)
    for tree in trees:
        shutil.rmtree(tree.home, ignore_errors=True)
        tree.home.mkdir()
        for name, path, extra in (
            ("bench-pdq", pdq_csv, []),
            ("bench-md5", md5_txt, ["--signal", "md5"]),
        ):
            wall, _, _ = tree.run("bank", "import", name, str(path), *extra)
            log(f"{tree.label}: imported {path.name} in {wall:.1f} s")
    scratch = workdir / "scratch"
    loads: list[float] = [os.getloadavg()[0]]
    log("warm-up round (untimed)...")
    one_round(trees, images, case, scratch, timed=False)
    for stage in STAGES:
        if trees[0].outputs[stage] != trees[1].outputs[stage]:
            raise RuntimeError(
                f"{stage}: the trees disagree: base {trees[0].outputs[stage]}"
                f" new {trees[1].outputs[stage]}"
            )
    for rep in range(args.reps):
        order = trees if rep % 2 == 0 else trees[::-1]
        started = time.perf_counter()
        one_round(order, images, case, scratch, timed=True)
        loads.append(os.getloadavg()[0])
        log(
            f"round {rep + 1}/{args.reps} ({order[0].label} first): "
            f"{time.perf_counter() - started:.0f} s, load {loads[-1]:.1f}"
        )
    results: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "processor": _cpu_name(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_1min": {"min": min(loads), "max": max(loads)},
        },
        "trees": {tree.label: f"{tree.root} @ {_git_head(tree.root)}" for tree in trees},
        "inputs": {"images": args.images, "items": args.items, "bank": args.bank},
        "reps": args.reps,
        "outputs": trees[1].outputs,
        "stages": {},
    }
    for stage in STAGES:
        row: dict[str, Any] = {}
        for tree in trees:
            row[tree.label] = {
                "wall_median": statistics.median(tree.wall[stage]),
                "cpu_median": statistics.median(tree.cpu[stage]),
                "wall": tree.wall[stage],
                "cpu": tree.cpu[stage],
            }
        row["wall_ratio"] = row[NEW]["wall_median"] / row[BASE]["wall_median"]
        row["cpu_ratio"] = row[NEW]["cpu_median"] / row[BASE]["cpu_median"]
        results["stages"][stage] = row
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    machine = results["machine"]
    print(
        f"{machine['processor']}, {machine['cores']} cores, Python {machine['python']}; "
        f"load (1 min) {machine['load_1min']['min']:.1f}-{machine['load_1min']['max']:.1f}"
    )
    for label, where in results["trees"].items():
        print(f"{label:>4}: {where}")
    print(
        f"inputs: {args.images} images 1024x768, case of {args.items:,} items, "
        f"PDQ bank {args.bank:,} (+ md5 list); {args.reps} rounds, medians"
    )
    print(f"{'stage':<12} {'base wall':>10} {'new wall':>10} {'ratio':>6}   "
          f"{'base CPU':>9} {'new CPU':>9} {'ratio':>6}")  # fmt: skip
    for stage, row in results["stages"].items():
        print(
            f"{stage:<12} {row[BASE]['wall_median']:>9.2f}s {row[NEW]['wall_median']:>9.2f}s "
            f"{row['wall_ratio']:>6.2f}   {row[BASE]['cpu_median']:>8.2f}s "
            f"{row[NEW]['cpu_median']:>8.2f}s {row['cpu_ratio']:>6.2f}"
        )
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
