"""Scene links on an edited-photo set: what retrieval finds, what confirmation keeps.

Why: a picture with a region replaced, a crop, a recoloured copy, a collage holding it
or a slightly turned copy shows the scene of the original, and should be linked to it
in a case's series. The issue's targets: precision >= 0.99 (unrelated pictures never
linked) and recall >= 0.9 on an edited-photo set; ``candidate_pairs`` sub-quadratic for
100k+ items.

What runs, all in this process:

* **bases**: the 16 camera photos of ``../shared/data/camera`` and ``--landscapes``
  generated landscapes. Four camera photos are one scene shot from one tripod with
  different cameras; they are related to each other, and so are all their copies;
* **copies**: every base through every edit of :data:`EDITS`: crops of 10-20% per side
  (centred, and drawn per side), a region of 10-25% of the area replaced by a patch of
  another photo, hue shifted, colour balance changed, a tile of a 2x2 collage, turned
  2-5 degrees (corners kept or cut), and a region repainted (a changed object). Patches
  and collage tiles come from landscapes that are nowhere else in the set;
* **distractors**: ``--distractors`` further landscapes, unedited;
* every picture JPEG-encoded at quality 90 and decoded into the 512-pixel box the scan
  hashes in; its hashes are what the scan keeps (its PDQ hash, the query views that
  find collage tiles, and the scene views), and its ORB features are taken.

Then retrieval by two channels, ``candidate_pairs`` (PDQ hashes within ``--radius``)
and ``feature_candidate_pairs`` (ORB feature words), and ``confirm`` on each candidate
of either; a link between different scenes is false, and recall is the share of
copy-to-base pairs (and tripod pairs) linked. The table shows, per edit, what each
channel retrieved and what was linked. Alongside:

* PDQ retrieval alone per edit at radius 31, 40 and 48 for the scan's views and for
  alternatives (the measurements behind ``SCENE_CROP_SCALES`` and ``SCENE_BOX``), with
  the same shares for 20,000 random unrelated pairs;
* confirmation alone, on every copy-to-base pair and on ``--unrelated-sample`` random
  unrelated pairs (both ways);
* both retrievals timed on ``--sizes`` synthetic items: 8 random PDQ codes each (with
  1,000 planted near pairs), against a naive all-pairs numpy pass at the first size;
  400 random descriptors each for the feature words (real photos' words collide more,
  so that times the sorting, not a realistic number of pairs).

The default run takes 4-5 minutes on two cores, most of it in the 100k timings.

Usage: python benchmarks/scene_links.py [--landscapes N] [--distractors N] [--radius R]
[--unrelated-sample N] [--sizes 10000,100000] [--json]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageEnhance

from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.robustness import edits
from clearsight.robustness.landscapes import render_landscape
from clearsight.series.scene_links import (
    SCENE_RADIUS,
    SceneGeometry,
    candidate_pairs,
    confirm,
    feature_candidate_pairs,
)
from clearsight.signals.features import LocalFeatures, extract
from clearsight.signals.pdq import PDQ_WORKING_BOX, PdqSignal
from clearsight.signals.scene import SCENE_BOX, fitted_into, scene_views
from clearsight.signals.variants import centre_crop, hash_views, quadrants, query_views

REPO_ROOT = Path(__file__).resolve().parent.parent
CAMERA = REPO_ROOT.parent / "shared" / "data" / "camera"
SAME_SCENE = frozenset(
    {"Nikon_D200_0_14902", "Nikon_D70_0_19445", "Nikon_D70_1_20543", "Nikon_D70s_1_22750"}
)
RETRIEVAL_RADII = (31, 40, 48)
STUDY_SCALES = (0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6)
# View sets compared in the retrieval study: name -> (quadrants?, crop scales, the box
# the views are cut from). The scan cuts its views from the picture fitted into
# SCENE_BOX; the others are cut from the 512-pixel picture the PDQ hash is made from.
STUDY_SETS: dict[str, tuple[bool, tuple[float, ...], int]] = {
    "own hash only": (False, (), PDQ_WORKING_BOX),
    "quadrants": (True, (), PDQ_WORKING_BOX),
    "quadrants + 0.65": (True, (0.65,), PDQ_WORKING_BOX),
    "quadrants + 0.75": (True, (0.75,), PDQ_WORKING_BOX),
    "quadrants + 0.8, 0.6": (True, (0.8, 0.6), PDQ_WORKING_BOX),
    "quadrants + 0.8, 0.65": (True, (0.8, 0.65), PDQ_WORKING_BOX),
    "quadrants + 0.85, 0.65": (True, (0.85, 0.65), PDQ_WORKING_BOX),
    "quadrants + 0.85, 0.75, 0.65": (True, (0.85, 0.75, 0.65), PDQ_WORKING_BOX),
    f"quadrants + 0.85, 0.65 in {SCENE_BOX} px (the scan's)": (True, (0.85, 0.65), SCENE_BOX),
}
STUDY_BOXES = (PDQ_WORKING_BOX, SCENE_BOX)
Luma = npt.NDArray[np.uint8]
Picture = Image.Image


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The edits. Each takes the picture, a random generator, and pictures from outside the set.
Edit = Callable[[Picture, np.random.Generator, Sequence[Picture]], Picture]


def crop_centred(picture: Picture, rng: np.random.Generator, _: Sequence[Picture]) -> Picture:
    return edits.crop(picture, _context(rng), per_side=float(rng.uniform(0.10, 0.20)))


def crop_per_side(picture: Picture, rng: np.random.Generator, _: Sequence[Picture]) -> Picture:
    left, top, right, bottom = rng.uniform(0.10, 0.20, 4)
    w, h = picture.size
    return picture.crop(
        (round(left * w), round(top * h), round(w - right * w), round(h - bottom * h))
    )


def patch(picture: Picture, rng: np.random.Generator, others: Sequence[Picture]) -> Picture:
    """A rectangle of 10-25% of the area replaced by the same-sized part of another photo."""
    w, h = picture.size
    area = float(rng.uniform(0.10, 0.25)) * w * h
    aspect = float(rng.uniform(0.6, 1.6))
    patch_w = min(round(math.sqrt(area * aspect)), w - 1)
    patch_h = min(round(area / patch_w), h - 1)
    donor = others[0].resize((w, h), Image.Resampling.BILINEAR)
    x, y = int(rng.integers(0, w - patch_w)), int(rng.integers(0, h - patch_h))
    dx, dy = int(rng.integers(0, w - patch_w)), int(rng.integers(0, h - patch_h))
    edited = picture.copy()
    edited.paste(donor.crop((dx, dy, dx + patch_w, dy + patch_h)), (x, y))
    return edited


def hue_shift(picture: Picture, rng: np.random.Generator, _: Sequence[Picture]) -> Picture:
    hsv = np.asarray(picture.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + int(rng.integers(30, 226))) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def colour_balance(picture: Picture, rng: np.random.Generator, _: Sequence[Picture]) -> Picture:
    gains = rng.uniform(0.6, 1.4, 3).astype(np.float32)
    balanced = np.clip(np.asarray(picture, np.float32) * gains, 0, 255).astype(np.uint8)
    return ImageEnhance.Contrast(Image.fromarray(balanced)).enhance(float(rng.uniform(0.8, 1.2)))


def collage(picture: Picture, rng: np.random.Generator, others: Sequence[Picture]) -> Picture:
    return edits.collage(picture, _context(rng, others), grid=2)


def turn(picture: Picture, rng: np.random.Generator, _: Sequence[Picture]) -> Picture:
    degrees = float(rng.choice([-1, 1]) * rng.uniform(2, 5))
    return edits.rotate(picture, _context(rng), degrees=degrees, corners=bool(rng.integers(2)))


def repaint(picture: Picture, rng: np.random.Generator, _: Sequence[Picture]) -> Picture:
    return edits.repaint(picture, _context(rng))


def _context(rng: np.random.Generator, others: Sequence[Picture] = ()) -> edits.EditContext:
    return edits.EditContext(rng, others)


EDITS: dict[str, tuple[Edit, int]] = {  # name -> (edit, outside pictures it needs)
    "crop-centred": (crop_centred, 0),
    "crop-per-side": (crop_per_side, 0),
    "patch": (patch, 1),
    "hue": (hue_shift, 0),
    "colour-balance": (colour_balance, 0),
    "collage-2x2": (collage, 3),
    "turn-2-5": (turn, 0),
    "repaint": (repaint, 0),
}


@dataclass(frozen=True)
class Item:
    name: str
    scene: str  # items of one scene are related
    edit: str  # "base", "distractor" or an edit's name
    base: int  # the base's item number; -1 for distractors
    size: tuple[int, int]
    codes: tuple[str, ...]  # what the scan keeps: own hash, query views, scene views
    study: dict[str, str]  # every view's hash, for the retrieval study
    features: LocalFeatures


def scanned_luma(data: bytes, box: int = PDQ_WORKING_BOX) -> Luma:
    return decode_luma(data, DecodeLimits(), box).luma


def fingerprint(picture: Picture, name: str, scene: str, edit: str, base: int) -> Item:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    luma = scanned_luma(data)
    pdq = PdqSignal.hash_from_luma(luma)
    query = hash_views(query_views(luma, partial(scanned_luma, data)), pdq.hex)
    views = hash_views(scene_views(luma), pdq.hex)
    codes = (pdq.hex, *(v.hex for v in query), *(v.hex for v in views))
    # The study compares view sets, so it keeps every candidate view's hash by name.
    study = {"own": pdq.hex} | {f"query-{n}": v.hex for n, v in enumerate(query)}
    for box in STUDY_BOXES:
        fitted = fitted_into(luma, box)
        candidates = [
            *quadrants(fitted),
            *((f"crop-{s:.2f}", centre_crop(fitted, s)) for s in STUDY_SCALES),
        ]
        study |= {f"{box}/{v.name}": v.hex for v in hash_views(candidates, pdq.hex)}
    height, width = luma.shape
    return Item(name, scene, edit, base, (width, height), codes, study, extract(luma))


@dataclass(frozen=True)
class EditedPicture:
    """One picture of the edited-photo set, before it is fingerprinted."""

    name: str
    scene: str
    edit: str
    base: int
    picture: Picture


def edited_pictures(landscapes: int, distractors: int) -> Iterator[EditedPicture]:
    """The edited-photo set: bases, every edit of each, then distractors, in order."""
    bases: list[tuple[str, str, Picture]] = []
    for path in sorted(CAMERA.glob("*.JPG")):
        with Image.open(path) as opened:
            picture = opened.convert("RGB")
        picture.thumbnail((1200, 1200))
        bases.append((path.stem, "tripod" if path.stem in SAME_SCENE else path.stem, picture))
    for number in range(landscapes):
        picture = Image.fromarray(render_landscape((2026, number), 960, 640))
        bases.append((f"landscape-{number}", f"landscape-{number}", picture))
    needed = len(bases) * sum(count for _, count in EDITS.values())
    outside = (Image.fromarray(render_landscape((777, n), 640, 427)) for n in range(needed))
    position = 0
    for number, (name, scene, picture) in enumerate(bases):
        base = position
        yield EditedPicture(name, scene, "base", base, picture)
        position += 1
        rng = np.random.default_rng(number)
        for edit_name, (edit, count) in EDITS.items():
            others = list(itertools.islice(outside, count))
            yield EditedPicture(
                f"{edit_name}/{name}", scene, edit_name, base, edit(picture, rng, others)
            )
            position += 1
    for number in range(distractors):
        picture = Image.fromarray(render_landscape((4242, number), 960, 640))
        yield EditedPicture(f"distractor-{number}", f"d{number}", "distractor", -1, picture)


def build_items(landscapes: int, distractors: int) -> list[Item]:
    return [
        fingerprint(p.picture, p.name, p.scene, p.edit, p.base)
        for p in edited_pictures(landscapes, distractors)
    ]


def related_targets(
    items: Sequence[Item] | Sequence[EditedPicture],
) -> dict[tuple[int, int], str]:
    """The pairs recall is measured on, with the edit (or "tripod") each stands for
    (items or pictures in the order of the set)."""
    targets = {
        (item.base, number): item.edit
        for number, item in enumerate(items)
        if item.edit not in ("base", "distractor")
    }
    tripod = [n for n, item in enumerate(items) if item.edit == "base" and item.scene == "tripod"]
    targets |= {pair: "tripod" for pair in itertools.combinations(tripod, 2)}
    return targets


def min_distance(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> int:
    """The least distance between any code of ``a`` and any of ``b`` (both packed)."""
    return int(np.bitwise_count(a[:, None, :] ^ b[None, :, :]).sum(axis=-1).min())


def retrieval_study(items: Sequence[Item], unrelated: int) -> dict[str, Any]:
    """For each view set: the share of each edit's copy-to-base pairs whose closest two
    hashes lie within each radius, and the same for a sample of pairs of different
    scenes, with the closest of those."""
    targets = related_targets(items)
    apart = unrelated_sample(items, unrelated, np.random.default_rng(5))
    results: dict[str, Any] = {}
    for label, (with_quadrants, scales, box) in STUDY_SETS.items():
        keys = {"own"} | {f"{box}/crop-{s:.2f}" for s in scales}
        if with_quadrants:
            keys |= {f"{box}/{name}" for name, _ in quadrants(np.zeros((2, 2), np.uint8))}
        packed = [
            PdqSignal.pack(
                [h for k, h in item.study.items() if k in keys or k.startswith("query-")]
            )
            for item in items
        ]
        by_edit: dict[str, list[int]] = {}
        for (a, b), edit in targets.items():
            by_edit.setdefault(edit, []).append(min_distance(packed[a], packed[b]))
        by_edit["all related"] = [d for values in by_edit.values() for d in values]
        by_edit["unrelated"] = [min_distance(packed[a], packed[b]) for a, b in apart]
        shares = {
            edit: {r: float(np.mean(np.array(found) <= r)) for r in RETRIEVAL_RADII}
            for edit, found in by_edit.items()
        }
        results[label] = {"shares": shares, "closest_unrelated": min(by_edit["unrelated"])}
    return results


def unrelated_sample(
    items: Sequence[Item], count: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < count:
        a, b = (int(v) for v in rng.integers(0, len(items), 2))
        if items[a].scene != items[b].scene:
            pairs.add((min(a, b), max(a, b)))
    return sorted(pairs)


def linked(items: Sequence[Item], a: int, b: int) -> bool:
    return confirm(items[a].features, items[a].size, items[b].features, items[b].size) is not None


def pipeline(items: Sequence[Item], radius: int) -> dict[str, Any]:
    """Retrieval (PDQ, feature words, both) then confirmation, scored against the scenes."""
    numbers = list(range(len(items)))
    started = time.perf_counter()
    by_pdq = set(candidate_pairs(numbers, [list(item.codes) for item in items], radius))
    pdq_s = time.perf_counter() - started
    by_words = set(feature_candidate_pairs(numbers, [item.features for item in items]))
    words_s = time.perf_counter() - started - pdq_s
    candidates = sorted(by_pdq | by_words)
    links: dict[tuple[int, int], SceneGeometry] = {}
    started = time.perf_counter()
    for a, b in candidates:
        found = confirm(items[a].features, items[a].size, items[b].features, items[b].size)
        if found is not None:
            links[(a, b)] = found
    confirm_s = time.perf_counter() - started
    false_links = [pair for pair in links if items[pair[0]].scene != items[pair[1]].scene]
    targets = related_targets(items)
    total: Counter[str] = Counter(targets.values())

    def share(found: set[tuple[int, int]] | dict[tuple[int, int], SceneGeometry]) -> Any:
        hits: Counter[str] = Counter(edit for pair, edit in targets.items() if pair in found)
        return {edit: hits[edit] / count for edit, count in total.items()}

    overlaps = [links[pair].overlap for pair in targets if pair in links]
    return {
        "items": len(items),
        "radius": radius,
        "candidates": {"pdq": len(by_pdq), "feature words": len(by_words), "both": len(candidates)},
        "unrelated_candidates": {
            "pdq": sum(items[a].scene != items[b].scene for a, b in by_pdq),
            "feature words": sum(items[a].scene != items[b].scene for a, b in by_words),
        },
        "links": len(links),
        "false_links": [f"{items[a].name} ~ {items[b].name}" for a, b in false_links],
        "precision": 1 - len(false_links) / len(links) if links else 1.0,
        "recall": sum(pair in links for pair in targets) / len(targets),
        "recall_by_edit": share(links),
        "retrieved_by_pdq": share(by_pdq),
        "retrieved_by_words": share(by_words),
        "retrieved_by_either": share(by_pdq | by_words),
        "median_overlap": float(np.median(overlaps)) if overlaps else None,
        "pdq_retrieval_s": pdq_s,
        "word_retrieval_s": words_s,
        "confirm_ms_per_candidate": 1000 * confirm_s / max(1, len(candidates)),
    }


def confirmation_alone(items: Sequence[Item], unrelated: int) -> dict[str, Any]:
    """``confirm`` on every target pair (as if retrieval were perfect) and on a sample of
    unrelated pairs."""
    targets = related_targets(items)
    by_edit: dict[str, list[bool]] = {}
    for (a, b), edit in targets.items():
        by_edit.setdefault(edit, []).append(linked(items, a, b))
    sample = unrelated_sample(items, unrelated, np.random.default_rng(11))
    started = time.perf_counter()
    # Both ways: the ratio test looks from one picture's features to the other's.
    false = [(a, b) for a, b in sample if sum((linked(items, a, b), linked(items, b, a)))]
    seconds = time.perf_counter() - started
    return {
        "recall_by_edit": {e: float(np.mean(v)) for e, v in by_edit.items()},
        "recall": float(np.mean([v for values in by_edit.values() for v in values])),
        "unrelated_pairs": len(sample),
        "unrelated_linked": [f"{items[a].name} ~ {items[b].name}" for a, b in false],
        "ms_per_confirm": 1000 * seconds / (2 * len(sample)),
    }


def synthetic_items(
    count: int, per_item: int, planted: int, rng: np.random.Generator
) -> tuple[list[int], list[list[str]], set[tuple[int, int]]]:
    """Items of random codes, with ``planted`` pairs of items (no item in two) that each
    hold a code within 0-31 bits of a code of the other."""
    raw = rng.integers(0, 256, (count, per_item, 32), dtype=np.uint8)
    order = rng.permutation(count)
    near: set[tuple[int, int]] = set()
    for a, b in zip(
        order[: 2 * planted : 2].tolist(), order[1 : 2 * planted : 2].tolist(), strict=True
    ):
        bits = np.unpackbits(raw[a, int(rng.integers(per_item))])
        bits[rng.choice(256, int(rng.integers(0, 32)), replace=False)] ^= 1
        raw[b, int(rng.integers(per_item))] = np.packbits(bits)
        near.add((min(a, b), max(a, b)))
    codes = [[bytes(code).hex() for code in item] for item in raw]
    return list(range(count)), codes, near


def naive_pairs(codes: Sequence[Sequence[str]], radius: int) -> set[tuple[int, int]]:
    """Every code against every code in numpy, a block of queries at a time."""
    owners = np.repeat(np.arange(len(codes)), [len(c) for c in codes])
    packed = PdqSignal.pack([code for item in codes for code in item])
    found: set[tuple[int, int]] = set()
    block = 64
    for start in range(0, packed.shape[0], block):
        query = packed[start : start + block]
        distances = np.zeros((query.shape[0], packed.shape[0]), np.uint16)
        for word in range(4):
            distances += np.bitwise_count(query[:, word, None] ^ packed[None, :, word])
        q, p = np.nonzero(distances <= radius)
        one, other = owners[q + start], owners[p]
        keep = one < other
        found |= set(zip(one[keep].tolist(), other[keep].tolist(), strict=True))
    return found


def timings(sizes: Sequence[int], radius: int) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    results: dict[str, Any] = {}
    for number, size in enumerate(sizes):
        ids, codes, near = synthetic_items(size, 8, 1000, rng)
        started = time.perf_counter()
        pairs = candidate_pairs(ids, codes, radius)
        seconds = time.perf_counter() - started
        row: dict[str, Any] = {
            "seconds": seconds,
            "pairs": len(pairs),
            "planted_found": len(near & set(pairs)) / len(near),
        }
        log(f"candidate_pairs, {size} items: {seconds:.2f} s")
        if number == 0:
            started = time.perf_counter()
            naive = naive_pairs(codes, radius)
            row["naive_seconds"] = time.perf_counter() - started
            row["naive_agrees"] = naive == set(pairs)
            row["speed-up"] = row["naive_seconds"] / seconds
            log(f"naive all pairs, {size} items: {row['naive_seconds']:.2f} s")
        del codes
        features = random_features(size, rng)
        started = time.perf_counter()
        feature_candidate_pairs(ids, features)
        row["feature_words_seconds"] = time.perf_counter() - started
        log(f"feature_candidate_pairs, {size} items: {row['feature_words_seconds']:.2f} s")
        results[str(size)] = row
    return results


def random_features(count: int, rng: np.random.Generator) -> list[LocalFeatures]:
    """``count`` items of 400 keypoints with random descriptors: words of real photos
    collide more often, so this times the sort and grouping, not realistic pair counts."""
    points = np.zeros((400, 2), np.float32)
    return [LocalFeatures(points, rng.integers(0, 256, (400, 32), np.uint8)) for _ in range(count)]


def view_cost() -> float:
    """Milliseconds to hash one scene view of a landscape in the scan's 512-pixel box."""
    buffer = io.BytesIO()
    Image.fromarray(render_landscape((9, 9), 960, 640)).save(buffer, "JPEG", quality=90)
    luma = scanned_luma(buffer.getvalue())
    started = time.perf_counter()
    for _ in range(10):
        hash_views(scene_views(luma), "")
    return 1000 * (time.perf_counter() - started) / 10 / len(scene_views(luma))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landscapes", type=int, default=40, help="generated bases")
    parser.add_argument("--distractors", type=int, default=40, help="unrelated pictures")
    parser.add_argument("--radius", type=int, default=SCENE_RADIUS)
    parser.add_argument("--unrelated-sample", type=int, default=5000)
    parser.add_argument("--sizes", default="10000,100000", help="synthetic item counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    log("making and fingerprinting the edited-photo set")
    items = build_items(args.landscapes, args.distractors)
    log(f"{len(items)} items; retrieval study")
    study = retrieval_study(items, 20_000)
    log("retrieval and confirmation")
    found = pipeline(items, args.radius)
    log("confirmation alone")
    alone = confirmation_alone(items, args.unrelated_sample)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    return {
        "machine": platform.machine(),
        "pipeline": found,
        "confirmation_alone": alone,
        "retrieval_study": study,
        "scene_view_ms": view_cost(),
        "candidate_pairs_timing": timings(sizes, args.radius) if sizes else {},
    }


def print_table(report: dict[str, Any]) -> None:
    found = report["pipeline"]
    print(f"\nedited-photo set: {found['items']} items, PDQ radius {found['radius']}")
    print(
        f"  candidates {found['candidates']}, unrelated among them {found['unrelated_candidates']}"
    )
    print(f"  links {found['links']}")
    print(f"  precision {found['precision']:.4f} (target >= 0.99)")
    print(f"  recall    {found['recall']:.4f} (target >= 0.9)")
    print(f"  median overlap of true links {found['median_overlap']}")
    print(
        f"  retrieval {found['pdq_retrieval_s']:.2f} s (PDQ), {found['word_retrieval_s']:.2f} s "
        f"(feature words); {found['confirm_ms_per_candidate']:.2f} ms per confirmation"
    )
    for text in found["false_links"]:
        print(f"  FALSE LINK {text}")
    alone = report["confirmation_alone"]
    print(
        f"\n{'edit':16} {'by PDQ':>7} {'by words':>8} {'either':>7} {'linked':>7}"
        f" {'confirm alone':>13}"
    )
    for edit, share in found["recall_by_edit"].items():
        print(
            f"{edit:16} {found['retrieved_by_pdq'][edit]:7.2f} "
            f"{found['retrieved_by_words'][edit]:8.2f} {found['retrieved_by_either'][edit]:7.2f} "
            f"{share:7.2f} {alone['recall_by_edit'][edit]:13.2f}"
        )
    print(
        f"confirmation alone: recall {alone['recall']:.3f}; "
        f"{len(alone['unrelated_linked'])} of {alone['unrelated_pairs']} unrelated pairs linked "
        f"(both ways); {alone['ms_per_confirm']:.2f} ms per confirm"
    )
    for text in alone["unrelated_linked"]:
        print(f"  UNRELATED LINKED {text}")
    print("\nPDQ retrieval alone: share of pairs with two hashes within 31 / 40 / 48 bits")
    for label, row in report["retrieval_study"].items():
        print(f"  {label} (closest unrelated pair: {row['closest_unrelated']} bits)")
        for edit, shares in row["shares"].items():
            print(f"    {edit:16} " + " / ".join(f"{shares[r]:.4f}" for r in RETRIEVAL_RADII))
    print(f"\nscene views: {report['scene_view_ms']:.2f} ms per view")
    for size, row in report["candidate_pairs_timing"].items():
        line = f"candidate_pairs, {size} items x 8 codes: {row['seconds']:.2f} s"
        line += f", planted pairs found {row['planted_found']:.3f}"
        if "naive_seconds" in row:
            line += f"; naive all pairs {row['naive_seconds']:.2f} s"
            line += f" (agrees: {row['naive_agrees']}), speed-up {row['speed-up']:.1f}x"
        print(line)
        print(
            f"feature_candidate_pairs, {size} items x 400 random descriptors: "
            f"{row['feature_words_seconds']:.2f} s"
        )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
