"""The yardsticks of ``pdq_index.py``, run in a process of their own.

It cannot import clearsight. It does what ``pdq_index_clearsight.py`` does, from the
same files to the same output, so that the figures compare equal work:

* **build**: read the bank's hex file (one hash a line, entry id = line number), and
  build the contender's index from those strings, with faiss on every core given;
* **lookup pass**: from the query hex strings, list for every query the (entry id,
  distance) of every code within the radius;
* the same warm-up: an untimed build of the first 1,000 hashes, one untimed lookup
  pass on the most threads (whose output is the one compared), then ``REPS`` timed
  passes on each thread count, median.

The contenders:

* ``flat``: faiss ``IndexBinaryFlat`` with ``range_search`` (exact brute force; its hits
  are the ground truth). Hex strings are parsed with one ``bytes.fromhex``.
* ``threatexchange``: python-threatexchange's ``PDQIndex`` (faiss ``IndexBinaryMultiHash``,
  16 tables of 16 bits, the HMA default), built as the library builds it from
  (hash, entry) pairs, and queried in one batch through its own
  ``search_with_distance_in_result`` (a per-hash ``query`` loop is slower still), each
  hit mapped to its entry as ``PDQIndex.query`` does. That call also returns each hit's
  hash, which the output does not need; it is the library's way to get distances.

It prints one JSON object: build seconds, resident memory the build added, median
seconds per lookup pass and lookups/s on each thread count, and the hits as [query,
entry id, distance] triples.

Usage: python pdq_index_baselines.py flat|threatexchange BANK.hex QUERIES.hex RADIUS
THREADS[,THREADS...] REPS
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import faiss
import numpy as np

WARM_UP_CODES = 1000

Found = list[list[tuple[int, int]]]
"""For every query, the (entry id, distance) of each code within the radius."""


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def read_hexes(path: Path) -> list[str]:
    """One hex hash a line; clearsight's runner reads its input the same way."""
    return path.read_text(encoding="ascii").split()


def as_binary(hexes: list[str]) -> np.ndarray:
    """Hex hashes as (n, 32) bytes, as faiss wants binary codes."""
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32)


class Flat:
    def __init__(self, hexes: list[str]) -> None:
        self.index = faiss.IndexBinaryFlat(256)
        self.index.add(as_binary(hexes))

    def lookup(self, query_hexes: list[str], radius: int) -> Found:
        # faiss keeps d < radius: ask for radius + 1
        lims, distances, labels = self.index.range_search(as_binary(query_hexes), radius + 1)
        labels, distances = labels.tolist(), distances.tolist()
        return [
            list(zip(labels[lims[q] : lims[q + 1]], distances[lims[q] : lims[q + 1]], strict=True))
            for q in range(len(query_hexes))
        ]


class ThreatExchange:
    def __init__(self, hexes: list[str]) -> None:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex

        self.index = PDQIndex(zip(hexes, range(len(hexes)), strict=True))

    def lookup(self, query_hexes: list[str], radius: int) -> Found:
        found = self.index.index.search_with_distance_in_result(query_hexes, radius)
        entries = self.index.local_id_to_entry
        return [
            [(entries[local][1], int(distance)) for local, _, distance in found[value]]
            for value in query_hexes
        ]


def run(
    make: Callable[[list[str]], Flat | ThreatExchange],
    bank_path: Path,
    queries_path: Path,
    radius: int,
    threads: list[int],
    reps: int,
) -> dict[str, Any]:
    faiss.omp_set_num_threads(max(threads))
    hexes = read_hexes(bank_path)
    make(hexes[:WARM_UP_CODES])
    del hexes
    before = rss_bytes()
    started, started_cpu = time.perf_counter(), time.process_time()
    index = make(read_hexes(bank_path))
    build, build_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    grown = rss_bytes() - before

    query_hexes = read_hexes(queries_path)
    found = index.lookup(query_hexes, radius)  # the warm-up
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}
    for count in threads:
        faiss.omp_set_num_threads(count)
        passes, cpu_passes = [], []
        for _ in range(reps):
            began, began_cpu = time.perf_counter(), time.process_time()
            index.lookup(query_hexes, radius)
            passes.append(time.perf_counter() - began)
            cpu_passes.append(time.process_time() - began_cpu)
        seconds[str(count)] = statistics.median(passes)
        cpu_seconds[str(count)] = statistics.median(cpu_passes)
    return {
        "build_s": build,
        "build_cpu_s": build_cpu,
        "rss_bytes": grown,
        "query_s": seconds,
        "query_cpu_s": cpu_seconds,
        "qps": {count: len(query_hexes) / value for count, value in seconds.items()},
        "hits": [
            [number, int(entry), int(distance)]
            for number, pairs in enumerate(found)
            for entry, distance in pairs
        ],
    }


def main() -> int:
    contender, bank_path, queries_path, radius, threads, reps = sys.argv[1:7]
    make = {"flat": Flat, "threatexchange": ThreatExchange}[contender]
    result = run(
        make,
        Path(bank_path),
        Path(queries_path),
        int(radius),
        [int(t) for t in threads.split(",")],
        int(reps),
    )
    result["versions"] = {
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "threatexchange": metadata.version("threatexchange"),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
