"""What a kind of signal is, as python-threatexchange's ``signal_type`` has it.

A signal type is one class that owns everything clearsight knows about one kind of
hash, whatever module meets it: its name, how a value is checked and put in its one
canonical form, how far apart two values are, and, for PDQ, how values are packed for
an index. Importers, the matcher, exporters and stores ask the type, so a rule such as
"an md5 is 32 hex digits, lower-cased" is written once.

The classes here are the exact digests; PDQ lives in :mod:`clearsight.signals.pdq`
with its hashing, and :mod:`clearsight.signals.registry` lists them all.
"""

from __future__ import annotations

import abc
import hashlib
import re
from typing import ClassVar, Protocol

_HEX = re.compile(r"^[0-9a-f]+$")


class Hasher(Protocol):
    """What :mod:`hashlib` objects offer: fed chunks, asked for the hex digest."""

    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


class SignalType(abc.ABC):
    """One kind of signal. Classes are used as they are, never instantiated."""

    name: ClassVar[str]
    """The signal's name in the stores, the bank files' columns and the reports."""
    hex_length: ClassVar[int]
    """Hex digits in the canonical form."""
    exact: ClassVar[bool]
    """True where only equal values match (digests); False where a distance decides."""

    @classmethod
    def validate(cls, value: str) -> str:
        """The canonical form of ``value`` (stripped, lower-case hex of the right length);
        raises ValueError with a one-line reason that quotes at most 80 characters."""
        text = value.strip()
        lowered = text.lower()
        if len(lowered) != cls.hex_length or not _HEX.match(lowered):
            raise ValueError(f"not a {cls.name} value ({cls.hex_length} hex digits): {text[:80]!r}")
        return lowered

    @classmethod
    def is_valid(cls, value: str) -> bool:
        try:
            cls.validate(value)
        except ValueError:
            return False
        return True

    @classmethod
    @abc.abstractmethod
    def distance(cls, a: str, b: str) -> int:
        """How far apart two canonical values are; 0 means the same signal."""

    @classmethod
    def matches(cls, a: str, b: str, threshold: int = 0) -> bool:
        """Whether ``a`` matches ``b`` within ``threshold`` (exact types ignore it)."""
        distance = cls.distance(a, b)
        return distance == 0 if cls.exact else distance <= threshold


class DigestSignal(SignalType):
    """A cryptographic digest of a file's bytes: equal or not, nothing in between."""

    exact = True

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """0 for equal digests, 1 otherwise: two digests have no nearer or farther."""
        return 0 if a == b else 1

    @classmethod
    @abc.abstractmethod
    def hasher(cls) -> Hasher:
        """A fresh :mod:`hashlib` object that computes this digest."""

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        hasher = cls.hasher()
        hasher.update(data)
        return hasher.hexdigest()


class Md5Signal(DigestSignal):
    """MD5, what older hash lists (VICS, NCMEC, StopNCII video) are keyed on."""

    name = "md5"
    hex_length = 32

    @classmethod
    def hasher(cls) -> Hasher:
        # Identifies files here; it is not used for security.
        return hashlib.md5(usedforsecurity=False)


class Sha1Signal(DigestSignal):
    """SHA-1, the other digest of VICS and NCMEC lists."""

    name = "sha1"
    hex_length = 40

    @classmethod
    def hasher(cls) -> Hasher:
        return hashlib.sha1(usedforsecurity=False)


class Sha256Signal(DigestSignal):
    """SHA-256, what courts and newer exchanges expect."""

    name = "sha256"
    hex_length = 64

    @classmethod
    def hasher(cls) -> Hasher:
        return hashlib.sha256()
