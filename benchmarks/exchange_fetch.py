"""How fast an NCMEC exchange fetch fills a bank, against a plain import of the same entries.

Why: an exchange's first fetch is a national list (millions of entries), and the issue's
target is that fetching N entries from the hash-sharing API takes at most twice as long
as importing the same N entries from a file, in bounded memory.

Both runs write the same N NCMEC image entries (an id, a classification, a member, an
MD5 and a PDQ each) into a fresh SQLite bank store, each in its own child process
(so each one's peak memory is its own), one after the other:

* ``import`` (the baseline): the entries as one NCMEC ``queryResult`` XML file, loaded
  by ``BankStore.import_entries(read_bank_file(...))``: what ``clearsight bank import``
  does, without the process start.
* ``fetch``: ``fetch_exchange`` of an ``ncmec`` exchange whose ``base_url`` is a mock
  hash-sharing server on 127.0.0.1 (a third process), through python-threatexchange's
  own NCMEC exchange and client: its time windows and probing, 1,000-entry XML pages
  with ``<paging><next>``, Basic auth, and the commits of entries with checkpoints.
  The server makes each page from the entry numbers (1,000 entries a second of
  timestamps), so it holds nothing in memory.

Printed: seconds and entries/s of each, the ratio fetch / import (target <= 2), each
run's peak resident memory and CPU time (the whole process), and those of its own
child (the import's parsing process, the fetch's fetching process, where
python-threatexchange runs), the server's CPU seconds, and the load average before
and after (the machine may be shared). With ``--reps`` above 1 the medians are reported.

Usage: python benchmarks/exchange_fetch.py [--count N] [--reps R] [--workdir DIR] [--json]
  (default N is 1,000,000; develop with --count 50000)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PAGE = 1000
PER_SECOND = 1000
USER, PASSWORD = "bench-user", "bench-pass"
_TIME = "%Y-%m-%dT%H:%M:%SZ"


def _entry(n: int, stamp: str) -> str:
    digest = hashlib.sha256(n.to_bytes(8, "big")).hexdigest()
    return (
        f"<image><id>e{n}</id><classification>label-a</classification>"
        f'<member id="7">Bench Member</member><timestamp>{stamp}</timestamp>'
        f"<fingerprints><md5>{digest[:32]}</md5><pdq>{digest}</pdq></fingerprints></image>"
    )


def _text(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime(_TIME)


class Stamps:
    """Entry n's timestamp: ``start_ts + n // PER_SECOND``, and ``gap`` seconds later
    from entry ``split`` on (entries NCMEC adds later, for the freshness benchmark)."""

    def __init__(self, start_ts: int, split: int | None = None, gap: int = 0) -> None:
        self.start_ts = start_ts
        self.split = split
        self.gap = gap

    def of(self, n: int) -> int:
        late = self.split is not None and n >= self.split
        return self.start_ts + n // PER_SECOND + (self.gap if late else 0)

    def first_at(self, ts: int) -> int:
        """The first entry stamped at or after ``ts``."""
        early = max(0, (ts - self.start_ts) * PER_SECOND)
        if self.split is None or early <= self.split:
            return early
        return max(self.split, (ts - self.gap - self.start_ts) * PER_SECOND)


def _page(lo: int, hi: int, stamps: Stamps, next_url: str) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>']
    parts.append('<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">')
    if hi > lo:
        newest = _text(stamps.of(hi - 1))
        parts.append(f'<images count="{hi - lo}" maxTimestamp="{newest}">')
        parts.extend(_entry(n, _text(stamps.of(n))) for n in range(lo, hi))
        parts.append("</images>")
    parts.append('<videos count="0"/>')
    if next_url:
        parts.append(f"<paging><next>{next_url.replace('&', '&amp;')}</next></paging>")
    parts.append("</queryResult>")
    return "".join(parts).encode()


def _serve(count: int, stamps: Stamps, port_out: Any) -> None:
    """The mock hash-sharing API of ``count`` entries, stamped by ``stamps``."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            if self.headers.get("Authorization") != expected:
                self._send(401, b"<error/>")
                return
            query = {
                k: v[-1]
                for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).items()
            }
            window_from = _ts(query["from"])
            window_to = _ts(query["to"])
            first = min(count, stamps.first_at(window_from))
            last = min(count, stamps.first_at(window_to))
            offset = int(query.get("start", 0))
            lo = first + offset
            hi = min(last, lo + PAGE)
            next_url = ""
            if hi < last:
                next_url = "/v2/entries?" + urllib.parse.urlencode(
                    {
                        "from": query["from"],
                        "to": query["to"],
                        "start": hi - first,
                        "size": PAGE,
                        "max": last - first,
                    }
                )
            self._send(200, _page(lo, hi, stamps, next_url))

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


def _ts(text: str) -> int:
    return int(datetime.strptime(text, _TIME).replace(tzinfo=UTC).timestamp())


