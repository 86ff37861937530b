"""PDQ radius lookups in big banks: clearsight's multi-index hash against two yardsticks.

Why: reference lists hold 5M to 60M+ hashes, and every scanned item is looked up eight
times (its PDQ hash and seven rotations and flips). The issue's targets at 10M codes on
this machine: at least 4,000 lookups/s at radius 31, recall 100% up to distance 15 and
at least 99.9% from 16 to 31, index memory at most 2 GB.

For each bank size N the script draws N random 256-bit codes, and queries planted at
every distance 0-40 from a random code (``--per-distance`` of each), and writes both
as hex files, one hash a line (a bank's entry id is its line number). Then every
contender does the same work from those files, each in a process of its own:

* **build**: read the bank's hex file and build the index from it, on every core;
* **lookup pass**: from the query hex strings, the (entry id, distance) of every code
  within radius 31, for every query, in one batch;
* **the same warm-up** for all: an untimed build of 1,000 codes, one untimed lookup
  pass (whose output is compared), then ``--reps`` timed passes on 1 and on every core,
  median.

The contenders:

* **clearsight**: ``MultiIndexPdqIndex`` (``pdq_index_clearsight.py``, this venv);
* **faiss flat**: faiss ``IndexBinaryFlat.range_search``, exact brute force. Its hits
  are the ground truth every recall figure is measured against;
* **threatexchange**: python-threatexchange's ``PDQIndex`` (faiss MIH, 16 tables of 16
  bits, the HMA default), queried in one batch through its own API.

The script checks that the outputs agree (the same (query, entry id, distance) triples)
and prints the ratios. The yardsticks (``pdq_index_baselines.py``) run on this venv's
python when it has threatexchange and faiss (the dev extras do), else in their own venv
(``<workdir>/venv-baselines``, created on first use). Memory is what the build added to
the process's resident set; for clearsight the arrays' own size is shown too. The load
average before and after is printed: the figures mean little on a busy machine.

Usage: python benchmarks/pdq_index.py [--sizes 1000000,10000000] [--per-distance 25]
[--reps 3] [--workdir DIR] [--skip flat|threatexchange ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from clearsight.cores import available_cores

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO_ROOT / ".bench" / "pdq_index"
CLEARSIGHT = Path(__file__).with_name("pdq_index_clearsight.py")
BASELINES = Path(__file__).with_name("pdq_index_baselines.py")
CONTENDERS = ("clearsight", "threatexchange", "flat")
RADIUS = 31
MAX_PLANTED = 40
BANDS = ((0, 15), (16, 31), (32, MAX_PLANTED))
HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

Codes = npt.NDArray[np.uint64]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def write_hexes(path: Path, codes: Codes) -> None:
    """``codes`` as lowercase hex, one hash a line."""
    raw = np.ascontiguousarray(codes.astype(">u8")).view(np.uint8).reshape(-1, 32)
    text = np.empty((raw.shape[0], 65), dtype=np.uint8)
    text[:, 0:64:2] = HEX_DIGITS[raw >> 4]
    text[:, 1:64:2] = HEX_DIGITS[raw & 15]
    text[:, 64] = ord("\n")
    path.write_bytes(text.tobytes())


def baseline_python(workdir: Path) -> Path:
    """This python if it has the yardsticks, else that of ``<workdir>/venv-baselines``
    (created if needed)."""
    check = [sys.executable, "-c", "import faiss, threatexchange"]
    if subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return Path(sys.executable)
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


def run_contender(
    python: Path, contender: str, bank_path: Path, queries_path: Path, reps: int
) -> dict[str, Any]:
    """One contender in a process of its own, so that its memory is measured apart."""
    threads = ",".join(str(t) for t in sorted({1, available_cores()}))
    if contender == "clearsight":
        command = [str(python), str(CLEARSIGHT)]
    else:
        command = [str(python), str(BASELINES), contender]
    command += [str(bank_path), str(queries_path), str(RADIUS), threads, str(reps)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-600:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def agreement(results: dict[str, Any]) -> dict[str, Any]:
    """Whether each yardstick's (query, entry id, distance) triples are clearsight's."""
    ours = {tuple(hit) for hit in results.get("clearsight", {}).get("hits", ())}
    verdicts: dict[str, Any] = {}
    for contender in ("threatexchange", "flat"):
        theirs = results.get(contender, {}).get("hits")
        if theirs is None or "hits" not in results.get("clearsight", {}):
            continue
        their_set = {tuple(hit) for hit in theirs}
        verdicts[contender] = {
            "same": ours == their_set,
            "triples": len(their_set),
            "only_clearsight": len(ours - their_set),
            "only_" + contender: len(their_set - ours),
        }
    return verdicts


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
    bank_path = args.workdir / f"bank-{size}.hex"
    queries_path = args.workdir / f"queries-{size}.hex"
    write_hexes(bank_path, codes)
    write_hexes(queries_path, queries)
    del codes, queries
    results: dict[str, Any] = {"size": size, "queries": int(bases.shape[0])}
    for contender in CONTENDERS:
        if contender in args.skip:
            continue
        runner = Path(sys.executable) if contender == "clearsight" else python
        if runner is None:
            continue
        log(f"  {contender} ...")
        results[contender] = run_contender(runner, contender, bank_path, queries_path, args.reps)
    results["agreement"] = agreement(results)
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
    bank_path.unlink()
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


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _num(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def format_table(summary: dict[str, Any]) -> str:
    lines = [
        f"machine: {summary['machine']}",
        f"load average (1, 5, 15 min): before {summary['load_before']}, "
        f"after {summary['load_after']}",
        f"radius {RADIUS}; from hex files to (entry id, distance) per query; "
        f"median of {summary['reps']}",
    ]
    for result in summary["sizes"]:
        lines.append("")
        lines.append(f"N = {result['size']:,} codes, {result['queries']} queries (0-40 bits)")
        header = f"{'contender':16}{'build s':>9}{'memory MB':>11}{'q/s 1 core':>12}"
        header += f"{'q/s 2 cores':>13}{'recall 0-15':>13}{'16-31':>9}"
        lines.append(header)
        for contender in CONTENDERS:
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
        ours = result.get("clearsight", {})
        if "qps" not in ours:
            continue
        lines.append(
            f"clearsight arrays: {ours['index_bytes'] / 1e6:,.0f} MB, chunks {ours['layout']}"
        )
        for contender, verdict in result["agreement"].items():
            same = "agree" if verdict["same"] else "DIFFER"
            lines.append(
                f"outputs, clearsight and {contender}: {same} ({verdict['triples']} triples; "
                f"only clearsight {verdict['only_clearsight']}, "
                f"only {contender} {verdict['only_' + contender]})"
            )
        lines.append("CPU seconds (process time, less hurt by other load than wall time):")
        for contender in CONTENDERS:
            row = result.get(contender, {})
            if "query_cpu_s" in row:
                lines.append(
                    f"  {contender:16}build {row['build_cpu_s']:,.2f} s, lookup pass on 1 core "
                    f"{row['query_cpu_s']['1']:,.3f} s"
                )
        for contender in ("threatexchange", "flat"):
            theirs = result.get(contender, {})
            if "qps" not in theirs:
                continue
            lines.append(f"clearsight / {contender}, speed:")
            for cores in ours["qps"]:
                ratio = ours["qps"][cores] / theirs["qps"][cores]
                lines.append(f"  lookups on {cores} core(s): {ratio:,.1f}x")
            cpu = theirs["query_cpu_s"]["1"] / ours["query_cpu_s"]["1"]
            lines.append(f"  lookups on 1 core, CPU time: {cpu:,.1f}x")
            ratio = theirs["build_s"] / ours["build_s"]
            cpu = theirs["build_cpu_s"] / ours["build_cpu_s"]
            lines.append(f"  build: {ratio:,.1f}x (CPU time: {cpu:,.1f}x)")
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
    load_before = load_average()
    python = None
    if len(args.skip) < 2:
        try:
            python = baseline_python(args.workdir)
        except (OSError, subprocess.CalledProcessError) as exc:
            log(f"baselines unavailable: {exc}")
    sizes = [bench_size(int(size), args, python) for size in args.sizes.split(",")]
    for result in sizes:
        for contender in CONTENDERS:
            result.get(contender, {}).pop("hits", None)
    summary = {
        "machine": machine_facts(),
        "radius": RADIUS,
        "reps": args.reps,
        "load_before": load_before,
        "load_after": load_average(),
        "sizes": sizes,
    }
    print(json.dumps(summary, indent=2) if args.json else format_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
