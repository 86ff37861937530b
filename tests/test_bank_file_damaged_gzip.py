"""A bank file that starts like gzip but is damaged ends as one line, exit 2, nothing kept.

Before, ``EOFError``, ``gzip.BadGzipFile`` and ``zlib.error`` escaped from the NCMEC XML
parser (lxml passes on what its ``read`` raises) as a traceback, an "interrupted" exit
130 or an internal error. Every format, named or told from the bytes, is tried with a
stream cut short, a bad CRC, garbage inside the deflate data and garbage after the
magic bytes. Each file holds more entries than one import batch, so a file cut in half
still yields whole batches before the damage is met; none of them may be kept.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from clearsight.banks.formats.errors import BankFormatError
from clearsight.banks.formats.reader import BankFormat, read_bank_file
from clearsight.banks.store import BankStore

from .conftest import run_cli

ENTRIES = 12_000  # more than two import batches of 5,000


def _md5(number: int) -> str:
    return hashlib.md5(f"benign-{number}".encode()).hexdigest()


def _text(fmt: BankFormat) -> str:
    numbers = range(ENTRIES)
    if fmt is BankFormat.VICS:
        return json.dumps({"value": [{"MediaID": str(n), "MD5": _md5(n)} for n in numbers]})
    if fmt is BankFormat.STOPNCII:
        records = [{"signalType": "VideoMD5", "hashValue": _md5(n)} for n in numbers]
        return json.dumps({"hashRecords": records})
    if fmt is BankFormat.CSV:
        return "md5,comments\n" + "".join(f"{_md5(n)},benign\n" for n in numbers)
    if fmt is BankFormat.NCMEC_XML:
        images = "".join(
            f"<image><id>test-{n}</id><fingerprints><md5>{_md5(n)}</md5></fingerprints></image>"
            for n in numbers
        )
        return f"<queryResult><images>{images}</images></queryResult>"
    return "".join(f"{_md5(n)}\n" for n in numbers)


def _truncated(packed: bytes) -> bytes:
    return packed[: len(packed) // 2]


def _bad_crc(packed: bytes) -> bytes:
    damaged = bytearray(packed)
    damaged[-6] ^= 0x01  # the CRC-32 in the trailer; the data itself inflates cleanly
    return bytes(damaged)


def _garbage_inside(packed: bytes) -> bytes:
    return packed[:10] + os.urandom(4096)  # a valid header, then no deflate stream


def _garbage_after_magic(packed: bytes) -> bytes:
    return packed[:2] + os.urandom(4096)


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": _truncated,
    "bad-crc": _bad_crc,
    "garbage-inside": _garbage_inside,
    "garbage-after-magic": _garbage_after_magic,
}
FORMATS = [fmt for fmt in BankFormat if fmt is not BankFormat.AUTO]


def _damaged_file(tmp_path: Path, fmt: BankFormat, damage: str) -> Path:
    path = tmp_path / f"{fmt.value}-{damage}.bin"  # no .gz: the magic bytes tell
    path.write_bytes(DAMAGE[damage](gzip.compress(_text(fmt).encode("utf-8"))))
    return path


def _assert_one_line_and_nothing_kept(path: Path, fmt: str) -> None:
    result = run_cli("bank", "import", "damaged", path, "--format", fmt)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and path.name in result.stderr
    store = BankStore.open()
    try:
        assert "damaged" not in {summary.name for summary in store.summaries()}
    finally:
        store.close()


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("fmt", FORMATS, ids=[fmt.value for fmt in FORMATS])
def test_damaged_gzip_through_the_cli(tmp_path: Path, fmt: BankFormat, damage: str) -> None:
    _assert_one_line_and_nothing_kept(_damaged_file(tmp_path, fmt, damage), fmt.value)


@pytest.mark.parametrize("fmt", FORMATS, ids=[fmt.value for fmt in FORMATS])
def test_damaged_gzip_told_from_the_bytes(tmp_path: Path, fmt: BankFormat) -> None:
    _assert_one_line_and_nothing_kept(_damaged_file(tmp_path, fmt, "truncated"), "auto")


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("fmt", FORMATS, ids=[fmt.value for fmt in FORMATS])
def test_damaged_gzip_is_the_documented_error(tmp_path: Path, fmt: BankFormat, damage: str) -> None:
    """In the library too: only BankFormatError, one line, naming the file."""
    path = _damaged_file(tmp_path, fmt, damage)
    with pytest.raises(BankFormatError) as raised:
        for _event in read_bank_file(path, fmt):
            pass
    message = str(raised.value)
    assert message.startswith(path.name) and "\n" not in message


def test_the_intact_file_imports_whole(tmp_path: Path) -> None:
    """The fixtures themselves are sound: undamaged, each format imports every entry."""
    for fmt in FORMATS:
        path = tmp_path / f"{fmt.value}.bin"
        path.write_bytes(gzip.compress(_text(fmt).encode("utf-8")))
        assert sum(1 for _ in read_bank_file(path, fmt)) == ENTRIES
