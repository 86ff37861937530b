"""Cryptographic digests for evidence, computed in one streaming pass.

md5 and sha1 are what hash lists in the field (VICS, NCMEC) are keyed on; sha256 is
what courts and newer exchanges expect. All three are fed the same chunks, so a file
is read once however many digests are asked for. Which digests there are is the
registry's (:data:`clearsight.signals.registry.DIGEST_TYPES`).
"""

from __future__ import annotations

from dataclasses import dataclass

from clearsight.signals.registry import DIGEST_NAMES, DIGEST_TYPES


@dataclass(frozen=True)
class DigestSet:
    """Hex digests of one file's bytes, one field per digest of the registry."""

    md5: str
    sha1: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in DIGEST_NAMES}


class StreamingDigests:
    """Feeds chunks to every digest at once."""

    def __init__(self) -> None:
        self._hashers = [kind.hasher() for kind in DIGEST_TYPES]
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        for hasher in self._hashers:
            hasher.update(chunk)
        self.size += len(chunk)

    def result(self) -> DigestSet:
        return DigestSet(
            **{name: h.hexdigest() for name, h in zip(DIGEST_NAMES, self._hashers, strict=True)}
        )


def digest_bytes(data: bytes) -> DigestSet:
    digests = StreamingDigests()
    digests.update(data)
    return digests.result()
