"""Plain hash lists: one hash per line.

The signal is named by the user, or told by length: 32 hex digits are md5, 40 are sha1.
64 hex digits could be sha256 or PDQ, so such a list must be named, or it is refused
rather than guessed. The file may be gzip, UTF-16 or cp1252 (see :mod:`.byte_source`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.text_lines import BoundedLines, open_bank_text
from clearsight.banks.records import (
    BankSignal,
    ImportedEntry,
    ImportEvent,
    RejectedLine,
    normalise_signal,
)
from clearsight.signals.signal_type import Md5Signal, Sha1Signal

_BY_LENGTH = {kind.hex_length: BankSignal(kind.name) for kind in (Md5Signal, Sha1Signal)}


def parse_plain_text(path: Path, signal: BankSignal | None) -> Iterator[ImportEvent]:
    with open_bank_text(path) as handle:
        lines = BoundedLines(handle)
        for line in lines:
            yield from lines.overlong()
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            line_number = lines.number
            where = f"line {line_number}"
            kind = signal or _kind_by_length(path, text, line_number)
            if kind is None:
                yield RejectedLine(where, f"no hash is {len(text)} characters long: {text[:80]!r}")
                continue
            try:
                yield ImportedEntry(((kind, normalise_signal(kind, text)),), where=where)
            except ValueError as exc:
                yield RejectedLine(where, str(exc))


def _kind_by_length(path: Path, text: str, line_number: int) -> BankSignal | None:
    if len(text) == 64:
        raise BankFormatError(
            f"{path.name} line {line_number}: 64 hex digits may be sha256 or pdq; "
            "name the signal with --signal"
        )
    return _BY_LENGTH.get(len(text))
