"""A soak of the review server: simulated reviewers working a case for minutes on end.

Why: a team reviews one case for a whole shift. The server must answer every request
without a 5xx, keep its latency, and keep its memory flat (a leak shows over minutes,
not in a benchmark's seconds). The issue's target: 20 reviewers for 10 minutes on
127.0.0.1 against PostgreSQL, zero 5xx, flat memory, p95 recorded.

What runs:

* a synthetic case of ``--size`` items (``synthetic_case.fill_case``) on PostgreSQL,
  whose files are real: ``--pictures`` generated patterns (benign noise textures),
  hard-linked at every item's path, with each item's SHA-256 set to its picture's, so
  that previews, thumbnails and reveals decode real JPEGs;
* a real ``clearsight serve`` process on 127.0.0.1 (``review_server.server_process``);
* ``--reviewers`` threads, each its own reviewer, each in a loop until the time is up:
  sign in (JSON API; again after every ``--relogin`` items), page the undecided queue
  (JSON, sometimes the HTML page) a random number of pages on, open a unit's item (HTML
  page or JSON) and its blurred preview, reveal it now and then (start the reveal, fetch
  the unblurred picture, end it), and decide; a random pause of ``--pause`` seconds on
  average between requests;
* the server's resident memory (VmRSS of its process) sampled every ``--sample-every``
  seconds.

It reports the count of requests, the 4xx and 5xx answers, p50/p95 latency (wall-clock
at the client, nearest rank) per kind of request, and the memory at the start, the end
and its maximum. Exit status 1 when any answer was a 5xx or a request failed.

Usage: python benchmarks/soak_review.py [--minutes 10] [--reviewers 20] [--size 20000]
  [--database URL] [--json]. The database comes from --database, else
  CLEARSIGHT_TEST_POSTGRES_URL (it is emptied!). Run it under ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from review_server import (  # noqa: E402
    PASSWORD,
    empty_postgres,
    log,
    percentile,
    server_process,
    signed_in,
)
from synthetic_case import fill_case, item_path  # noqa: E402

from clearsight import __version__  # noqa: E402
from clearsight.store.sql import (
    SqlCaseStore,  # noqa: E402
    engine_of,
)

CATEGORIES = ("0", "1", "2", "3", "4", "5")


@dataclass
class Tally:
    """What every reviewer saw, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def note(self, kind: str, status: int, elapsed: float, detail: str) -> None:
        with self.lock:
            self.seconds[kind].append(elapsed)
            self.statuses[kind, status] += 1
            if status >= 500:
                self.server_errors.append(f"{kind}: {status} {detail[:160]}")

    def failed(self, kind: str, error: Exception) -> None:
        with self.lock:
            self.failures.append(f"{kind}: {type(error).__name__}: {error}")


