"""Helpers both JSON bank formats (VICS, StopNCII) need around ijson."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import IO

import ijson

from clearsight.banks.formats.errors import BankFormatError


def skip_bom(stream: IO[bytes]) -> None:
    """Step over a UTF-8 byte order mark: Windows tools write one, and yajl refuses it."""
    if stream.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
        stream.seek(0)


def json_error_reason(error: ijson.JSONError) -> str:
    """yajl's message without its multi-line caret drawing; it may come as bytes."""
    detail = error.args[0] if error.args else ""
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", errors="replace")
    lines = [line.strip() for line in str(detail).splitlines() if line.strip()]
    if not lines:
        return "malformed JSON"
    near = f" near {lines[1]!r}" if len(lines) > 1 and "(right here)" not in lines[1] else ""
    return lines[0] + near


def scalar_text(name: str, raw: object) -> str | None:
    """A scalar field as stripped text (numbers included); None when absent or empty."""
    if raw is None:
        return None
    if isinstance(raw, dict | list):
        raise ValueError(f"{name}: expected a single value, not a JSON object or list")
    return str(raw).strip() or None


def json_syntax_error(path: Path, error: ijson.JSONError, last_where: str) -> BankFormatError:
    """A one-line error for broken JSON, placed after the last entry read whole.

    yajl reports no line or offset, so the last complete entry is the best locator.
    """
    place = f" after {last_where}" if last_where else ""
    return BankFormatError(f"{path.name}: JSON syntax error{place}: {json_error_reason(error)}")
