"""The origin stage: examine files as the scan reads them, or a case's items again.

``scan`` examines every image while its bytes are in the worker's memory, so the stage
costs no second read. ``clearsight origin --case`` examines the items again (after an
upgrade of the detectors, say): each file is read once more and used only if its
SHA-256 is still the one scanned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from clearsight.media.sniff import SNIFF_BYTES, sniff_media_type
from clearsight.media.stored import StaleFileError, read_scanned
from clearsight.origin.evidence import Detector, OriginInput
from clearsight.origin.examine import OriginFinding, examine
from clearsight.store.interface import (
    EvidenceRecord,
    ItemOrigin,
    OriginLedger,
    OriginSummary,
)

# Names the detectors and rules; bump it when either changes what they find, and
# ``clearsight origin --case`` examines the items recorded under an older one again.
EXAMINER = "origin-1"
# Lossless images up to this size are kept as full RGB by the scan's decode for the
# watermark detector, which reads nothing larger (see origin.watermark).
RGB_FOR_ORIGIN_UP_TO = 4096 * 4096
BATCH = 200


@cache
def default_detectors() -> tuple[Detector, ...]:
    """Every detector that needs nothing configured, in the order reasons list them."""
    from clearsight.origin.c2pa_manifest import C2paDetector
    from clearsight.origin.camera import CameraExifDetector
    from clearsight.origin.editing import EditingSoftwareDetector
    from clearsight.origin.generators import GeneratorMetadataDetector
    from clearsight.origin.quantisation import QuantisationDetector
    from clearsight.origin.watermark import WatermarkDetector
    from clearsight.origin.xmp import XmpDetector

    return (
        C2paDetector(),
        XmpDetector(),
        GeneratorMetadataDetector(),
        WatermarkDetector(),
        CameraExifDetector(),
        QuantisationDetector(),
        EditingSoftwareDetector(),
    )


@cache
def detectors_for(pixel_model: str | None) -> tuple[Detector, ...]:
    """The default detectors, and the user's pixel model where one is configured."""
    if pixel_model is None:
        return default_detectors()
    from clearsight.origin.pixel_model import PixelDetector, load_pixel_model

    return (*default_detectors(), PixelDetector(load_pixel_model(Path(pixel_model))))


def record_of(finding: OriginFinding, *, keep_prompts: bool) -> ItemOrigin:
    """What the case stores of a finding; prompts only when asked to keep them."""
    verdict = finding.verdict
    evidence = tuple(
        EvidenceRecord(
            item.kind,
            item.points_to.value if item.points_to is not None else None,
            item.strength.value,
            item.detail,
        )
        for item in finding.evidence
    )
    prompts = tuple(item.prompt for item in finding.evidence if item.prompt) if keep_prompts else ()
    summary = OriginSummary(verdict.verdict, round(verdict.score, 4), verdict.reasons)
    return ItemOrigin(summary, evidence, EXAMINER, prompts)


def examine_bytes(
    data: bytes,
    media_type: str,
    *,
    keep_prompts: bool,
    luma: npt.NDArray[np.uint8] | None = None,
    rgb: npt.NDArray[np.uint8] | None = None,
    alpha: npt.NDArray[np.uint8] | None = None,
    pixel_model: str | None = None,
    detectors: Sequence[Detector] | None = None,
) -> ItemOrigin:
    """Examine one file's bytes. ``luma`` (the grey picture a scan decoded), ``rgb`` and
    ``alpha`` (a lossless image's full pixels) spare detectors decodes of their own.
    ``pixel_model`` is the path of the user's ONNX pixel model, if any."""
    file = OriginInput(data, media_type, luma=luma, rgb=rgb, alpha=alpha)
    found = examine(file, detectors_for(pixel_model) if detectors is None else detectors)
    return record_of(found, keep_prompts=keep_prompts)


class Progress(Protocol):
    def discovered(self, total: int, already_done: int) -> None: ...

    def advanced(self, count: int) -> None: ...


@dataclass
class OriginRun:
    """What ``examine_case`` did: items examined, verdicts by name, and the items it
    could not read again (path and reason)."""

    examined: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def examine_case(
    ledger: OriginLedger,
    *,
    everything: bool,
    keep_prompts: bool,
    max_bytes: int,
    pixel_model: str | None = None,
    detectors: Sequence[Detector] | None = None,
    progress: Progress | None = None,
) -> OriginRun:
    """Examine the case's images that have no origin from this examiner (all of them
    with ``everything``), a batch at a time, each batch recorded in one transaction."""
    run = OriginRun()
    targets = ledger.origin_targets(EXAMINER, everything=everything)
    if progress is not None:
        progress.discovered(len(targets), 0)
    for start in range(0, len(targets), BATCH):
        batch = targets[start : start + BATCH]
        found: list[tuple[int, ItemOrigin]] = []
        for item_id, item in sorted(ledger.item_files(batch).items()):
            try:
                data = read_scanned(item.os_path, item.sha256, max_bytes)
            except StaleFileError as exc:
                run.skipped.append((item.path, str(exc)))
                continue
            media_type = sniff_media_type(data[:SNIFF_BYTES])
            origin = examine_bytes(
                data,
                media_type,
                keep_prompts=keep_prompts,
                pixel_model=pixel_model,
                detectors=detectors,
            )
            found.append((item_id, origin))
            run.verdicts[origin.summary.verdict] += 1
        ledger.record_origins(found)
        run.examined += len(found)
        if progress is not None:
            progress.advanced(len(batch))
    return run