class Reviewer:
    """One simulated reviewer: a client of its own, a random pace of its own."""

    def __init__(self, base: str, name: str, tally: Tally, args: argparse.Namespace) -> None:
        self.base, self.name, self.tally, self.args = base, name, tally, args
        self.pace = random.Random(name)
        self.client: httpx.Client | None = None
        self.csrf = ""

    def call(self, kind: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        assert self.client is not None
        time.sleep(self.pace.uniform(0, 2 * self.args.pause))
        started = time.perf_counter()
        try:
            answer = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.tally.failed(kind, exc)
            return None
        elapsed = time.perf_counter() - started
        self.tally.note(kind, answer.status_code, elapsed, answer.text if answer.is_error else "")
        return answer

    def sign_in(self) -> None:
        while True:
            started = time.perf_counter()
            try:
                self.client, self.csrf = signed_in(self.base, self.name)
            except httpx.HTTPStatusError as exc:
                answer = exc.response
                self.tally.note(
                    "sign in", answer.status_code, time.perf_counter() - started, answer.text
                )
            except httpx.HTTPError as exc:
                self.tally.failed("sign in", exc)
            else:
                self.tally.note("sign in", 200, time.perf_counter() - started, "")
                return
            time.sleep(1.0)

    def sign_out(self) -> None:
        self.call("sign out", "POST", "/api/logout", headers={"X-CSRF-Token": self.csrf})
        if self.client is not None:
            self.client.close()
        self.client = None

    def work(self, deadline: float) -> None:
        self.sign_in()
        done = 0
        while time.monotonic() < deadline:
            self.one_item()
            done += 1
            if done % self.args.relogin == 0 and time.monotonic() < deadline:
                self.sign_out()
                self.sign_in()
        self.sign_out()

    def one_item(self) -> None:
        unit = self.pick_unit()
        if unit is None:
            return
        item = int(unit["representative"])
        if self.pace.random() < 0.5:
            self.call("item page (HTML)", "GET", f"/items/{item}")
        else:
            self.call("item (JSON)", "GET", f"/api/items/{item}")
        self.call("preview", "GET", f"/items/{item}/preview")
        if self.pace.random() < self.args.reveal_share:
            self.reveal(item)
        body = {
            "category": self.pace.choice(CATEGORIES),
            "origin": self.pace.choice(("camera", "ai-generated", "unsure")),
            "victim_identified": "unknown",
            "whole_stack": self.pace.random() < 0.5,
        }
        self.call(
            "decision",
            "POST",
            f"/api/items/{item}/decisions",
            json=body,
            headers={"X-CSRF-Token": self.csrf},
        )

    def pick_unit(self) -> dict[str, Any] | None:
        if self.pace.random() < 0.2:
            self.call("queue page (HTML)", "GET", "/queue?state=undecided")
        units: list[dict[str, Any]] = []
        after = None
        for _ in range(1 + self.pace.randrange(4)):
            query = "/api/queue?state=undecided" + (f"&after={after}" if after else "")
            answer = self.call("queue (JSON)", "GET", query)
            if answer is None or answer.status_code != 200:
                return None
            page = answer.json()
            units, after = page["units"] or units, page.get("after")
            if not after:
                break
        return self.pace.choice(units) if units else None

    def reveal(self, item: int) -> None:
        headers = {"X-CSRF-Token": self.csrf}
        started = time.monotonic()
        answer = self.call("reveal", "POST", f"/api/items/{item}/reveals", json={}, headers=headers)
        if answer is None or answer.status_code != 201:
            return
        granted = answer.json()
        self.call("revealed picture", "GET", granted["image_url"])
        seconds = time.monotonic() - started + self.pace.uniform(0.5, 2.0)
        self.call(
            "reveal end",
            "POST",
            f"/api/reveals/{granted['reveal_id']}/end",
            json={"seconds": seconds},
            headers=headers,
        )


def resident_kib(pid: int) -> int:
    """The process's resident memory (VmRSS) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def sample_memory(pid: int, every: float, stop: threading.Event, samples: list[int]) -> None:
    while True:
        samples.append(resident_kib(pid))
        if stop.wait(every):
            samples.append(resident_kib(pid))
            return


def generated_pictures(count: int, seed: int) -> list[bytes]:
    """``count`` JPEGs of smooth coloured noise (benign textures), 640x480."""
    rng = random.Random(seed)
    pictures = []
    for _ in range(count):
        small = Image.frombytes("RGB", (16, 12), rng.randbytes(16 * 12 * 3))
        picture = small.resize((640, 480), Image.Resampling.BICUBIC)
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=85)
        pictures.append(out.getvalue())
    return pictures


def lay_out_files(store: SqlCaseStore, root: Path, size: int, pictures: Sequence[bytes]) -> None:
    """Hard-link a picture at every item's path and give the item its SHA-256."""
    originals = root / ".pictures"
    originals.mkdir(parents=True)
    digests = []
    for number, data in enumerate(pictures):
        (originals / f"{number}.jpg").write_bytes(data)
        digests.append(hashlib.sha256(data).hexdigest())
    for i in range(1, size + 1):
        path = root / item_path(i)
        path.parent.mkdir(exist_ok=True)
        os.link(originals / f"{i % len(pictures)}.jpg", path)
    with engine_of(store).begin() as connection:
        for number, digest in enumerate(digests):
            connection.execute(
                text(
                    "UPDATE signals SET value = :digest "
                    "WHERE kind = 'sha256' AND item_id % :count = :number"
                ),
                {"digest": digest, "count": len(pictures), "number": number},
            )
        connection.execute(text("ANALYZE"))


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": 1000 * percentile(values, 0.5),
        "p95_ms": 1000 * percentile(values, 0.95),
        "max_ms": 1000 * max(values),
    }


