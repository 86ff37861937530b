"""How the case keeps a path: its bytes, its display form, and a bounded key.

``path_raw`` (and ``root_raw`` of a source) hold the exact bytes, from which the file is
opened again; ``path`` and ``root`` hold the display form
(:func:`clearsight.file_paths.display_path`), which is what people see and what reports
print. The display form is injective, but a path can be 4095 bytes long and
PostgreSQL's btree index refuses an entry over 2704 bytes, so an item is indexed,
unique and in order, by ``(source_id, path_head, path_key)``: the first
:data:`HEAD_CHARS` characters of its display form (at most 4 bytes each), then the
SHA-256 of its bytes. Items are listed in that order: by path, save that paths sharing
their first 400 characters follow each other in the order of their key. A source is
unique, and found, by ``(case_id, root_key)``, the SHA-256 of its root's bytes, for the
same reason (migration 0011).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from clearsight.file_paths import display_path

HEAD_CHARS = 400


def path_values(path: str | bytes) -> dict[str, Any]:
    """The columns of an item's path, from the path as the process holds it."""
    raw = os.fsencode(path)
    display = display_path(raw)
    return {
        "path": display,
        "path_raw": raw,
        "path_head": display[:HEAD_CHARS],
        "path_key": hashlib.sha256(raw).digest(),
    }


def root_key(raw: bytes) -> bytes:
    """The bounded unique key of a source root: the SHA-256 of its bytes."""
    return hashlib.sha256(raw).digest()
