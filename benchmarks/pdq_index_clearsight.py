"""clearsight's contender in ``pdq_index.py``, run in a process of its own.

It does what ``pdq_index_baselines.py`` does for the yardsticks, from the same files to
the same output, so that the figures compare equal work:

* **build**: read the bank's hex file (one hash a line, entry id = line number), parse
  it with clearsight's ``PdqSignal.pack`` and build ``MultiIndexPdqIndex`` on every core given;
* **lookup pass**: parse the query hex strings, search them in one batch, and list for
  every query the (entry id, distance) of every code within the radius;
* the same warm-up: an untimed build of the first 1,000 hashes, one untimed lookup
  pass on the most threads (whose output is the one compared), then
  ``REPS`` timed passes on each thread count, median.

It prints one JSON object, as the baselines do.

Usage: python pdq_index_clearsight.py BANK.hex QUERIES.hex RADIUS THREADS[,THREADS...] REPS
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from clearsight.index import mih_kernels  # noqa: F401  (numba loaded before memory is measured)
from clearsight.index.mih import MultiIndexPdqIndex
from clearsight.signals.pdq import PdqSignal

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
    """One hex hash a line; the baselines read their input the same way."""
    return path.read_text(encoding="ascii").split()


def lookup(
    index: MultiIndexPdqIndex,
    entry_ids: npt.NDArray[np.int64],
    query_hexes: list[str],
    radius: int,
    threads: int,
) -> Found:
    hits = index.search_many(PdqSignal.pack(query_hexes), radius, threads=threads)
    found: Found = [[] for _ in query_hexes]
    for query, entry, distance in zip(
        hits.queries.tolist(),
        entry_ids[hits.positions].tolist(),
        hits.distances.tolist(),
        strict=True,
    ):
        found[query].append((entry, distance))
    return found


def main() -> int:
    bank_path, queries_path, radius_text, threads_text, reps_text = sys.argv[1:6]
    radius, reps = int(radius_text), int(reps_text)
    threads = [int(t) for t in threads_text.split(",")]

    hexes = read_hexes(Path(bank_path))
    # Warm-up, as for the baselines: a small build first (numba loads its compiled code).
    MultiIndexPdqIndex.build(PdqSignal.pack(hexes[:WARM_UP_CODES]), radius, threads=max(threads))
    del hexes
    before = rss_bytes()
    started, started_cpu = time.perf_counter(), time.process_time()
    hexes = read_hexes(Path(bank_path))
    codes = PdqSignal.pack(hexes)
    del hexes
    index = MultiIndexPdqIndex.build(codes, radius, threads=max(threads))
    entry_ids = np.arange(len(index), dtype=np.int64)
    build, build_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    grown = rss_bytes() - before

    query_hexes = read_hexes(Path(queries_path))
    found = lookup(index, entry_ids, query_hexes, radius, max(threads))  # the warm-up
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}
    for count in threads:
        passes, cpu_passes = [], []
        for _ in range(reps):
            began, began_cpu = time.perf_counter(), time.process_time()
            lookup(index, entry_ids, query_hexes, radius, count)
            passes.append(time.perf_counter() - began)
            cpu_passes.append(time.process_time() - began_cpu)
        seconds[str(count)] = statistics.median(passes)
        cpu_seconds[str(count)] = statistics.median(cpu_passes)
    result: dict[str, Any] = {
        "build_s": build,
        "build_cpu_s": build_cpu,
        "rss_bytes": grown,
        "index_bytes": index.nbytes,
        "layout": list(index.layout.chunk_bits),
        "query_s": seconds,
        "query_cpu_s": cpu_seconds,
        "qps": {count: len(query_hexes) / value for count, value in seconds.items()},
        "hits": [
            [number, entry, distance]
            for number, pairs in enumerate(found)
            for entry, distance in pairs
        ],
        "versions": {"numpy": np.__version__},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
