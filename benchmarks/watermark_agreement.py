"""How many watermark bits this reader reads, against the reference decoder, file by file.

Why: a 4:4:4 JPEG whose SDXL mark the reference decoder (the `invisible-watermark`
library's dwtDct, as Stability's detector runs it) read at 39 of 48 bits was missed by
this reader. The baseline, run in the same process on the same bytes, is that library's
own decoder on the file as OpenCV reads it (``cv2.imdecode``: 8-bit BGR), in the channel
order the mark was written in. Ours is ``match_payloads`` on the pixels the detector
reads (Pillow's decode), the best of its readings of that payload; and the detector's
verdict, which for JPEGs with subsampled chroma is "not read".

The corpus is benign and made here, from a seed: generated photo-like pictures and, when
``../shared/data`` is there, PDQ reference photos and camera photos cut to at most 1024
px. Each picture is marked with one payload at random (SD v1, SD 2.x, SDXL, in a random
channel order, in its generator's pixel type) or left unmarked, and saved as PNG or as a
JPEG of random quality (70-100) and chroma subsampling (4:4:4, 4:2:2, 4:2:0).

The library imports torch at package level; only ``imwatermark/maxDct.py`` is loaded,
from an installed copy (``pip install --no-deps --target .bench/invisible-watermark
invisible-watermark`` is enough; never a dependency of the project).

Usage: python benchmarks/watermark_agreement.py [--count N] [--seed S] [--reference DIR]
       [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from clearsight.origin.evidence import OriginInput  # noqa: E402
from clearsight.origin.watermark import (  # noqa: E402
    PAYLOADS,
    ChannelOrder,
    Payload,
    Pipeline,
    WatermarkDetector,
    match_payloads,
)
from tests.watermark_encoder import embed  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
DEFAULT_REFERENCE = REPO / ".bench" / "invisible-watermark"
SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


def load_reference(folder: Path | None) -> ModuleType:
    """``imwatermark/maxDct.py`` from ``folder`` or wherever the library is installed."""
    candidates = [folder] if folder else []
    spec = importlib.util.find_spec("imwatermark")  # finds it without importing it
    if spec and spec.submodule_search_locations:
        candidates += [Path(p).parent for p in spec.submodule_search_locations]
    candidates.append(DEFAULT_REFERENCE)
    for candidate in candidates:
        path = candidate / "imwatermark" / "maxDct.py"
        if path.is_file():
            loaded = importlib.util.spec_from_file_location("reference_maxdct", path)
            assert loaded is not None and loaded.loader is not None
            module = importlib.util.module_from_spec(loaded)
            loaded.loader.exec_module(module)
            return module
    sys.exit(
        "the reference decoder is not installed: pip install --no-deps --target "
        f"{DEFAULT_REFERENCE} invisible-watermark"
    )


def reference_count(
    reference: ModuleType, data: bytes, payload: Payload, order: ChannelOrder
) -> int:
    """Matching bits as the library reads the file: OpenCV's 8-bit BGR, in ``order``."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    handed = bgr if order is ChannelOrder.BGR else np.ascontiguousarray(bgr[:, :, ::-1])
    decoder = reference.EmbedMaxDct(watermarks=[], wmLen=payload.length)
    bits = np.asarray(decoder.decode(handed), dtype=bool)
    return int(np.count_nonzero(bits == np.array(payload.bits)))


