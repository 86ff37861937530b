"""How long after NCMEC publishes entries a matching service's index matches them.

Why: the issue asks for the index freshness of a fetch: once a fetch adds entries,
how long until lookups match them. A matching service fetching on a schedule
(``clearsight api --fetch-every``) sees new entries in three steps: the fetch that
commits them, the index refresh that picks them up (its thread runs every second, and
at once after a fetch), and nothing else (lookups read the new snapshot).

Run, in one child process against a mock hash-sharing server on 127.0.0.1 (the one of
``exchange_fetch.py``): fetch N entries into a fresh SQLite bank store and load a live
index of the bank (the service's own ``LiveIndex`` over a fresh index cache); then
NCMEC adds K entries (stamped later: the mock serves them once the client's window
reaches them), and the script times

* ``fetch``: the second, incremental fetch, from its checkpoint, committing the K;
* ``refresh``: the index refresh that follows, through the change log's delta;
* ``freshness`` = fetch + refresh: from the fetch's start until the K match, which
  every one of them is checked to do;

and, as the baseline (what each feed commit cost before feeds went into the change
log), loading the bank's index again: a live index over an empty cache, refreshed.

Usage: python benchmarks/exchange_freshness.py [--count N] [--added K] [--json]
  (default N 1,000,000 and K 1,000; develop with --count 50000)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from exchange_fetch import PASSWORD, PER_SECOND, USER, Stamps, _cpu_name, _serve  # noqa: E402

GAP = 30  # seconds between the first N entries' stamps and the K added later


def _child(home: str, url: str, count: int, added: int, late_ts: int, results: Any) -> None:
    os.environ["CLEARSIGHT_HOME"] = home
    from clearsight.banks.exchange_book import ExchangeBook
    from clearsight.banks.service_edits import BankEdits
    from clearsight.banks.store import BankStore
    from clearsight.exchanges.credentials import CredentialStore
    from clearsight.exchanges.fetch import fetch_exchange
    from clearsight.index.cache import PdqIndexCache
    from clearsight.match.live_index import LiveIndex
    from clearsight.signals.pdq import PdqSignal

    store = BankStore.open()
    ExchangeBook(store.engine).add(
        "bench", "ncmec", "BENCH", {"base_url": url, "environment": "test_Industry"}
    )
    CredentialStore().set("ncmec", f"{USER}:{PASSWORD}")
    started = time.perf_counter()
    first = fetch_exchange(store, "bench")
    first_s = time.perf_counter() - started
    assert first.added == count, first

    index = LiveIndex(BankEdits(store.engine), store, PdqIndexCache(Path(home) / "a").mapped())
    started = time.perf_counter()
    index.refresh()
    load_s = time.perf_counter() - started
    base = index.snapshot.banks["BENCH"].base  # type: ignore[union-attr]

    # The client's window ends 5 s before now: wait until it covers the K.
    while time.time() - 6 < late_ts:
        time.sleep(0.2)
    started = time.perf_counter()
    second = fetch_exchange(store, "bench")
    fetched = time.perf_counter()
    index.refresh()
    refreshed = time.perf_counter()
    assert second.added == added, second
    live = index.snapshot.banks["BENCH"]  # type: ignore[union-attr]
    new = [_pdq(n) for n in range(count, count + added)]
    hits = {hit.query for hit in index.search_pdq(PdqSignal.pack(new))}
    assert hits == set(range(added)), f"{len(hits)} of {added} match"

    # The baseline: the bank's index loaded again (built: the cache is empty).
    again = LiveIndex(BankEdits(store.engine), store, PdqIndexCache(Path(home) / "b").mapped())
    reloaded = time.perf_counter()
    again.refresh()
    reload_s = time.perf_counter() - reloaded
    store.close()
    results.put(
        {
            "first_fetch_s": first_s,
            "first_load_s": load_s,
            "fetch_s": fetched - started,
            "refresh_s": refreshed - fetched,
            "freshness_s": refreshed - started,
            "through_delta": live.base is base,
            "reload_s": reload_s,
        }
    )


def _pdq(n: int) -> str:
    """Entry n's PDQ as the mock writes it (exchange_fetch._entry)."""
    return hashlib.sha256(n.to_bytes(8, "big")).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--added", type=int, default=1_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.count % PER_SECOND:
        raise SystemExit(f"--count must be a multiple of {PER_SECOND}")
    work = Path(tempfile.mkdtemp(prefix="exchange-fresh-"))
    # The N end 10 s ago; the K are stamped GAP seconds after them (in the future).
    start_ts = int(time.time()) - args.count // PER_SECOND - 10
    stamps = Stamps(start_ts, split=args.count, gap=GAP)
    late_ts = stamps.of(args.count + args.added - 1)
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    total = args.count + args.added
    server = context.Process(target=_serve, args=(total, stamps, ports), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get()}"
    load_before = os.getloadavg()[0]
    results = context.Queue()
    child = context.Process(
        target=_child, args=(str(work), url, args.count, args.added, late_ts, results)
    )
    child.start()
    try:
        result = results.get(timeout=3600)
        child.join()
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)
    summary = {
        "count": args.count,
        "added": args.added,
        **result,
        "reload_over_refresh": result["reload_s"] / max(result["refresh_s"], 1e-9),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"bank of {args.count:,} NCMEC entries (first fetch {result['first_fetch_s']:.1f} s,")
    print(f"  index loaded in {result['first_load_s']:.2f} s); NCMEC adds {args.added:,}:")
    print(f"  incremental fetch, committed  {result['fetch_s']:.2f} s")
    how = "delta" if result["through_delta"] else "loaded again"
    print(f"  index refresh ({how})  {result['refresh_s'] * 1000:.1f} ms")
    print(f"  freshness (fetch start -> all {args.added:,} match)  {result['freshness_s']:.2f} s")
    print("    + up to 1 s of the service's refresh period where the fetch is not its own")
    print(
        f"  baseline: loading the bank's index again {result['reload_s']:.2f} s"
        f" = {summary['reload_over_refresh']:.0f}x the delta refresh"
    )
    print(f"  load {load_before:.2f} -> {summary['load_after']:.2f}; {summary['cpu']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
