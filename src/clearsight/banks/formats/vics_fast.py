"""The common VICS Media, read without the general path's per-field work.

A national list holds millions of Media written by one tool, so nearly all of them
look alike: canonical field names (``MD5``, ``AlternativeHashes``, ``Category``), hex
already in shape, flags as booleans. :func:`plain_media_entry` reads exactly those and
gives up (returns None) at the first thing it does not expect, leaving that Media to
:func:`~clearsight.banks.formats.vics.media_event`, which reads every shape and names
every fault. Both give the same entry for what both read; a property test holds them
to it. :func:`plain_media_prepared` gives that entry as the import's write path takes
it (what :func:`~clearsight.banks.prepared.prepare` makes of it), with no
:class:`ImportedEntry` made on the way: the parsing side of an import of millions.
"""

from __future__ import annotations

import binascii
from binascii import unhexlify
from typing import Any

from clearsight.banks.formats.field_limits import FIELD_LIMIT
from clearsight.banks.prepared import PreparedEntry, SignalRow, signal_identity, tags_column
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
# Signals are found as (kind text, value): the write path's form; the entry's own
# BankSignal members are looked up by text.
_MD5, _SHA1, _SHA256, _PDQ = (
    BankSignal.MD5.value,
    BankSignal.SHA1.value,
    BankSignal.SHA256.value,
    BankSignal.PDQ.value,
)
_ALTERNATIVE = {"SHA256": _SHA256, "PDQ": _PDQ}
_SIGNAL_OF = {kind.value: kind for kind in BankSignal}
_UNSET = object()
_FLAG_TEXTS: dict[object, bool] = {"true": True, "false": False, "True": True, "False": False}


def plain_media_entry(media: dict[str, Any], where: str) -> ImportedEntry | None:
    """The entry of a Media in the common shape, or None to read it the general way."""
    read = _read(media)
    if read is None:
        return None
    found, fields = read
    return ImportedEntry(
        tuple([(_SIGNAL_OF[kind], value) for kind, value in found]),
        EntryMetadata(*fields),
        where=where,
    )


def plain_media_prepared(media: dict[str, Any]) -> PreparedEntry | None:
    """:func:`plain_media_entry` as the write path takes it (what ``prepare`` makes
    of that entry), or None to read the Media the general way."""
    read = _read(media)
    if read is None:
        return None
    found, (external_id, category, series, victim, offender, tags, comments) = read
    found.sort()
    if external_id:
        identity = "id:" + external_id
    else:
        # prepared_identity's sorted "kind:value" list, from the rows sorted once: no
        # kind read here is a prefix of another, so both sort alike.
        identity = signal_identity("|".join([kind + ":" + value for kind, value in found]))
    metadata = (external_id, category, series, victim, offender, tags_column(tags), comments, None)
    return identity, metadata, tuple(found), False


# The metadata a Media gives: external id, category, series, the victim and offender
# flags, tags and comments, in EntryMetadata's order.
_Fields = tuple[str | None, str | None, str | None, Any, Any, tuple[str, ...], str | None]


def _read(media: dict[str, Any]) -> tuple[list[SignalRow], _Fields] | None:
    if not _READ.issuperset(media):  # unknown fields pass, unless read here in other spelling
        others = media.keys() - _READ
        if not _GENERAL_ONLY.isdisjoint(map(str.lower, others)):
            return None
    try:
        found = _hex_signals(media)
    except (binascii.Error, ValueError, TypeError):  # not hex, or not text at all
        return None
    if found is None:
        return None
    fields = _metadata(media)
    if fields is None:
        return None
    return found, fields


def _hex_signals(media: dict[str, Any]) -> list[SignalRow] | None:
    """MD5, SHA1 and the SHA256/PDQ alternatives, checked as hex by ``unhexlify`` (a
    third of a regular expression's time), in BankSignal's order."""
    found: list[SignalRow] = []
    md5, sha1 = media.get("MD5"), media.get("SHA1")
    if md5 is not None:
        if len(md5) != 32 or md5.__class__ is not str:
            return None
        unhexlify(md5)
        found.append((_MD5, md5.lower()))
    if sha1 is not None:
        if len(sha1) != 40 or sha1.__class__ is not str:
            return None
        unhexlify(sha1)
        found.append((_SHA1, sha1.lower()))
    alternatives = media.get("AlternativeHashes")
    if alternatives is not None:
        if alternatives.__class__ is not list:
            return None
        read: list[SignalRow] = []
        pdq: list[SignalRow] = []
        for item in alternatives:
            if item.__class__ is not dict or len(item) != 2:
                return None
            name, value = item.get("HashName"), item.get("HashValue")
            kind = _ALTERNATIVE.get(name) if name.__class__ is str else None
            if kind is None or value.__class__ is not str or len(value) != 64:
                return None
            unhexlify(value)
            (pdq if kind is _PDQ else read).append((kind, value.lower()))
        read += pdq  # BankSignal's order: md5, sha1, sha256, pdq
        # Only alternatives can repeat a signal (MD5 and SHA1 come once each): a repeat
        # is the general path's to read.
        if len(read) > 1 and (
            read[0] == read[1] if len(read) == 2 else len(set(read)) != len(read)
        ):
            return None
        found += read
    return found or None


def _metadata(media: dict[str, Any]) -> _Fields | None:
    get = media.get
    texts: list[str | None] = []
    for name in ("MediaID", "Category", "Series", "Comments", "Tags"):
        value = get(name)
        if value is None:
            texts.append(None)
        elif value.__class__ is int and (name == "MediaID" or name == "Category"):
            texts.append(str(value))
        elif value.__class__ is str and _plain(value):
            texts.append(value or None)
        else:
            return None
    victim = _flag(get("VictimIdentified"))
    offender = _flag(get("OffenderIdentified"))
    distributed = _flag(get("IsDistributed"))
    if victim is _UNSET or offender is _UNSET or distributed is _UNSET:
        return None
    external_id, category, series, comments, tag = texts
    if tag is not None and ("," in tag or ";" in tag):
        return None  # several tags: split the general way
    tags: tuple[str, ...] = () if tag is None else (tag,)
    if distributed and tag != "distributed":
        tags += ("distributed",)
    return external_id, category, series, victim, offender, tags, comments


def _flag(value: object) -> object:
    """A JSON boolean or null as it is, "true"/"false" as booleans; else _UNSET."""
    if value is None or value.__class__ is bool:
        return value
    return _FLAG_TEXTS.get(value, _UNSET) if value.__class__ is str else _UNSET


def _plain(text: str) -> bool:
    """Text the general path would keep as it is: short, no NUL, nothing to strip."""
    return len(text) <= FIELD_LIMIT and "\x00" not in text and text == text.strip()
