"""What both JSON bank formats (VICS, StopNCII) need around ijson.

ijson's C backend (yajl2_c) builds each entry in C, which is what makes a million
entries a second possible; three of its limits are guarded here rather than met:

* its event prefixes grow with the depth of nesting, so memory grows with the square of
  the depth (a 200 KB file nested 100,000 deep took 23 GB): :class:`JsonNestingGuard`
  counts brackets outside strings in each chunk *before* ijson sees it, and stops the
  file past :data:`MAX_DEPTH`;
* one string is held whole, and yajl lexes a string that spans chunks again from its
  start with each chunk, so time grows with the square of its length (a 200 MB string
  took over 20 s before the file was refused). Past :data:`KEEP_STRING_BYTES`, which
  is still far over :data:`~clearsight.banks.formats.field_limits.FIELD_LIMIT`, the
  rest of an open string is dropped before ijson sees it, at a place where no escape
  or character is split: the string stays over the field limit, so its entry is
  rejected as before, quickly and in bounded memory. A string longer than
  :data:`MAX_STRING_BYTES` stops the file, and so does one past
  :data:`MAX_UNCUT_STRING_BYTES` with no such place (only broken UTF-8 has none);
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
# A character is at most 12 bytes as JSON (an escaped surrogate pair), so a string cut
# past this many bytes still reads as more than FIELD_LIMIT characters.
KEEP_STRING_BYTES = 12 * (FIELD_LIMIT + 1)
MAX_STRING_BYTES = 64 * 1024 * 1024  # bytes as written, escapes included
MAX_UNCUT_STRING_BYTES = 2 * 1024 * 1024
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
# Where a long string may be cut, nothing being open there (in valid JSON): before a
# backslash that follows another byte (so it begins an escape), or after six bytes
# with no backslash (no escape, \uXXXX the longest, spans them) and before the first
# byte of a UTF-8 character.
_CLEAN_CUT = re.compile(rb"(?<=[^\\])(?=\\)|[^\\]{6}(?=[\x00-\x7f\xc0-\xff])")
# A string's body up to its closing quote, escapes stepped over ("unrolled" so the
# runs between escapes are matched by one class loop).
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)


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
        self._long_string = False  # the open string is past KEEP_STRING_BYTES
        self._string_cut = False  # ... and its remaining bytes are being dropped

    def __call__(self, chunk: bytes) -> bytes:
        """The chunk as ijson is to see it; raises BankFormatError past a limit."""
        if self._long_string:
            return self._in_long_string(chunk)
        self._check(chunk)
        if self._in_string and self._string_bytes > KEEP_STRING_BYTES:
            self._long_string = True
        return chunk

    def _check(self, chunk: bytes) -> None:
        self._check_digits(chunk)
        text = chunk
        if self._escape_pending and text:
            text, self._escape_pending = text[1:], False
        # Else no quote is escaped (a lone backslash first: memchr, far quicker than
        # looking for the pair in a chunk with none, the usual case).
        if b"\\" in text and (b'\\"' in text or text.endswith(b"\\")):
            text = _ESCAPE.sub(b"", text)
            if text.endswith(b"\\"):  # its escaped byte begins the next chunk
                text, self._escape_pending = text[:-1], True
        self._check_depth(text.translate(None, _NOT_STRUCTURAL).replace(b'""', b""))
        self._check_string(text, chunk)
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

    def _check_string(self, text: bytes, chunk: bytes) -> None:
        """The open string's length in bytes as written (escapes too), within a chunk."""
        if not self._in_string:
            self._string_bytes = 0
            return
        last_quote = text.rfind(b'"')
        self._string_bytes = (
            self._string_bytes + len(chunk) if last_quote < 0 else len(text) - last_quote - 1
        )

    def _in_long_string(self, chunk: bytes) -> bytes:
        """Pass a long string's bytes up to a clean cut, then none until it closes."""
        end = self._closing_quote(chunk)
        body = chunk if end < 0 else chunk[:end]
        kept = b"" if self._string_cut else self._cut(body)
        self._string_bytes += len(body)
        limit = MAX_STRING_BYTES if self._string_cut else MAX_UNCUT_STRING_BYTES
        if self._string_bytes > limit:
            raise BankFormatError(
                f"{self.name}: a JSON string longer than {limit // 2**20} MiB "
                f"near byte {self.offset + len(body)}"
            )
        self.offset += len(body)
        if end < 0:
            self._escape_pending = _escape_open_after(body, self._escape_pending)
            return kept
        # The string closes here: the rest is read as usual, from its closing quote.
        self._long_string = self._string_cut = self._escape_pending = False
        self._digit_run = 0
        rest = chunk[end:]
        self._check(rest)
        return kept + rest

    def _cut(self, body: bytes) -> bytes:
        if body[:1] == b"\\":
            # A backslash first: it begins an escape, or, after a pending one, is the
            # escaped byte (a run of escaped backslashes has no other clean place).
            at = 1 if self._escape_pending else 0
        else:
            clean = _CLEAN_CUT.search(body)
            if clean is None:
                return body  # no clean place in this chunk: passed whole, tried again next
            at = clean.end()
        self._string_cut = True
        return body[:at]

    def _closing_quote(self, chunk: bytes) -> int:
        """Where the open string closes in ``chunk``: its first quote not escaped, or -1."""
        start = 1 if self._escape_pending else 0  # the chunk's first byte is escaped
        first = chunk.find(b'"', start)
        if first < 0 or chunk.find(b"\\", start, first) < 0:  # the common cases: memchr
            return first
        body = _STRING_BODY.match(chunk, start)
        end = body.end() if body is not None else start
        return end if end < len(chunk) and chunk[end] == _QUOTE else -1


def _escape_open_after(body: bytes, escape_pending: bool) -> bool:
    """Whether ``body``, inside a string, ends with a backslash that escapes what follows."""
    run = len(body) - len(body.rstrip(b"\\"))
    if run == len(body):  # all backslashes: the first is escaped if one was pending
        return (run - escape_pending) % 2 == 1 if run else escape_pending
    return run % 2 == 1


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
