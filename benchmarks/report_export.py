"""How long exports take and how much memory they hold, against the bare cost of reading.

Why: a seized device can hold a million pictures, and an export must finish in minutes
with memory that does not grow with the case. This script builds a synthetic SQLite
case of N items at the hash level (``synthetic_case.fill_case``: digests and a PDQ hash
per item, an error on 1 %, a bank match on 2 %, an origin verdict on 30 %, a priority on
every item, stacks over 4 %, series of five over 5 %, a human decision on 3 %). It
then exports it as JSON, CSV and VICS to /dev/null, each in a fresh process, and
reports wall time and peak memory (ru_maxrss). Baselines, in the same run, each the bare
cost of reading the same rows with nothing written: ``store``, the store's own
``iter_items``; ``rows``, the export's reader (items with their decisions). The ratios
are export time over each baseline; memory should stay flat as N grows.

Usage: python benchmarks/report_export.py [--full] [--sizes 100000] [--json] [--keep DIR]
                                          [--no-store-baseline]
  --full adds N = 1,000,000. The synthetic cases are rebuilt each run (in a temporary
  folder unless --keep names one, where an existing case of the right size is reused).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_case import fill_case  # noqa: E402

from clearsight import __version__  # noqa: E402
from clearsight.report import LOCAL_USER, ExportRequest, ReportFormat, write_report  # noqa: E402
from clearsight.report.case_rows import CaseRows  # noqa: E402
from clearsight.report.selection import ALL  # noqa: E402
from clearsight.store.sql import SqlCaseStore  # noqa: E402

FORMATS = (ReportFormat.JSON, ReportFormat.CSV, ReportFormat.VICS)
STORE = "store"
ROWS = "rows"


def build_case(folder: Path, size: int, seed: int = 7) -> None:
    """A synthetic case of ``size`` items in ``folder`` (see ``synthetic_case``)."""
    store = SqlCaseStore.open_folder(folder, __version__)
    try:
        fill_case(store, size, seed=seed)
    finally:
        store.close()


def measure(folder: Path, what: str) -> dict[str, Any]:
    """Run one export (or the bare read) in this process and time it."""
    store = SqlCaseStore.open_folder(folder, __version__)
    started = time.perf_counter()  # opening (a migration check) is the same for all
    if what == STORE:
        count = sum(1 for _ in store.iter_items())
        written = 0
    elif what == ROWS:
        count = sum(1 for _ in CaseRows(store).rows(ALL))
        written = 0
    else:
        with open(os.devnull, "wb") as sink:
            report = write_report(
                store, ExportRequest(ReportFormat(what)), sink, actor="bench", permission=LOCAL_USER
            )
        count, written = report.items, report.bytes
    seconds = time.perf_counter() - started
    store.close()
    # ru_maxrss is in KiB on Linux: the high-water mark of this whole process.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"what": what, "items": count, "seconds": seconds, "bytes": written, "peak_rss": peak}


def in_fresh_process(folder: Path, what: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", what, "--case", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def run(sizes: Sequence[int], keep: Path | None, with_store: bool) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="clearsight-bench-") as scratch:
        for size in sizes:
            folder = (keep or Path(scratch)) / f"case-{size}"
            started = time.perf_counter()
            if not (folder / "case.sqlite").exists():
                build_case(folder, size)
            built = time.perf_counter() - started
            store = in_fresh_process(folder, STORE) if with_store else None
            bare = in_fresh_process(folder, ROWS)
            rows = [row for row in (store, bare) if row is not None]
            rows.extend(in_fresh_process(folder, fmt.value) for fmt in FORMATS)
            for row in rows:
                row.update(
                    size=size, build_seconds=built, over_rows=row["seconds"] / bare["seconds"]
                )
                if store is not None:
                    row["over_store"] = row["seconds"] / store["seconds"]
            results.extend(rows)
            for row in rows:
                _print_row(row)
    return results


def _print_row(row: dict[str, Any]) -> None:
    over_store = f"x{row['over_store']:6.2f}" if "over_store" in row else "      -"
    print(
        f"N={row['size']:>9,}  {row['what']:<5} {row['seconds']:8.1f} s  "
        f"{row['items'] / row['seconds']:>9,.0f} items/s  {over_store} of store  "
        f"x{row['over_rows']:5.2f} of rows  peak RSS {row['peak_rss'] / 2**20:5.0f} MiB  "
        f"out {row['bytes'] / 2**20:7.1f} MiB",
        flush=True,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated item counts")
    parser.add_argument("--full", action="store_true", help="add N = 1,000,000")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the synthetic cases here")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--no-store-baseline",
        action="store_true",
        help="skip timing iter_items (slow on big cases: it sorts the rest of the case per page)",
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--case", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.case, args.measure)))
        return
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.full else [])
    print(f"clearsight {__version__}, Python {platform.python_version()}, {platform.machine()}")
    results = run(sizes, args.keep, not args.no_store_baseline)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
