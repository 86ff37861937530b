"""The common StopNCII record, read without the general path's per-field work.

Records come from one API, so nearly all of them are alike: the API's own field names,
an ``ImagePDQ`` or ``VideoMD5`` hash in hex, a status, ``caseNumbers`` as an object and
``CSPFeedbacks`` as a list. :func:`plain_record_entry` reads exactly that shape and
returns None at the first thing it does not expect, leaving the record to
:func:`~clearsight.banks.formats.stopncii.record_event`, which reads every shape and
names every fault. A property test holds the two to the same entries.
"""

from __future__ import annotations

import binascii
import time
from binascii import unhexlify
from typing import Any

from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.signals.pdq import PdqSignal
from clearsight.signals.signal_type import Md5Signal

_FIELDS = frozenset(
    {"lastModtimestamp", "signalType", "hashValue", "hashStatus", "caseNumbers", "CSPFeedbacks"}
)
_KINDS = {
    "ImagePDQ": (BankSignal.PDQ, PdqSignal.hex_length),
    "VideoMD5": (BankSignal.MD5, Md5Signal.hex_length),
}
_STATUSES = {
    status: status.lower() in ("withdrawn", "deleted")
    for status in ("Unknown", "Received", "Active", "Withdrawn", "Deleted")
}
_FEEDBACK_FIELDS = frozenset({"feedbackValue", "tags", "source"})
_SHORT = 1024  # case numbers, sources and values longer than this go the general way
_LATEST = 253_402_300_799


def plain_record_entry(record: dict[str, Any], where: str) -> ImportedEntry | None:
    """The entry of a record in the API's shape, or None to read it the general way."""
    if record.keys() != _FIELDS:
        return None
    kind_length = (
        _KINDS.get(record["signalType"]) if record["signalType"].__class__ is str else None
    )
    status = record["hashStatus"]
    value = record["hashValue"]
    stamp = record["lastModtimestamp"]
    if (
        kind_length is None
        or status.__class__ is not str
        or status not in _STATUSES
        or value.__class__ is not str
        or len(value) != kind_length[1]
        or stamp.__class__ is not int
        or not 0 <= stamp <= _LATEST
    ):
        return None
    try:
        unhexlify(value)
    except (binascii.Error, ValueError):
        return None
    tags = _tags(status, record["caseNumbers"], record["CSPFeedbacks"])
    if tags is None:
        return None
    moment = time.gmtime(stamp)
    date = (
        f"{moment.tm_year:04d}-{moment.tm_mon:02d}-{moment.tm_mday:02d}"
        f"T{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d}Z"
    )
    return ImportedEntry(
        ((kind_length[0], value.lower()),),
        EntryMetadata(tags=tags, date=date),
        remove=_STATUSES[status],
        where=where,
    )


def _tags(status: str, cases: Any, feedbacks: Any) -> tuple[str, ...] | None:
    if cases.__class__ is not dict or feedbacks.__class__ is not list:
        return None
    tags = [f"status:{status}"]
    for number in cases:
        if not _plain(number):
            return None
        tags.append(f"case:{number}")
    for feedback in feedbacks:
        if feedback.__class__ is not dict or not _FEEDBACK_FIELDS.issuperset(feedback):
            return None
        value, source = feedback.get("feedbackValue"), feedback.get("source")
        if value is None:
            continue
        if not _plain(value) or not (source is None or _plain(source)):
            return None
        tags.append(f"feedback:{source}:{value}" if source else f"feedback:{value}")
    return tuple(dict.fromkeys(tags)) if len(tags) > 1 else tuple(tags)


def _plain(text: object) -> bool:
    """Text the general path keeps as it is: short, no NUL, nothing to strip, not empty."""
    if not isinstance(text, str):
        return False
    return 0 < len(text) <= _SHORT and "\x00" not in text and text == text.strip()
