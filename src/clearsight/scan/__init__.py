"""The scan stage: every file of a source fingerprinted and recorded exactly once.

:func:`run_scan` is the whole stage. Its pieces are public for runners that compose
them otherwise (a cluster's): :func:`plan_scan` (what to read, and resume),
:class:`WorkUnit` and :func:`settle` (the rule "timeout, then digest only"),
:class:`ScanExecutor` (where units run) and :class:`ScanRecorder` (the single writer).

Each name is imported on first use, so that ``clearsight.scan.worker_server`` can be
imported (and the workers' server started) before the decoders and the case store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clearsight.scan.executor import ScanExecutor, SerialExecutor
    from clearsight.scan.pebble_executor import PebbleExecutor
    from clearsight.scan.plan import FileTask, ScanPlan, plan_scan
    from clearsight.scan.recorder import ScanRecorder
    from clearsight.scan.runner import (
        ScanObserver,
        ScanOptions,
        ScanReport,
        check_sources,
        fingerprint_all,
        run_scan,
        work_units,
    )
    from clearsight.scan.work import (
        FailureKind,
        UnitFailure,
        UnitOutcome,
        WorkUnit,
        describe_failure,
        digest_only_retry,
        fingerprint_unit,
        first_attempt,
        settle,
    )

_HOMES = {
    "executor": ("ScanExecutor", "SerialExecutor"),
    "pebble_executor": ("PebbleExecutor",),
    "plan": ("FileTask", "ScanPlan", "plan_scan"),
    "recorder": ("ScanRecorder",),
    "runner": (
        "ScanObserver",
        "ScanOptions",
        "ScanReport",
        "check_sources",
        "fingerprint_all",
        "run_scan",
        "work_units",
    ),
    "work": (
        "FailureKind",
        "UnitFailure",
        "UnitOutcome",
        "WorkUnit",
        "describe_failure",
        "digest_only_retry",
        "fingerprint_unit",
        "first_attempt",
        "settle",
    ),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "FailureKind",
    "FileTask",
    "PebbleExecutor",
    "ScanExecutor",
    "ScanObserver",
    "ScanOptions",
    "ScanPlan",
    "ScanRecorder",
    "ScanReport",
    "SerialExecutor",
    "UnitFailure",
    "UnitOutcome",
    "WorkUnit",
    "check_sources",
    "describe_failure",
    "digest_only_retry",
    "fingerprint_all",
    "fingerprint_unit",
    "first_attempt",
    "plan_scan",
    "run_scan",
    "settle",
    "work_units",
]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'clearsight.scan' has no attribute {name!r}")
    return getattr(importlib.import_module(f"clearsight.scan.{module}"), name)
