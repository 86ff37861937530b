"""Cryptographic digests for evidence, computed in one streaming pass.

md5 and sha1 are what hash lists in the field (VICS, NCMEC) are keyed on; sha256 is
what courts and newer exchanges expect. All three are fed the same chunks, so a file
is read once however many digests are asked for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DIGEST_NAMES = ("md5", "sha1", "sha256")


@dataclass(frozen=True)
class DigestSet:
    """Hex digests of one file's bytes."""

    md5: str
    sha1: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        return {"md5": self.md5, "sha1": self.sha1, "sha256": self.sha256}


class StreamingDigests:
    """Feeds chunks to md5, sha1 and sha256 at once."""

    def __init__(self) -> None:
        # md5 and sha1 identify files here; they are not used for security.
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._md5.update(chunk)
        self._sha1.update(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    def result(self) -> DigestSet:
        return DigestSet(self._md5.hexdigest(), self._sha1.hexdigest(), self._sha256.hexdigest())


def digest_bytes(data: bytes) -> DigestSet:
    digests = StreamingDigests()
    digests.update(data)
    return digests.result()