def soak(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    names = [f"reviewer-{r:02}" for r in range(args.reviewers)]
    evidence = scratch / "evidence"
    log(f"building a case of {args.size:,} items on PostgreSQL")
    empty_postgres(args.database)
    store = SqlCaseStore.open_url(args.database, "soak", __version__)
    try:
        fill_case(store, args.size, reviewers=names, password=PASSWORD, source_root=str(evidence))
        lay_out_files(store, evidence, args.size, generated_pictures(args.pictures, seed=11))
    finally:
        store.close()
    tally = Tally()
    samples: list[int] = []
    with server_process(["--database", args.database], scratch) as (base, server):
        stop = threading.Event()
        sampler = threading.Thread(
            target=sample_memory, args=(server.pid, args.sample_every, stop, samples)
        )
        sampler.start()
        deadline = time.monotonic() + 60 * args.minutes
        reviewers = [Reviewer(base, name, tally, args) for name in names]
        log(f"{len(names)} reviewers at work for {args.minutes} minutes")
        threads = [threading.Thread(target=r.work, args=(deadline,)) for r in reviewers]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        stop.set()
        sampler.join()
    requests = sum(tally.statuses.values())
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "size": args.size,
        "reviewers": args.reviewers,
        "minutes": args.minutes,
        "wall_s": wall,
        "requests": requests,
        "per_second": requests / wall,
        "client_4xx": sum(n for (_, status), n in tally.statuses.items() if 400 <= status < 500),
        "server_5xx": len(tally.server_errors),
        "failed_requests": len(tally.failures),
        "examples": (tally.server_errors + tally.failures)[:5],
        "statuses": {f"{kind} {status}": n for (kind, status), n in sorted(tally.statuses.items())},
        "latency": {kind: summary(values) for kind, values in sorted(tally.seconds.items())},
        "rss_mib": {
            "start": samples[0] / 1024,
            "end": samples[-1] / 1024,
            "max": max(samples) / 1024,
            "samples": [round(s / 1024, 1) for s in samples],
        },
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--size", type=int, default=20_000, help="items in the case")
    parser.add_argument("--pictures", type=int, default=64, help="distinct pictures")
    parser.add_argument(
        "--database", default=os.environ.get("CLEARSIGHT_TEST_POSTGRES_URL"), help="emptied!"
    )
    parser.add_argument("--pause", type=float, default=0.5, help="mean pause between requests")
    parser.add_argument("--reveal-share", type=float, default=0.3, help="items revealed")
    parser.add_argument("--relogin", type=int, default=25, help="items between sign-ins")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.database:
        parser.error("give --database URL (or set CLEARSIGHT_TEST_POSTGRES_URL)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="clearsight-soak-") as scratch:
        report = soak(args, Path(scratch))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"review server soak: {report['reviewers']} reviewers, {report['minutes']:g} min, "
            f"{report['size']:,} items, PostgreSQL ({report['machine']})"
        )
        print(
            f"  {report['requests']:,} requests ({report['per_second']:.1f}/s), "
            f"{report['client_4xx']} 4xx, {report['server_5xx']} 5xx, "
            f"{report['failed_requests']} failed"
        )
        print("  p50 / p95 / max in ms:")
        for kind, row in report["latency"].items():
            print(
                f"    {kind:20} {row['n']:7,} {row['p50_ms']:7.1f} {row['p95_ms']:7.1f} "
                f"{row['max_ms']:7.1f}"
            )
        rss = report["rss_mib"]
        print(
            f"  server RSS, MiB: start {rss['start']:.1f}, end {rss['end']:.1f}, "
            f"max {rss['max']:.1f} ({len(rss['samples'])} samples)"
        )
        for example in report["examples"]:
            print(f"  ! {example}")
    return 1 if report["server_5xx"] or report["failed_requests"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
