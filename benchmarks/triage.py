"""How long stacking near-duplicates takes, and how it grows with the size of a case.

Why: a seized device can hold a million pictures; near-duplicates must stack in
minutes, not in the hours that comparing all pairs would take. This script makes
synthetic cases at the hash level (random 256-bit PDQ codes with their seven dihedral
forms also random, as for real pictures, plus planted near-duplicates 0-30 bits away
in groups of 2-5), and times clearsight's stacking (``stacks_of``: the PDQ index, every
item looked up with its eight dihedral hashes, then union-find) at sizes from 10k to
100k items. Baseline, in the same run: the naive all-pairs comparison (every dihedral
hash of every item against every item's hash, numpy popcount) at 10k items. Both must
find exactly the planted pairs.

Usage: python benchmarks/triage.py [--sizes 10000,30000,100000] [--reps 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from clearsight.index.pdq_index import distances_to
from clearsight.series.groups import Groups
from clearsight.series.stacks import StackInput, stacks_of
from clearsight.signals.pdq import PdqSignal

DISTANCE = 31
Bits = npt.NDArray[np.uint8]


def synthetic_case(size: int, seed: int) -> tuple[list[StackInput], set[frozenset[int]]]:
    """``size`` items, a tenth of them in planted near-duplicate groups; the groups."""
    rng = np.random.default_rng(seed)
    items: list[StackInput] = []
    groups: set[frozenset[int]] = set()
    while len(items) < size:
        base = rng.integers(0, 2, 256, dtype=np.uint8)
        copies = int(rng.integers(2, 6)) if rng.random() < 0.04 else 1
        members = []
        for _ in range(min(copies, size - len(items))):
            bits = base.copy()
            bits[rng.choice(256, int(rng.integers(0, 15)), replace=False)] ^= 1
            dihedral = tuple(_hex(rng.integers(0, 2, 256, dtype=np.uint8)) for _ in range(7))
            item_id = len(items)
            items.append(StackInput(item_id, None, _hex(bits), dihedral, 1, 1))
            members.append(item_id)
        if len(members) > 1:
            groups.add(frozenset(members))
    return items, groups


def _hex(bits: Bits) -> str:
    return np.packbits(bits).tobytes().hex()


def naive_stacks(items: Sequence[StackInput]) -> set[frozenset[int]]:
    """All pairs: each item's eight hashes against every item's own hash."""
    codes = PdqSignal.pack([item.pdq or "" for item in items])
    groups = Groups()
    for item in items:
        for value in (item.pdq, *item.dihedral):
            if value is None:
                continue
            near = np.flatnonzero(distances_to(codes, PdqSignal.pack([value])[0]) <= DISTANCE)
            groups.join_all((item.item_id, int(other)) for other in near if other != item.item_id)
    return {frozenset(members) for members in groups.groups(item.item_id for item in items)}


def timed(run: Any, reps: int) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(reps):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,30000,100000", help="case sizes")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median) [3]")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    results: dict[str, Any] = {"sizes": {}, "distance": DISTANCE}
    for size in sizes:
        items, planted = synthetic_case(size, seed=size)
        seconds, stacks = timed(lambda items=items: stacks_of(items, DISTANCE), args.reps)
        found = {frozenset(stack.members) for stack in stacks}
        results["sizes"][size] = {
            "stack_seconds": seconds,
            "planted_groups": len(planted),
            "found_groups": len(found),
            "exact": found == planted,
        }
        print(
            f"{size:>8} items: stacked in {seconds:.2f} s; {len(found)} stacks, "
            f"planted {len(planted)}, exact: {found == planted}",
            file=sys.stderr,
        )
    baseline_size = sizes[0]
    items, planted = synthetic_case(baseline_size, seed=baseline_size)
    naive_seconds, naive = timed(lambda: naive_stacks(items), 1)
    results["naive"] = {
        "size": baseline_size,
        "seconds": naive_seconds,
        "exact": naive == planted,
        "ratio_to_clearsight": naive_seconds / results["sizes"][baseline_size]["stack_seconds"],
    }
    first, last = sizes[0], sizes[-1]
    results["growth"] = (
        results["sizes"][last]["stack_seconds"] / results["sizes"][first]["stack_seconds"]
    ) / (last / first)
    results["machine"] = {"platform": platform.platform(), "python": platform.python_version()}
    if args.json:
        print(json.dumps(results))
        return 0
    for size, row in results["sizes"].items():
        print(f"{size:>8} items: {row['stack_seconds']:.2f} s (exact: {row['exact']})")
    naive_row = results["naive"]
    print(
        f"naive all pairs at {naive_row['size']}: {naive_row['seconds']:.2f} s "
        f"(exact: {naive_row['exact']}), {naive_row['ratio_to_clearsight']:.1f}x clearsight"
    )
    print(
        f"time per item grows {results['growth']:.2f}x from {first} to {last} items (1.0 = linear)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
