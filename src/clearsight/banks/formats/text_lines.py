"""Line-based bank files (CSV, plain text) as text: any encoding, and bounded lines.

The bytes come through :func:`~clearsight.banks.formats.byte_source.open_bank_bytes`
(gzip, UTF-16, cp1252 handled there). No physical line is held longer than
:data:`MAX_LINE` characters: a longer one (a "200 MB single line") is read past in
pieces, counted, and given to the parser as an empty line, and the parser rejects it
by its number. A NUL character is left to the fields' own checks.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from clearsight.banks.formats.byte_source import open_bank_bytes
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.field_limits import FIELD_LIMIT
from clearsight.banks.records import RejectedLine

MAX_LINE = 8 * FIELD_LIMIT  # a row of several fields, each within the field limit


@contextmanager
def open_bank_text(path: Path) -> Iterator[TextIO]:
    """The file as text, decoded as :mod:`.byte_source` decides; newlines kept as read."""
    with open_bank_bytes(path) as stream:
        buffered = io.BufferedReader(stream, buffer_size=256 * 1024)
        try:
            yield io.TextIOWrapper(buffered, encoding="utf-8", errors="strict", newline="")
        except UnicodeDecodeError as error:  # byte_source lets none through; to be sure
            raise BankFormatError(f"{path.name}: not UTF-8 text: {error.reason}") from None


class BoundedLines:
    """The lines of ``handle``, an overlong one replaced by an empty line; ``number`` is
    the number of the line given last, and :meth:`overlong` the rejections not yet told."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self.number = 0
        self._overlong: list[RejectedLine] = []

    def __iter__(self) -> Iterator[str]:
        while True:
            line = self._handle.readline(MAX_LINE + 1)
            if not line:
                return
            self.number += 1
            if len(line) > MAX_LINE and not line.endswith("\n"):
                length = len(line) + self._skip_rest()
                self._overlong.append(
                    RejectedLine(
                        f"line {self.number}",
                        f"a line of {length} characters, over the limit of {MAX_LINE}",
                    )
                )
                yield "\n"
                continue
            yield line

    def overlong(self) -> Iterator[RejectedLine]:
        """The overlong lines met since last asked, as rejections."""
        if self._overlong:
            yield from self._overlong
            self._overlong.clear()

    def _skip_rest(self) -> int:
        skipped = 0
        while True:
            piece = self._handle.readline(MAX_LINE)
            skipped += len(piece)
            if not piece or piece.endswith("\n"):
                return skipped
