"""Project VIC "VICS" JSON bank files, read as a stream.

National VICS exports run to gigabytes, so the file is never loaded whole: ijson walks it
event by event and only one ``Media`` object at a time is ever built in memory. Both data
models in use are read in the same single pass, whatever order their keys come in:

* 1.3: ``{"odata.metadata": ..., "value": [Media, ...]}``;
* 2.0: ``{"@odata.context": ..., "Cases": [{..., "Media": [Media, ...]}]}``, or a bare
  ``{"value": [Media, ...]}``.

Field names are matched case-insensitively, because exporting tools disagree on case.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

from clearsight.banks.formats.delimited import split_tags
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.json_stream import json_syntax_error, scalar_text, skip_bom
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
    normalise_signal,
    parse_flag,
)

# An ijson event: (prefix, event name, value). A prefix joins the keys with "." and
# names an array member "item", so "Cases.item.Media.item" is one Media of one case.
_JsonEvent = tuple[str, str, Any]
_Signals = tuple[tuple[BankSignal, str], ...]

_VALUE = "value"
_CASES = "Cases"
_CASE = "Cases.item"
_CASE_MEDIA_LIST = "Cases.item.Media"
_MEDIA = {"value.item", "Cases.item.Media.item"}
# Events that begin a JSON value; the others (keys, ends) sit inside one already begun.
_VALUE_STARTS = frozenset({"start_map", "start_array", "string", "number", "boolean", "null"})

_DIRECT_SIGNALS = (
    ("MD5", BankSignal.MD5),
    ("SHA1", BankSignal.SHA1),
    ("SHA256", BankSignal.SHA256),
    ("PhotoDNA", BankSignal.PHOTODNA),
)
_ALTERNATIVE_SIGNALS = {
    "sha256": BankSignal.SHA256,
    "sha-256": BankSignal.SHA256,
    "pdq": BankSignal.PDQ,
}
_SIGNAL_ORDER = {kind: rank for rank, kind in enumerate(BankSignal)}


def parse_vics(path: Path) -> Iterator[ImportEvent]:
    """Stream the Media of a VICS file; raises BankFormatError if it is not VICS JSON."""
    walker = _MediaWalker(path)
    with path.open("rb") as stream:
        skip_bom(stream)
        try:
            yield from walker.walk(ijson.parse(stream))
        except ijson.JSONError as error:
            raise walker.syntax_error(error) from None


class _MediaWalker:
    """Finds the Media objects among the events and counts them, for ``where``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.value_index = -1
        self.case_index = -1
        self.media_index = -1
        self.found_media_list = False
        self.last_where = ""  # the last entry read whole, to place a syntax error

    def walk(self, events: Iterator[_JsonEvent]) -> Iterator[ImportEvent]:
        """One event per Media, then a check that the file had a Media list at all."""
        self._check_top_level(next(events))
        for prefix, event, value in events:
            if event not in _VALUE_STARTS:
                continue
            if prefix in _MEDIA:
                where = self._next_media(prefix)
                media = _build(event, value, events)
                self.last_where = where  # only now is the whole entry read
                yield _media_event(media, where)
            elif prefix == _CASE:
                self.case_index += 1
                self.media_index = -1
                if event != "start_map":
                    yield RejectedLine(f"Cases[{self.case_index}]", "not a case object")
            elif prefix in (_VALUE, _CASES):
                self._check_media_list(prefix, event)
            elif prefix == _CASE_MEDIA_LIST and event not in ("start_array", "null"):
                yield RejectedLine(f"Cases[{self.case_index}].Media", "Media is not a list")
        if not self.found_media_list:
            raise self._not_vics("it has no 'value' or 'Cases' list")

    def syntax_error(self, error: ijson.JSONError) -> BankFormatError:
        """A one-line error for broken JSON, placed after the last entry read."""
        return json_syntax_error(self.path, error, self.last_where)

    def _check_top_level(self, first: _JsonEvent) -> None:
        if first[1] != "start_map":
            raise self._not_vics("the top level is not a JSON object")

    def _check_media_list(self, prefix: str, event: str) -> None:
        if event != "start_array":
            raise self._not_vics(f"'{prefix}' is not a list")
        self.found_media_list = True

    def _next_media(self, prefix: str) -> str:
        if prefix == "value.item":
            self.value_index += 1
            return f"value[{self.value_index}]"
        self.media_index += 1
        return f"Cases[{self.case_index}].Media[{self.media_index}]"

    def _not_vics(self, why: str) -> BankFormatError:
        return BankFormatError(f"{self.path.name}: not a VICS JSON file: {why}")


