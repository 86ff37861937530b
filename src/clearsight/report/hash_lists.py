"""Hash lists of confirmed new material, to share with a hotline or another agency.

An item goes on the list when a person's decision on it is final (see the two-reviewer
rule in :mod:`clearsight.review.decisions`) and no bank knows it: what the case adds to
the world's lists. An entry carries the file's hashes and the person's category, series
and victim flag, and nothing else: no path, no file name, no case name, no reviewer, no
notes. A PDQ hash weaker than the quality PDQ trusts is left off, since a bank would
match noise with it. The lists are written by the bank exporters, so they import back
with ``clearsight bank import`` like any bank file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from clearsight.banks.formats.export import write_csv, write_vics
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.report.output import DigestingOutput, text_stream
from clearsight.report.request import ExportContext
from clearsight.report.rows import ReportRow
from clearsight.signals.pdq import PDQ_MIN_QUALITY


def write_bank_csv(rows: Iterable[ReportRow], context: ExportContext, out: DigestingOutput) -> int:
    with text_stream(out) as stream:
        return write_csv(confirmed_new(rows), stream)


def write_vics_hashset(
    rows: Iterable[ReportRow], context: ExportContext, out: DigestingOutput
) -> int:
    with text_stream(out) as stream:
        return write_vics(confirmed_new(rows), stream)


def confirmed_new(rows: Iterable[ReportRow]) -> Iterator[ImportedEntry]:
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
