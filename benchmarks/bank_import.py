"""How fast ``clearsight bank import`` loads national-size hash lists, against threatexchange.

Why: a hotline's first act is to load the list it holds (Project VIC, StopNCII, a PDQ
CSV), and those run to millions of entries; the target is 50,000 entries/s into SQLite,
so that 5M entries import in under two minutes. This script generates, once per size
(cached under the work folder), three files of N entries each:

* ``vics``: VICS 2.0 media form (``@odata.context`` ...#Media, ``value``), each Media with
  MD5, SHA1, AlternativeHashes (PDQ and SHA256), Category and Series, no MediaID, so an
  entry is known by its four hashes;
* ``stopncii``: one StopNCII API page (``count``, ``nextPageToken``, ``hasMoreRecords``,
  ``hashRecords``), every record an Active ImagePDQ with one case number;
* ``csv``: a PDQ CSV (``pdq,category``).

Timed, in this process, in the same run:

* ``clearsight``: ``BankStore.import_entries`` of ``read_bank_file`` into a fresh SQLite
  bank store: the same work as ``clearsight bank import`` (parse, upsert, one
  transaction, indexes), without the process start. Then ``reimport``: the same file
  again into the same bank, which changes nothing and must leave the revision alone.
* ``clearsight-parse``: ``read_bank_file`` alone, nothing written.
* ``threatexchange``: python-threatexchange's own parsers, parsing only (it has no store
  for these lists): StopNCII through ``dacite.from_dict`` into ``StopNCIIHashRecord``,
  exactly as its ``StopNCIIAPI.fetch_hashes`` does, after ``json.load`` of the page; the
  CSV through ``csv.DictReader`` and ``PdqSignal.validate_signal_str``. It has no VICS
  parser, so for VICS the baseline is ``json.load`` and a plain dict walk collecting the
  four hashes, which is a floor rather than a competitor.

Also printed: the CPU time of the (first) import per entry, of the importing process
and of the process that parses a large file for it (see ``clearsight.banks.parse_ahead``),
entries per CPU-second of the two together (the figure least moved by other work on a
shared machine), the importing process's peak resident memory during its first import
of each file (Linux: the peak is reset before it), and the 1-minute load average before
and after,
since the machine may be shared: on two idle cores the wall-clock rate approaches N
over the larger of the two CPU times.

So the ratio ``clearsight / threatexchange`` compares a whole import (parsed, checked,
stored, indexed) with parsing alone; above 1 means the whole import is faster than the
baseline's parse. Entries/s is N over wall-clock seconds; with ``--reps`` above 1 the
median is reported.

Usage: python benchmarks/bank_import.py [--quick] [--count N] [--reps R]
                                        [--formats vics,stopncii,csv] [--workdir DIR] [--json]
  --quick is N = 100,000 (the default N is 1,000,000).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from clearsight.banks.formats.reader import BankFormat, read_bank_file
from clearsight.banks.store import BankSettings, BankStore

FORMATS = ("vics", "stopncii", "csv")
VICS_CONTEXT = "https://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"


def hex_digits(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def write_vics(path: Path, count: int, rng: random.Random) -> None:
    """VICS 2.0 media form, written a Media at a time (json.dumps per Media)."""
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"@odata.context": VICS_CONTEXT})[:-1] + ', "value": [\n')
        for index in range(count):
            media = {
                "MD5": hex_digits(rng, 128).upper(),
                "SHA1": hex_digits(rng, 160).upper(),
                "Category": 1 + index % 3,
                "Series": f"test-series-{index % 1000}",
                "AlternativeHashes": [
                    {"HashName": "PDQ", "HashValue": hex_digits(rng, 256)},
                    {"HashName": "SHA256", "HashValue": hex_digits(rng, 256)},
                ],
            }
            out.write(("," if index else "") + json.dumps(media) + "\n")
        out.write("]}\n")


def write_stopncii(path: Path, count: int, rng: random.Random) -> None:
    """One StopNCII FetchHashes page as the API returns it."""
    with path.open("w", encoding="utf-8") as out:
        out.write(
            f'{{"count": {count}, "nextPageToken": "token-1", "nextSetTimestamp": 1733300000, '
            '"hasMoreRecords": false, "hashRecords": [\n'
        )
        for index in range(count):
            record = {
                "lastModtimestamp": 1733300000 + index,
                "signalType": "ImagePDQ",
                "hashValue": hex_digits(rng, 256),
                "hashStatus": "Active",
                "caseNumbers": {f"c{index}": "Active"},
                "CSPFeedbacks": [],
            }
            out.write(("," if index else "") + json.dumps(record) + "\n")
        out.write("]}\n")


def write_csv(path: Path, count: int, rng: random.Random) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("pdq,category\n")
        for index in range(count):
            out.write(f"{hex_digits(rng, 256)},test-category-{1 + index % 3}\n")


WRITERS: dict[str, Callable[[Path, int, random.Random], None]] = {
    "vics": write_vics,
    "stopncii": write_stopncii,
    "csv": write_csv,
}
SUFFIX = {"vics": "json", "stopncii": "json", "csv": "csv"}


def bank_file(workdir: Path, fmt: str, count: int) -> Path:
    """The generated file for ``fmt`` and ``count``, made once and kept."""
    path = workdir / f"{fmt}-{count}.{SUFFIX[fmt]}"
    if not path.is_file():
        partial = path.with_suffix(".partial")
        WRITERS[fmt](partial, count, random.Random(f"{fmt}-{count}"))
        partial.rename(path)
    return path


# --- the baselines: python-threatexchange's parsers (parsing only) ---------------------


def threatexchange_stopncii(path: Path) -> int:
    import enum

    import dacite
    from threatexchange.exchanges.clients.stopncii.api import StopNCIIHashRecord

    with path.open("rb") as handle:
        page = json.load(handle)
    config = dacite.Config(cast=[enum.Enum, set])
    records = [
        dacite.from_dict(data_class=StopNCIIHashRecord, data=record, config=config)
        for record in page["hashRecords"]
    ]
    return len(records)


def threatexchange_csv(path: Path) -> int:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for row in csv.DictReader(handle) if PdqSignal.validate_signal_str(row["pdq"]))


def plain_vics_walk(path: Path) -> int:
    """No threatexchange parser exists for VICS: json.load and a dict walk, as a floor."""
    with path.open("rb") as handle:
        document = json.load(handle)
    found = []
    for media in document["value"]:
        alternatives = {
            item["HashName"].lower(): item["HashValue"]
            for item in media.get("AlternativeHashes") or ()
        }
        found.append(
            (
                media.get("MD5"),
                media.get("SHA1"),
                alternatives.get("pdq"),
                alternatives.get("sha256"),
            )
        )
    return len(found)


BASELINES: dict[str, Callable[[Path], int]] = {
    "vics": plain_vics_walk,
    "stopncii": threatexchange_stopncii,
    "csv": threatexchange_csv,
}


# --- clearsight ------------------------------------------------------------------------


def clearsight_parse(path: Path) -> int:
    return sum(1 for _ in read_bank_file(path, BankFormat.AUTO))


def clearsight_import(path: Path, store_file: Path) -> dict[str, Any]:
    """A fresh store, the import, then the same file again (which must change nothing)."""
    for leftover in store_file.parent.glob(store_file.name + "*"):
        leftover.unlink()
    store = BankStore.open(f"sqlite:///{store_file}")
    try:
        seconds, cpu, peak_kib = [], [], []
        reset_peak_rss()
        for _ in range(2):
            started, cpu_before = time.perf_counter(), cpu_seconds()
            report = store.import_entries(
                "bench", read_bank_file(path, BankFormat.AUTO), BankSettings(),
                stop_on_error=False, file_name=path.name,
            )  # fmt: skip
            seconds.append(time.perf_counter() - started)
            cpu_after = cpu_seconds()
            cpu.append([end - start for end, start in zip(cpu_after, cpu_before, strict=True)])
            if not peak_kib:
                peak_kib.append(peak_rss_kib())
        summary = store.summary("bench")
        if report.unchanged != summary.entries or summary.revision != 1:
            raise SystemExit(f"re-import changed the bank: {report} {summary}")
        return {
            "import_s": seconds[0],
            "reimport_s": seconds[1],
            "cpu_s": cpu[0],
            "peak_rss_mb": peak_kib[0] / 1024,
            "entries": summary.entries,
            "rejected": report.rejected_count,
        }
    finally:
        store.close()


def reset_peak_rss() -> None:
    """Start this process's peak resident memory afresh (Linux; elsewhere it is not, and
    the peak is the process's whole life so far)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_kib() -> int:
    """This process's peak resident memory since :func:`reset_peak_rss`, in KiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user and system) of this process, all threads, and of its ended
    children: the import's own work and its parsing process's."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def measure(workdir: Path, fmt: str, count: int, reps: int) -> dict[str, Any]:
    path = bank_file(workdir, fmt, count)
    load_before = os.getloadavg()[0]
    imports = [clearsight_import(path, workdir / "banks.sqlite") for _ in range(reps)]
    load_after = os.getloadavg()[0]
    rates = {
        "clearsight": count / statistics.median(i["import_s"] for i in imports),
        "reimport": count / statistics.median(i["reimport_s"] for i in imports),
        "clearsight-parse": count
        / statistics.median(timed(lambda: clearsight_parse(path)) for _ in range(reps)),
        "threatexchange": count
        / statistics.median(timed(lambda: BASELINES[fmt](path)) for _ in range(reps)),
    }
    return {
        "format": fmt,
        "entries": count,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "entries_per_s": {name: round(rate) for name, rate in rates.items()},
        "ratio_vs_threatexchange": round(rates["clearsight"] / rates["threatexchange"], 2),
        "import_s": [round(i["import_s"], 2) for i in imports],
        # CPU µs per entry of the (first) import: the importing process, the parsing one.
        "cpu_us_per_entry": [round(1e6 * part / count, 1) for part in imports[0]["cpu_s"]],
        # Entries per CPU-second of both processes together: less sensitive to the
        # machine's load than entries/s (a shared machine slows the clock, not the work).
        "entries_per_cpu_s": round(count / sum(imports[0]["cpu_s"])),
        "load_1min": [round(load_before, 1), round(load_after, 1)],
        # The importing process's peak resident memory during its first import.
        "importer_peak_rss_mb": round(imports[0]["peak_rss_mb"]),
        "stored": imports[0]["entries"],
        "rejected": imports[0]["rejected"],
    }


def entries_lines(results: Sequence[dict[str, Any]]) -> Iterator[str]:
    yield (
        f"{'format':<9} {'N':>9} {'MB':>6} {'clearsight':>11} {'re-import':>10} "
        f"{'cs parse':>9} {'baseline':>9} {'ratio':>6}   (entries/s)  "
        "CPU µs/entry (import, parser)  /CPU-s  load  peak MB"
    )
    for row in results:
        rates = row["entries_per_s"]
        yield (
            f"{row['format']:<9} {row['entries']:>9,} {row['file_mb']:>6} "
            f"{rates['clearsight']:>11,} {rates['reimport']:>10,} "
            f"{rates['clearsight-parse']:>9,} {rates['threatexchange']:>9,} "
            f"{row['ratio_vs_threatexchange']:>6}"
            f"  {row['cpu_us_per_entry'][0]:>6} {row['cpu_us_per_entry'][1]:>6}"
            f"  {row['entries_per_cpu_s']:>7,}"
            f"  {row['load_1min'][0]}-{row['load_1min'][1]}  {row['importer_peak_rss_mb']}"
            + (f"  ({row['rejected']:,} rejected!)" if row["rejected"] else "")
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 100,000")
    parser.add_argument("--count", type=int, default=1_000_000, help="entries per file")
    parser.add_argument("--reps", type=int, default=1, help="repetitions (median reported)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated")
    parser.add_argument("--workdir", type=Path, default=Path(".bench/bank_import"))
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    count = 100_000 if args.quick else args.count
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for fmt in args.formats.split(","):
        results.append(measure(args.workdir, fmt, count, args.reps))
        if not args.json:
            print(f"  {fmt}: done", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"python": platform.python_version(), "results": results}, indent=2))
    else:
        print("\n".join(entries_lines(results)))


if __name__ == "__main__":
    main()
