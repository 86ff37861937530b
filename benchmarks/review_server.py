"""The review server under load: queue pages and decision round-trips at 1M items.

Why: a team works one big case at once. The issue's targets, with 1M items in
PostgreSQL: the queue page p95 <= 100 ms, and a decision round-trip p95 <= 50 ms under
20 concurrent reviewers on loopback; and the same queries on SQLite in the same run.

What runs, for each database (PostgreSQL first, then SQLite as the comparison):

* a synthetic case of ``--size`` items (``synthetic_case.fill_case``: priorities on
  every item, stacks over 4 %, series over 5 %, matches, origins, 3 % decided);
* a real ``clearsight serve`` process on 127.0.0.1 (uvicorn, one process);
* **queue**: one signed-in reviewer loads the queue page (HTML, first page) and the
  JSON queue with each filter, then pages on 20 times with the ``after`` token;
  ``--queue-requests`` requests of each kind, one at a time;
* **decisions**: ``--reviewers`` threads, each signed in as its own reviewer, each
  posting ``--decisions`` decisions (JSON API, ``whole_stack`` off) on items of its own,
  all at once. A round-trip is one POST until its answer, which the server sends after
  the decision and its audit entry are committed. Run twice: at a brisk human pace
  (each reviewer pauses ``--think`` seconds, drawn uniformly from half to one and a
  half times it, between decisions: 20 reviewers deciding every second is far beyond
  what people do), and flat out with no pause (the server's saturation, for scale).

Latencies are wall-clock at the client, p50 and p95 (nearest rank).

Usage: python benchmarks/review_server.py [--size 1000000] [--postgres URL]
  [--reviewers 20] [--decisions 25] [--queue-requests 50] [--only postgresql|sqlite]
  [--json]. PostgreSQL comes from --postgres, else CLEARSIGHT_TEST_POSTGRES_URL (the
  database is emptied!).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_case import fill_case  # noqa: E402

from clearsight import __version__  # noqa: E402
from clearsight.store.sql import (
    SqlCaseStore,  # noqa: E402
    engine_of,
)

CLEARSIGHT = Path(sys.executable).with_name("clearsight")
PASSWORD = "benchmark passphrase"
QUEUE_FILTERS = (
    "state=undecided",
    "bank=matched",
    "origin=inconclusive",
    "series=in-series",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50_ms": 1000 * percentile(seconds, 0.5),
        "p95_ms": 1000 * percentile(seconds, 0.95),
        "max_ms": 1000 * max(seconds),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def served(where: list[str], scratch: Path) -> Iterator[str]:
    with server_process(where, scratch) as (base, _):
        yield base


@contextmanager
def server_process(
    where: list[str], scratch: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``clearsight serve`` on ``where`` until the block ends: its URL and process."""
    port = _free_port()
    log_path = scratch / f"server-{port}.log"
    with log_path.open("w") as output:
        server = subprocess.Popen(
            [str(CLEARSIGHT), "serve", *where, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CLEARSIGHT_HOME": str(scratch / "home")},
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(base + "/login", timeout=2)
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"server did not start:\n{log_path.read_text()}") from None
                    time.sleep(0.2)
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=30)


def signed_in(base: str, name: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=60)
    answer = client.post("/api/login", json={"name": name, "password": PASSWORD})
    answer.raise_for_status()
    return client, str(answer.json()["csrf_token"])


