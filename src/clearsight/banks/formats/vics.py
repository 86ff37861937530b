"""Project VIC "VICS" JSON bank files, read as a stream.

Every shape in use is read:

* 2.0 case form: ``{"@odata.context": ".../2.0.xml/US/$metadata#Cases", "value":
  [Case, ...]}``, each Case (``CaseID``, ``CaseNumber``, ``SourceApplicationName``, …)
  holding ``Media: [...]``; every case's Media are read;
* 2.0 media form: ``{"@odata.context": ".../$metadata#Media", "value": [Media, ...]}``;
* 1.3: ``{"odata.metadata": ".../1.3.xml#Media", "value": [Media, ...]}``;
* earlier clearsight case exports: ``{"Cases": [{..., "Media": [...]}]}``.

The form is told by a short first look (:func:`_layout`): the context, where it comes
before ``value``, and else the first item itself, since a context may be missing or
written after the list: an item with a ``Media`` key (or a ``CaseID``) is a Case. The
second pass then lets ijson's C backend build each Media object whole in C
(``ijson.items``), which is what makes a national list of millions quick to read; only
the case form, where each Media's place names its case, watches the events in Python.
A Case met in a list the context called Media is still read, Media by Media.

Values are read as real sets write them: field names in any case; hex in any case;
flags as booleans or "true"/"false"; ``Category`` as a number, a numeric string or
null; ``Tags`` as a string or a list; ``PhotoDNA`` as base64 or hex (stored as base64,
see :func:`~clearsight.banks.records.canonical_photodna`); ``AlternativeHashes`` by
``HashName`` in any case. Fields clearsight does not keep (``MediaSize``,
``MediaFiles``, ``MimeType``, vendor fields) are ignored, whatever their type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import ijson

from clearsight.banks.formats.delimited import split_tags
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.field_limits import checked_text
from clearsight.banks.formats.json_stream import (
    READ_SIZE,
    json_syntax_error,
    open_json,
    scalar_text,
)
from clearsight.banks.formats.vics_fast import plain_media_entry, plain_media_prepared
from clearsight.banks.prepared import PreparedEntry
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
    normalise_signal,
    parse_flag,
)
from clearsight.signals.registry import SIGNAL_TYPES

_Signals = tuple[tuple[BankSignal, str], ...]
# An ijson event: (prefix, event name, value). A prefix joins the keys with "." and
# names an array member "item", so "value.item.Media.item" is one Media of one case.
_JsonEvent = tuple[str, str, Any]

_LIST_KEYS = ("value", "cases")
_CONTEXT_KEYS = ("@odata.context", "odata.metadata")
_CASE_KEYS = frozenset({"media", "caseid"})
_DIRECT_SIGNALS = (
    ("md5", "MD5", BankSignal.MD5),
    ("sha1", "SHA1", BankSignal.SHA1),
    ("sha256", "SHA256", BankSignal.SHA256),
    ("photodna", "PhotoDNA", BankSignal.PHOTODNA),
)
_ALTERNATIVE_SIGNALS = {
    "md5": BankSignal.MD5,
    "sha1": BankSignal.SHA1,
    "sha-1": BankSignal.SHA1,
    "sha256": BankSignal.SHA256,
    "sha-256": BankSignal.SHA256,
    "pdq": BankSignal.PDQ,
    "photodna": BankSignal.PHOTODNA,
}
_SIGNAL_ORDER = {kind: rank for rank, kind in enumerate(BankSignal)}
# A hex value already in shape: what normalise_signal would return, lower-cased.
_WELL_FORMED = {
    kind: re.compile(f"[0-9a-fA-F]{{{digits}}}")
    for kind, digits in ((BankSignal(t.name), t.hex_length) for t in SIGNAL_TYPES)
}


@dataclass(frozen=True)
class _Layout:
    """Where the Media are: ``list_key`` as the file spells it, and for the case form,
    the key of each case's Media list (None for a list of Media)."""

    list_key: str
    media_key: str | None


@overload
def parse_vics(path: Path) -> Iterator[ImportEvent]: ...


@overload
def parse_vics(path: Path, *, prepared: bool) -> Iterator[ImportEvent | PreparedEntry]: ...


def parse_vics(path: Path, *, prepared: bool = False) -> Iterator[ImportEvent | PreparedEntry]:
    """Stream the Media of a VICS file; raises BankFormatError if it is not VICS JSON.

    ``prepared``: give a Media of the media form read by the fast path as the write
    path's tuple straight away (see :func:`~.vics_fast.plain_media_prepared`).
    """
    layout = _layout(path)
    reader: _MediaReader | _CaseReader = (
        _CaseReader(layout) if layout.media_key else _MediaReader(layout, prepared=prepared)
    )
    with open_json(path) as stream:
        try:
            yield from reader.events(stream)
        except ijson.JSONError as error:
            raise json_syntax_error(path, error, reader.last_where) from None


