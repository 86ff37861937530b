"""How many CPU cores this process may really use (scan workers, index threads)."""

from __future__ import annotations

import os


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # respects taskset and container CPU sets
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1
