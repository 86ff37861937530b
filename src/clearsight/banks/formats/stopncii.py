"""StopNCII hash-list JSON, read as a stream.

A StopNCII download is ``{"hashRecords": [{"signalType", "hashValue", "hashStatus",
"caseNumbers"}, ...], ...}``. Full downloads are large, so ijson reads one record at a
time. Only the signal types clearsight can match are taken (``ImagePDQ`` as pdq,
``VideoMD5`` as md5); a record of any other type is rejected by name rather than skipped
silently, so that an analyst sees what the list held that was not imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.json_stream import json_syntax_error, scalar_text, skip_bom
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
    normalise_signal,
)

# An ijson event: (prefix, event name, value); see ijson.parse.
_JsonEvent = tuple[str, str, Any]

_RECORDS = "hashRecords"
_RECORD = "hashRecords.item"
_SIGNAL_TYPES = {"imagepdq": BankSignal.PDQ, "videomd5": BankSignal.MD5}


def parse_stopncii(path: Path) -> Iterator[ImportEvent]:
    """Stream the hash records of a StopNCII file; raises BankFormatError if it is not one."""
    shape = _ShapeCheck(path)
    with path.open("rb") as stream:
        skip_bom(stream)
        try:
            records = ijson.items(shape.watch(ijson.parse(stream)), _RECORD)
            for index, record in enumerate(records):
                shape.last_where = f"hashRecords[{index}]"
                yield _record_event(record, shape.last_where)
        except ijson.JSONError as error:
            raise shape.syntax_error(error) from None
    shape.check_found()


class _ShapeCheck:
    """Watches the parse events go by to refuse a file that is not StopNCII-shaped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.found_records = False
        self.last_where = ""  # the record read last, to place a syntax error

    def watch(self, events: Iterator[_JsonEvent]) -> Iterator[_JsonEvent]:
        """Pass the events on unchanged, checking the top level and ``hashRecords``."""
        first = next(events)
        if first[1] != "start_map":
            raise self._not_stopncii("the top level is not a JSON object")
        yield first
        for prefix, event, value in events:
            if prefix == _RECORDS and event not in ("map_key", "end_array"):
                self._check_records(event)
            yield prefix, event, value

    def check_found(self) -> None:
        if not self.found_records:
            raise self._not_stopncii("it has no 'hashRecords' list")

    def syntax_error(self, error: ijson.JSONError) -> BankFormatError:
        """A one-line error for broken JSON, placed after the last record read."""
        return json_syntax_error(self.path, error, self.last_where)

    def _check_records(self, event: str) -> None:
        if event != "start_array":
            raise self._not_stopncii("'hashRecords' is not a list")
        self.found_records = True

    def _not_stopncii(self, why: str) -> BankFormatError:
        return BankFormatError(f"{self.path.name}: not a StopNCII JSON file: {why}")


def _record_event(record: object, where: str) -> ImportEvent:
    """The entry one hash record makes, or why it cannot make one."""
    if not isinstance(record, dict):
        return RejectedLine(where, "not a hash record object")
    fields = {str(key).lower(): value for key, value in record.items()}
    try:
        signal = _signal(fields)
        metadata = EntryMetadata(
            external_id=scalar_text("id", fields.get("id")), tags=_tags(fields)
        )
    except ValueError as error:
        return RejectedLine(where, str(error))
    return ImportedEntry((signal,), metadata, where=where)


def _signal(fields: dict[str, object]) -> tuple[BankSignal, str]:
    signal_type = scalar_text("signalType", fields.get("signaltype"))
    if signal_type is None:
        raise ValueError("no signalType")
    kind = _SIGNAL_TYPES.get(signal_type.lower())
    if kind is None:
        raise ValueError(f"signalType {signal_type[:40]!r} is not one clearsight imports")
    value = scalar_text("hashValue", fields.get("hashvalue"))
    if value is None:
        raise ValueError("no hashValue")
    try:
        return kind, normalise_signal(kind, value)
    except ValueError as error:
        raise ValueError(f"hashValue: {error}") from None


def _tags(fields: dict[str, object]) -> tuple[str, ...]:
    """``status:<hashStatus>`` then ``case:<n>`` per case number, so both stay searchable."""
    tags: list[str] = []
    status = scalar_text("hashStatus", fields.get("hashstatus"))
    if status is not None:
        tags.append(f"status:{status}")
    cases = fields.get("casenumbers")
    for case in cases if isinstance(cases, list) else [cases]:
        number = scalar_text("caseNumbers", case)
        if number is not None:
            tags.append(f"case:{number}")
    return tuple(dict.fromkeys(tags))
