"""PDQ radius lookups in big banks: clearsight's multi-index hash against two yardsticks.

Why: reference lists hold 5M to 60M+ hashes, and every scanned item is looked up eight
times (its PDQ hash and seven rotations and flips). The issue's targets at 10M codes on
this machine: at least 4,000 lookups/s at radius 31, recall 100% up to distance 15 and
at least 99.9% from 16 to 31, index memory at most 2 GB.

For each bank size N the script draws N random 256-bit codes, and queries planted at
every distance 0-40 from a random code (``--per-distance`` of each), then runs, in the
same run and on the same codes and queries:

* **clearsight**: ``MultiIndexPdqIndex`` (this venv), built on every core, queried in
  one batch on 1 and on 2 threads;
* **faiss flat**: faiss ``IndexBinaryFlat.range_search``, exact brute force. Its hits
  are the ground truth every recall figure is measured against;
* **threatexchange**: python-threatexchange's ``PDQIndex`` (faiss MIH, 16 tables of 16
  bits, the HMA default), queried in batches.

The yardsticks run in their own venv (``<workdir>/venv-baselines``, created on first
use: ``pip install threatexchange faiss-cpu``), in a subprocess each, so their memory is
measured apart. Memory is what the build added to the process's resident set; for
clearsight the arrays' own size is shown too.

Usage: python benchmarks/pdq_index.py [--sizes 1000000,10000000] [--per-distance 25]
[--reps 3] [--workdir DIR] [--skip CONTENDER ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from clearsight.cores import available_cores
from clearsight.index import mih_kernels  # noqa: F401  (numba loaded before memory is measured)
from clearsight.index.mih import MultiIndexPdqIndex

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO_ROOT / ".bench" / "pdq_index"
BASELINES = Path(__file__).with_name("pdq_index_baselines.py")
RADIUS = 31
MAX_PLANTED = 40
BANDS = ((0, 15), (16, 31), (32, MAX_PLANTED))
FLAT_TIMED_QUERIES = 200
"""Brute force at 10M runs at tens of queries/s: time it on this many queries only."""

Codes = npt.NDArray[np.uint64]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def make_data(
    size: int, per_distance: int, seed: int
) -> tuple[Codes, Codes, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Random codes; queries planted at each distance 0-40; each one's base code and distance."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2**64, size=(size, 4), dtype=np.uint64)
    planted = np.repeat(np.arange(MAX_PLANTED + 1), per_distance)
    bases = rng.integers(0, size, size=planted.shape[0])
    queries = codes[bases].copy()
    for number, distance in enumerate(planted):
        for bit in rng.choice(256, size=distance, replace=False):
            queries[number, bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    order = rng.permutation(queries.shape[0])  # mixed distances, as a real batch is
    return codes, queries[order], bases[order], planted[order]


def ensure_baselines(workdir: Path) -> Path:
    """The python of ``<workdir>/venv-baselines``, creating the venv if needed."""
    venv = workdir / "venv-baselines"
    python = venv / "bin" / "python"
    if python.exists():
        return python
    log(f"creating {venv} and installing threatexchange and faiss-cpu (once)...")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "threatexchange", "faiss-cpu"],
        check=True,
    )
    return python


def run_clearsight(codes: Codes, queries: Codes, reps: int) -> dict[str, Any]:
    before = rss_bytes()
    started = time.perf_counter()
    index = MultiIndexPdqIndex.build(codes, RADIUS)
    build = time.perf_counter() - started
    grown = rss_bytes() - before
    index.search_many(queries[:4], RADIUS, threads=1)  # compile, or load compiled code
    hits = index.search_many(queries, RADIUS)
    rates: dict[str, float] = {}
    for threads in sorted({1, available_cores()}):
        seconds = []
        for _ in range(reps):
            began = time.perf_counter()
            index.search_many(queries, RADIUS, threads=threads)
            seconds.append(time.perf_counter() - began)
        rates[str(threads)] = queries.shape[0] / statistics.median(seconds)
    return {
        "build_s": build,
        "rss_bytes": grown,
        "index_bytes": index.nbytes,
        "layout": list(index.layout.chunk_bits),
        "qps": rates,
        "hits": [
            [int(q), int(p), int(d)]
            for q, p, d in zip(hits.queries, hits.positions, hits.distances, strict=True)
        ],
    }


def run_baseline(
    python: Path, contender: str, codes_path: Path, queries_path: Path
) -> dict[str, Any]:
    threads = ",".join(str(t) for t in sorted({1, available_cores()}))
    command = [str(python), str(BASELINES), contender, str(codes_path), str(queries_path)]
    command += [str(RADIUS), threads]
    if contender == "flat":
        command += ["--time-queries", str(FLAT_TIMED_QUERIES)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-600:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def recall(
    hits: Sequence[Sequence[int]], truth: Sequence[Sequence[int]]
) -> dict[str, float | None]:
    """Share of the true (query, code) pairs found, by band of their true distance."""
    found = {(q, p) for q, p, _ in hits}
    shares: dict[str, float | None] = {}
    for low, high in BANDS:
        wanted = [(q, p) for q, p, d in truth if low <= d <= high]
        shares[f"{low}-{high}"] = (
            sum(pair in found for pair in wanted) / len(wanted) if wanted else None
        )
    return shares


def bench_size(size: int, args: argparse.Namespace, python: Path | None) -> dict[str, Any]:
    log(f"N={size:,}: drawing codes and planting {args.per_distance} queries per distance")
    codes, queries, bases, planted = make_data(size, args.per_distance, seed=size)
    args.workdir.mkdir(parents=True, exist_ok=True)
    codes_path = args.workdir / f"codes-{size}.npy"
    queries_path = args.workdir / f"queries-{size}.npy"
    np.save(codes_path, codes)
    np.save(queries_path, queries)
    results: dict[str, Any] = {"size": size, "queries": int(queries.shape[0])}
    log("  clearsight ...")
    results["clearsight"] = run_clearsight(codes, queries, args.reps)
    del codes
    for contender in ("flat", "threatexchange"):
        if contender in args.skip or python is None:
            continue
        log(f"  {contender} ...")
        results[contender] = run_baseline(python, contender, codes_path, queries_path)
    truth = results.get("flat", {}).get("hits")
    if truth is None:  # without the flat index, the planted pairs are the truth
        truth = [
            [q, int(b), int(d)]
            for q, (b, d) in enumerate(zip(bases, planted, strict=True))
            if d <= RADIUS
        ]
    for contender in ("clearsight", "threatexchange"):
        if "hits" in results.get(contender, {}):
            results[contender]["recall"] = recall(results[contender]["hits"], truth)
    codes_path.unlink()
    queries_path.unlink()
    return results


def machine_facts() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": available_cores(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def _num(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def format_table(summary: dict[str, Any]) -> str:
    lines = [f"machine: {summary['machine']}", f"radius {RADIUS}"]
    for result in summary["sizes"]:
        lines.append("")
        lines.append(f"N = {result['size']:,} codes, {result['queries']} queries (0-40 bits)")
        header = f"{'contender':16}{'build s':>9}{'memory MB':>11}{'q/s 1 core':>12}"
        header += f"{'q/s 2 cores':>13}{'recall 0-15':>13}{'16-31':>9}"
        lines.append(header)
        for contender in ("clearsight", "threatexchange", "flat"):
            row = result.get(contender)
            if row is None:
                continue
            if "error" in row:
                lines.append(f"{contender:16}failed: {row['error'][:200]}")
                continue
            qps = row["qps"]
            shares = row.get("recall", {})
            low, mid = shares.get("0-15"), shares.get("16-31")
            lines.append(
                f"{contender:16}{row['build_s']:>9.1f}{row['rss_bytes'] / 1e6:>11,.0f}"
                f"{_num(qps.get('1')):>12}{_num(qps.get('2')):>13}"
                f"{_num(None if low is None else 100 * low, 2):>12}%"
                f"{_num(None if mid is None else 100 * mid, 2):>8}%"
            )
        ours = result["clearsight"]
        lines.append(
            f"clearsight arrays: {ours['index_bytes'] / 1e6:,.0f} MB, chunks {ours['layout']}"
        )
        for contender in ("threatexchange", "flat"):
            theirs = result.get(contender, {}).get("qps")
            if theirs:
                for cores in ours["qps"]:
                    ratio = ours["qps"][cores] / theirs[cores]
                    lines.append(f"clearsight / {contender} on {cores} core(s): {ratio:,.1f}x")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="bank sizes, comma-separated")
    parser.add_argument("--per-distance", type=int, default=25, help="queries per distance 0-40")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["flat", "threatexchange"],
        help="yardsticks to skip",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object (hits left out)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    python = None
    if len(args.skip) < 2:
        try:
            python = ensure_baselines(args.workdir)
        except (OSError, subprocess.CalledProcessError) as exc:
            log(f"baselines unavailable: {exc}")
    sizes = [bench_size(int(size), args, python) for size in args.sizes.split(",")]
    for result in sizes:
        for contender in ("clearsight", "threatexchange", "flat"):
            result.get(contender, {}).pop("hits", None)
    summary = {"machine": machine_facts(), "radius": RADIUS, "sizes": sizes}
    print(json.dumps(summary, indent=2) if args.json else format_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
