"""The common VICS Media, read without the general path's per-field work.

A national list holds millions of Media written by one tool, so nearly all of them
look alike: canonical field names (``MD5``, ``AlternativeHashes``, ``Category``), hex
already in shape, flags as booleans. :func:`plain_media_entry` reads exactly those and
gives up (returns None) at the first thing it does not expect, leaving that Media to
:func:`~clearsight.banks.formats.vics.media_event`, which reads every shape and names
every fault. Both give the same entry for what both read; a property test holds them
to it.
"""

from __future__ import annotations

import binascii
from binascii import unhexlify
from typing import Any

from clearsight.banks.formats.field_limits import FIELD_LIMIT
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry

# The fields read here, as VICS spells them; a read field spelled otherwise, or one
# only the general path reads (SHA256, PhotoDNA given directly), sends the Media there.
_READ = frozenset(
    {
        "MediaID",
        "MD5",
        "SHA1",
        "AlternativeHashes",
        "Category",
        "Series",
        "VictimIdentified",
        "OffenderIdentified",
        "IsDistributed",
        "Tags",
        "Comments",
    }
)
_GENERAL_ONLY = frozenset({name.lower() for name in _READ} | {"sha256", "photodna"})
_ALTERNATIVE = {"SHA256": BankSignal.SHA256, "PDQ": BankSignal.PDQ}
_UNSET = object()
_FLAG_TEXTS: dict[object, bool] = {"true": True, "false": False, "True": True, "False": False}


def plain_media_entry(media: dict[str, Any], where: str) -> ImportedEntry | None:
    """The entry of a Media in the common shape, or None to read it the general way."""
    others = media.keys() - _READ
    if others and not _GENERAL_ONLY.isdisjoint(map(str.lower, others)):
        return None
    signals = _signals(media)
    if not signals:
        return None
    metadata = _metadata(media)
    if metadata is None:
        return None
    return ImportedEntry(signals, metadata, where=where)


def _signals(media: dict[str, Any]) -> tuple[tuple[BankSignal, str], ...] | None:
    try:
        found = _hex_signals(media)
    except (binascii.Error, ValueError, TypeError):  # not hex, or not text at all
        return None
    if found is None or len(set(found)) != len(found):
        return None
    return tuple(found)


def _hex_signals(media: dict[str, Any]) -> list[tuple[BankSignal, str]] | None:
    """MD5, SHA1 and the SHA256/PDQ alternatives, checked as hex by ``unhexlify`` (a
    third of a regular expression's time), in BankSignal's order."""
    found: list[tuple[BankSignal, str]] = []
    md5, sha1 = media.get("MD5"), media.get("SHA1")
    if md5 is not None:
        if len(md5) != 32 or md5.__class__ is not str:
            return None
        unhexlify(md5)
        found.append((BankSignal.MD5, md5.lower()))
    if sha1 is not None:
        if len(sha1) != 40 or sha1.__class__ is not str:
            return None
        unhexlify(sha1)
        found.append((BankSignal.SHA1, sha1.lower()))
    alternatives = media.get("AlternativeHashes")
    if alternatives is not None:
        if alternatives.__class__ is not list:
            return None
        pdq: list[tuple[BankSignal, str]] = []
        for item in alternatives:
            if item.__class__ is not dict or len(item) != 2:
                return None
            name, value = item.get("HashName"), item.get("HashValue")
            kind = _ALTERNATIVE.get(name) if name.__class__ is str else None
            if kind is None or value.__class__ is not str or len(value) != 64:
                return None
            unhexlify(value)
            (pdq if kind is BankSignal.PDQ else found).append((kind, value.lower()))
        found += pdq  # BankSignal's order: md5, sha1, sha256, pdq
    return found or None


def _metadata(media: dict[str, Any]) -> EntryMetadata | None:
    texts: dict[str, str | None] = {}
    for name in ("MediaID", "Category", "Series", "Comments", "Tags"):
        value = media.get(name)
        if value is None:
            texts[name] = None
        elif value.__class__ is int and name in ("MediaID", "Category"):
            texts[name] = str(value)
        elif value.__class__ is str and _plain(value):
            texts[name] = value or None
        else:
            return None
    victim = _flag(media.get("VictimIdentified"))
    offender = _flag(media.get("OffenderIdentified"))
    distributed = _flag(media.get("IsDistributed"))
    if victim is _UNSET or offender is _UNSET or distributed is _UNSET:
        return None
    tag = texts["Tags"]
    if tag is not None and ("," in tag or ";" in tag):
        return None  # several tags: split the general way
    tags: tuple[str, ...] = () if tag is None else (tag,)
    if distributed and tag != "distributed":
        tags += ("distributed",)
    return EntryMetadata(
        external_id=texts["MediaID"],
        category=texts["Category"],
        series=texts["Series"],
        victim_identified=victim,  # type: ignore[arg-type]
        offender_identified=offender,  # type: ignore[arg-type]
        tags=tags,
        comments=texts["Comments"],
    )


def _flag(value: object) -> object:
    """A JSON boolean or null as it is, "true"/"false" as booleans; else _UNSET."""
    if value is None or value.__class__ is bool:
        return value
    return _FLAG_TEXTS.get(value, _UNSET) if value.__class__ is str else _UNSET


def _plain(text: str) -> bool:
    """Text the general path would keep as it is: short, no NUL, nothing to strip."""
    return len(text) <= FIELD_LIMIT and "\x00" not in text and text == text.strip()
