"""Video scan speed: clearsight against the vPDQ reference binding, in the same run.

Generates benign videos (slow pans over generated landscapes, libx264), then times on
the same files and the same number of processes:

* ``reference``: Meta's ``vpdq`` binding (``computeHash``), one process per file, N at
  a time, built from source into ``.bench/vpdq`` (``make .bench/vpdq/.built``);
* ``vpdq``: clearsight's vPDQ alone (PyAV decode, full-resolution PDQ at one frame a
  second), the same way, checking the hashes are the reference's bit for bit;
* ``scan``: the whole clearsight scan of the folder (digests, facts, vPDQ, the frames
  between, mirror and letterbox hashes, representatives), N workers, into a new case;
  ``scan-fixed`` is the same less the time of scanning a folder of one small file (the
  scan's start-up, paid once per scan); the workers' fork server, started once per
  process, is started (and timed) before both;
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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# Nothing heavy is imported at the top: the scan's workers are forked from a fork server
# and run this module again as ``__mp_main__`` (multiprocessing's rule), so what it
# imports at the top each worker would import too, a cost the ``clearsight`` command's
# light entry point does not have (it was about 3 s of a 6-video scan).

BENCH_VPDQ = Path(__file__).parent.parent / ".bench" / "vpdq"


def reference_hashes(path: str) -> list[tuple[str, int]]:
    sys.path.append(str(BENCH_VPDQ))
    import vpdq  # type: ignore[import-not-found]  # the oracle, loaded where it runs

    return [(f.hex, f.quality) for f in vpdq.computeHash(path)]


def our_hashes(path: str) -> list[tuple[str, int]]:
    from clearsight.media.video import VideoReader
    from clearsight.signals.frame_pdq import frame_pdq

    with VideoReader(path) as reader:
        return [frame_pdq(frame.rgb) for frame in reader.frames(1.0)]


_RSS_PROBE = """
import sys
from clearsight.media.sniff import MediaKind
from clearsight.media.video import VideoLimits
from clearsight.scan.video_fingerprint import fingerprint_video
from clearsight.store.interface import ScannedFile
record = ScannedFile("video.mp4", "video/mp4", MediaKind.VIDEO)
fingerprint_video(sys.argv[1], record, VideoLimits())
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would count the
# benchmark's own pages from before the exec.
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak.split()[1])
"""


def scanning_rss(path: str) -> int:
    """The peak resident set (kB) of a new Python process that fingerprints one video
    as the scan does (a new process: a pool's worker would count its parent's pages;
    Linux-only, from /proc)."""
    done = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, path], capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1])


def bare_decode(path: str) -> list[tuple[str, int]]:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return []


def timed_pool(
    work: Callable[[str], list[tuple[str, int]]], files: list[str], processes: int
) -> tuple[float, list[list[tuple[str, int]]]]:
    """Seconds to run ``work`` on every file, ``processes`` at a time, and its results;
    the CPU seconds the pool's processes used go to :data:`CPU_SECONDS`."""
    start = time.perf_counter()
    before = _children_cpu()
    with ProcessPoolExecutor(processes) as pool:
        results = list(pool.map(work, files))
    # The pool has joined its processes: their time is counted among our children's.
    CPU_SECONDS.setdefault(work.__name__, []).append(_children_cpu() - before)
    return time.perf_counter() - start, results


# CPU seconds per run of each pooled way of hashing: less noisy than wall time on a
# shared machine (every thread's time counts, the reference's hashing threads too).
CPU_SECONDS: dict[str, list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_empty_scan(processes: int) -> float:
    """The scan's fixed cost: a folder holding one small text file."""
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / "empty"
        folder.mkdir()
        (folder / "note.txt").write_text("benign\n", encoding="utf-8")
        return timed_scan(folder, processes)


def timed_scan(folder: Path, processes: int) -> float:
    from clearsight import Case
    from clearsight.scan import ScanOptions

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
    from clearsight.robustness.video_edits import pan_frames, write_video

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
        times: dict[str, list[float]] = {
            "reference": [],
            "vpdq": [],
            "scan": [],
            "scan-fixed": [],
            "decode": [],
        }
        # The workers' fork server starts once per process (the `clearsight` command
        # starts it before its own imports, which hide most of it): it is timed here,
        # apart, so that the first repeat's scan does not carry it and the others not.
        cold = timed_empty_scan(args.processes)
        print(f"the scan's first start (the workers' fork server importing): {cold:.2f} s")
        for _ in range(args.repeat):
            seconds, theirs = timed_pool(reference_hashes, files, args.processes)
            times["reference"].append(seconds)
            seconds, ours = timed_pool(our_hashes, files, args.processes)
            times["vpdq"].append(seconds)
            if ours != theirs:
                raise SystemExit("clearsight's vPDQ differs from the reference's")
            scanned = timed_scan(folder, args.processes)
            times["scan"].append(scanned)
            # The scan's start-up (worker processes importing clearsight, the case's
            # writer) is paid once per scan, whatever its size: shown apart.
            times["scan-fixed"].append(scanned - timed_empty_scan(args.processes))
            times["decode"].append(timed_pool(bare_decode, files, args.processes)[0])
        base = statistics.median(times["reference"])
        compared = sum(len(hashes) for hashes in theirs)
        print(f"hashes identical to the reference on all {compared} frames")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:10s} median {median:7.2f} s   {median / base:5.2f}x the reference")
        cpu_base = statistics.median(CPU_SECONDS["reference_hashes"])
        pooled = (
            ("reference_hashes", "reference"),
            ("our_hashes", "vpdq"),
            ("bare_decode", "decode"),
        )
        for name, label in pooled:
            cpu = statistics.median(CPU_SECONDS[name])
            print(
                f"{label:10s} CPU {cpu / len(files):6.2f} s a video   "
                f"{cpu / cpu_base:5.2f}x the reference's CPU"
            )
        rss = scanning_rss(files[0])
        print(f"peak resident set of a process fingerprinting one video: {rss / 1024:.0f} MB")
        print(f"load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
