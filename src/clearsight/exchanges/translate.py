"""What each exchange's updates say, as the bank store's import events.

python-threatexchange yields, per page, ``FetchDelta.updates``: a mapping from the
API's own key to its record (None, or a deleted flag, for a withdrawal). Each becomes
an :class:`~clearsight.banks.records.ImportedEntry` (``remove=True`` for a
withdrawal), a :class:`~clearsight.banks.records.RejectedLine`, or a count of records
of kinds clearsight does not match. An entry keyed by the API's id (NCMEC's
``member-id``, the library's own key) is named by it; the others are named by their
one signal, so a withdrawal finds what its addition made.

NCMEC's records, a national list's millions, also have a fast path
(:func:`ncmec_prepared`): the same rows made straight from the library's records,
without the events in between; a test holds it to the general path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from functools import lru_cache, partial
from typing import Any

from clearsight.banks.formats.stopncii import record_event
from clearsight.banks.prepared import PreparedEntry, entry_cells, tags_column
from clearsight.banks.records import (
    BankSignal,
    EntryMetadata,
    ImportedEntry,
    ImportEvent,
    NotImportable,
    RejectedLine,
    normalise_signal,
)

# NCMEC fingerprint element names (the library keeps them as the XML has them).
_NCMEC_FINGERPRINTS = {
    "md5": BankSignal.MD5,
    "sha1": BankSignal.SHA1,
    "sha256": BankSignal.SHA256,
    "pdq": BankSignal.PDQ,
    "pdna": BankSignal.PHOTODNA,
}
# ThreatExchange indicator types, and the library's signal type names (TAT, file).
_TE_TYPES = {
    "HASH_PDQ": BankSignal.PDQ,
    "HASH_MD5": BankSignal.MD5,
    "HASH_VIDEO_MD5": BankSignal.MD5,
    "HASH_SHA1": BankSignal.SHA1,
    "HASH_SHA256": BankSignal.SHA256,
    "HASH_VIDEO_SHA256": BankSignal.SHA256,
}
_ORDER = {kind: rank for rank, kind in enumerate(BankSignal)}
_SIGNAL_NAMES = {
    "pdq": BankSignal.PDQ,
    "video_md5": BankSignal.MD5,
    "md5": BankSignal.MD5,
    "sha1": BankSignal.SHA1,
    "sha256": BankSignal.SHA256,
}


def ncmec_events(
    updates: Mapping[str, Any], only_esp_ids: Collection[int]
) -> Iterator[ImportEvent]:
    """NCMEC ``NCMECEntryUpdate`` records, keyed ``member-id`` by the library."""
    for key, update in updates.items():
        where = f"entry {key}"
        if only_esp_ids and update.member_id not in only_esp_ids:
            continue
        if update.deleted:
            yield ImportedEntry((), EntryMetadata(external_id=key), remove=True, where=where)
            continue
        try:
            signals = _ncmec_signals(update.fingerprints)
        except ValueError as error:
            yield RejectedLine(where, str(error))
            continue
        if not signals:
            yield RejectedLine(where, "no md5, sha1, sha256, pdq or pdna fingerprint")
            continue
        tags = [f"member:{update.member_id}"]
        tags += [f"feedback:{kind.lower()}" for kind in sorted(update.feedback)]
        metadata = EntryMetadata(
            external_id=key, category=update.classification or None, tags=tuple(tags)
        )
        yield ImportedEntry(signals, metadata, where=where)


def _ncmec_signals(fingerprints: Mapping[str, str]) -> tuple[tuple[BankSignal, str], ...]:
    found: dict[tuple[BankSignal, str], None] = {}
    for name, text in fingerprints.items():
        kind = _NCMEC_FINGERPRINTS.get(name.lower())
        if kind is None or not text.strip():
            continue
        try:
            found[(kind, normalise_signal(kind, text))] = None
        except ValueError as error:
            raise ValueError(f"<{name}>: {error}") from None
    return tuple(sorted(found, key=lambda signal: _ORDER[signal[0]]))


# The fast path's checks by fingerprint name as NCMEC writes it; other spellings go
# the general way.
_NCMEC_VALIDATE: dict[str, tuple[str, Callable[[str], str]]] = {
    name: (kind.value, partial(normalise_signal, kind))
    for name, kind in _NCMEC_FINGERPRINTS.items()
}
_NO_METADATA = (None,) * 6


def ncmec_prepared(
    updates: Mapping[str, Any], only_esp_ids: Collection[int]
) -> Iterator[PreparedEntry | ImportEvent]:
    """What :func:`ncmec_events` then :func:`~clearsight.banks.prepared.prepare` make of
    the same records (rejections as events), with none of the work in between: it runs
    for every entry of a national list, on the process that bounds the fetch."""
    for key, update in updates.items():
        if only_esp_ids and update.member_id not in only_esp_ids:
            continue
        if update.deleted:
            yield ("id:" + key, (key, None, *_NO_METADATA), (), (), True)
            continue
        rows: set[tuple[str, str]] = set()
        try:
            for name, text in update.fingerprints.items():
                known = _NCMEC_VALIDATE.get(name)
                if known is not None:
                    rows.add((known[0], known[1](text)))
                    continue
                kind = _NCMEC_FINGERPRINTS.get(name.lower())
                if kind is None or not text.strip():
                    continue
                rows.add((kind.value, normalise_signal(kind, text)))
        except ValueError:
            # The general path words the reason: the rare case pays for it.
            yield from ncmec_events({key: update}, ())
            continue
        if not rows:
            yield from ncmec_events({key: update}, ())
            continue
        tags = _ncmec_tags(update.member_id, tuple(sorted(update.feedback)))
        metadata = (key, update.classification or None, None, None, None, tags, None, None)
        kinds, cells = entry_cells(tuple(sorted(rows)))
        yield ("id:" + key, metadata, kinds, cells, False)


@lru_cache(maxsize=4096)
def _ncmec_tags(member_id: int, feedback: tuple[str, ...]) -> str | None:
    """The tags column of an NCMEC entry (the same few members upload most entries)."""
    return tags_column((f"member:{member_id}", *(f"feedback:{k.lower()}" for k in feedback)))


def stopncii_events(records: Mapping[Any, Any]) -> Iterator[ImportEvent]:
    """StopNCII ``StopNCIIHashRecord`` records, read by ``hashStatus`` as a file is
    (see :mod:`clearsight.banks.formats.stopncii`)."""
    not_kept: Counter[str] = Counter()
    for record in records.values():
        event = record_event(_stopncii_dict(record), f"hash {record.hashValue[:16]}")
        if isinstance(event, str):
            not_kept[event] += 1
        else:
            yield event
    yield from _not_importable(not_kept)


def _stopncii_dict(record: Any) -> dict[str, Any]:
    """A library record as the API's JSON had it (enums back to their strings)."""
    return {
        "signalType": record.signalType.value,
        "hashValue": record.hashValue,
        "hashStatus": record.hashStatus.value,
        "lastModtimestamp": record.lastModtimestamp,
        "caseNumbers": {number: status.value for number, status in record.caseNumbers.items()},
        "CSPFeedbacks": [
            {"feedbackValue": f.feedbackValue.value, "source": f.source, "tags": sorted(f.tags)}
            for f in record.CSPFeedbacks
        ],
    }