class _MediaReader:
    """``value: [Media, ...]``: each Media built in C, placed by its index."""

    def __init__(self, layout: _Layout, *, prepared: bool = False) -> None:
        self.key = layout.list_key
        self.index = -1  # the last entry read whole, to place a syntax error
        self.prepared = prepared

    @property
    def last_where(self) -> str:
        return f"{self.key}[{self.index}]" if self.index >= 0 else ""

    def events(self, stream: Any) -> Iterator[ImportEvent | PreparedEntry]:
        items = ijson.items(stream, f"{self.key}.item", buf_size=READ_SIZE)
        prepared = self.prepared
        for index, item in enumerate(items):
            self.index = index
            if item.__class__ is dict:
                entry: ImportEvent | PreparedEntry | None = (
                    plain_media_prepared(item)
                    if prepared
                    else plain_media_entry(item, f"{self.key}[{index}]")
                )
                if entry is not None:
                    yield entry
                    continue
                if "Media" in item or "CaseID" in item:  # a Case in a Media list
                    yield from _case_media_events(item, f"{self.key}[{index}]")
                    continue
            yield media_event(item, f"{self.key}[{index}]")


class _CaseReader:
    """``value: [Case{..., Media: [...]}, ...]``: each Media built in C; the events are
    watched on their way to count the cases, so a Media's place names its case."""

    def __init__(self, layout: _Layout) -> None:
        self.key = layout.list_key
        self.media_key = layout.media_key or "Media"
        self.case_index = -1
        self.media_index = -1
        self.rejected: list[RejectedLine] = []
        self.last_where = ""

    def events(self, stream: Any) -> Iterator[ImportEvent]:
        watched = self._watch(ijson.parse(stream, buf_size=READ_SIZE))
        for media in ijson.items(watched, f"{self.key}.item.{self.media_key}.item"):
            yield from self._drain()
            self.media_index += 1
            where = f"{self.key}[{self.case_index}].{self.media_key}[{self.media_index}]"
            self.last_where = where
            entry = plain_media_entry(media, where) if media.__class__ is dict else None
            yield entry if entry is not None else media_event(media, where)
        yield from self._drain()

    def _drain(self) -> Iterator[RejectedLine]:
        if self.rejected:
            yield from self.rejected
            self.rejected.clear()

    def _watch(self, events: Iterator[_JsonEvent]) -> Iterator[_JsonEvent]:
        case_prefix = f"{self.key}.item"
        media_prefix = f"{case_prefix}.{self.media_key}"
        for prefix, event, value in events:
            if prefix == case_prefix and event not in ("map_key", "end_map"):
                self.case_index += 1
                self.media_index = -1
                if event != "start_map":
                    where = f"{self.key}[{self.case_index}]"
                    self.rejected.append(RejectedLine(where, "not a case object"))
            elif prefix == media_prefix and event not in ("start_array", "end_array", "null"):
                if event in ("start_map", "string", "number", "boolean"):
                    where = f"{self.key}[{self.case_index}].{self.media_key}"
                    self.rejected.append(RejectedLine(where, "Media is not a list"))
            yield prefix, event, value


def _case_media_events(case: dict[str, Any], where: str) -> Iterator[ImportEvent]:
    media = next((value for key, value in case.items() if str(key).lower() == "media"), None)
    if media is None:
        return
    if not isinstance(media, list):
        yield RejectedLine(f"{where}.Media", "Media is not a list")
        return
    for index, item in enumerate(media):
        yield media_event(item, f"{where}.Media[{index}]")


def _layout(path: Path) -> _Layout:
    """Tell the form from the first events: the context if it comes first, else the
    first item (a Case has a ``Media`` list or a ``CaseID``)."""
    with open_json(path) as stream:
        events = ijson.parse(stream, buf_size=64 * 1024)
        try:
            return _LayoutScan(path).scan(events)
        except ijson.JSONError as error:
            raise json_syntax_error(path, error, "") from None


