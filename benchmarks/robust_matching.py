"""Held-out robustness: edits drawn at random, on photos the matcher was not tuned on.

Why: ``benchmarks/robustness.py`` applies the fixed edit suite the detectors were built
against, and its figures were near perfect while copies edited elsewhere were often
missed. Here every edit's parameters are drawn afresh
(:mod:`clearsight.robustness.random_edits`: off-centre crops, caption bars and banners
of 8-25% in any colour, pads of 10-60% with plain, blurred or patterned fill, turns of
1-8 degrees, screenshots of varied chrome, collages of 2x2 to 4x4, flips, quarter turns,
rescales with JPEG and colour changes), and the pictures are split in two:

* **dev** (tune on this): the photos of ``../shared/data/camera`` and
  ``../shared/data/generated`` whose name's SHA-256 starts with an even byte, and
  landscapes generated with seed 2026;
* **eval** (report this): the photos whose name's SHA-256 starts with an odd byte, and
  landscapes generated with seed 2027.

Stable Diffusion's sheets of several pictures (aspect 2.5 or more) are left out: they
are collages already. Four camera photos are one scene from one tripod; they count as
related, not unrelated.

Every copy goes through clearsight's real lookup (:class:`BankMatcher` over a SQLite
bank store): the *hash-only* bank holds the bases' PDQ hashes, ``--distractors``
unrelated generated pictures (crops of generated scenes) and ``--filler`` random
codes; the *own* bank holds the bases and distractors added from pixels as ``bank
add`` does (hashes of crops and turns, local features). Recall is the share of
copies matched to their base. A false match is a match to any entry of another
scene; pairs are copies x picture entries of other scenes. Cost: lookups per item,
and the hash-only lookup's time with and without the views against plain dihedral
PDQ (median of ``--reps``, the two taking turns).

Usage: python benchmarks/robust_matching.py [--split eval|dev] [--draws N] [--seed S]
[--landscapes N] [--distractors N] [--filler N] [--reps R] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore
from clearsight.index.cache import PdqIndexCache
from clearsight.match.bank_matcher import BankMatcher, QuerySignals
from clearsight.robustness.held_out import LANDSCAPE_SEEDS, Split, scene_of, split_photos
from clearsight.robustness.landscapes import render_landscape
from clearsight.robustness.random_edits import FAMILIES, OTHERS_NEEDED
from clearsight.signals.features import extract
from clearsight.signals.pdq import PdqSignal
from clearsight.signals.variants import hash_views, is_tile, query_views, tile_features

sys.path.insert(0, str(Path(__file__).resolve().parent))
from robust_support import Base, Luma, jpeg, log, own_entry, scanned_luma  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Draw:
    family: str
    base: int
    signals: QuerySignals


def load_bases(split: Split, landscapes: int, data: Path = DATA) -> list[Base]:
    bases = [Base(name, picture, scene_of(name)) for name, picture in split_photos(data, split)]
    seed = LANDSCAPE_SEEDS[split]
    for number in range(landscapes):
        picture = Image.fromarray(render_landscape((seed, number), 960, 640))
        bases.append(Base(f"landscape-{seed}-{number}", picture, f"landscape-{number}"))
    return bases


def query_signals(data: bytes) -> QuerySignals:
    """What a scan records of one file, as a case-free lookup takes it, with the
    keypoints of a collage's tiles, which matching a case reads from the file."""
    luma = scanned_luma(data)
    pdq = PdqSignal.hash_from_luma(luma)
    sharper = partial(scanned_luma, data)
    views = tuple(hash_views(query_views(luma, sharper), pdq.hex))
    tiles = tile_features(luma, sharper) if any(is_tile(v.name) for v in views) else []
    return QuerySignals(
        pdq=pdq.hex,
        pdq_quality=pdq.quality,
        dihedral=pdq.dihedral,
        variants=views,
        features=extract(luma),
        tile_features=tuple(tiles),
    )


