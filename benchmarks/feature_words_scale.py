"""The own-bank feature-word index at 100k pictures: size, build time, cost per query.

Why: an own bank retrieves candidates by feature words (:mod:`clearsight.index.
feature_words`) so that crops off centre and turns are found at all; the issue asks
that the cost per query item stay bounded as the bank grows, measured at 100k
pictures.

What runs: ``--bases`` generated landscapes are the pictures looked for. The bank holds
them and ``--entries`` synthetic entries made from them: each a base's keypoints with
``--flip`` of the descriptor bits flipped at random (so its words are new, but as
clustered as real ORB words, which a uniform random bank would not be) and the points
shuffled. Queries are random off-centre crops (0-15% per side) and turns of the bases,
JPEG at 85. Reported: the index's bytes (and per entry), its build time, the median
and 95th percentile time of one query's candidates, and the share of queries whose
base is among the candidates; for scale, the same queries against a bank of a tenth
of the size (the ratio shows how cost grows). Features are taken as the scan takes
them (ORB on the 512-pixel luma).

Usage: python benchmarks/feature_words_scale.py [--entries N] [--bases N]
[--queries N] [--flip F] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from PIL import Image

from clearsight.index.feature_words import KEYPOINTS, FeatureWordIndex
from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.robustness.landscapes import render_landscape
from clearsight.robustness.random_edits import crop, turn
from clearsight.signals.features import LocalFeatures, extract


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def features_of(picture: Image.Image) -> LocalFeatures:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return extract(decode_luma(buffer.getvalue(), DecodeLimits(), 512).luma)


def synthetic(source: LocalFeatures, rng: np.random.Generator, flip: float) -> LocalFeatures:
    bits = np.unpackbits(source.descriptors[:KEYPOINTS], axis=1)
    bits ^= (rng.random(bits.shape) < flip).astype(np.uint8)
    order = rng.permutation(bits.shape[0])
    return LocalFeatures(source.points[: bits.shape[0]][order], np.packbits(bits, axis=1)[order])


def measure(
    index: FeatureWordIndex, queries: Sequence[tuple[int, LocalFeatures]]
) -> dict[str, float]:
    seconds: list[float] = []
    found = 0
    for base, features in queries:
        started = time.perf_counter()
        candidates = index.candidates(features)
        seconds.append(time.perf_counter() - started)
        found += any(entry == base for entry, _ in candidates)
    seconds.sort()
    return {
        "median_ms": 1000 * statistics.median(seconds),
        "p95_ms": 1000 * seconds[int(0.95 * (len(seconds) - 1))],
        "recall": found / len(queries),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(11)
    bases = [Image.fromarray(render_landscape((3131, n), 720, 480)) for n in range(args.bases)]
    base_features = [features_of(picture) for picture in bases]
    queries: list[tuple[int, LocalFeatures]] = []
    for number in range(args.queries):
        base = number % len(bases)
        edit = crop if number % 2 == 0 else turn
        queries.append((base, features_of(edit(bases[base], rng, []))))
    log(f"{len(bases)} bases, {len(queries)} queries; {args.entries:,} entries")

    def entries(count: int) -> Iterator[tuple[int, LocalFeatures]]:
        """The bases, then synthetic entries, made as the index reads them."""
        made = np.random.default_rng(12)
        yield from list(enumerate(base_features))[:count]
        for number in range(count - len(bases)):
            source = base_features[number % len(bases)]
            yield len(bases) + number, synthetic(source, made, args.flip)

    results: dict[str, Any] = {}
    for label, size in (("tenth", args.entries // 10), ("full", args.entries)):
        started = time.perf_counter()
        index = FeatureWordIndex.build(entries(size))
        built = time.perf_counter() - started
        row = {"entries": size, "build_s": built, "bytes": index.nbytes}
        row["bytes_per_entry"] = index.nbytes / size
        row.update(measure(index, queries))
        results[label] = row
        log(f"{label}: {row}")
        del index
    results["cost_ratio"] = results["full"]["median_ms"] / results["tenth"]["median_ms"]
    # What the words would take unshrunk: every keypoint (400), all 8 positions, a
    # 64-bit sorted key and a 32-bit owner each.
    results["unshrunk_bytes_per_entry"] = 400 * 8 * 12
    return results


def report(results: dict[str, Any]) -> str:
    lines = []
    for label in ("tenth", "full"):
        row = results[label]
        lines.append(
            f"{row['entries']:>9,} entries: index {row['bytes'] / 2**20:,.0f} MiB "
            f"({row['bytes_per_entry']:,.0f} B/entry), built in {row['build_s']:.1f} s; "
            f"candidates {row['median_ms']:.2f} ms median, {row['p95_ms']:.2f} ms p95; "
            f"base among candidates {row['recall']:.1%}"
        )
    lines.append(
        f"cost ratio full/tenth: {results['cost_ratio']:.2f}x; unshrunk words would take "
        f"{results['unshrunk_bytes_per_entry']:,} B/entry"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--bases", type=int, default=40)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--flip", type=float, default=0.1, help="share of bits flipped")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run(args)
    results["machine"] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load": os.getloadavg()[0],
    }
    print(json.dumps(results) if args.json else report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
