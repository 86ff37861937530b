"""Video scan speed: clearsight against the vPDQ reference binding, in the same run.

Generates benign videos (slow pans over generated landscapes, libx264), then times on
the same files and the same number of processes:

* ``reference``: Meta's ``vpdq`` binding (``computeHash``), one process per file, N at
  a time, built from source into ``.bench/vpdq`` (``make .bench/vpdq/.built``);
* ``vpdq``: clearsight's vPDQ alone (PyAV decode, full-resolution PDQ at one frame a
  second), the same way, checking the hashes are the reference's bit for bit;
* ``scan``: the whole clearsight scan of the folder (digests, facts, vPDQ, the frames
  between, mirror and letterbox hashes, representatives), N workers, into a new case;
* ``decode``: bare PyAV decoding of every frame, the floor any decoder-based hasher
  stands on.

Prints the median of ``--repeat`` runs of each and each one's ratio to the reference.

    python benchmarks/video_scan.py --videos 6 --seconds 20 --size 1280x720
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import av

from clearsight import Case
from clearsight.media.video import VideoReader
from clearsight.robustness.video_edits import pan_frames, write_video
from clearsight.scan import ScanOptions
from clearsight.signals.frame_pdq import frame_pdq

BENCH_VPDQ = Path(__file__).parent.parent / ".bench" / "vpdq"


def reference_hashes(path: str) -> list[tuple[str, int]]:
    sys.path.append(str(BENCH_VPDQ))
    import vpdq  # type: ignore[import-not-found]  # the oracle, loaded where it runs

    return [(f.hex, f.quality) for f in vpdq.computeHash(path)]


def our_hashes(path: str) -> list[tuple[str, int]]:
    with VideoReader(path) as reader:
        return [frame_pdq(frame.rgb) for frame in reader.frames(1.0)]


def bare_decode(path: str) -> list[tuple[str, int]]:
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return []


def timed_pool(
    work: Callable[[str], list[tuple[str, int]]], files: list[str], processes: int
) -> tuple[float, list[list[tuple[str, int]]], int]:
    """Seconds to run ``work`` on every file, ``processes`` at a time, its results, and
    the largest resident set of a worker (kB)."""
    start = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        results = list(pool.map(work, files))
    seconds = time.perf_counter() - start
    return seconds, results, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def timed_scan(folder: Path, processes: int) -> float:
    with tempfile.TemporaryDirectory() as case_dir:
        with Case.open(Path(case_dir) / "case", create=True) as case:
            start = time.perf_counter()
            report = case.scan([folder], ScanOptions(workers=processes, origin=False))
            seconds = time.perf_counter() - start
            if report.tally.errors:
                raise SystemExit(f"the scan recorded {report.tally.errors} errors")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(side) for side in args.size.split("x"))
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / "videos"
        folder.mkdir()
        for n in range(args.videos):
            frames = pan_frames(100 + n, width, height, args.seconds * args.fps, shots=3)
            write_video(
                folder / f"pan-{n}.mp4", frames, fps=args.fps, options={"preset": "veryfast"}
            )
            del frames
        files = sorted(str(path) for path in folder.iterdir())
        print(
            f"{args.videos} videos of {args.seconds} s, {width}x{height} at {args.fps} fps "
            f"(libx264); {args.processes} processes; {os.cpu_count()} cores; "
            f"load {os.getloadavg()[0]:.1f}"
        )
        times: dict[str, list[float]] = {"reference": [], "vpdq": [], "scan": [], "decode": []}
        for _ in range(args.repeat):
            seconds, theirs, _ = timed_pool(reference_hashes, files, args.processes)
            times["reference"].append(seconds)
            seconds, ours, rss = timed_pool(our_hashes, files, args.processes)
            times["vpdq"].append(seconds)
            if ours != theirs:
                raise SystemExit("clearsight's vPDQ differs from the reference's")
            times["scan"].append(timed_scan(folder, args.processes))
            times["decode"].append(timed_pool(bare_decode, files, args.processes)[0])
        base = statistics.median(times["reference"])
        compared = sum(len(hashes) for hashes in theirs)
        print(f"hashes identical to the reference on all {compared} frames")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:10s} median {median:7.2f} s   {median / base:5.2f}x the reference")
        print(f"largest worker resident set: {rss / 1024:.0f} MB; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
