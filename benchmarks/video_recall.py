"""Video recall per edit, for a bank of originals and for a vPDQ-only list, and false
matches over unrelated pairs.

Makes ``--videos`` benign originals (slow pans over generated landscapes, two shots),
applies each edit of :data:`clearsight.robustness.video_edits.VIDEO_EDITS` to each, and
scans the copies as a case scan would. Then matches every copy against:

* an **own bank**: the originals added as ``clearsight bank add`` adds them (vPDQ at
  four frames a second);
* a **list**: the originals' plain vPDQ at one frame a second, as ThreatExchange and HMA
  exchange it (hash-only).

A copy is recalled when its own original matches; every other original it matches is a
false match (copies x (originals - 1) unrelated pairs, each way of matching). Those
pairs share the landscape generator, so footage of other sources is held against every
original too: zooms over the shared camera photos (``../shared/data/camera``, street and
indoor scenes) and drifting generated patterns (``--other`` clips, x originals pairs).
The baseline is vPDQ's own rule (brute force, 80% of the query's one-a-second frames)
against the list.

    python benchmarks/video_recall.py --videos 8
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.video_originals import video_entry_of
from clearsight.match.video_matcher import BankVideos, match_videos
from clearsight.media.sniff import MediaKind
from clearsight.media.video import VideoLimits, VideoReader
from clearsight.robustness.video_edits import (
    VIDEO_EDITS,
    pan_frames,
    pattern_frames,
    photo_pan_frames,
    write_video,
)
from clearsight.scan.video_fingerprint import fingerprint_video
from clearsight.signals.frame_pdq import frame_pdq
from clearsight.signals.vpdq import (
    VpdqFeature,
    match_percent_brute,
    parse_signal_string,
    to_signal_string,
)
from clearsight.store.interface import ScannedFile, VideoQuery


def listed_vpdq(path: Path) -> str:
    with VideoReader(str(path)) as reader:
        return to_signal_string(
            VpdqFeature(*frame_pdq(frame.rgb), frame.timestamp) for frame in reader.frames(1.0)
        )


CAMERA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "camera"


def other_footage(
    folder: Path, count: int, width: int, height: int, frames: int, fps: int
) -> list[Path]:
    """``count`` clips of other sources: camera-photo zooms first, then patterns."""
    photos = sorted(CAMERA.glob("*.JPG")) if CAMERA.is_dir() else []
    clips = []
    for n in range(count):
        if n < len(photos):
            footage = photo_pan_frames(photos[n], width, height, frames)
        else:
            footage = pattern_frames(700 + n, width, height, frames)
        clips.append(write_video(folder / f"other-{n}.mp4", footage, fps=fps))
    return clips


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--size", default="320x180")
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--other", type=int, default=26, help="clips of other sources")
    args = parser.parse_args()
    width, height = (int(side) for side in args.size.split("x"))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        own: list[tuple[int, str]] = []
        listed: list[tuple[int, str]] = []
        queries: list[VideoQuery] = []
        edit_of: dict[int, tuple[int, str]] = {}
        for n in range(args.videos):
            frames = pan_frames(500 + n, width, height, args.seconds * args.fps, shots=2)
            original = write_video(folder / f"original-{n}.mp4", frames, fps=args.fps)
            entry = video_entry_of(original, original.name, EntryMetadata())
            assert isinstance(entry, ImportedEntry)
            own.append((n, dict(entry.signals)[BankSignal.VPDQ]))
            listed.append((n, listed_vpdq(original)))
            for edit in VIDEO_EDITS:
                copy = edit.apply(frames, args.fps, folder / f"copy-{n}-{edit.name}{edit.suffix}")
                record = ScannedFile(copy.name, "video/mp4", MediaKind.VIDEO)
                scanned = fingerprint_video(str(copy), record, VideoLimits())
                assert scanned.video is not None, scanned.errors
                item = len(queries)
                queries.append(VideoQuery(item, scanned.video.frames))
                edit_of[item] = (n, edit.name)
        others: list[VideoQuery] = []
        for clip in other_footage(
            folder, args.other, width, height, args.seconds * args.fps, args.fps
        ):
            record = ScannedFile(clip.name, "video/mp4", MediaKind.VIDEO)
            scanned = fingerprint_video(str(clip), record, VideoLimits())
            assert scanned.video is not None, scanned.errors
            others.append(VideoQuery(len(queries) + len(others), scanned.video.frames))
        photos = min(args.other, len(list(CAMERA.glob("*.JPG")))) if CAMERA.is_dir() else 0
        print(
            f"{args.other} clips of other sources ({photos} camera-photo zooms, "
            f"{args.other - photos} patterns) against every original"
        )
        print(
            f"{args.videos} originals of {args.seconds} s at {width}x{height}, "
            f"{len(VIDEO_EDITS)} edits each ({time.perf_counter() - started:.0f} s to make)"
        )
        pairs = len(queries) * (args.videos - 1)
        for bank_name, signals in (("own bank", own), ("vPDQ list", listed)):
            found: dict[int, set[int]] = defaultdict(set)
            for item, match in match_videos(queries, BankVideos(signals)):
                found[item].add(match.entry_id)
            recalled: dict[str, int] = defaultdict(int)
            false = 0
            for item, (source, edit_name) in edit_of.items():
                recalled[edit_name] += source in found[item]
                false += len(found[item] - {source})
            cells = ", ".join(
                f"{edit.name} {recalled[edit.name]}/{args.videos}" for edit in VIDEO_EDITS
            )
            print(f"{bank_name:9s}: {cells}; false matches {false} in {pairs} unrelated pairs")
            other_false = sum(1 for _ in match_videos(others, BankVideos(signals)))
            print(
                f"{bank_name:9s}: false matches {other_false} in "
                f"{len(others) * args.videos} pairs with footage of other sources"
            )
        # The baseline: vPDQ's own matcher (brute force, 80% of the query's frames) on
        # the scan's vPDQ frames alone, against the list.
        bags = {n: parse_signal_string(signal) for n, signal in listed}
        plain: dict[str, int] = defaultdict(int)
        plain_false = 0
        for query in queries:
            source, edit_name = edit_of[query.item_id]
            bag_of_query = [
                VpdqFeature(f.pdq, f.quality, f.timestamp) for f in query.frames if f.exact
            ]
            for n, bag in bags.items():
                if match_percent_brute(bag_of_query, bag).is_match():
                    if n == source:
                        plain[edit_name] += 1
                    else:
                        plain_false += 1
        cells = ", ".join(f"{edit.name} {plain[edit.name]}/{args.videos}" for edit in VIDEO_EDITS)
        print(f"plain vPDQ matcher on the list: {cells}; false matches {plain_false}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
