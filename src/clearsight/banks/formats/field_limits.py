"""How long one field of a bank entry may be, and what it may not hold.

A hash list's fields are short: ids, categories, tags, a comment. A field longer than
:data:`FIELD_LIMIT` characters (the CSV module's own default limit, 128 KiB) is not a
list's field but damage or an attack (a 40 MB comment took 14 s to read and was
stored), so its entry is rejected with its place, and the import goes on. A NUL
character is refused likewise: PostgreSQL text cannot hold one, and no list means one.
"""

from __future__ import annotations

FIELD_LIMIT = 128 * 1024


def checked_text(name: str, text: str) -> str:
    """``text`` itself; ValueError naming the field if it is too long or holds a NUL."""
    if len(text) > FIELD_LIMIT:
        raise ValueError(f"{name}: over the limit of {FIELD_LIMIT} characters")
    if "\x00" in text:
        raise ValueError(f"{name}: holds a NUL character")
    return text
