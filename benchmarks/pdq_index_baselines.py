"""The yardsticks of ``pdq_index.py``, run by the python of the baselines' own venv.

It cannot import clearsight: it reads the codes and queries ``pdq_index.py`` saved
(.npy, (n, 4) uint64 big-endian words), runs one contender and prints one JSON object:
build seconds, resident memory the build added, queries/s on each thread count, and the
hits as [query, position, distance] triples.

* ``flat``: faiss ``IndexBinaryFlat`` with ``range_search`` (exact brute force; its hits
  are the ground truth).
* ``threatexchange``: python-threatexchange's ``PDQIndex`` (faiss ``IndexBinaryMultiHash``,
  16 tables of 16 bits, the HMA default), built as the library builds it from
  (hash, entry) pairs, and queried in batches through its own
  ``search_with_distance_in_result`` (a per-hash ``query`` loop is slower still).

Usage: python pdq_index_baselines.py flat|threatexchange CODES.npy QUERIES.npy RADIUS
THREADS[,THREADS...] [--time-queries N]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

import faiss
import numpy as np


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def as_bytes(words: np.ndarray) -> np.ndarray:
    """(n, 4) uint64 words as (n, 32) bytes in hex order, as faiss wants binary codes."""
    return np.ascontiguousarray(words.astype(">u8")).view(np.uint8).reshape(-1, 32)


def timed(run: Any, reps: int) -> float:
    seconds = []
    for _ in range(reps):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def flat(
    codes: np.ndarray, queries: np.ndarray, radius: int, threads: list[int], timed_n: int
) -> dict[str, Any]:
    before = rss_bytes()
    started = time.perf_counter()
    index = faiss.IndexBinaryFlat(256)
    index.add(as_bytes(codes))
    build = time.perf_counter() - started
    grown = rss_bytes() - before
    packed = as_bytes(queries)
    faiss.omp_set_num_threads(max(threads))
    lims, distances, labels = index.range_search(packed, radius + 1)  # faiss keeps d < radius
    hits = [
        [query, int(labels[at]), int(distances[at])]
        for query in range(len(queries))
        for at in range(lims[query], lims[query + 1])
    ]
    rates = {}
    sample = packed[:timed_n]
    for count in threads:
        faiss.omp_set_num_threads(count)
        rates[str(count)] = len(sample) / timed(lambda: index.range_search(sample, radius + 1), 1)
    return {"build_s": build, "rss_bytes": grown, "qps": rates, "hits": hits}


def threatexchange(
    codes: np.ndarray, queries: np.ndarray, radius: int, threads: list[int], timed_n: int
) -> dict[str, Any]:
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex

    hexes = [row.tobytes().hex() for row in as_bytes(codes)]
    before = rss_bytes()
    started = time.perf_counter()
    index = PDQIndex(zip(hexes, range(len(hexes)), strict=True))
    build = time.perf_counter() - started
    grown = rss_bytes() - before
    del hexes
    query_hexes = [row.tobytes().hex() for row in as_bytes(queries)]
    faiss.omp_set_num_threads(max(threads))
    found = index.index.search_with_distance_in_result(query_hexes, radius)
    hits = [
        [number, int(entry), int(distance)]
        for number, value in enumerate(query_hexes)
        for entry, _, distance in found[value]
    ]
    rates = {}
    sample = query_hexes[:timed_n]
    for count in threads:
        faiss.omp_set_num_threads(count)
        rates[str(count)] = len(sample) / timed(
            lambda: index.index.search_with_distance_in_result(sample, radius), 3
        )
    return {"build_s": build, "rss_bytes": grown, "qps": rates, "hits": hits}


def main() -> int:
    contender, codes_path, queries_path, radius, threads = sys.argv[1:6]
    timed_n = (
        int(sys.argv[sys.argv.index("--time-queries") + 1])
        if "--time-queries" in sys.argv
        else 10**9
    )
    codes = np.load(codes_path)
    queries = np.load(queries_path)
    run = {"flat": flat, "threatexchange": threatexchange}[contender]
    result = run(codes, queries, int(radius), [int(t) for t in threads.split(",")], timed_n)
    result["versions"] = {"faiss": faiss.__version__, "numpy": np.__version__}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
