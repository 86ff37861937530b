"""A long scan: is the rate flat from the first file to the last, is the writer's
memory bounded, and how fast does a scan run again skip what is done?

Why: a seized drive holds millions of files, and the case grows all the while. A rate
that sags as the case fills (an index missing, a query per file), or a writer that
keeps every record, shows only at that scale; so does a resume that costs seconds per
thousand files already done.

The corpus is ``--count`` files (default 100,000) in folders of 1,000: hard links to
camera-derived JPEGs of 1 MP and 6 MP (``scan_throughput.py``'s corpus, made first
where missing; one link in ten is a 6 MP picture), so it takes no disk to speak of.
Each file is a separate path to the scan, decoded and fingerprinted as a file of its
own. ``--tiny`` links instead to a 100-byte text file: every stage but the pixels', to
see the scan's own overhead per file at scale quickly.

The scan runs in this process through the library (``Case.scan``, the CLI's own path,
with the default worker pool). Reported: the rate in each tenth of the scan, the
writer's (this process's) resident memory at each tenth, and then the same scan run
again, which finds every file done: its files per second.

Usage: python benchmarks/scan_scale.py [--count N] [--tiny] [--workdir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearsight.case import Case
from clearsight.scan import ScanOptions

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO_ROOT / ".bench" / "scan_scale"
THROUGHPUT_CORPUS = REPO_ROOT / ".bench" / "scan_throughput"
PER_FOLDER = 1000
SIX_MP_EVERY = 10  # one file in ten is a 6 MP picture
CORPUS_PHOTOS = 64  # of each size, should scan_throughput.py's corpus be missing


def corpus_sources(throughput: Path) -> tuple[list[Path], list[Path]]:
    """The camera-derived JPEGs of scan_throughput.py's corpus: (1 MP, 6 MP), made
    (``CORPUS_PHOTOS`` of each size) where there is none yet, so this runs as one command."""
    folders = sorted(throughput.glob("corpus-camera-*"))
    if not folders:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from scan_throughput import ensure_corpus

        ensure_corpus(throughput, CORPUS_PHOTOS)
        folders = sorted(throughput.glob("corpus-camera-*"))
    return sorted((folders[-1] / "1MP").glob("*.jpg")), sorted((folders[-1] / "6MP").glob("*.jpg"))


def build(root: Path, count: int, tiny: bool, throughput: Path) -> Path:
    """``count`` hard links under ``root``, made where missing."""
    evidence = root / ("tiny" if tiny else "mixed") / str(count)
    marker = evidence.parent / f"{count}.complete"
    if marker.exists():
        return evidence
    shutil.rmtree(evidence, ignore_errors=True)
    evidence.mkdir(parents=True)
    if tiny:
        text = root / "tiny.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_bytes(b"plain words, a hundred bytes of them, nothing else here. " * 2)
        small, large = [text], [text]
    else:
        small, large = corpus_sources(throughput)
    for index in range(count):
        folder = evidence / f"{index // PER_FOLDER:04d}"
        if index % PER_FOLDER == 0:
            folder.mkdir(parents=True)
        pool = large if index % SIX_MP_EVERY == 0 else small
        os.link(pool[index % len(pool)], folder / f"file_{index:07d}{pool[0].suffix}")
    marker.write_text("done")
    return evidence


def rss_mib() -> float:
    """This process's resident memory now, in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Tenths:
    """Time and memory at each tenth of a scan, as its progress reports them."""

    total: int = 0
    done: int = 0
    started: float = field(default_factory=time.perf_counter)
    marks: list[tuple[int, float, float]] = field(default_factory=list)  # files, s, MiB

    def discovered(self, total: int, already_done: int) -> None:
        self.total = total - already_done
        self.started = time.perf_counter()

    def advanced(self, count: int) -> None:
        self.done += count
        step = max(1, self.total // 10)
        if self.done >= step * (len(self.marks) + 1) and len(self.marks) < 10:
            self.marks.append((self.done, time.perf_counter() - self.started, rss_mib()))
            files, seconds, mib = self.marks[-1]
            print(
                f"{len(self.marks)}/10: {files} files in {seconds:.0f} s, writer {mib:.0f} MiB",
                file=sys.stderr,
                flush=True,
            )


def run(evidence: Path, workdir: Path) -> dict[str, Any]:
    case_folder = workdir / "case"
    shutil.rmtree(case_folder, ignore_errors=True)
    progress = Tenths()
    with Case.open(case_folder, create=True) as case:
        first = case.scan([evidence], ScanOptions(), progress)
    rates = []
    previous = (0, 0.0)
    for files, seconds, _ in progress.marks:
        if seconds > previous[1]:
            rates.append((files - previous[0]) / (seconds - previous[1]))
        previous = (files, seconds)
    started = time.perf_counter()
    with Case.open(case_folder) as case:
        again = case.scan([evidence], ScanOptions())
    resume_seconds = time.perf_counter() - started
    shutil.rmtree(case_folder, ignore_errors=True)
    return {
        "files": first.tally.files_seen,
        "items": first.tally.items,
        "errors": first.tally.errors,
        "scan_seconds": first.seconds,
        "files_per_s_by_tenth": [round(rate, 1) for rate in rates],
        # The first tenth includes starting the workers; flat means the last tenths go
        # as fast as the middle ones.
        "last_tenth_over_median": rates[-1] / statistics.median(rates) if rates else None,
        "rss_mib_by_tenth": [round(mib, 1) for _, _, mib in progress.marks],
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "resume_already_done": again.tally.already_done,
        "resume_seconds": resume_seconds,
        "resume_files_per_s": again.tally.already_done / resume_seconds,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def format_result(result: dict[str, Any]) -> str:
    rates = result["files_per_s_by_tenth"]
    return "\n".join(
        [
            f"{result['files']} files ({result['items']} items, {result['errors']} errors) "
            f"in {result['scan_seconds']:.0f} s",
            "files/s by tenth: " + ", ".join(f"{r:.0f}" for r in rates),
            f"median {statistics.median(rates):.1f} files/s; last tenth / median: "
            f"{result['last_tenth_over_median'] or float('nan'):.2f} (the first tenth "
            "includes starting the workers)",
            "writer RSS by tenth (MiB): "
            + ", ".join(f"{m:.0f}" for m in result["rss_mib_by_tenth"]),
            f"resume: {result['resume_already_done']} files done already, skipped in "
            f"{result['resume_seconds']:.2f} s = {result['resume_files_per_s']:.0f} files/s",
            f"load average after: {result['load_average_after']}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100_000, help="files [100000]")
    parser.add_argument("--tiny", action="store_true", help="100-byte text files, no pixels")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--throughput-workdir", type=Path, default=THROUGHPUT_CORPUS)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir.resolve()
    evidence = build(workdir, args.count, args.tiny, args.throughput_workdir.resolve())
    print(f"scanning {evidence}...", file=sys.stderr, flush=True)
    result = run(evidence, workdir)
    print(json.dumps(result, indent=2) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
