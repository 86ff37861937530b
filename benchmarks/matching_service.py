"""Lookups per second and latency of the matching service (``clearsight api``), with the
bare index it serves as the baseline, in one run.

Setup: a bank of ``--size`` random PDQ hashes (default 1M), imported once into a
CLEARSIGHT_HOME of its own and kept between runs (``--home``). The service is started
as a user would (``clearsight api --workers W``) for each ``--workers`` value and loaded
by ``wrk`` (Debian's package) with ``--connections`` concurrent clients on 127.0.0.1;
each request asks for a fresh random hash, one in ten a few bits from a bank entry (a
match). The load generator shares the machine's cores: its CPU share is printed.

Baseline, same run: the bare index (the service's own ``LiveIndex``, in-process, one
query per call, one thread): the ceiling the HTTP layer is measured against. The
issue's target is 2,000 lookups/s at p99 <= 50 ms; HMA's published figure is about
50 requests/s per pod. Ratios to both are printed.

CPU: the service's CPU time (all its processes and threads, /proc/PID/stat) per
lookup, and the bare index's per query: on a machine shared with other work these
stay near what an idle machine gives, where rates and latencies do not.

Memory: the proportional set size (PSS, /proc/PID/smaps_rollup) of all the service's
processes, so pages two workers share count once; a second worker's cost is the
difference between 2 and 1 workers.

    .venv/bin/python benchmarks/matching_service.py                  # 1M, 1 and 2 workers
    .venv/bin/python benchmarks/matching_service.py --size 10000000 --duration 30
    .venv/bin/python benchmarks/matching_service.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TARGET_RATE = 2000.0
TARGET_P99_MS = 50.0
HMA_PER_POD = 50.0
NEAR_SHARE = 0.1
PATHS = {
    "raw_lookup": "/m/raw_lookup?signal_type=pdq&include_distance=true&signal=",
    "lookup": "/m/lookup?signal_type=pdq&signal=",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="PDQ hashes in the bank")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--home", type=Path, help="CLEARSIGHT_HOME to keep the bank in")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("matching_service: needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    home = args.home or Path(tempfile.gettempdir()) / f"clearsight-bench-api-{args.size}"
    env = {**os.environ, "CLEARSIGHT_HOME": str(home), "PYTHONPATH": str(REPO / "src")}
    rng = np.random.default_rng(2026)
    bank = prepare_bank(home, args.size, env, rng)
    token = make_key(env)
    queries = query_hashes(bank, rng, 4000)
    result: dict[str, Any] = {
        "size": args.size,
        "connections": args.connections,
        "duration_s": args.duration,
        "load_before": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    result["bare_index"] = bare_index(env, queries)
    script = wrk_script(queries, token)
    runs: list[dict[str, Any]] = []
    for workers in args.workers:
        runs.append(serve_and_load(env, workers, script, args.connections, args.duration))
    result["service"] = runs
    result["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


def prepare_bank(home: Path, size: int, env: dict[str, str], rng: np.random.Generator) -> Path:
    """The bank's hashes (a file kept in ``home``), imported once."""
    listing = home / "bank.txt"
    done = home / "imported"
    if done.exists():
        return listing
    home.mkdir(parents=True, exist_ok=True)
    codes = rng.integers(0, 2**63, size=(size, 4), dtype=np.uint64)
    raw = codes.astype(">u8").tobytes().hex()
    with listing.open("w") as out:
        for start in range(0, len(raw), 64):
            out.write(raw[start : start + 64] + "\n")
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "clearsight", "bank", "import", "BENCH", str(listing), "--signal", "pdq"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"imported {size:,} hashes in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    done.write_text("yes")
    return listing


