"""Text that came from evidence, made safe for the places it is shown.

File names and list fields are written by whoever made the evidence. Two places turn
such text against the person reading it:

* a terminal runs escape sequences and takes a newline for a new record, so a name can
  clear the screen or print forged queue lines: :func:`visible` shows every control
  character as a backslash escape;
* a spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return as a formula: :func:`spreadsheet_cell` puts a ``'`` before it (the
  OWASP advice). Machine formats (JSON, VICS, XML) keep the exact text instead.
"""

from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# C0 controls, DEL and the C1 controls (0x80-0x9F, which some terminals obey as CSI).
_CONTROL = frozenset([*range(0x20), 0x7F, *range(0x80, 0xA0)])
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def visible(text: str) -> str:
    """``text`` with control characters and lone surrogates shown as escapes.

    A lone surrogate (``\\udcXX``) is how Python keeps a byte of a name that is not
    UTF-8; it is shown as ``\\xXX``, the byte the file system holds.
    """
    if text.isprintable():
        return text
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in _SHORT:
            out.append(_SHORT[char])
        elif code in _CONTROL:
            out.append(f"\\x{code:02x}")
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def spreadsheet_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: formula-like text gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
