"""What both JSON bank formats (VICS, StopNCII) need around ijson.

ijson's C backend (yajl2_c) builds each entry in C, which is what makes a million
entries a second possible; three of its limits are guarded here rather than met:

* its event prefixes grow with the depth of nesting, so memory grows with the square of
  the depth (a 200 KB file nested 100,000 deep took 23 GB): :class:`JsonNestingGuard`
  counts brackets outside strings in each chunk *before* ijson sees it, and stops the
  file past :data:`MAX_DEPTH`;
* one string is held whole, so a string longer than :data:`MAX_STRING_BYTES` stops the
  file (one string per entry over :data:`~clearsight.banks.formats.field_limits.FIELD_LIMIT`
  but under that only rejects its entry);
* an integer of more than 4,300 digits crashes the whole process (Python's limit on
  int(), met inside a C callback), so a run of that many digits stops the file first
  (found with ``translate`` and one substring search per chunk). Big integers below
  that (64-bit ids) read as Python ints, and decimals as ``Decimal``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import ijson
import numpy as np

from clearsight.banks.formats.byte_source import BankBytes, open_bank_bytes
from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.field_limits import FIELD_LIMIT, checked_text

MAX_DEPTH = 64  # VICS nests 7 deep at most (Cases, Media, MediaFiles); StopNCII 4
MAX_STRING_BYTES = 64 * 1024 * 1024
READ_SIZE = 256 * 1024  # what ijson asks for at a time

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in b'"[]{}')
_DEPTH_STEP = np.zeros(256, dtype=np.int32)
_DEPTH_STEP[list(b"[{")] = 1
_DEPTH_STEP[list(b"]}")] = -1
_QUOTE = ord('"')
MAX_DIGITS = 4300  # sys.int_info.default_max_str_digits: int() refuses more
_DIGIT_MARKS = bytes(ord("0") if chr(b).isdigit() and b < 128 else ord("x") for b in range(256))
_LONG_NUMBER = b"0" * (MAX_DIGITS + 1)


class JsonNestingGuard:
    """Tracks the nesting depth and the open string's length across the chunks of a file.

    Escape pairs are dropped first where a quote may be escaped (a backslash only ever
    escapes inside a string), then everything but quotes and brackets; two adjacent
    quotes then have nothing structural between them and go too. What is left is
    short, and brackets after an even number of quotes (with the state carried in) count.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.depth = 0
        self.offset = 0
        self._in_string = False
        self._escape_pending = False
        self._string_bytes = 0
        self._digit_run = 0

    def __call__(self, chunk: bytes) -> None:
        self._check_digits(chunk)
        text = chunk
        if self._escape_pending and text:
            text, self._escape_pending = text[1:], False
        if b'\\"' in text or text.endswith(b"\\"):  # else no quote is escaped
            text = _ESCAPE.sub(b"", text)
            if text.endswith(b"\\"):  # its escaped byte begins the next chunk
                text, self._escape_pending = text[:-1], True
        self._check_depth(text.translate(None, _NOT_STRUCTURAL).replace(b'""', b""))
        self._check_string(text)
        self.offset += len(chunk)

    def _check_digits(self, chunk: bytes) -> None:
        """No run of more than MAX_DIGITS digits, within this chunk or across its start."""
        marks = chunk.translate(_DIGIT_MARKS)
        leading = len(marks) - len(marks.lstrip(b"0"))
        if self._digit_run + leading > MAX_DIGITS or _LONG_NUMBER in marks:
            raise BankFormatError(
                f"{self.name}: a number of more than {MAX_DIGITS} digits near byte {self.offset}"
            )
        trailing = len(marks) - len(marks.rstrip(b"0"))
        self._digit_run = self._digit_run + leading if leading == len(marks) else trailing

    def _check_depth(self, marks: bytes) -> None:
        if not marks:
            return
        codes = np.frombuffer(marks, dtype=np.uint8)
        steps = _DEPTH_STEP[codes]
        quotes = codes == _QUOTE
        if quotes.any():
            inside = np.bitwise_xor.accumulate(quotes) ^ self._in_string
            steps = np.where(inside, 0, steps)
            self._in_string ^= bool(np.count_nonzero(quotes) % 2)
        elif self._in_string:
            return
        depths = np.cumsum(steps) + self.depth
        if int(depths.max()) > MAX_DEPTH:
            raise BankFormatError(
                f"{self.name}: JSON nested deeper than {MAX_DEPTH} levels, near byte {self.offset}"
            )
        self.depth = int(depths[-1])

    def _check_string(self, text: bytes) -> None:
        if not self._in_string:
            self._string_bytes = 0
            return
        last_quote = text.rfind(b'"')
        self._string_bytes = (
            self._string_bytes + len(text) if last_quote < 0 else len(text) - last_quote - 1
        )
        if self._string_bytes > MAX_STRING_BYTES:
            raise BankFormatError(
                f"{self.name}: a JSON string longer than {MAX_STRING_BYTES // 2**20} MiB "
                f"near byte {self.offset + len(text)}"
            )


@contextmanager
def open_json(path: Path) -> Iterator[BankBytes]:
    """The file's bytes for ijson: decompressed, in UTF-8, and guarded (see above)."""
    with open_bank_bytes(path, JsonNestingGuard(path.name)) as stream:
        yield stream


def json_error_reason(error: ijson.JSONError) -> str:
    """yajl's message without its multi-line caret drawing; it may come as bytes."""
    detail = error.args[0] if error.args else ""
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", errors="replace")
    lines = [line.strip() for line in str(detail).splitlines() if line.strip()]
    if not lines:
        return "malformed JSON"
    near = f" near {lines[1][:60]!r}" if len(lines) > 1 and "(right here)" not in lines[1] else ""
    return lines[0] + near


def scalar_text(name: str, raw: object) -> str | None:
    """A scalar field as stripped text (numbers included); None when absent or empty.

    Raises ValueError for an object or list, and for text over the field limit or
    holding a NUL (see :func:`~clearsight.banks.formats.field_limits.checked_text`).
    """
    if raw.__class__ is str:  # the common case first, without a call
        text = raw.strip()
        if len(text) <= FIELD_LIMIT and "\x00" not in text:
            return text or None
        return checked_text(name, text)
    if raw is None:
        return None
    if isinstance(raw, str):
        return checked_text(name, raw.strip()) or None
    if isinstance(raw, dict | list):
        raise ValueError(f"{name}: expected a single value, not a JSON object or list")
    if isinstance(raw, Decimal | float) and _whole(raw):
        return str(int(raw))  # 1.0 as written by tools that store every number as a double
    return str(raw)


def _whole(number: Decimal | float) -> bool:
    """A whole number small enough to write out (1E+999999999 is not)."""
    if isinstance(number, float):
        return number.is_integer() and abs(number) < 1e18
    return number.is_finite() and number == number.to_integral_value() and number.adjusted() < 18


def json_syntax_error(path: Path, error: ijson.JSONError, last_where: str) -> BankFormatError:
    """A one-line error for broken JSON, placed after the last entry read whole.

    yajl reports no line or offset, so the last complete entry is the best locator.
    """
    place = f" after {last_where}" if last_where else ""
    return BankFormatError(f"{path.name}: JSON syntax error{place}: {json_error_reason(error)}")
