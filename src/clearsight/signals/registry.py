"""Every signal type clearsight knows, listed once.

Other modules take names, lengths and order from here rather than writing
``("md5", "sha1", "sha256")`` again: a new signal (vPDQ) is added in one place.
"""

from __future__ import annotations

from clearsight.signals.pdq import PdqSignal
from clearsight.signals.signal_type import (
    DigestSignal,
    Md5Signal,
    Sha1Signal,
    Sha256Signal,
    SignalType,
)
from clearsight.signals.vpdq import VpdqSignal

DIGEST_TYPES: tuple[type[DigestSignal], ...] = (Md5Signal, Sha1Signal, Sha256Signal)
"""The exact digests of a file's bytes, in the order reports and lists give them."""
SIGNAL_TYPES: tuple[type[SignalType], ...] = (*DIGEST_TYPES, PdqSignal, VpdqSignal)
"""Every signal clearsight hashes and matches, digests first, then pictures', then videos'."""

DIGEST_NAMES: tuple[str, ...] = tuple(kind.name for kind in DIGEST_TYPES)
SIGNAL_NAMES: tuple[str, ...] = tuple(kind.name for kind in SIGNAL_TYPES)
ITEM_SIGNAL_NAMES: tuple[str, ...] = (*DIGEST_NAMES, PdqSignal.name)
"""The signals an item's own record holds; a video's vPDQ lives with its frames."""

_BY_NAME: dict[str, type[SignalType]] = {kind.name: kind for kind in SIGNAL_TYPES}


def signal_type(name: str) -> type[SignalType]:
    """The signal type called ``name``; KeyError for a name clearsight does not match."""
    return _BY_NAME[name]


def digest_type(name: str) -> type[DigestSignal]:
    """The digest called ``name``; KeyError for anything else (PDQ included)."""
    found = _BY_NAME[name]
    if not issubclass(found, DigestSignal):
        raise KeyError(name)
    return found
