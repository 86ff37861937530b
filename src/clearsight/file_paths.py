"""File paths exactly as the file system has them, and a form of them people can read.

A POSIX path is bytes, not text: a name copied from an old Windows drive or carved
from free space may hold bytes that are not UTF-8, and any name may hold a newline,
a tab or an escape sequence. Inside the process a path is the ``str`` that
:func:`os.fsdecode` gives (undecodable bytes kept as lone surrogates), which opens the
very file; the case keeps the bytes themselves (:func:`os.fsencode`), and shows people
the *display form* made here.

The display form is the path decoded as UTF-8 with these, and only these, escapes:

* a byte that is not part of valid UTF-8 as ``\\xHH`` (``caf\\xe9.jpg``);
* a backslash as ``\\\\``, so that a name never reads as an escape it is not;
* newline, tab and carriage return as ``\\n``, ``\\t``, ``\\r``; other ASCII control
  characters as ``\\xHH``; any other character that does not print (C1 controls,
  bidirectional overrides, line separators) as ``\\uHHHH`` or ``\\UHHHHHHHH``.

Nothing else is changed; in particular two names that differ only by Unicode
normalisation (NFC and NFD) stay two different display forms. The escapes are those of
bash's ``$'...'`` quoting, so a display form pasted between ``$'`` and ``'`` (with any
``'`` written ``\\'``) names the file again; :func:`raw_path` does the same in Python.
"""

from __future__ import annotations

import os
import re

_SHORT = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_UNSHORT = {"\\": b"\\", "n": b"\n", "t": b"\t", "r": b"\r"}
_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))", re.S)


def display_path(raw: bytes | str) -> str:
    """The display form of a path given as its bytes (or as :func:`os.fsdecode` gives it)."""
    text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
    if text.isprintable() and "\\" not in text:
        return text
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in _SHORT:
            out.append(_SHORT[char])
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")  # a byte that was not UTF-8
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def raw_path(display: str) -> bytes:
    """The bytes of the path whose display form is ``display``.

    Raises :class:`ValueError` for text no path displays as (an unknown escape, or a
    backslash at the end)."""
    out = bytearray()
    pos = 0
    for found in _ESCAPE.finditer(display):
        out += display[pos : found.start()].encode("utf-8")
        byte, short_code, long_code, other = found.groups()
        if byte is not None:
            out.append(int(byte, 16))
        elif short_code is not None or long_code is not None:
            out += chr(int(short_code or long_code, 16)).encode("utf-8")
        elif other in _UNSHORT:
            out += _UNSHORT[other]
        else:
            raise ValueError(f"not a path's display form: unknown escape \\{other}")
        pos = found.end()
    rest = display[pos:]
    if "\\" in rest:
        raise ValueError("not a path's display form: a backslash ends it")
    out += rest.encode("utf-8")
    return bytes(out)


def os_path(raw: bytes) -> str:
    """The path as Python opens it (undecodable bytes as lone surrogates)."""
    return os.fsdecode(raw)