def threatexchange_events(updates: Mapping[tuple[str, str], Any]) -> Iterator[ImportEvent]:
    """ThreatExchange ``/threat_updates``: (indicator type, indicator) to a record, or
    None where ``should_delete`` withdrew it."""
    not_kept: Counter[str] = Counter()
    for (threat_type, indicator), record in updates.items():
        kind = _TE_TYPES.get(threat_type)
        if kind is None:
            not_kept[threat_type] += 1
            continue
        tags: tuple[str, ...] = ()
        if record is not None:
            tags = tuple(sorted({tag for opinion in record.opinions for tag in opinion.tags}))
        yield from _one_signal(kind, indicator, record is None, tags)
    yield from _not_importable(not_kept)


def signal_events(updates: Mapping[tuple[str, str], Any]) -> Iterator[ImportEvent]:
    """TAT and local files: (library signal type name, value) to metadata, or None."""
    not_kept: Counter[str] = Counter()
    for (type_name, value), metadata in updates.items():
        kind = _SIGNAL_NAMES.get(type_name)
        if kind is None:
            not_kept[type_name] += 1
            continue
        yield from _one_signal(kind, value, metadata is None, ())
    yield from _not_importable(not_kept)


def _one_signal(
    kind: BankSignal, value: str, remove: bool, tags: tuple[str, ...]
) -> Iterator[ImportEvent]:
    where = f"{kind.value} {value[:16]}"
    try:
        signal = (kind, normalise_signal(kind, value))
    except ValueError as error:
        yield RejectedLine(where, str(error))
        return
    yield ImportedEntry((signal,), EntryMetadata(tags=tags), remove=remove, where=where)


def _not_importable(counts: Counter[str]) -> Iterator[ImportEvent]:
    for kind, count in counts.items():
        yield NotImportable("", f"{count} {kind} record(s) not kept", kind=kind, count=count)
