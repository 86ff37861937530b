"""What the scan on Ray costs against the local scan, and how far one writer carries it.

Measured here, in one run (baseline and contender alternate, medians of ``--reps``):

1. **Ray's overhead**: the same files scanned by the local pebble pool (2 workers) and
   by Ray on one node of 2 CPUs (a ``ray start --head`` cluster that the scan joins),
   at 1 MP and 6 MP. Each scan pays a cost once, however large it is: joining the
   cluster (``ray.init``), and starting the workers (Ray starts its workers for each
   scan, and each starts the fork server its files' processes come from, while the
   local pool here reuses the fork server of the script's first scan). So each
   contender scans ``n`` files and the same files four times over (``4n``, hard
   links), and the script splits its time into a **rate per file** (from the
   difference: what grows with the seizure, which the targets are about) and a
   **fixed cost per scan**. The ratio is Ray's rate over the local scan's, the median
   of runs done back to back (the machine is shared); the whole-scan ratios at ``n``
   and ``4n``, fixed costs included, are shown beside it. Every scan begins once the
   cluster's own processes are idle (Ray starts idle workers when a node starts, and
   a scan's workers exit after it), so that neither contender pays for the other's.
2. **Workers joining**: Ray with one worker node process pinned to core 0, then with a
   second, pinned to core 1, joined: the rate per file at 1 MP (as in 1) and the
   speed-up.
3. **The single writer's ceiling**: rows/s that ``record_files`` commits in batches of
   100 (the scan's batch) into SQLite and into PostgreSQL (if
   ``CLEARSIGHT_TEST_POSTGRES_URL`` is set), of a real 1 MP image's record.

Then, on paper, a model for N nodes: each node adds its fingerprinting rate; the case
gains rows at N times that until the writer's ceiling; a node needs its files/s times
the mean file size from the network.

Usage: python benchmarks/distributed_scan.py [--count-1mp N] [--count-6mp N] [--reps R]
[--rows N] [--workdir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # the tests' two-node cluster helper

from clearsight import __version__  # noqa: E402
from clearsight.robustness.landscapes import render_landscape  # noqa: E402
from clearsight.scan import PebbleExecutor, ScanExecutor, ScanOptions, run_scan  # noqa: E402
from clearsight.scan.fingerprint import FingerprintOptions, fingerprint_file  # noqa: E402
from clearsight.scan.ray_executor import RayExecutor  # noqa: E402
from clearsight.store.sql import SqlCaseStore  # noqa: E402
from tests.ray_cluster import (  # noqa: E402
    CLUSTER_ENV,
    RayCluster,
    add_worker_node,
    start_cluster,
    wait_for_nodes,
)

DEFAULT_WORKDIR = REPO_ROOT / ".bench" / "distributed_scan"
SIZES = {"1mp": (1152, 864), "6mp": (3000, 2000)}
CORPUS_VERSION = "v1"


def corpus(workdir: Path, name: str, count: int) -> Path:
    """``count`` photo-like JPEGs (quality 90) of size ``name``, cached."""
    folder = workdir / f"corpus-{CORPUS_VERSION}-{name}-{count}"
    if folder.is_dir():
        return folder
    partial = folder.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    width, height = SIZES[name]
    for index in range(count):
        pixels = render_landscape((2026, index, width), width, height)
        Image.fromarray(pixels).save(partial / f"landscape-{index:04d}.jpg", quality=90)
    partial.rename(folder)
    return folder


def repeated(folder: Path, copies: int) -> Path:
    """``folder``'s files ``copies`` times over, as hard links under new names, cached:
    as much work per file (every file is fingerprinted, whatever its content), and no
    hour spent drawing new 6 MP pictures."""
    many = folder.with_name(f"{folder.name}-x{copies}")
    if many.is_dir():
        return many
    partial = many.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    for copy in range(copies):
        for path in sorted(folder.iterdir()):
            os.link(path, partial / f"copy{copy}-{path.name}")
    partial.rename(many)
    return many


def warm(folder: Path) -> int:
    """Read every file once (a warm page cache for every contender); total bytes."""
    return sum(len(path.read_bytes()) for path in sorted(folder.iterdir()))


class TimedJoin:
    """A Ray executor whose joining the cluster (``__enter__``) is timed apart."""

    def __init__(self, inner: RayExecutor) -> None:
        self.inner = inner
        self.join_seconds = 0.0

    @property
    def capacity(self) -> int:
        return self.inner.capacity

    def submit(self, unit: Any) -> None:
        self.inner.submit(unit)

    def collect(self, wait_seconds: float) -> Any:
        return self.inner.collect(wait_seconds)

    def __enter__(self) -> TimedJoin:
        started = time.perf_counter()
        self.inner.__enter__()
        self.join_seconds = time.perf_counter() - started
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.inner.__exit__(exc_type, exc, traceback)


def cluster_cpu_seconds(cluster: RayCluster) -> float:
    """CPU time used so far by the processes of the cluster's nodes (each node's
    processes keep the process group of the ``ray start`` that began it)."""
    groups = {node.process.pid for node in [cluster.head, *cluster.workers]}
    total = 0
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue  # not a process, or one that has just ended
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[2]) in groups:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def settle(cluster: RayCluster, timeout: float = 30) -> None:
    """Wait until the cluster's own processes are idle (under 10% of a core over a
    second): Ray starts idle workers when a node starts, and a scan's workers take a
    moment to exit after it; neither must land in the next contender's scan."""
    deadline = time.monotonic() + timeout
    before = cluster_cpu_seconds(cluster)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = cluster_cpu_seconds(cluster)
        if now - before < 0.1:
            return
        before = now