def timed(call: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    answer = call()
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed


def queue_load(base: str, requests: int) -> dict[str, Any]:
    client, _ = signed_in(base, "reviewer-00")
    try:
        client.get("/queue").raise_for_status()  # warm the caches once
        results = {
            "queue page (HTML)": summary(
                [timed(lambda: client.get("/queue")) for _ in range(requests)]
            )
        }
        for query in QUEUE_FILTERS:
            results[f"api/queue?{query}"] = summary(
                [timed(lambda q=query: client.get(f"/api/queue?{q}")) for _ in range(requests)]
            )
        paging: list[float] = []
        for _ in range(max(1, requests // 20)):
            token = None
            for _ in range(20):
                url = "/api/queue" + (f"?after={token}" if token else "")
                started = time.perf_counter()
                answer = client.get(url)
                paging.append(time.perf_counter() - started)
                answer.raise_for_status()
                token = answer.json().get("after")
                if not token:
                    break
        results["api/queue, 20 pages on"] = summary(paging)
    finally:
        client.close()
    return results


def decision_load(
    base: str, reviewers: int, decisions: int, size: int, think: float, first_item: int
) -> dict[str, Any]:
    sessions = [signed_in(base, f"reviewer-{r:02}") for r in range(reviewers)]
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(reviewers)
    # Each reviewer decides items of its own, spread over the case, none decided before.
    stride = max(1, (size - first_item - 100) // (reviewers * decisions))

    def work(number: int, client: httpx.Client, csrf: str) -> None:
        pace = random.Random(number)
        start.wait()
        for k in range(decisions):
            if think:
                time.sleep(pace.uniform(0.5 * think, 1.5 * think))
            item = first_item + (number * decisions + k) * stride
            item += 3 if item % 100 < 3 else 0  # the synthetic case decided those already
            body = {
                "category": str(k % 6), "origin": "unsure",
                "victim_identified": "unknown", "whole_stack": False,
            }  # fmt: skip
            started = time.perf_counter()
            answer = client.post(
                f"/api/items/{item}/decisions", json=body, headers={"X-CSRF-Token": csrf}
            )
            elapsed = time.perf_counter() - started
            with lock:
                if answer.status_code == 201:
                    latencies.append(elapsed)
                else:
                    failures.append(f"{answer.status_code} {answer.text[:120]}")

    threads = [
        threading.Thread(target=work, args=(n, client, csrf))
        for n, (client, csrf) in enumerate(sessions)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for client, _ in sessions:
        client.close()
    if failures:
        raise SystemExit(f"{len(failures)} decisions failed, e.g. {failures[0]}")
    return {
        **summary(latencies),
        "per_second": len(latencies) / wall,
        "reviewers": reviewers,
        "think_s": think,
    }


def empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run_one(
    database: str, args: argparse.Namespace, scratch: Path, names: Sequence[str]
) -> dict[str, Any]:
    log(f"{database}: building a case of {args.size:,} items")
    started = time.perf_counter()
    if database == "postgresql":
        empty_postgres(args.postgres)
        store = SqlCaseStore.open_url(args.postgres, "bench", __version__)
        where = ["--database", args.postgres]
    else:
        store = SqlCaseStore.open_folder(scratch / "case", __version__)
        where = ["--case", str(scratch / "case")]
    try:
        fill_case(store, args.size, reviewers=names, password=PASSWORD)
        if database == "postgresql":
            with engine_of(store).begin() as connection:
                connection.execute(text("ANALYZE"))
    finally:
        store.close()
    built = time.perf_counter() - started
    log(f"{database}: built in {built:.0f} s; serving")
    with served(where, scratch) as base:
        queue = queue_load(base, args.queue_requests)
        log(f"{database}: queue measured; {args.reviewers} reviewers deciding")
        paced = decision_load(
            base, args.reviewers, args.decisions, args.size, args.think, first_item=150
        )
        flat_out = decision_load(
            base, args.reviewers, args.decisions, args.size, 0.0, first_item=151
        )
    return {
        "database": database,
        "build_seconds": built,
        "queue": queue,
        "decisions": paced,
        "decisions_flat_out": flat_out,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("CLEARSIGHT_TEST_POSTGRES_URL"))
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=25, help="per reviewer")
    parser.add_argument("--queue-requests", type=int, default=50)
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause between one reviewer's decisions"
    )
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    databases = [args.only] if args.only else ["postgresql", "sqlite"]
    if "postgresql" in databases and not args.postgres:
        raise SystemExit("give --postgres URL (or CLEARSIGHT_TEST_POSTGRES_URL), or --only sqlite")
    names = [f"reviewer-{r:02}" for r in range(max(1, args.reviewers))]
    results = []
    with tempfile.TemporaryDirectory(prefix="clearsight-review-bench-") as scratch:
        for database in databases:
            folder = Path(scratch) / database
            folder.mkdir()
            results.append(run_one(database, args, folder, names))
    report = {"machine": platform.machine(), "size": args.size, "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"review server, {args.size:,} items; p50 / p95 / max in ms")
    for result in results:
        print(f"\n{result['database']} (case built in {result['build_seconds']:.0f} s)")
        for what, row in result["queue"].items():
            print(f"  {what:28} {row['p50_ms']:7.1f} {row['p95_ms']:7.1f} {row['max_ms']:7.1f}")
        for label, key in (
            ("decision, paced", "decisions"),
            ("decision, flat out", "decisions_flat_out"),
        ):
            d = result[key]
            print(
                f"  {label:28} {d['p50_ms']:7.1f} {d['p95_ms']:7.1f} "
                f"{d['max_ms']:7.1f}  ({d['reviewers']} reviewers at once, "
                f"{d['per_second']:.0f} decisions/s)"
            )
    if len(results) == 2:
        pg, lite = results
        print("\nPostgreSQL / SQLite, p95:")
        for what in pg["queue"]:
            print(f"  {what:28} {pg['queue'][what]['p95_ms'] / lite['queue'][what]['p95_ms']:.2f}")
        for label, key in (
            ("decision, paced", "decisions"),
            ("decision, flat out", "decisions_flat_out"),
        ):
            ratio = pg[key]["p95_ms"] / lite[key]["p95_ms"]
            print(f"  {label:28} {ratio:.2f}")


if __name__ == "__main__":
    main()
