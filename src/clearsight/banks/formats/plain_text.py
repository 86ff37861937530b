"""Plain hash lists: one hash per line.

The signal is named by the user, or by a first line that is only a column name
(``pdq``, ``md5``, ``sha1``, ``sha256``, ``photodna``; ``hash`` names none), or told
by length: 32 hex digits are md5, 40 are sha1. 64 hex digits could be sha256 or PDQ,
so such a list must be named, or it is refused rather than guessed. The file may be
gzip, UTF-16 or cp1252 (see :mod:`.byte_source`).
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
# A header that says "hashes" without saying which: the signal is given or told by length.
HASH_HEADER = "hash"


def parse_plain_text(path: Path, signal: BankSignal | None) -> Iterator[ImportEvent]:
    with open_bank_text(path) as handle:
        lines = BoundedLines(handle)
        first = True
        for line in lines:
            yield from lines.overlong()
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            where = f"line {lines.number}"
            if first:
                first = False
                if _is_header(text):
                    signal = _header_signal(path, text, signal, where)
                    continue
            kind = signal or signal_by_length(path, text, where)
            if kind is None:
                yield RejectedLine(where, f"no hash is {len(text)} characters long: {text[:80]!r}")
                continue
            try:
                yield ImportedEntry(((kind, normalise_signal(kind, text)),), where=where)
            except ValueError as exc:
                yield RejectedLine(where, str(exc))


def _is_header(text: str) -> bool:
    return text.lower() in {HASH_HEADER, *BankSignal}


def _header_signal(
    path: Path, text: str, given: BankSignal | None, where: str
) -> BankSignal | None:
    """The signal of a list headed ``text``: the one it names, else the one given.
    A header that names another signal than ``--signal`` is refused, not guessed."""
    if text.lower() == HASH_HEADER:
        return given
    named = BankSignal(text.lower())
    if given is not None and given is not named:
        raise BankFormatError(
            f"{path.name} {where}: the header names {named.value} but --signal says {given.value}"
        )
    return named


def signal_by_length(path: Path, text: str, where: str) -> BankSignal | None:
    """md5 or sha1 told by the number of hex digits; None for any other length.
    64 digits may be sha256 or PDQ, which is never guessed: BankFormatError."""
    if len(text) == 64:
        raise BankFormatError(
            f"{path.name} {where}: 64 hex digits may be sha256 or pdq; "
            "name the signal with --signal (or a header line: sha256 or pdq)"
        )
    return _BY_LENGTH.get(len(text))