def scan_once(
    folder: Path, executor: ScanExecutor, scratch: Path, cluster: RayCluster
) -> tuple[float, float, int]:
    """(whole-scan seconds, seconds spent joining Ray, files) of one scan into a new case,
    begun once ``cluster`` is idle."""
    settle(cluster)
    case = Path(tempfile.mkdtemp(dir=scratch))
    store = SqlCaseStore.open_folder(case, __version__)
    try:
        report = run_scan(store, [folder], ScanOptions(workers=2), None, executor)
    finally:
        store.close()
        shutil.rmtree(case)
    join = executor.join_seconds if isinstance(executor, TimedJoin) else 0.0
    files = report.tally.items + report.tally.errors
    assert report.completed and files == len(list(folder.iterdir()))
    return report.seconds, join, files


Run = tuple[float, float, int]  # whole-scan seconds, seconds joining Ray, files


def fit(small: Run, large: Run) -> tuple[float, float]:
    """(seconds per file, fixed seconds per scan) from a scan of ``n`` and of ``4n``
    files by the same contender: the difference leaves out what every scan pays once."""
    (small_s, small_join, small_files), (large_s, large_join, large_files) = small, large
    per_file = ((large_s - large_join) - (small_s - small_join)) / (large_files - small_files)
    return per_file, (small_s - small_join) - small_files * per_file


def summary(runs: list[tuple[Run, Run]]) -> dict[str, float]:
    """A contender's medians over (``n``, ``4n``) pairs of scans."""
    fits = [fit(small, large) for small, large in runs]
    return {
        "files_per_s": statistics.median(1 / per_file for per_file, _ in fits),
        "fixed_seconds": statistics.median(fixed for _, fixed in fits),
        "join_seconds": statistics.median(small[1] for small, _ in runs),
        "whole_scan_files_per_s_n": statistics.median(s[2] / s[0] for s, _ in runs),
        "whole_scan_files_per_s_4n": statistics.median(b[2] / b[0] for _, b in runs),
    }