class _LayoutScan:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.context_form: str | None = None  # "cases" or "media", where a context says
        self.list_key: str | None = None
        self.case_keys_seen = False

    def scan(self, events: Iterator[_JsonEvent]) -> _Layout:
        first = next(events, None)
        if first is None or first[1] != "start_map":
            raise self._not_vics("the top level is not a JSON object")
        key: str | None = None
        for prefix, event, value in events:
            if self.list_key is None:
                if prefix == "" and event == "map_key":
                    key = value
                elif key is not None and prefix == key:
                    found = self._top_level_value(key, event, value)
                    if found is not None:
                        return found
            else:
                found = self._first_item(prefix, event, value)
                if found is not None:
                    return found
        if self.list_key is not None:  # a syntax error ends the scan in ijson first
            return self._decided(case_form=False)
        raise self._not_vics("it has no 'value' or 'Cases' list")

    def _top_level_value(self, key: str, event: str, value: Any) -> _Layout | None:
        lowered = key.lower()
        if lowered in _CONTEXT_KEYS and event == "string":
            self.context_form = _context_form(value)
        elif lowered in _LIST_KEYS:
            if event != "start_array":
                raise self._not_vics(f"'{key}' is not a list")
            self.list_key = key
            if lowered == "value" and self.context_form == "media":
                return _Layout(key, None)
        return None

    def _first_item(self, prefix: str, event: str, value: Any) -> _Layout | None:
        item = f"{self.list_key}.item"
        if prefix == self.list_key and event == "end_array":
            return self._decided(case_form=False)  # an empty list: nothing to tell
        if prefix != item:
            return None
        if event == "map_key":
            lowered = str(value).lower()
            if lowered == "media":
                return _Layout(self.list_key or "", value)
            self.case_keys_seen |= lowered in _CASE_KEYS
            return None
        if event == "start_map":
            return None
        return self._decided(case_form=self.case_keys_seen)  # the first item has ended

    def _decided(self, *, case_form: bool) -> _Layout:
        key = self.list_key or ""
        cases = case_form or self.context_form == "cases" or key.lower() == "cases"
        return _Layout(key, "Media" if cases else None)

    def _not_vics(self, why: str) -> BankFormatError:
        return BankFormatError(f"{self.path.name}: not a VICS JSON file: {why}")


def _context_form(context: str) -> str | None:
    """``...$metadata#Cases`` or ``...#Media`` (2.0 and 1.3 alike), else None."""
    fragment = context.rpartition("#")[2].strip().lower()
    return fragment if fragment in ("cases", "media") else None


def media_event(media: object, where: str) -> ImportEvent:
    """The entry one Media object makes, or why it cannot make one."""
    if not isinstance(media, dict):
        return RejectedLine(where, "not a Media object")
    fields = dict(zip(map(str.lower, media), media.values(), strict=True))
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
    for key, name, kind in _DIRECT_SIGNALS:
        raw = fields.get(key)
        if raw is not None and raw != "":
            found[_signal(kind, name, raw)] = None
    alternatives = fields.get("alternativehashes")
    if alternatives is not None:
        for item in alternatives if isinstance(alternatives, list) else [alternatives]:
            if not isinstance(item, dict):
                raise ValueError("AlternativeHashes: an item is not an object")
            hash_name, raw = _alternative(item)
            alternative = _ALTERNATIVE_SIGNALS.get(hash_name.lower())
            if alternative is not None and raw is not None and raw != "":  # not vendor hashes
                found[_signal(alternative, f"AlternativeHashes {hash_name}", raw)] = None
    if len(found) < 2:
        return tuple(found)
    return tuple(sorted(found, key=_signal_rank))


def _signal_rank(signal: tuple[BankSignal, str]) -> int:
    return _SIGNAL_ORDER[signal[0]]


def _alternative(item: dict[str, Any]) -> tuple[str, object]:
    """(HashName, HashValue) of one AlternativeHashes item, its keys in any case."""
    if "HashName" in item and "HashValue" in item:
        name, raw = item["HashName"], item["HashValue"]
    else:
        pair = {str(key).lower(): value for key, value in item.items()}
        name, raw = pair.get("hashname"), pair.get("hashvalue")
    return (scalar_text("HashName", name) or "") if name is not None else "", raw


def _signal(kind: BankSignal, name: str, raw: object) -> tuple[BankSignal, str]:
    if not isinstance(raw, str):
        raw = scalar_text(name, raw) or ""
    pattern = _WELL_FORMED.get(kind)
    if pattern is not None and pattern.fullmatch(raw):
        return kind, raw.lower()  # the common case, without normalise_signal's general path
    if kind is BankSignal.PHOTODNA:
        checked_text(name, raw)
    try:
        return kind, normalise_signal(kind, raw)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _media_metadata(fields: dict[str, object]) -> EntryMetadata:
    get = fields.get
    raw_tags = get("tags")
    tags = () if raw_tags is None else tuple(checked_text("Tags", t) for t in split_tags(raw_tags))
    distributed = get("isdistributed")
    if distributed is not None and _flag("IsDistributed", distributed):
        tags += ("distributed",)
    victim, offender = get("victimidentified"), get("offenderidentified")
    return EntryMetadata(
        external_id=_text("MediaID", get("mediaid")),
        category=_text("Category", get("category")),
        series=_text("Series", get("series")),
        victim_identified=None if victim is None else _flag("VictimIdentified", victim),
        offender_identified=None if offender is None else _flag("OffenderIdentified", offender),
        tags=tuple(dict.fromkeys(tags)) if len(tags) > 1 else tags,  # one of each tag
        comments=_text("Comments", get("comments")),
    )


def _text(name: str, raw: object) -> str | None:
    return None if raw is None else scalar_text(name, raw)


def _flag(name: str, raw: object) -> bool | None:
    try:
        return parse_flag(raw)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