def _write_file(path: Path, count: int, start_ts: int) -> None:
    with path.open("wb") as out:
        out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(b'<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">')
        out.write(f'<images count="{count}" maxTimestamp="{_text(start_ts)}">'.encode())
        for lo in range(0, count, 10_000):
            chunk = (
                _entry(n, _text(start_ts + n // PER_SECOND))
                for n in range(lo, min(count, lo + 10_000))
            )
            out.write("".join(chunk).encode())
        out.write(b"</images></queryResult>\n")


def _child(kind: str, home: str, argument: str, results: Any) -> None:
    os.environ["CLEARSIGHT_HOME"] = home
    from clearsight.banks.exchange_book import ExchangeBook
    from clearsight.banks.formats.reader import BankFormat, read_bank_file
    from clearsight.banks.store import BankSettings, BankStore
    from clearsight.exchanges.credentials import CredentialStore
    from clearsight.exchanges.fetch import fetch_exchange

    store = BankStore.open()
    started = time.perf_counter()
    if kind == "import":
        report = store.import_entries(
            "bench",
            read_bank_file(Path(argument), BankFormat.AUTO, None),
            BankSettings(),
            stop_on_error=True,
            file_name="bench.xml",
        )
        added = report.added
    else:
        ExchangeBook(store.engine).add(
            "bench", "ncmec", "bench", {"base_url": argument, "environment": "test_Industry"}
        )
        CredentialStore().set("ncmec", f"{USER}:{PASSWORD}")
        started = time.perf_counter()
        added = fetch_exchange(store, "bench").added
    seconds = time.perf_counter() - started
    entries = store.summary("bench").entries
    store.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The import's parsing child and the fetch's fetching child: their own peaks.
    child_peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    cpu = os.times()
    results.put(
        {
            "kind": kind,
            "seconds": seconds,
            "added": added,
            "entries": entries,
            "peak_mib": peak_mib,
            "child_peak_mib": child_peak_mib,
            "cpu_s": cpu.user + cpu.system,
            "child_cpu_s": cpu.children_user + cpu.children_system,
        }
    )


def _run(kind: str, home: Path, argument: str) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_child, args=(kind, str(home), argument, results))
    child.start()
    result = results.get()
    child.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="exchange-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    # Whole seconds in the past, so the client's window (which ends 5 s ago) covers all.
    start_ts = int(time.time()) - args.count // PER_SECOND - 3600
    listing = work / "bench.xml"
    _write_file(listing, args.count, start_ts)

    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=_serve, args=(args.count, Stamps(start_ts), ports), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get()}"
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, Any]]] = {"import": [], "fetch": []}
    try:
        for rep in range(args.reps):
            for kind in ("import", "fetch"):
                home = work / f"{kind}-{rep}"
                shutil.rmtree(home, ignore_errors=True)
                home.mkdir()
                result = _run(kind, home, str(listing) if kind == "import" else url)
                if result["entries"] != args.count:
                    raise SystemExit(f"{kind}: {result['entries']} entries, not {args.count}")
                runs[kind].append(result)
                shutil.rmtree(home, ignore_errors=True)
    finally:
        server_cpu = _cpu_seconds(server.pid)
        server.terminate()
    load_after = os.getloadavg()[0]

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    summary = {
        "count": args.count,
        "reps": args.reps,
        "import_s": median("import", "seconds"),
        "fetch_s": median("fetch", "seconds"),
        "import_per_s": args.count / median("import", "seconds"),
        "fetch_per_s": args.count / median("fetch", "seconds"),
        "ratio_fetch_over_import": median("fetch", "seconds") / median("import", "seconds"),
        "import_peak_mib": max(r["peak_mib"] for r in runs["import"]),
        "fetch_peak_mib": max(r["peak_mib"] for r in runs["fetch"]),
        "import_child_peak_mib": max(r["child_peak_mib"] for r in runs["import"]),
        "fetch_child_peak_mib": max(r["child_peak_mib"] for r in runs["fetch"]),
        "import_cpu_s": median("import", "cpu_s"),
        "fetch_cpu_s": median("fetch", "cpu_s"),
        "import_child_cpu_s": median("import", "child_cpu_s"),
        "fetch_child_cpu_s": median("fetch", "child_cpu_s"),
        "server_cpu_s": server_cpu,
        "load_before": load_before,
        "load_after": load_after,
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{args.count:,} NCMEC entries, median of {args.reps}:")
        for kind, label in (("import", "import (file)"), ("fetch", "fetch (mock) ")):
            print(
                f"  {label} {summary[kind + '_s']:.1f} s  {summary[kind + '_per_s']:,.0f}/s"
                f"  peak {summary[kind + '_peak_mib']:.0f} MiB + child"
                f" {summary[kind + '_child_peak_mib']:.0f} MiB;"
                f"  CPU {summary[kind + '_cpu_s']:.1f} s + child"
                f" {summary[kind + '_child_cpu_s']:.1f} s"
            )
        print(f"  ratio fetch / import = {summary['ratio_fetch_over_import']:.2f} (target <= 2)")
        print(
            f"  mock server CPU {server_cpu:.1f} s; load {load_before:.2f} -> {load_after:.2f};"
            f" {summary['cpu']}, {summary['cores']} cores"
        )
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _cpu_seconds(pid: int | None) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