def photo_like(rng: np.random.Generator, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """A smooth random colour field with grain (as the tests' photo_like)."""
    coarse = rng.random((rng.integers(3, 9), rng.integers(3, 9), 3)) * 255
    field = Image.fromarray(coarse.astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    grain = rng.normal(0, rng.uniform(1, 8), (size[1], size[0], 3))
    return np.clip(np.asarray(field) + grain, 0, 255).astype(np.uint8)


def pictures(count: int, rng: np.random.Generator) -> Iterator[tuple[str, npt.NDArray[np.uint8]]]:
    photos = sorted(SHARED.glob("pdq-reference/**/*.jpg")) + sorted(SHARED.glob("camera/*.JPG"))
    for index in range(count):
        if photos and index % 2:
            path = photos[int(rng.integers(len(photos)))]
            with Image.open(path) as im:
                im.draft("RGB", (1024, 1024))
                picture = im.convert("RGB")
            picture.thumbnail((1024, 1024))
            if picture.width * picture.height >= 256 * 256:
                yield path.name, np.asarray(picture)
                continue
        size = (int(rng.integers(384, 1280)), int(rng.integers(384, 1024)))
        yield "generated", photo_like(rng, size)


def saved(
    rgb: npt.NDArray[np.uint8], rng: np.random.Generator
) -> tuple[bytes, str, str, int | None]:
    """The picture as PNG (a fifth of them) or JPEG: bytes, type, kind, quality."""
    out = io.BytesIO()
    if rng.random() < 0.2:
        Image.fromarray(rgb).save(out, "PNG")
        return out.getvalue(), "image/png", "PNG", None
    quality, subsampling = int(rng.integers(70, 101)), int(rng.integers(0, 3))
    Image.fromarray(rgb).save(out, "JPEG", quality=quality, subsampling=subsampling)
    return out.getvalue(), "image/jpeg", f"JPEG {SUBSAMPLING[subsampling]}", quality


def run(count: int, seed: int, reference: ModuleType) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    chooser = random.Random(seed)
    rows = []
    for source, rgb in pictures(count, rng):
        payload = chooser.choice([*PAYLOADS, None])
        order = chooser.choice(list(ChannelOrder))
        if payload is not None:
            rgb = embed(rgb, payload.bits, order, payload.pipeline is Pipeline.FLOAT32)
        data, media_type, kind, quality = saved(rgb, rng)
        found = WatermarkDetector().examine(OriginInput(data, media_type, "bench"))
        row: dict[str, Any] = {
            "source": source,
            "kind": kind,
            "quality": quality,
            "payload": payload.name if payload else None,
            "order": order.value,
            "found": [item.detail.split(" (")[0].split()[-1] for item in found],
            "strength": [item.strength.value for item in found],
        }
        if payload is not None:
            started = time.perf_counter()
            row["reference"] = reference_count(reference, data, payload, order)
            row["reference_s"] = time.perf_counter() - started
            with Image.open(io.BytesIO(data)) as im:
                pixels = np.asarray(im.convert("RGB"))
            started = time.perf_counter()
            ours = [m for m in match_payloads(pixels) if m.payload is payload]
            row["ours_s"] = time.perf_counter() - started
            row["ours"] = max(m.matching for m in ours)
            row["likely"] = payload.likely
        rows.append(row)
    return rows


def summary(rows: list[dict[str, Any]]) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["kind"]].append(row)
    lines = [
        "| file | marked | reference: median share of bits, files ≥ likely | ours: median share,"
        " files ≥ reference, files reported | unmarked: files reported |",
        "|---|---:|---|---|---|",
    ]
    for kind in ("PNG", "JPEG 4:4:4", "JPEG 4:2:2", "JPEG 4:2:0"):
        marked = [r for r in groups[kind] if r["payload"]]
        clean = [r for r in groups[kind] if not r["payload"]]
        if not marked and not clean:
            continue
        length = {p.name: p.length for p in PAYLOADS}
        ref = [r["reference"] / length[r["payload"]] for r in marked]
        ours = [r["ours"] / length[r["payload"]] for r in marked]
        likely = sum(r["reference"] >= r["likely"] for r in marked)
        at_least = sum(r["ours"] >= r["reference"] for r in marked)
        reported = sum(r["payload"] in r["found"] for r in marked)
        false = sum(bool(r["found"]) for r in clean)
        lines.append(
            f"| {kind} | {len(marked)} | {statistics.median(ref):.0%}, {likely} | "
            f"{statistics.median(ours):.0%}, {at_least}, {reported} | {false} of {len(clean)} |"
            if marked
            else f"| {kind} | 0 | - | - | {false} of {len(clean)} |"
        )
    timed = [r for r in rows if "ours_s" in r]
    if timed:
        ours_s = statistics.median(r["ours_s"] for r in timed)
        ref_s = statistics.median(r["reference_s"] for r in timed)
        lines.append(
            f"\nmedian time per marked file: ours {ours_s * 1000:.1f} ms (3 payloads, both "
            f"orders, both pixel types), reference {ref_s * 1000:.1f} ms (one payload, one "
            f"order); ratio {ref_s / ours_s:.1f}x"
        )
    unread = [
        r
        for r in rows
        if r["payload"] and r["reference"] >= r["likely"] and r["payload"] not in r["found"]
    ]
    lines.append(
        f"files the reference reads at 'likely' or more that the detector does not report: "
        f"{len(unread)}"
    )
    for r in sorted(unread, key=lambda r: (r["kind"], r["quality"] or 0)):
        lines.append(
            f"  {r['kind']} q{r['quality']} {r['payload']}: reference {r['reference']}, "
            f"ours {r['ours']}"
        )
    short = [r for r in rows if r["payload"] and r["ours"] < r["reference"]]
    lines.append(f"files where ours reads fewer bits than the reference: {len(short)}")
    for r in short:
        lines.append(
            f"  {r['kind']} {r['source']} {r['payload']} {r['order']}: "
            f"ours {r['ours']}, reference {r['reference']}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--reference", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = run(args.count, args.seed, load_reference(args.reference))
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print("\n".join(summary(rows)))


if __name__ == "__main__":
    main()