def make_key(env: dict[str, str]) -> str:
    name = f"bench-{os.getpid()}-{time.time_ns()}"
    made = subprocess.run(
        [PYTHON, "-m", "clearsight", "api-key", "add", name, "--role", "matcher", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token: str = json.loads(made.stdout)["token"]
    return token


def query_hashes(listing: Path, rng: np.random.Generator, count: int) -> list[str]:
    """``count`` hashes: one in ten a few bits from a bank entry, the rest random."""
    with listing.open() as lines:
        sample = [line.strip() for _, line in zip(range(50_000), lines, strict=False)]
    queries: list[str] = []
    for _ in range(count):
        if rng.random() < NEAR_SHARE:
            code = bytearray(bytes.fromhex(sample[int(rng.integers(len(sample)))]))
            for bit in rng.choice(256, size=int(rng.integers(0, 12)), replace=False):
                code[bit // 8] ^= 1 << (bit % 8)
            queries.append(code.hex())
        else:
            queries.append(rng.bytes(32).hex())
    return queries


BARE = """
import json, sys, time
import numpy as np
from clearsight.case import CaseBanks
from clearsight.signals.pdq import PdqSignal
queries = json.load(sys.stdin)
index = CaseBanks().live_index()
index.refresh()
codes = PdqSignal.pack(queries)
for row in range(200):
    index.search_pdq(codes[row : row + 1])
times = []
found = 0
started = time.perf_counter()
cpu = time.process_time()
for row in range(codes.shape[0]):
    begun = time.perf_counter()
    found += len(index.search_pdq(codes[row : row + 1]))
    times.append(time.perf_counter() - begun)
wall = time.perf_counter() - started
cpu = time.process_time() - cpu
batched = time.perf_counter()
for start in range(0, codes.shape[0], 32):
    index.search_pdq(codes[start : start + 32])
batched = time.perf_counter() - batched
times.sort()
print(json.dumps({
    "rate": len(times) / wall,
    "cpu_ms": 1000 * cpu / len(times),
    "p50_ms": 1000 * times[len(times) // 2],
    "p99_ms": 1000 * times[int(len(times) * 0.99)],
    "batched_rate": len(times) / batched,
    "matches": found,
}))
"""


def bare_index(env: dict[str, str], queries: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-c", BARE],
        input=json.dumps(queries),
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def wrk_script(queries: list[str], token: str) -> str:
    hashes = ",".join(f'"{value}"' for value in queries)
    return f"""
local hashes = {{{hashes}}}
local path = ""
local n = 0
init = function(args) path = args[1] end
request = function()
  n = n + 1
  local value = hashes[(n % #hashes) + 1]
  return wrk.format("GET", path .. value, {{["Authorization"] = "Bearer {token}"}})
end
"""


def serve_and_load(
    env: dict[str, str], workers: int, script: str, connections: int, duration: int
) -> dict[str, Any]:
    port = free_port()
    log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)
    started = time.perf_counter()
    server = subprocess.Popen(
        [PYTHON, "-m", "clearsight", "api", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    figures: dict[str, Any] = {"workers": workers}
    try:
        wait_ready(base, server, log.name)
        figures["ready_s"] = time.perf_counter() - started
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(script)
        for name, path in PATHS.items():
            run_wrk(base, lua.name, path, connections, 3)  # warm up every worker
            before = service_cpu_s(server.pid)
            figures[name] = run_wrk(base, lua.name, path, connections, duration)
            spent = service_cpu_s(server.pid) - before
            figures[name]["cpu_ms"] = 1000 * spent / figures[name]["requests"]
        figures["pss_mib"] = pss_mib(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    return figures


def wait_ready(base: str, server: subprocess.Popen[bytes], log: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the service ended: {Path(log).read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/status", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the service did not become ready")


def run_wrk(base: str, lua: str, path: str, connections: int, duration: int) -> dict[str, Any]:
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
        "-s", lua, base, "--", path,
    ]  # fmt: skip
    before = os.times()
    begun = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - begun
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    latency = {
        f"p{int(p)}_ms": to_ms(value)
        for p, value in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rate": rate,
        "requests": requests,
        **latency,
        "non_2xx": int(errors[1]) if errors else 0,
        "wrk_cpu_share": cpu / wall,
    }


def to_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def service_cpu_s(pid: int) -> float:
    """CPU seconds (user and system, every thread) used so far by ``pid`` and its
    descendants: per lookup, the figure a loaded machine does not distort."""
    total = 0
    for each in process_tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            pids.append(child)
            frontier.append(child)
    return pids


def pss_mib(pid: int) -> float:
    """PSS of ``pid`` and its descendants, in MiB."""
    total = 0
    for each in process_tree(pid):
        try:
            text = Path(f"/proc/{each}/smaps_rollup").read_text()
        except OSError:
            continue
        match = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
        total += int(match[1]) if match else 0
    return total / 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def print_table(result: dict[str, Any]) -> None:
    bare = result["bare_index"]
    print(
        f"bank {result['size']:,} PDQ; {result['connections']} connections, "
        f"{result['duration_s']} s per run; {result['cpus']} CPUs; load before "
        f"{result['load_before'][0]:.1f}, after {result['load_after'][0]:.1f}"
    )
    print(
        f"baseline, bare index (1 thread, 1 query a call): {bare['rate']:,.0f}/s, "
        f"p50 {bare['p50_ms']:.2f} ms, p99 {bare['p99_ms']:.2f} ms; "
        f"32 a call: {bare['batched_rate']:,.0f}/s; CPU {bare['cpu_ms']:.3f} ms a query"
    )
    print(
        f"{'workers':>7} {'route':<11} {'lookups/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'÷bare':>6} {'÷2000':>6} {'÷HMA':>6} {'wrk CPU':>8} {'PSS MiB':>8} "
        f"{'CPU ms':>7} {'ceiling/s':>9}"
    )
    for run in result["service"]:
        for route in PATHS:
            figures = run[route]
            print(
                f"{run['workers']:>7} {route:<11} {figures['rate']:>10,.0f} "
                f"{figures.get('p50_ms', float('nan')):>7.1f} "
                f"{figures.get('p99_ms', float('nan')):>7.1f} "
                f"{figures['rate'] / bare['rate']:>6.2f} {figures['rate'] / TARGET_RATE:>6.2f} "
                f"{figures['rate'] / HMA_PER_POD:>6.1f} {figures['wrk_cpu_share']:>7.0%} "
                f"{run['pss_mib']:>8.0f} {figures['cpu_ms']:>7.3f} "
                f"{ceiling(result['cpus'], figures):>9,.0f}"
            )
            if figures["non_2xx"]:
                print(f"        ({figures['non_2xx']} answers were not 2xx)")
    if len(result["service"]) >= 2:
        one, two = result["service"][0]["pss_mib"], result["service"][1]["pss_mib"]
        print(f"memory (PSS) of 2 workers over 1: {two / one:.2f}x (+{two - one:.0f} MiB)")
    medians = [run["raw_lookup"]["rate"] for run in result["service"]]
    print(f"median raw_lookup rate over the worker counts: {statistics.median(medians):,.0f}/s")
    print(
        "CPU ms: the service's CPU time (every process and thread) per lookup; ceiling: "
        "the rate the machine's cores, less wrk's share, would allow at that cost"
    )


def ceiling(cpus: int | None, figures: dict[str, Any]) -> float:
    """Lookups/s that would use every core but wrk's at the measured CPU per lookup:
    what a loaded machine's share hides (an estimate: it takes the work to spread
    over the cores)."""
    free = (cpus or 1) - figures["wrk_cpu_share"]
    return float(1000 * free / figures["cpu_ms"]) if figures["cpu_ms"] else float("nan")


if __name__ == "__main__":
    sys.exit(main())
