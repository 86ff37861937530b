"""Read a scanned file again, only if it still holds the bytes that were scanned.

A case keeps hashes and never pixels, so a later stage that needs the pixels or the
metadata (confirming a match with local features, examining origin again) opens the
file once more. Conclusions must be about the bytes the scan recorded: the SHA-256 is
checked before anything is used, and a file that is gone, grown past the cap or changed
is refused with the reason.
"""

from __future__ import annotations

import hashlib


class StaleFileError(Exception):
    """The file is gone, too large, or no longer what was scanned."""


def read_scanned(path: str, sha256: str | None, max_bytes: int) -> bytes:
    """The bytes at ``path``, provided their SHA-256 is ``sha256``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise StaleFileError(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    if len(data) > max_bytes:
        raise StaleFileError(f"larger than the cap of {max_bytes} bytes")
    if sha256 is None or hashlib.sha256(data).hexdigest() != sha256:
        raise StaleFileError("changed since it was scanned (SHA-256 differs)")
    return data
