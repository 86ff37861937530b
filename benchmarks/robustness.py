"""Do edited copies of known pictures still match, and at what cost in false matches?

Why: a copy with a 5% crop, a border, a slight turn, a caption or a place in a collage
gets a new PDQ hash, so hash lists miss it. The issue's targets: own banks (made from
the originals with ``bank add``) find >= 95% of copies after every edit of the suite;
hash-only banks (a list of the originals' hashes) >= 95% after every edit except crops,
small turns and local repaints; unrelated pairs match at a rate <= 1e-6; and matching
costs <= 3x plain dihedral PDQ matching per item against a hash-only bank.

What runs, all in this process and through clearsight's real matching engine (a SQLite
case and bank store in a temporary folder):

* **bases**: the 16 camera photos of ``../shared/data/camera`` and ``--landscapes``
  generated photo-like landscapes. Four of the camera photos are the same scene taken
  from one tripod by different cameras; they are treated as related, not unrelated.
* **copies**: every base through every edit of ``clearsight.robustness.edits.SUITE``
  (collages and screenshots filled with landscapes that are in no bank),
  JPEG-encoded at quality 90 and fingerprinted as ``clearsight scan`` does (the PDQ
  hash, its 7 rotations and flips, and the hashes of its views).
* **banks**: *hash-only*, the bases' PDQ hashes plus ``--distractors`` further
  landscapes and ``--filler`` random codes (so lookups meet a bank of realistic size);
  *own*, the bases and the distractors added from pixels (crops, turns, quadrants,
  local features).
* **baseline, same run**: plain PDQ, the copy's hash and its dihedral variants against
  the originals' hashes at distance 31, which is what matching did before this work.

Recall is the share of copies matched to their own base. False matches are matches to
any other entry; pairs are copies x picture entries (bases and distractors), and the
closest unrelated PDQ distance over all those pairs' hashes is printed. Cost is the
engine's wall-clock per item, median of ``--reps``, for the hash-only bank with and
without the views' hashes, and the scan-side time to make the views' hashes against
the PDQ hash itself. Each timed case (plain, with views, own bank) is warmed by one
untimed run first, and the cases' timed runs take turns.

Usage: python benchmarks/robustness.py [--landscapes N] [--distractors N] [--filler N]
[--reps R] [--camera DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import delete

from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore
from clearsight.index.cache import PdqIndexCache
from clearsight.index.pdq_index import BruteForcePdqIndex
from clearsight.match.bank_matcher import BankMatcher
from clearsight.match.engine import match_case
from clearsight.media.sniff import MediaKind
from clearsight.robustness.edits import OTHERS_NEEDED, SUITE, EditContext
from clearsight.robustness.held_out import scene_of
from clearsight.robustness.landscapes import render_landscape
from clearsight.signals.digests import digest_bytes
from clearsight.signals.features import LocalFeatures, extract
from clearsight.signals.pdq import PdqHash, PdqSignal
from clearsight.signals.variants import bank_views, hash_views, query_views
from clearsight.store.interface import ScannedFile
from clearsight.store.models import BankCheckRow
from clearsight.store.sql import SqlCaseStore, engine_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from robust_support import Base, Luma, jpeg, log, own_entry, scanned_luma  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
CAMERA = REPO_ROOT.parent / "shared" / "data" / "camera"
THRESHOLD = 31
CLOSEST_SEARCHED = 96  # unrelated pairs are searched up to this distance for the closest


@dataclass(frozen=True)
class Copy:
    base: int
    edit: str
    scanned: ScannedFile
    features: LocalFeatures
    variant_seconds: float
    pdq_seconds: float


def load_bases(camera: Path, landscapes: int) -> list[Base]:
    bases: list[Base] = []
    for path in sorted(camera.glob("*.JPG")):
        with Image.open(path) as opened:
            picture = opened.convert("RGB")
        picture.thumbnail((1200, 1200))
        bases.append(Base(path.stem, picture, scene_of(path.stem)))
    for number in range(landscapes):
        picture = Image.fromarray(render_landscape((2026, number), 960, 640))
        bases.append(Base(f"landscape-{number}", picture, f"landscape-{number}"))
    return bases


def fingerprint(data: bytes, tag: str) -> tuple[ScannedFile, Luma, float, float]:
    """A scan's record of one picture and its luma, with the seconds the PDQ hash and
    the views took."""
    luma = scanned_luma(data)
    started = time.perf_counter()
    pdq = PdqSignal.hash_from_luma(luma)
    hashed = time.perf_counter()
    variants = tuple(hash_views(query_views(luma, partial(scanned_luma, data)), pdq.hex))
    done = time.perf_counter()
    record = ScannedFile(
        path=tag,
        media_type="image/jpeg",
        kind=MediaKind.IMAGE,
        digests=digest_bytes(tag.encode()),  # unique per copy: no exact-digest matches
        pdq=pdq,
        pdq_variants=variants,
    )
    return record, luma, done - hashed, hashed - started


class CopyFeatures:
    def __init__(self, features: Mapping[int, LocalFeatures]) -> None:
        self._features = features

    def features_of(self, item_ids: Sequence[int]) -> Mapping[int, LocalFeatures]:
        return {item: self._features[item] for item in item_ids if item in self._features}

    def tile_features_of(
        self, item_ids: Sequence[int]
    ) -> Mapping[int, Sequence[tuple[str, LocalFeatures]]]:
        return {}  # the suite's own-bank figures predate tile features


def run(args: argparse.Namespace) -> dict[str, Any]:
    bases = load_bases(args.camera, args.landscapes)
    log(f"{len(bases)} bases; rendering {args.distractors} distractors")
    # Small, to render quickly (a bank entry's hashes come from a 512-pixel box
    # anyway), and kept only as the luma a bank would hash.
    distractor_lumas = [
        scanned_luma(jpeg(Image.fromarray(render_landscape((4242, number), 480, 320)), 92))
        for number in range(args.distractors)
    ]
    base_lumas = [scanned_luma(jpeg(base.picture, 92)) for base in bases]
    base_hashes = [PdqSignal.hash_from_luma(luma) for luma in base_lumas]

    # What collages and screenshots put beside a copy: pictures in no bank, else a tile
    # that is another base would rightly match that base.
    fillers = [Image.fromarray(render_landscape((777, number), 640, 427)) for number in range(24)]
    log("editing and fingerprinting copies")
    copies: list[Copy] = []
    for edit in SUITE:
        for number, base in enumerate(bases):
            others = [fillers[(number + k) % len(fillers)] for k in range(OTHERS_NEEDED)]
            context = EditContext(np.random.default_rng(number), others)
            data = jpeg(edit.apply(base.picture, context))
            record, luma, variant_s, pdq_s = fingerprint(data, f"{edit.name}/{base.name}")
            copies.append(Copy(number, edit.name, record, extract(luma), variant_s, pdq_s))

    with tempfile.TemporaryDirectory(prefix="clearsight-robustness-") as work:
        folder = Path(work)
        banks = BankStore.open(f"sqlite:///{folder / 'banks.sqlite'}")
        rng = np.random.default_rng(7)
        filler = [bytes(row).hex() for row in rng.integers(0, 256, (args.filler, 32), np.uint8)]
        hash_only = [
            ImportedEntry(((BankSignal.PDQ, h.hex),), EntryMetadata(external_id=b.name))
            for b, h in zip(bases, base_hashes, strict=True)
        ]
        hash_only += [
            ImportedEntry(
                ((BankSignal.PDQ, PdqSignal.hash_from_luma(luma).hex),),
                EntryMetadata(external_id=f"distractor-{number}"),
            )
            for number, luma in enumerate(distractor_lumas)
        ]
        hash_only += [
            ImportedEntry(((BankSignal.PDQ, code),), EntryMetadata(external_id=f"filler-{n}"))
            for n, code in enumerate(filler)
        ]
        log("building banks")
        banks.import_entries(
            "hash-only", hash_only, BankSettings(), stop_on_error=True, file_name="bench"
        )
        log("adding the own bank from pixels")
        own = [own_entry(b.name, luma) for b, luma in zip(bases, base_lumas, strict=True)]
        own += [
            own_entry(f"distractor-{number}", luma) for number, luma in enumerate(distractor_lumas)
        ]
        banks.import_entries("own", own, BankSettings(), stop_on_error=True, file_name="bench")

        cache = PdqIndexCache(folder / "indexes")
        case = SqlCaseStore.open_folder(folder / "case", "bench")
        scan_id = case.start_scan(["bench"])
        source = case.open_source("bench")
        case.record_files(scan_id, [(source, copy.scanned) for copy in copies])
        item_ids = {query.item_id: n for n, query in enumerate(case.iter_match_queries())}
        features = CopyFeatures({item: copies[n].features for item, n in item_ids.items()})

        plain_case = SqlCaseStore.open_folder(folder / "plain", "bench")
        plain_scan = plain_case.start_scan(["bench"])
        plain_source = plain_case.open_source("bench")
        plain_case.record_files(
            plain_scan, [(plain_source, replace(c.scanned, pdq_variants=())) for c in copies]
        )

        log("matching")
        # Every timed case gets the same warm-up: one untimed run (which builds and caches
        # its bank's index and warms its store), and its timed runs are interleaved with
        # the others', so that load from other work on the machine falls on all alike.
        runs: dict[str, tuple[SqlCaseStore, list[str], CopyFeatures | None]] = {
            "plain": (plain_case, ["hash-only"], None),
            "hash-only": (case, ["hash-only"], None),
            "own": (case, ["own"], features),
        }
        seconds: dict[str, list[float]] = {label: [] for label in runs}
        for rep in range(args.reps + 1):
            for label, (store, names, feats) in runs.items():
                _forget_checks(store)
                started = time.perf_counter()
                match_case(store, BankMatcher(banks, cache, names), item_features=feats)
                if rep > 0:
                    seconds[label].append(time.perf_counter() - started)
        timed = {label: statistics.median(values) for label, values in seconds.items()}
        rows = list(case.iter_items())
        banks.close()
        case.close()
        plain_case.close()

    by_tag = {row.path: row for row in rows}
    results: dict[str, Any] = {"edits": {}}
    unrelated = {"hash-only": 0, "own": 0}
    for edit in SUITE:
        mine = [copy for copy in copies if copy.edit == edit.name]
        stats: dict[str, Any] = {"hash_only_target": edit.hash_only}
        plain = _plain_recall(mine, base_hashes)
        stats["plain"] = plain
        for bank in ("hash-only", "own"):
            found = 0
            for copy in mine:
                matches = [m for m in by_tag[copy.scanned.path].matches if m.bank == bank]
                matched = {m.external_id for m in matches}
                if bases[copy.base].name in matched:
                    found += 1
                unrelated[bank] += sum(
                    1 for name in matched if _unrelated(name, bases[copy.base], bases)
                )
            stats[bank] = found / len(mine)
        results["edits"][edit.name] = stats

    scene_sizes: dict[str, int] = {}
    for base in bases:
        scene_sizes[base.scene] = scene_sizes.get(base.scene, 0) + 1
    entries = len(bases) + len(distractor_lumas)
    pairs = sum(entries - scene_sizes[bases[copy.base].scene] for copy in copies)
    results["pairs"] = pairs
    results["false_matches"] = unrelated
    results["false_match_rate"] = {bank: n / pairs for bank, n in unrelated.items()}
    log("searching the closest unrelated pair")
    results["closest_unrelated"] = _closest_unrelated(copies, bases, base_lumas, distractor_lumas)
    lookups = [8 + len(copy.scanned.pdq_variants) for copy in copies]
    results["cost"] = {
        "items": len(copies),
        "bank_codes_hash_only": len(hash_only),
        "lookups_per_item": statistics.mean(lookups),
        "plain_seconds": timed["plain"],
        "hash_only_seconds": timed["hash-only"],
        "match_ratio": timed["hash-only"] / timed["plain"],
        "own_seconds": timed["own"],
        "views_ms_per_item": 1000 * statistics.median(c.variant_seconds for c in copies),
        "views_ms_per_item_mean": 1000 * statistics.mean(c.variant_seconds for c in copies),
        "pdq_ms_per_item": 1000 * statistics.median(c.pdq_seconds for c in copies),
    }
    return results


def _forget_checks(case: SqlCaseStore) -> None:
    """Make the next match check every item again, as a first run would."""
    with engine_of(case).begin() as connection:
        connection.execute(delete(BankCheckRow))


def _unrelated(entry_name: str | None, base: Base, bases: Sequence[Base]) -> bool:
    if entry_name is None:
        return True
    for other in bases:
        if other.name == entry_name:
            return other.scene != base.scene
    return True  # a distractor or filler entry


def _plain_recall(copies: Sequence[Copy], originals: Sequence[PdqHash]) -> float:
    found = 0
    for copy in copies:
        pdq = copy.scanned.pdq
        assert pdq is not None
        target = originals[copy.base].hex
        if min(PdqSignal.distance(code, target) for code in (pdq.hex, *pdq.dihedral)) <= 31:
            found += 1
    return found / len(copies)


def _closest_unrelated(
    copies: Sequence[Copy],
    bases: Sequence[Base],
    base_lumas: Sequence[Luma],
    others: Sequence[Luma],
) -> dict[str, int | None]:
    """The smallest PDQ distance between any code of a copy and any code of an unrelated
    picture entry: its own hash (hash-only) or any of its stored hashes (own)."""
    entry_scene: list[str] = []
    own_codes: list[str] = []
    own_owner: list[int] = []
    plain_codes: list[str] = []
    for number, luma in enumerate([*base_lumas, *others]):
        scene = bases[number].scene if number < len(bases) else f"distractor-{number}"
        entry_scene.append(scene)
        pdq = PdqSignal.hash_from_luma(luma)
        plain_codes.append(pdq.hex)
        for code in (pdq.hex, *(v.hex for v in hash_views(bank_views(luma), pdq.hex))):
            own_codes.append(code)
            own_owner.append(number)
    query_codes: list[str] = []
    query_scene: list[str] = []
    for copy in copies:
        scanned = copy.scanned.pdq
        assert scanned is not None
        for code in (scanned.hex, *scanned.dihedral, *(v.hex for v in copy.scanned.pdq_variants)):
            query_codes.append(code)
            query_scene.append(bases[copy.base].scene)
    queries = PdqSignal.pack(query_codes)
    closest: dict[str, int | None] = {}
    for label, codes, owners in (
        ("hash-only", plain_codes, list(range(len(plain_codes)))),
        ("own", own_codes, own_owner),
    ):
        hits = BruteForcePdqIndex(PdqSignal.pack(codes)).search_many(queries, CLOSEST_SEARCHED)
        best: int | None = None
        for query, position, distance in zip(
            hits.queries, hits.positions, hits.distances, strict=True
        ):
            if query_scene[int(query)] != entry_scene[owners[int(position)]]:
                best = int(distance) if best is None else min(best, int(distance))
        closest[label] = best
    return closest


def report(results: dict[str, Any]) -> str:
    lines = [
        f"{'edit':24} {'plain PDQ':>10} {'hash-only':>10} {'own bank':>10}  hash-only target",
    ]
    for name, stats in results["edits"].items():
        target = ">= 95%" if stats["hash_only_target"] else "report"
        lines.append(
            f"{name:24} {stats['plain']:>10.1%} {stats['hash-only']:>10.1%} "
            f"{stats['own']:>10.1%}  {target}"
        )
    cost = results["cost"]
    closest = results["closest_unrelated"]
    lines += [
        "",
        f"unrelated pairs: {results['pairs']:,}; false matches: "
        f"hash-only {results['false_matches']['hash-only']} "
        f"({results['false_match_rate']['hash-only']:.2e}), "
        f"own {results['false_matches']['own']} ({results['false_match_rate']['own']:.2e})",
        f"closest unrelated PDQ distance: hash-only {closest['hash-only']}, own {closest['own']}"
        f" (searched up to {CLOSEST_SEARCHED})",
        f"lookups per item: {cost['lookups_per_item']:.2f} (plain dihedral: 8)",
        f"matching {cost['items']} items against {cost['bank_codes_hash_only']:,} hash-only "
        f"entries: plain {cost['plain_seconds']:.2f} s, with views "
        f"{cost['hash_only_seconds']:.2f} s, ratio {cost['match_ratio']:.2f}x",
        f"own bank (with local-feature confirmation): {cost['own_seconds']:.2f} s",
        f"scan side per item: PDQ {cost['pdq_ms_per_item']:.1f} ms, views "
        f"{cost['views_ms_per_item']:.1f} ms (median), {cost['views_ms_per_item_mean']:.1f} ms "
        "(mean: collages and screenshots are decoded again, larger, for their small regions)",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landscapes", type=int, default=48, help="generated bases")
    parser.add_argument("--distractors", type=int, default=3000, help="unrelated bank pictures")
    parser.add_argument("--filler", type=int, default=200_000, help="random bank codes")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument(
        "--camera", type=Path, default=CAMERA, help="folder of the camera photos (16 JPGs)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.camera.is_dir():
        log(f"camera photos not found at {args.camera} (see --camera)")
        return 2
    results = run(args)
    results["machine"] = {"platform": platform.platform(), "python": platform.python_version()}
    print(json.dumps(results) if args.json else report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
