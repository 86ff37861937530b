"""StopNCII hash-list JSON, read as the FetchHashes API returns it, as a stream.

A page is ``{"count", "nextPageToken", "nextSetTimestamp", "hasMoreRecords",
"hashRecords": [record, ...]}``; a record is ``{"lastModtimestamp", "signalType",
"hashValue", "hashStatus", "caseNumbers": {case number: status}, "CSPFeedbacks":
[{"feedbackValue", "tags", "source"}]}`` (python-threatexchange's
``StopNCIIHashRecord`` is the reference). Records are built one at a time in C by
ijson, so a full download of millions reads quickly in little memory.

* ``ImagePDQ`` becomes a pdq entry and ``VideoMD5`` an md5 entry; the entry keeps
  ``status:<hashStatus>``, ``case:<number>`` and ``feedback:<source>:<value>`` as tags,
  and the record's ``lastModtimestamp`` as its date (ISO 8601, UTC).
* A record whose ``hashStatus`` is ``Withdrawn`` or ``Deleted`` removes its entry:
  StopNCII sends the current state of each hash, and those two mean the person
  withdrew it. (python-threatexchange's exchange compares ``hashValue``, not
  ``hashStatus``, with those states, so it never deletes; this reads the status.)
* ``VideoTMK``, ``Text``, ``URL`` and ``Unknown`` records are not kept (clearsight
  matches none of them): they are counted, and the file ends with one
  :class:`~clearsight.banks.records.NotImportable` per type, not one line per record.
  A signal type StopNCII does not define is a bad record, rejected where it is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.field_limits import checked_text
from clearsight.banks.formats.json_stream import (
    READ_SIZE,
    json_syntax_error,
    open_json,
    scalar_text,
)
from clearsight.banks.formats.stopncii_fast import plain_record_entry
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    NotImportable,
    RejectedLine,
    normalise_signal,
)

_RECORDS = "hashrecords"
_SIGNAL_TYPES = {"imagepdq": BankSignal.PDQ, "videomd5": BankSignal.MD5}
# StopNCIISignalType's other members: real StopNCII records clearsight does not match.
_NOT_IMPORTABLE = {"videotmk": "VideoTMK", "text": "Text", "url": "URL", "unknown": "Unknown"}
_REMOVED_STATUSES = frozenset({"withdrawn", "deleted"})
# A timestamp outside this is not one (StopNCII sends seconds since 1970).
_LATEST_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z


def parse_stopncii(path: Path) -> Iterator[ImportEvent]:
    """Stream the hash records of a StopNCII file; raises BankFormatError if it is not one."""
    key = _records_key(path)
    skipped: dict[str, int] = {}
    last_where = ""
    with open_json(path) as stream:
        try:
            records = ijson.items(stream, f"{key}.item", buf_size=READ_SIZE)
            for index, record in enumerate(records):
                last_where = f"{key}[{index}]"
                fast = plain_record_entry(record, last_where) if record.__class__ is dict else None
                event = fast if fast is not None else record_event(record, last_where)
                if isinstance(event, str):
                    skipped[event] = skipped.get(event, 0) + 1
                else:
                    yield event
        except ijson.JSONError as error:
            raise json_syntax_error(path, error, last_where) from None
    for kind, count in skipped.items():
        yield NotImportable(
            key,
            f"{count} {kind} record(s) not importable: clearsight keeps ImagePDQ and VideoMD5",
            kind=kind,
            count=count,
        )


def _records_key(path: Path) -> str:
    """``hashRecords`` as the file spells it, checked to be a list of the top object."""
    with open_json(path) as stream:
        events = ijson.parse(stream, buf_size=64 * 1024)
        try:
            first = next(events, None)
            if first is None or first[1] != "start_map":
                raise _not_stopncii(path, "the top level is not a JSON object")
            key: str | None = None
            for prefix, event, value in events:
                if prefix == "" and event == "map_key":
                    key = value if str(value).lower() == _RECORDS else None
                elif key is not None and prefix == key:
                    if event != "start_array":
                        raise _not_stopncii(path, f"'{key}' is not a list")
                    return key
        except ijson.JSONError as error:
            raise json_syntax_error(path, error, "") from None
    raise _not_stopncii(path, "it has no 'hashRecords' list")


def _not_stopncii(path: Path, why: str) -> BankFormatError:
    return BankFormatError(f"{path.name}: not a StopNCII JSON file: {why}")


def record_event(record: object, where: str) -> ImportEvent | str:
    """The entry one hash record makes, why it cannot, or the type it is not kept for."""
    if not isinstance(record, dict):
        return RejectedLine(where, "not a hash record object")
    fields = dict(zip(map(str.lower, record), record.values(), strict=True))
    try:
        signal_type = scalar_text("signalType", fields.get("signaltype"))
        if signal_type is None:
            raise ValueError("no signalType")
        kind = _SIGNAL_TYPES.get(signal_type.lower())
        if kind is None:
            not_kept = _NOT_IMPORTABLE.get(signal_type.lower())
            if not_kept is not None:
                return not_kept
            raise ValueError(f"signalType {signal_type[:40]!r} is not a StopNCII signal type")
        signal = _signal(kind, fields)
        status = scalar_text("hashStatus", fields.get("hashstatus"))
        metadata = EntryMetadata(
            external_id=scalar_text("id", fields.get("id")),
            tags=_tags(status, fields),
            date=_date(fields.get("lastmodtimestamp")),
        )
    except ValueError as error:
        return RejectedLine(where, str(error))
    removed = status is not None and status.lower() in _REMOVED_STATUSES
    return ImportedEntry((signal,), metadata, remove=removed, where=where)


def _signal(kind: BankSignal, fields: dict[str, object]) -> tuple[BankSignal, str]:
    value = scalar_text("hashValue", fields.get("hashvalue"))
    if value is None:
        raise ValueError("no hashValue")
    try:
        return kind, normalise_signal(kind, value)
    except ValueError as error:
        raise ValueError(f"hashValue: {error}") from None


def _tags(status: str | None, fields: dict[str, object]) -> tuple[str, ...]:
    """``status:<hashStatus>``, ``case:<n>`` per case, ``feedback:<source>:<value>``."""
    tags: list[str] = []
    if status is not None:
        tags.append(f"status:{status}")
    for number in _case_numbers(fields.get("casenumbers")):
        tags.append(f"case:{number}")
    for feedback in _feedbacks(fields.get("cspfeedbacks")):
        tags.append(f"feedback:{feedback}")
    return tuple(dict.fromkeys(tags))


def _case_numbers(raw: object) -> Iterator[str]:
    """The API's ``{number: status}``; an empty list (as some pages send) or a list of
    numbers, as older files have, are read too."""
    if raw is None:
        return
    cases: Any = raw.keys() if isinstance(raw, dict) else raw if isinstance(raw, list) else [raw]
    for case in cases:
        number = scalar_text("caseNumbers", case)
        if number is not None:
            yield number


def _feedbacks(raw: object) -> Iterator[str]:
    if raw is None:
        return
    if not isinstance(raw, list):
        raise ValueError("CSPFeedbacks: not a list")
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("CSPFeedbacks: an item is not an object")
        fields = dict(zip(map(str.lower, item), item.values(), strict=True))
        value = scalar_text("feedbackValue", fields.get("feedbackvalue"))
        if value is None:
            continue
        source = scalar_text("source", fields.get("source"))
        yield checked_text("CSPFeedbacks", f"{source}:{value}" if source else value)


def _date(raw: object) -> str | None:
    """``lastModtimestamp`` (seconds since 1970) as ISO 8601 UTC; None if it is none."""
    if raw is None or isinstance(raw, bool):
        return None
    if not isinstance(raw, int | float):
        text = scalar_text("lastModtimestamp", raw)
        if text is None:
            return None
        try:
            raw = float(text)
        except ValueError:
            raise ValueError(f"lastModtimestamp: not a number: {text[:40]!r}") from None
    if not 0 <= raw <= _LATEST_TIMESTAMP:
        raise ValueError(f"lastModtimestamp: {raw} is not a time")
    moment = time.gmtime(int(raw))  # with an f-string: strftime costs more than the rest
    return (
        f"{moment.tm_year:04d}-{moment.tm_mon:02d}-{moment.tm_mday:02d}"
        f"T{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d}Z"
    )
