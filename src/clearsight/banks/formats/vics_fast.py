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
from clearsight.banks.prepared import KEY_DIGITS, PreparedEntry, signal_identity, tags_column
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
# The signals of the slots of _Hashes, as members, as kind texts and as the start of
# an identity's "kind:value".
_SIGNAL_OF_SLOT = (BankSignal.MD5, BankSignal.SHA1, BankSignal.SHA256, BankSignal.PDQ)
_KIND_OF_SLOT = tuple([kind.value for kind in _SIGNAL_OF_SLOT])
_MD5_, _SHA1_, _SHA256_, _PDQ_ = [kind + ":" for kind in _KIND_OF_SLOT]
_ALTERNATIVE_SLOT = {"SHA256": 2, "PDQ": 3}
_FLAGS = frozenset({"VictimIdentified", "OffenderIdentified", "IsDistributed"})
_UNSET = object()
_FLAG_TEXTS: dict[object, bool] = {"true": True, "false": False, "True": True, "False": False}
# A Media's hashes, lower-cased, each None where it has none: MD5, SHA1, SHA256, PDQ
# (BankSignal's order).
_Hashes = tuple[str | None, str | None, str | None, str | None]
# The kinds of each set of hashes a Media may have, by the mask of which it has (MD5
# 1, SHA1 2, SHA256 4, PDQ 8), sorted as the write path sorts them: made once, so a
# batch of like Media shares one kinds tuple (one run, see prepared.SignalRun).
_KINDS = [
    tuple(sorted(_KIND_OF_SLOT[at] for at in range(4) if mask & (1 << at))) for mask in range(16)
]
# plain_media_prepared writes the hashes in this order, which must be that sort's.
assert [_KIND_OF_SLOT[at] for at in (0, 3, 1, 2)] == sorted(_KIND_OF_SLOT)


def plain_media_entry(media: dict[str, Any], where: str) -> ImportedEntry | None:
    """The entry of a Media in the common shape, or None to read it the general way."""
    read = _read(media)
    if read is None:
        return None
    hashes, fields = read
    return ImportedEntry(
        tuple([(_SIGNAL_OF_SLOT[at], value) for at, value in enumerate(hashes) if value]),
        EntryMetadata(*fields),
        where=where,
    )


def plain_media_prepared(media: dict[str, Any]) -> PreparedEntry | None:
    """:func:`plain_media_entry` as the write path takes it (what ``prepare`` makes
    of that entry), or None to read the Media the general way."""
    read = _read(media)
    if read is None:
        return None
    hashes, (external_id, category, series, victim, offender, tags, comments) = read
    md5, sha1, sha256, pdq = hashes
    # Cells and "kind:value" texts in the kinds' sorted order; a digest's cell holds
    # value_key's key, made here without its call (its first 60 bits); PDQ has none.
    cells: list[Any] = []
    texts: list[str] = []
    mask = 0
    if md5 is not None:
        cells += (md5, int(md5[:KEY_DIGITS], 16))
        texts.append(_MD5_ + md5)
        mask = 1
    if pdq is not None:
        cells += (pdq, None)
        texts.append(_PDQ_ + pdq)
        mask |= 8
    if sha1 is not None:
        cells += (sha1, int(sha1[:KEY_DIGITS], 16))
        texts.append(_SHA1_ + sha1)
        mask |= 2
    if sha256 is not None:
        cells += (sha256, int(sha256[:KEY_DIGITS], 16))
        texts.append(_SHA256_ + sha256)
        mask |= 4
    if external_id:
        identity = "id:" + external_id
    else:
        # prepared_identity's sorted "kind:value" list: kinds already sorted, and no
        # kind read here is a prefix of another, so both sort alike.
        identity = signal_identity("|".join(texts))
    tags_text = tags_column(tags) if tags else None
    metadata = (external_id, category, series, victim, offender, tags_text, comments, None)
    return identity, metadata, _KINDS[mask], tuple(cells), False


# The metadata a Media gives: external id, category, series, the victim and offender
# flags, tags and comments, in EntryMetadata's order.
_Fields = tuple[str | None, str | None, str | None, Any, Any, tuple[str, ...], str | None]


def _read(media: dict[str, Any]) -> tuple[_Hashes, _Fields] | None:
    if not _READ.issuperset(media):  # unknown fields pass, unless read here in other spelling
        others = media.keys() - _READ
        if not _GENERAL_ONLY.isdisjoint(map(str.lower, others)):
            return None
    try:
        hashes = _hashes(media)
    except (binascii.Error, ValueError, TypeError):  # not hex, or not text at all
        return None
    if hashes is None:
        return None
    fields = _metadata(media)
    if fields is None:
        return None
    return hashes, fields


def _hashes(media: dict[str, Any]) -> _Hashes | None:
    """MD5, SHA1 and the SHA256/PDQ alternatives, checked as hex by ``unhexlify`` (a
    third of a regular expression's time); None where a hash repeats or is misshapen."""
    get = media.get
    md5, sha1 = get("MD5"), get("SHA1")
    if md5 is not None:
        if md5.__class__ is not str or len(md5) != 32:
            return None
        unhexlify(md5)
        md5 = md5.lower()
    if sha1 is not None:
        if sha1.__class__ is not str or len(sha1) != 40:
            return None
        unhexlify(sha1)
        sha1 = sha1.lower()
    alternatives = get("AlternativeHashes")
    if alternatives is None:
        return None if md5 is None and sha1 is None else (md5, sha1, None, None)
    if alternatives.__class__ is not list:
        return None
    slots: list[str | None] = [md5, sha1, None, None]
    for item in alternatives:
        if item.__class__ is not dict or len(item) != 2:
            return None
        name, value = item.get("HashName"), item.get("HashValue")
        at = _ALTERNATIVE_SLOT.get(name) if name.__class__ is str else None
        # A hash named twice (even with the same value) is the general path's to read.
        if at is None or slots[at] is not None or value.__class__ is not str or len(value) != 64:
            return None
        unhexlify(value)
        slots[at] = value.lower()
    if slots == [None, None, None, None]:
        return None
    return slots[0], slots[1], slots[2], slots[3]


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
    if _FLAGS.isdisjoint(media):  # most lists carry none: one check for the three
        victim = offender = distributed = None
    else:
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