def make_distractors(count: int, per_scene: int = 8) -> list[Luma]:
    """Unrelated bank pictures: ``per_scene`` crops (half to four fifths of each side,
    anywhere, some mirrored) of each of ``count / per_scene`` generated scenes, as a
    scan sees them. (Rendering is the slow part; the crops of one scene are related to
    each other, but to no base, which is all a false-match count needs.)"""
    rng = np.random.default_rng(4242)
    lumas: list[Luma] = []
    for scene in range(-(-count // per_scene)):
        picture = Image.fromarray(render_landscape((4242, scene), 640, 427))
        for _ in range(min(per_scene, count - len(lumas))):
            share_w, share_h = (float(v) for v in rng.uniform(0.5, 0.8, 2))
            w, h = round(picture.width * share_w), round(picture.height * share_h)
            left = int(rng.integers(picture.width - w + 1))
            top = int(rng.integers(picture.height - h + 1))
            cut = picture.crop((left, top, left + w, top + h))
            if rng.random() < 0.5:
                cut = cut.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            lumas.append(scanned_luma(jpeg(cut, 92)))
    return lumas


def make_draws(bases: Sequence[Base], per_family: int, seed: int) -> list[Draw]:
    """``per_family`` copies for each family, each of a base drawn at random with its
    parameters drawn at random, among unrelated pictures that are in no bank."""
    fillers = [Image.fromarray(render_landscape((777, n), 640, 427)) for n in range(32)]
    rng = np.random.default_rng(seed)
    draws: list[Draw] = []
    for family in FAMILIES:
        for _ in range(per_family):
            base = int(rng.integers(len(bases)))
            others = [fillers[int(k)] for k in rng.permutation(len(fillers))[:OTHERS_NEEDED]]
            edited = family.apply(bases[base].picture, rng, others)
            data = jpeg(edited, int(rng.integers(70, 96)))
            draws.append(Draw(family.family, base, query_signals(data)))
        log(f"{family.family}: {per_family} copies")
    return draws


def run(args: argparse.Namespace) -> dict[str, Any]:
    bases = load_bases(args.split, args.landscapes, args.data)
    log(f"{len(bases)} {args.split} bases; {args.draws} draws per family")
    draws = make_draws(bases, args.draws, args.seed)
    base_lumas = [scanned_luma(jpeg(base.picture, 92)) for base in bases]
    log(f"making {args.distractors} distractors")
    distractors = make_distractors(args.distractors)
    with tempfile.TemporaryDirectory(prefix="clearsight-robust-") as work:
        folder = Path(work)
        banks = BankStore.open(f"sqlite:///{folder / 'banks.sqlite'}")
        rng = np.random.default_rng(7)
        filler = [bytes(row).hex() for row in rng.integers(0, 256, (args.filler, 32), np.uint8)]
        listed = [
            ImportedEntry(
                ((BankSignal.PDQ, PdqSignal.hash_from_luma(luma).hex),),
                EntryMetadata(external_id=name),
            )
            for name, luma in [
                *((b.name, luma) for b, luma in zip(bases, base_lumas, strict=True)),
                *((f"distractor-{n}", luma) for n, luma in enumerate(distractors)),
            ]
        ]
        listed += [
            ImportedEntry(((BankSignal.PDQ, code),), EntryMetadata(external_id=f"filler-{n}"))
            for n, code in enumerate(filler)
        ]
        settings = BankSettings()
        banks.import_entries("hash-only", listed, settings, stop_on_error=True, file_name="bench")
        log("adding the own bank from pixels")
        own = [own_entry(b.name, luma) for b, luma in zip(bases, base_lumas, strict=True)]
        own += [own_entry(f"distractor-{n}", luma) for n, luma in enumerate(distractors)]
        banks.import_entries("own", own, settings, stop_on_error=True, file_name="bench")
        cache = PdqIndexCache(folder / "indexes")
        matchers = {
            "hash-only": BankMatcher(banks, cache, ["hash-only"]),
            "own": BankMatcher(banks, cache, ["own"]),
        }
        log("matching")
        found: dict[str, list[set[str]]] = {name: [] for name in matchers}
        for name, matcher in matchers.items():
            for draw in draws:
                signals = draw.signals if name == "own" else _without_features(draw.signals)
                found[name].append({m.metadata.external_id or "" for m in matcher.lookup(signals)})
        timing = _time_lookups(matchers["hash-only"], draws, args.reps)
        banks.close()
    return _results(bases, draws, found, len(bases) + len(distractors), timing)


def _without_features(signals: QuerySignals) -> QuerySignals:
    return QuerySignals(
        pdq=signals.pdq,
        pdq_quality=signals.pdq_quality,
        dihedral=signals.dihedral,
        variants=signals.variants,
    )


def _time_lookups(matcher: BankMatcher, draws: Sequence[Draw], reps: int) -> dict[str, float]:
    """Seconds for all draws' hash-only lookups: plain (the hash and its dihedral
    variants) and with the views; medians of ``reps``, the two taking turns."""
    plain = [
        QuerySignals(
            pdq=d.signals.pdq, pdq_quality=d.signals.pdq_quality, dihedral=d.signals.dihedral
        )
        for d in draws
    ]
    full = [_without_features(d.signals) for d in draws]
    seconds: dict[str, list[float]] = {"plain": [], "views": []}
    for rep in range(reps + 1):
        for label, queries in (("plain", plain), ("views", full)):
            started = time.perf_counter()
            for query in queries:
                matcher.lookup(query)
            if rep:
                seconds[label].append(time.perf_counter() - started)
    return {label: statistics.median(values) for label, values in seconds.items()}


def _results(
    bases: Sequence[Base],
    draws: Sequence[Draw],
    found: dict[str, list[set[str]]],
    picture_entries: int,
    timing: dict[str, float],
) -> dict[str, Any]:
    scene_of = {base.name: base.scene for base in bases}
    scene_size: dict[str, int] = {}
    for base in bases:
        scene_size[base.scene] = scene_size.get(base.scene, 0) + 1
    families: dict[str, Any] = {}
    false = {name: 0 for name in found}
    for family in FAMILIES:
        row: dict[str, Any] = {"hash_only_target": family.hash_only}
        mine = [n for n, d in enumerate(draws) if d.family == family.family]
        for name, per_draw in found.items():
            hits = sum(1 for n in mine if bases[draws[n].base].name in per_draw[n])
            row[name] = hits / len(mine)
            row[f"{name}_found"] = hits
        row["draws"] = len(mine)
        families[family.family] = row
    for name, per_draw in found.items():
        for draw, names in zip(draws, per_draw, strict=True):
            scene = bases[draw.base].scene
            false[name] += sum(1 for entry in names if scene_of.get(entry, entry) != scene)
    pairs = sum(picture_entries - scene_size[bases[d.base].scene] for d in draws)
    lookups = [8 + len(d.signals.variants) for d in draws]
    return {
        "families": families,
        "draws": len(draws),
        "bases": len(bases),
        "pairs": pairs,
        "false_matches": false,
        "false_match_rate": {name: n / pairs for name, n in false.items()},
        "lookups_per_item": statistics.mean(lookups),
        "lookups_per_item_max": max(lookups),
        "seconds": timing,
        "cost_ratio": timing["views"] / timing["plain"],
    }


def report(results: dict[str, Any], split: str) -> str:
    lines = [f"split: {split}; {results['bases']} bases, {results['draws']} draws"]
    lines.append(f"{'family':14} {'hash-only':>12} {'own bank':>12}  hash-only target")
    worst: dict[str, tuple[float, str]] = {}
    for family, row in results["families"].items():
        target = ">= 95%" if row["hash_only_target"] else "report"
        lines.append(
            f"{family:14} {row['hash-only']:>7.1%} {row['hash-only_found']:>3}/{row['draws']:<3}"
            f"{row['own']:>7.1%} {row['own_found']:>3}/{row['draws']:<3} {target}"
        )
        for bank in ("hash-only", "own"):
            if bank == "own" or row["hash_only_target"]:
                if bank not in worst or row[bank] < worst[bank][0]:
                    worst[bank] = (row[bank], family)
    lines.append(
        "worst family: "
        + ", ".join(f"{bank} {family} {share:.1%}" for bank, (share, family) in worst.items())
    )
    rate = results["false_match_rate"]
    false = results["false_matches"]
    lines += [
        f"unrelated pairs: {results['pairs']:,}; false matches: hash-only {false['hash-only']} "
        f"({rate['hash-only']:.1e}), own {false['own']} ({rate['own']:.1e})",
        f"lookups per item: {results['lookups_per_item']:.1f} mean, "
        f"{results['lookups_per_item_max']} max (plain dihedral PDQ: 8)",
        f"hash-only lookup time: plain {results['seconds']['plain']:.2f} s, with views "
        f"{results['seconds']['views']:.2f} s, ratio {results['cost_ratio']:.2f}x",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("eval", "dev"), default="eval")
    parser.add_argument("--draws", type=int, default=64, help="copies per edit family")
    parser.add_argument("--seed", type=int, default=None, help="edit draws (default: random)")
    parser.add_argument("--landscapes", type=int, default=24, help="generated bases")
    parser.add_argument("--distractors", type=int, default=2000, help="unrelated bank pictures")
    parser.add_argument("--filler", type=int, default=200_000, help="random bank codes")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.data / "camera").is_dir():
        log(f"shared photos not found under {args.data} (see --data)")
        return 2
    if args.seed is None:
        args.seed = int.from_bytes(os.urandom(4), "little")
    log(f"seed {args.seed}")
    results = run(args)
    results["split"], results["seed"] = args.split, args.seed
    results["machine"] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load": os.getloadavg()[0],
    }
    print(json.dumps(results) if args.json else report(results, args.split))
    return 0


if __name__ == "__main__":
    sys.exit(main())
