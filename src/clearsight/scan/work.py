"""Work units: one file to fingerprint, as any executor runs it, and how a unit ends.

A unit is small, picklable and self-contained (paths, options, its time limit), so a
process pool on this machine or a cluster's workers can run it alike. The rules of what
follows a unit's end live here, not in an executor, so every executor applies them the
same way:

* a unit that ends with a record is settled: the record is the file's;
* **timeout, then digest only**: a unit whose decoding ran past its limit, whose process
  died, or that the executor lost, is run once more with decoding off and *no* time
  limit, since reading and digesting always end and a limit meant for decoders must not
  cut digests short. The retry's record carries the first failure as an error row;
* a retry that fails too leaves a record with the first failure and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from clearsight.scan.fingerprint import FingerprintOptions, fingerprint_file, unreadable
from clearsight.scan.plan import FileTask
from clearsight.store.interface import ErrorStage, ItemError, ScannedFile


@dataclass(frozen=True)
class WorkUnit:
    """One file to fingerprint: what to read, how, and how long decoding may take.

    ``timeout`` bounds the decoding of the file, never reading or digesting it (see
    :mod:`clearsight.scan.fingerprint`); None means no limit. ``first_failure`` is set on
    the digest-only retry of a unit that failed, and says why it failed.
    """

    source_id: int
    abs_path: str
    rel_path: str
    options: FingerprintOptions
    timeout: float | None
    first_failure: str | None = None


class FailureKind(StrEnum):
    TIMED_OUT = "timed-out"  # decoding ran past the unit's timeout
    DIED = "died"  # the process running the unit died (a decoder crash)
    LOST = "lost"  # the executor failed to run it otherwise


@dataclass(frozen=True)
class UnitFailure:
    """How a unit failed to produce a record. ``detail`` names the cause (an exit
    status, an exception's type), never a message that could quote the file."""

    kind: FailureKind
    detail: str = ""


@dataclass(frozen=True)
class UnitOutcome:
    """A unit that ended: with the file's record, or with a failure."""

    unit: WorkUnit
    result: ScannedFile | UnitFailure


def first_attempt(task: FileTask, options: FingerprintOptions, timeout: float | None) -> WorkUnit:
    """The unit that fingerprints a planned file as ``options`` say, decoding limited to
    ``timeout`` seconds (the unit carries the limit; its options never do)."""
    entry = task.entry
    untimed = replace(options, decode_seconds=None)
    return WorkUnit(task.source_id, entry.abs_path, entry.rel_path, untimed, timeout)


def fingerprint_unit(unit: WorkUnit) -> ScannedFile:
    """Run ``unit`` in a worker process that dies of ``SIGALRM``, the unit's time limit.

    Only for a process of its own (a pool's worker): past the limit the kernel ends the
    whole process, and its executor reports :attr:`FailureKind.TIMED_OUT`.
    """
    options = replace(unit.options, decode_seconds=unit.timeout)
    return fingerprint_file(unit.abs_path, unit.rel_path, options)


def settle(outcome: UnitOutcome) -> ScannedFile | WorkUnit:
    """The record a finished unit leaves, or the unit to run next (its digest-only retry)."""
    unit, result = outcome.unit, outcome.result
    if isinstance(result, ScannedFile):
        if unit.first_failure is None:
            return result
        worker_error = ItemError(ErrorStage.WORKER, unit.first_failure)
        return replace(result, errors=(*result.errors, worker_error))
    if unit.first_failure is None:
        return digest_only_retry(unit, describe_failure(unit, result))
    return unreadable(unit.rel_path, ErrorStage.WORKER, unit.first_failure)


def digest_only_retry(unit: WorkUnit, failure: str) -> WorkUnit:
    """``unit`` again, decoding off and with no time limit, remembering ``failure``."""
    digests_only = FingerprintOptions(unit.options.limits, decode=False, origin=False)
    return replace(unit, options=digests_only, timeout=None, first_failure=failure)


def describe_failure(unit: WorkUnit, failure: UnitFailure) -> str:
    """The error row's text for a failed unit (safe to show: no bytes of the file)."""
    if failure.kind is FailureKind.TIMED_OUT:
        return f"gave up after the per-file limit of {unit.timeout or 0:g} s"
    if failure.kind is FailureKind.DIED:
        return f"the decoding process died ({failure.detail})"
    return f"the worker failed ({failure.detail})"
