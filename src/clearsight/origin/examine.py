"""Run every origin detector over one file and weigh what they found.

A detector that fails on a file costs that detector's evidence for that file, never
the file's other evidence and never the scan: the failure is named among the reasons
(by detector and exception type only; the message could quote the file's bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clearsight.origin.evidence import Detector, Evidence, OriginInput
from clearsight.origin.verdict import OriginVerdict, weigh


@dataclass(frozen=True)
class OriginFinding:
    """The evidence found in one file, and the verdict weighed from it."""

    evidence: tuple[Evidence, ...]
    verdict: OriginVerdict
    failed: tuple[str, ...] = ()  # "watermark: ValueError"


def examine(file: OriginInput, detectors: Sequence[Detector]) -> OriginFinding:
    found: list[Evidence] = []
    failed: list[str] = []
    for detector in detectors:
        try:
            found.extend(detector.examine(file))
        except Exception as exc:  # noqa: BLE001 - one detector's bug must not cost the rest
            failed.append(f"{detector.name}: {type(exc).__name__}")
    verdict = weigh(found)
    if failed:
        notes = tuple(f"detector failed on this file: {name}" for name in failed)
        verdict = OriginVerdict(verdict.verdict, verdict.score, verdict.reasons + notes)
    return OriginFinding(tuple(found), verdict, tuple(failed))