def overhead(folders: dict[str, tuple[Path, Path]], reps: int, scratch: Path) -> dict[str, Any]:
    """Local pebble (2 workers) vs Ray on one node of 2 CPUs, alternating."""
    cluster = start_cluster(worker_nodes=0, head_cpus=2)
    results: dict[str, Any] = {}
    try:
        for name, (small, large) in folders.items():
            local: list[tuple[Run, Run]] = []
            on_ray: list[tuple[Run, Run]] = []
            for _ in range(reps):
                pair = [
                    (
                        scan_once(folder, PebbleExecutor(2), scratch, cluster),
                        scan_once(
                            folder, TimedJoin(RayExecutor(cluster.address)), scratch, cluster
                        ),
                    )
                    for folder in (small, large)
                ]
                local.append((pair[0][0], pair[1][0]))
                on_ray.append((pair[0][1], pair[1][1]))
            # Each rep's four scans ran back to back, under much the same load.
            ratios = [
                fit(*mine)[0] / fit(*theirs)[0] for mine, theirs in zip(local, on_ray, strict=True)
            ]
            local_summary, ray_summary = summary(local), summary(on_ray)
            results[name] = {
                "local": local_summary,
                "ray": ray_summary,
                "ratio": statistics.median(ratios),
                "rep_ratios": ratios,
                "whole_scan_ratio_n": ray_summary["whole_scan_files_per_s_n"]
                / local_summary["whole_scan_files_per_s_n"],
                "whole_scan_ratio_4n": ray_summary["whole_scan_files_per_s_4n"]
                / local_summary["whole_scan_files_per_s_4n"],
                "files": [len(list(small.iterdir())), len(list(large.iterdir()))],
            }
            print(f"  {name}: {json.dumps(results[name])}", flush=True)
    finally:
        cluster.stop()
    return results


def joining(folders: tuple[Path, Path], reps: int, scratch: Path) -> dict[str, Any]:
    """Ray with one pinned worker node process, then two."""
    cluster = start_cluster(worker_nodes=0, head_cpus=1, pin=True)
    result: dict[str, Any] = {}
    try:
        for processes in (1, 2):
            if processes == 2:
                add_worker_node(cluster, core=1)
                wait_for_nodes(cluster, 2, 120)
            runs = [
                (
                    scan_once(
                        folders[0], TimedJoin(RayExecutor(cluster.address)), scratch, cluster
                    ),
                    scan_once(
                        folders[1], TimedJoin(RayExecutor(cluster.address)), scratch, cluster
                    ),
                )
                for _ in range(reps)
            ]
            result[f"{processes}_workers"] = summary(runs)
            print(f"  {processes} worker(s): {json.dumps(result[f'{processes}_workers'])}")
    finally:
        cluster.stop()
    result["speedup"] = result["2_workers"]["files_per_s"] / result["1_workers"]["files_per_s"]
    return result


def writer_ceiling(store: SqlCaseStore, template: Path, rows: int) -> float:
    """Rows/s ``record_files`` commits, in batches of 100, of copies of one real record."""
    record = fingerprint_file(str(template), template.name, FingerprintOptions())
    source = store.open_source(f"/bench/{time.time_ns()}")
    scan_id = store.start_scan(["/bench"])
    batch = 100
    started = time.perf_counter()
    for first in range(0, rows, batch):
        store.record_files(
            scan_id,
            [
                (source, replace(record, path=f"f{index:07d}.jpg"))
                for index in range(first, first + batch)
            ],
        )
    return rows / (time.perf_counter() - started)