def _build(event: str, value: Any, events: Iterator[_JsonEvent]) -> object:
    """The whole JSON value that ``event`` begins, pulling the rest of it from ``events``."""
    builder = ijson.ObjectBuilder()
    depth = 0
    while True:
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            built: object = builder.value
            return built
        _prefix, event, value = next(events)


def _media_event(media: object, where: str) -> ImportEvent:
    """The entry one Media object makes, or why it cannot make one."""
    if not isinstance(media, dict):
        return RejectedLine(where, "not a Media object")
    fields = {str(key).lower(): value for key, value in media.items()}
    try:
        signals = _media_signals(fields)
        metadata = _media_metadata(fields)
    except ValueError as error:
        return RejectedLine(where, str(error))
    if not signals:
        return RejectedLine(where, "no MD5, SHA1, SHA256, PDQ or PhotoDNA value")
    return ImportedEntry(signals, metadata, where=where)


def _media_signals(fields: dict[str, object]) -> _Signals:
    """Direct hash fields plus the known AlternativeHashes, deduplicated, in a fixed order."""
    found: dict[tuple[BankSignal, str], None] = {}
    for name, kind in _DIRECT_SIGNALS:
        _add_signal(found, kind, name, fields.get(name.lower()))
    for hash_name, hash_value in _alternative_hashes(fields.get("alternativehashes")):
        alternative = _ALTERNATIVE_SIGNALS.get(hash_name.lower())
        if alternative is not None:  # other algorithms (vendor hashes) are not ours to keep
            _add_signal(found, alternative, f"AlternativeHashes {hash_name}", hash_value)
    return tuple(sorted(found, key=lambda signal: _SIGNAL_ORDER[signal[0]]))


def _add_signal(
    found: dict[tuple[BankSignal, str], None], kind: BankSignal, name: str, raw: object
) -> None:
    text = scalar_text(name, raw)
    if text is None:
        return  # an empty hash field just means the list has no such hash
    try:
        found[(kind, normalise_signal(kind, text))] = None
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _alternative_hashes(raw: object) -> Iterator[tuple[str, object]]:
    """(HashName, HashValue) pairs of an AlternativeHashes list."""
    if raw is None:
        return
    if not isinstance(raw, list):
        raise ValueError("AlternativeHashes: not a list")
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("AlternativeHashes: an item is not an object")
        pair = {str(key).lower(): value for key, value in item.items()}
        yield scalar_text("HashName", pair.get("hashname")) or "", pair.get("hashvalue")


def _media_metadata(fields: dict[str, object]) -> EntryMetadata:
    tags = split_tags(fields.get("tags"))
    if _flag("IsDistributed", fields.get("isdistributed")):
        tags += ("distributed",)
    return EntryMetadata(
        external_id=scalar_text("MediaID", fields.get("mediaid")),
        category=scalar_text("Category", fields.get("category")),
        series=scalar_text("Series", fields.get("series")),
        victim_identified=_flag("VictimIdentified", fields.get("victimidentified")),
        offender_identified=_flag("OffenderIdentified", fields.get("offenderidentified")),
        tags=tuple(dict.fromkeys(tags)),  # lists repeat tags; one of each is enough
        comments=scalar_text("Comments", fields.get("comments")),
    )


def _flag(name: str, raw: object) -> bool | None:
    try:
        return parse_flag(raw)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
