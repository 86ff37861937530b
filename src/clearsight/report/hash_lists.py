"""Hash lists of confirmed new material, to share with a hotline or another agency.

An item goes on the list when a person's decision on it is final (see the two-reviewer
rule in :mod:`clearsight.review.decisions`) and no bank knows it: what the case adds to
the world's lists. An entry carries the file's hashes and the person's category, series
and victim flag, and nothing else: no path, no file name, no case name, no reviewer, no
notes. A PDQ hash weaker than the quality PDQ trusts is left off, since a bank would
match noise with it. A video's entry carries its vPDQ too (in the CSV list; VICS has
no field for it). The lists are written by the bank exporters, so they import back
with ``clearsight bank import`` like any bank file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from clearsight.banks.formats.export import write_csv, write_vics
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.report.case_rows import CaseRows
from clearsight.report.output import DigestingOutput, text_stream
from clearsight.report.request import ExportContext
from clearsight.report.rows import ReportRow
from clearsight.signals.pdq import PDQ_MIN_QUALITY
from clearsight.signals.vpdq import VpdqFeature, to_signal_string
from clearsight.store.interface import VideoRecord

VideoOf = Callable[[int], VideoRecord | None]


def write_bank_csv(case: CaseRows, context: ExportContext, out: DigestingOutput) -> int:
    """The list as a bank CSV: a video's vPDQ in the ``vpdq`` column."""
    rows = case.rows(context.request.selection)
    with text_stream(out) as stream:
        return write_csv(confirmed_new(rows, case.source.video), stream)


def write_vics_hashset(case: CaseRows, context: ExportContext, out: DigestingOutput) -> int:
    rows = case.rows(context.request.selection)
    with text_stream(out) as stream:
        return write_vics(confirmed_new(rows), stream)


def vpdq_of(video: VideoRecord) -> str | None:
    """A scanned video's vPDQ signal string (its one-a-second frames), None if empty."""
    frames = [f for f in video.frames if f.exact]
    if not frames:
        return None
    return to_signal_string(VpdqFeature(f.pdq, f.quality, f.timestamp) for f in frames)


def confirmed_new(
    rows: Iterable[ReportRow], video_of: VideoOf | None = None
) -> Iterator[ImportedEntry]:
    for row in rows:
        decision, item = row.final_decision, row.item
        if decision is None or item.matches:
            continue
        signals = [
            (kind, value)
            for kind, value in (
                (BankSignal.MD5, item.md5),
                (BankSignal.SHA1, item.sha1),
                (BankSignal.SHA256, item.sha256),
            )
            if value
        ]
        if item.pdq and (item.pdq_quality or 0) >= PDQ_MIN_QUALITY:
            signals.append((BankSignal.PDQ, item.pdq))
        if item.video is not None and video_of is not None:
            video = video_of(row.item_id)
            signal = vpdq_of(video) if video is not None else None
            if signal is not None:
                signals.append((BankSignal.VPDQ, signal))
        if not signals:
            continue
        yield ImportedEntry(
            tuple(signals),
            EntryMetadata(
                category=decision.category,
                series=decision.series,
                victim_identified=decision.victim_flag,
            ),
        )