def writers(template: Path, rows: int, scratch: Path) -> dict[str, float]:
    ceilings: dict[str, float] = {}
    case = Path(tempfile.mkdtemp(dir=scratch))
    store = SqlCaseStore.open_folder(case, __version__)
    try:
        ceilings["sqlite"] = writer_ceiling(store, template, rows)
    finally:
        store.close()
        shutil.rmtree(case)
    url = os.environ.get("CLEARSIGHT_TEST_POSTGRES_URL")
    if url:
        from tests.conftest import fresh_schema

        store = SqlCaseStore.open_url(fresh_schema("bench_writer"), "bench", __version__)
        try:
            ceilings["postgresql"] = writer_ceiling(store, template, rows)
        finally:
            store.close()
    print(f"  writer ceilings (rows/s): {json.dumps(ceilings)}", flush=True)
    return ceilings


def model(
    per_node: dict[str, float], mean_bytes: dict[str, float], ceilings: dict[str, float]
) -> dict[str, Any]:
    """On paper: N nodes of this machine's rate, one writer, one network link each."""
    out: dict[str, Any] = {}
    for name, rate in per_node.items():
        out[name] = {
            "files_per_s_per_node": rate,
            "network_mb_per_s_per_node": rate * mean_bytes[name] / 1e6,
            "nodes_until_writer_bound": {
                writer: ceiling / rate for writer, ceiling in ceilings.items()
            },
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count-1mp", type=int, default=96)
    parser.add_argument("--count-6mp", type=int, default=48)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.update(CLUSTER_ENV)
    args.workdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=args.workdir))
    folders = {
        name: (small, repeated(small, 4))
        for name, small in (
            ("1mp", corpus(args.workdir, "1mp", args.count_1mp)),
            ("6mp", corpus(args.workdir, "6mp", args.count_6mp)),
        )
    }
    mean_bytes = {name: warm(f) / len(list(f.iterdir())) for name, (f, _) in folders.items()}
    started = time.perf_counter()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores", flush=True)
    load = os.getloadavg()[0]
    print(f"load average at the start: {load:.2f}", flush=True)
    print("1. local pebble (2 workers) vs Ray (1 node, 2 CPUs)", flush=True)
    over = overhead(folders, args.reps, scratch)
    print("2. Ray worker processes joining (each pinned to one core), 1 MP", flush=True)
    join = joining(folders["1mp"], max(1, args.reps - 1), scratch)
    print("3. the single writer", flush=True)
    ceilings = writers(next(folders["1mp"][0].iterdir()), args.rows, scratch)
    per_node = {name: result["ray"]["files_per_s"] for name, result in over.items()}
    paper = model(per_node, mean_bytes, ceilings)
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}", flush=True)
    result = {
        "overhead": over,
        "joining": join,
        "writer_rows_per_s": ceilings,
        "mean_file_bytes": mean_bytes,
        "model": paper,
        "seconds": time.perf_counter() - started,
        "load_average": [load, os.getloadavg()[0]],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    for name, values in over.items():
        small, large = values["files"]
        print(
            f"{name}: Ray/local files/s per file = {values['ratio']:.3f} (median of reps; "
            f"reps {', '.join(f'{r:.2f}' for r in values['rep_ratios'])}); fixed cost per "
            f"scan: Ray {values['ray']['fixed_seconds']:.2f} s (joining "
            f"{values['ray']['join_seconds']:.2f} s apart), local "
            f"{values['local']['fixed_seconds']:.2f} s; whole scan of {small} / {large} files: "
            f"{values['whole_scan_ratio_n']:.3f} / {values['whole_scan_ratio_4n']:.3f}"
        )
    print(
        f"1 -> 2 Ray worker processes: x{join['speedup']:.2f} per file (fixed cost per scan "
        f"{join['1_workers']['fixed_seconds']:.2f} s -> {join['2_workers']['fixed_seconds']:.2f} s)"
    )
    for name, values in paper.items():
        bound = ", ".join(f"{w} {n:.0f}" for w, n in values["nodes_until_writer_bound"].items())
        print(
            f"model {name}: {values['files_per_s_per_node']:.1f} files/s per 2-core node, "
            f"{values['network_mb_per_s_per_node']:.1f} MB/s read per node; "
            f"nodes until the writer bounds: {bound}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
