"""The CyberTipline-style XML export: one report, one ``fileDetails`` per selected file.

Every element states something the case knows, or it is left out (``schema/
cybertip.xsd`` marks each one optional that may be unknown):

* ``fileViewedByEsp`` is true only where a person's decision records that they viewed
  the file unblurred, false only where nobody ever saw it unblurred, and absent where it
  was seen but no decision says so (see :attr:`ReportRow.viewed_by_person`);
* ``exifViewedByEsp`` is never written: the case does not record whether a person read
  a file's metadata (the machine did, which is not what the field asks);
* ``generativeAi`` only where the current decision is final and says AI-generated or
  AI-edited, never on the automated verdict alone, which goes in ``details`` as
  evidence instead;
* ``industryClassification`` only where the finally decided category fixes one;
* ``additionalInfo`` (ISPWS's free text for what no other element covers) for a video:
  its container, codec, frame size, frame rate, declared duration, frames decoded and
  whether it has sound, as the scan read them.

A decision awaiting a second reviewer (the two-reviewer rule) is not final, so it gives
neither, nor the reviewer's origin among the details; whether the file was viewed is
about viewing, not about the category, so every decision counts for that.

Files without an MD5 or SHA-256 (unreadable ones) cannot be named and are left out.
The document is written element by element, so memory does not grow with the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import PurePath

from lxml import etree

from clearsight.report.output import BinaryView, DigestingOutput
from clearsight.report.request import CybertipOptions, ExportContext
from clearsight.report.rows import ReportRow

# What XML 1.0 cannot hold (control characters, lone surrogates from undecodable file
# names); such a character is written as a visible escape instead.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_cybertip(rows: Iterable[ReportRow], context: ExportContext, out: DigestingOutput) -> int:
    options = context.request.cybertip
    if options is None:
        raise ValueError("a CyberTipline export needs its CybertipOptions")
    count = 0
    with etree.xmlfile(BinaryView(out), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("report"):
            xf.write("\n")
            xf.write(_incident_summary(options), pretty_print=True)
            reporter = _reporter(options)
            if reporter is not None:
                xf.write(reporter, pretty_print=True)
            for row in rows:
                details = file_details(row, options)
                if details is not None:
                    xf.write(details, pretty_print=True)
                    count += 1
    out.write("\n")
    return count


def submission_report(options: CybertipOptions, hashes_of: Sequence[ReportRow] = ()) -> bytes:
    """The ``report`` ISPWS ``submit`` takes: the incident and the reporter; the files
    follow one by one (``upload``, then their ``fileDetails`` through ``fileinfo``).

    ``hashes_of``: files a policy keeps from leaving the platform, reported by their
    hashes alone, one line each in ``additionalInfo`` (no name, no bytes)."""
    report = etree.Element("report")
    report.append(_incident_summary(options))
    reporter = _reporter(options)
    if reporter is not None:
        report.append(reporter)
    if hashes_of:
        lines = ["Files not uploaded (the reporting platform's policy); their hashes:"]
        for row in hashes_of:
            pairs = (("MD5", row.item.md5), ("SHA256", row.item.sha256))
            lines.append(" ".join(f"{name} {value}" for name, value in pairs if value))
        _text(report, "additionalInfo", "\n".join(lines))
    return etree.tostring(report, xml_declaration=True, encoding="utf-8")


def file_details(row: ReportRow, options: CybertipOptions) -> etree._Element | None:
    item = row.item
    hashes = [
        (name, value) for name, value in (("MD5", item.md5), ("SHA256", item.sha256)) if value
    ]
    if not hashes:
        return None
    details = etree.Element("fileDetails")
    _text(details, "originalFileName", PurePath(item.path).name or item.path)
    viewed = row.viewed_by_person
    if viewed is not None:
        _text(details, "fileViewedByEsp", _boolean(viewed))
    if options.publicly_available is not None:
        _text(details, "publiclyAvailable", _boolean(options.publicly_available))
    decision = row.final_decision
    if decision is not None and decision.confirms_ai:
        etree.SubElement(etree.SubElement(details, "fileAnnotations"), "generativeAi")
    if decision is not None and decision.category in options.classification:
        _text(details, "industryClassification", options.classification[decision.category].value)
    for name, value in hashes:
        _text(details, "originalFileHash", value).set("hashType", name)
    _pairs(details, "HASH", _hash_evidence(row))
    _pairs(details, "ORIGIN", _origin_evidence(row))
    video = _video_facts(row)
    if video is not None:
        _text(details, "additionalInfo", video)
    return details


def _video_facts(row: ReportRow) -> str | None:
    """One line of a video's facts, or None for a file that is no video."""
    item, video = row.item, row.item.video
    if video is None:
        return None
    size = f"{item.width}x{item.height}, " if item.width and item.height else ""
    duration = "duration not declared" if video.duration is None else f"{video.duration:.3f} s"
    sound = "with sound" if video.has_audio else "no sound"
    return (
        f"video: {video.container} container, {video.codec}, {size}{video.frame_rate:g} "
        f"frames/s, {duration}, {video.frames_decoded} frames decoded, {sound}"
    )


def _incident_summary(options: CybertipOptions) -> etree._Element:
    summary = etree.Element("incidentSummary")
    _text(summary, "incidentType", options.incident_type.value)
    _text(summary, "incidentDateTime", _date_time(options.incident_time))
    return summary


def _reporter(options: CybertipOptions) -> etree._Element | None:
    person = options.reporter
    if person.empty:
        return None
    reporter = etree.Element("reporter")
    reporting = etree.SubElement(reporter, "reportingPerson")
    for tag, value in (
        ("firstName", person.first_name),
        ("lastName", person.last_name),
        ("email", person.email),
    ):
        if value:
            _text(reporting, tag, value)
    return reporter


def _hash_evidence(row: ReportRow) -> Iterator[tuple[str, str]]:
    item = row.item
    if item.pdq:
        yield "PDQ", item.pdq
        if item.pdq_quality is not None:
            yield "PDQ quality", str(item.pdq_quality)


def _origin_evidence(row: ReportRow) -> Iterator[tuple[str, str]]:
    origin = row.item.origin
    if origin is not None:
        yield "automated origin verdict", origin.verdict
        yield "automated origin score", f"{origin.score:.2f}"
        for reason in origin.reasons:
            yield "automated origin evidence", reason
    if row.final_decision is not None:
        yield "reviewer origin decision", row.final_decision.origin


def _pairs(parent: etree._Element, kind: str, pairs: Iterable[tuple[str, str]]) -> None:
    details: etree._Element | None = None
    for name, value in pairs:
        if details is None:
            details = etree.SubElement(parent, "details", type=kind)
        pair = etree.SubElement(details, "nameValuePair")
        _text(pair, "name", name)
        _text(pair, "value", value)


def _text(parent: etree._Element, tag: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = _NOT_XML.sub(_escaped, value)
    return element


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _date_time(moment: datetime) -> str:
    text = moment.isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
