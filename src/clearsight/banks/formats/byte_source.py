"""A bank file's bytes as the parsers read them: decompressed, and in UTF-8.

Lists arrive gzip-compressed, saved by Windows tools as UTF-16 with a byte order mark,
or written in Latin-1/cp1252 by older exporters. Every text parser (VICS, StopNCII,
CSV, plain text) reads through :func:`open_bank_bytes`, which decides by the bytes
themselves, never by the file name:

* gzip by its magic bytes, decompressed as it is read;
* a UTF-8 byte order mark is stepped over; UTF-16 and UTF-32, told by their byte
  order mark (or, without one, by the NUL bytes around the first ASCII characters,
  as RFC 4627 tells JSON's encoding), are transcoded to UTF-8 as read;
* otherwise the bytes are taken as UTF-8. Where they are not, and everything before
  was plain ASCII, the rest is read as cp1252 (Latin-1 where cp1252 has no character),
  the legacy encoding such files are in. A file that mixes real UTF-8 with other bytes
  is refused with one line, since no single reading of it is right.

NCMEC XML declares its own encoding, which libxml2 honours, so it only gets
:func:`open_decompressed`.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from clearsight.banks.formats.errors import BankFormatError

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 256 * 1024  # bytes read from the source at a time
_LEGACY_ERRORS = "clearsight.latin1"
_BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _latin1_for_undefined(error: UnicodeError) -> tuple[str, int]:
    """cp1252 leaves five bytes undefined; read those as Latin-1 does."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(_LEGACY_ERRORS, _latin1_for_undefined)


class _Decoder:
    """Turns one chunk of the source into UTF-8; ``b""`` marks the end of the source."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.offset = 0  # bytes of the source decoded so far, to place an error

    def __call__(self, raw: bytes) -> bytes:
        chunk = self.decode(raw)
        self.offset += len(raw)
        return chunk

    def decode(self, raw: bytes) -> bytes:
        return raw


class _Transcoded(_Decoder):
    """A UTF-16/32 source re-encoded as UTF-8."""

    def __init__(self, name: str, encoding: str) -> None:
        super().__init__(name)
        self._encoding = encoding
        self._decoder = codecs.getincrementaldecoder(encoding)("strict")

    def decode(self, raw: bytes) -> bytes:
        try:
            text = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as error:
            raise BankFormatError(
                f"{self.name}: not valid {self._encoding.upper()} text near byte "
                f"{self.offset + error.start}"
            ) from None
        return text.encode("utf-8", errors="surrogatepass")


class _Utf8OrLegacy(_Decoder):
    """UTF-8 passed through unchanged; a legacy (cp1252) file transcoded once found."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._seen_utf8 = False
        self._legacy = False

    def decode(self, raw: bytes) -> bytes:
        if self._legacy:
            return raw.decode("cp1252", errors=_LEGACY_ERRORS).encode("utf-8")
        if raw.isascii() and not self._utf8.getstate()[0]:
            return raw
        try:
            self._utf8.decode(raw, final=not raw)
        except UnicodeDecodeError as error:
            if self._seen_utf8 or not raw[: error.start].isascii():
                raise BankFormatError(
                    f"{self.name}: mixes UTF-8 with another encoding near byte "
                    f"{self.offset + error.start}; save it as UTF-8"
                ) from None
            self._legacy = True
            return raw.decode("cp1252", errors=_LEGACY_ERRORS).encode("utf-8")
        self._seen_utf8 = True
        return raw


class ChunkCheck(Protocol):
    """Looks at each UTF-8 chunk on its way to a parser (``b""`` at the end) and gives
    what the parser is to see of it (the chunk itself, or less); may raise."""

    def __call__(self, chunk: bytes) -> bytes: ...


class BankBytes(io.RawIOBase):
    """The UTF-8 byte stream a parser reads: ``read`` for ijson, ``readinto`` for io."""

    def __init__(self, source: BinaryIO, decoder: _Decoder, check: ChunkCheck | None) -> None:
        super().__init__()
        self._source = source
        self._decoder = decoder
        self._check = check
        self._pending = b""
        self._at = 0
        self._ended = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size == 0:
            return b""
        if self._at < len(self._pending):
            chunk = self._pending[self._at :] if self._at else self._pending
        else:
            chunk = self._next(size if size and size > 0 else _CHUNK)
        if size and 0 < size < len(chunk):
            self._pending, self._at = chunk, size
            return chunk[:size]
        self._pending, self._at = b"", 0
        return chunk

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        chunk = self.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)

    def _next(self, size: int) -> bytes:
        """The next non-empty chunk, or b"" at the end of the source."""
        while not self._ended:
            raw = self._source.read(max(size, _CHUNK))
            chunk = self._decoder(raw)
            if self._check is not None:
                chunk = self._check(chunk)
                if not raw:
                    chunk += self._check(b"")
            self._ended = not raw
            if chunk:
                return chunk
        return b""


def _peek(stream: BinaryIO, size: int) -> bytes:
    peek = getattr(stream, "peek", None)
    head = peek(size) if peek is not None else b""
    return bytes(head[:size])


# What gzip raises for a damaged stream: a bad header, magic or CRC (BadGzipFile), a
# stream cut short (EOFError) and garbage inside the deflate data (zlib.error). Any
# other OSError is the disk's, not the file's, and is left to the CLI's handler.
_DAMAGED_GZIP = (gzip.BadGzipFile, EOFError, zlib.error)


class _Gunzipped(io.RawIOBase):
    """A gzip stream whose damage, wherever it is met, is one BankFormatError.

    Every reader goes through this, lxml included (which calls ``read`` from C and
    passes on whatever it raises), so no parser has its own handling to forget.
    """

    def __init__(self, unzipped: gzip.GzipFile, name: str) -> None:
        super().__init__()
        self._unzipped = unzipped
        self._name = name

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._unzipped.read(-1 if size is None else size)
        except _DAMAGED_GZIP as error:
            raise self._damaged(error) from None

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        chunk = self.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)

    def peek(self, size: int = 0) -> bytes:
        try:
            return self._unzipped.peek(size)
        except _DAMAGED_GZIP as error:
            raise self._damaged(error) from None

    def _damaged(self, error: BaseException) -> BankFormatError:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "cut short"
        return BankFormatError(f"{self._name}: damaged gzip data: {reason}")


@contextmanager
def open_decompressed(path: Path) -> Iterator[BinaryIO]:
    """The file's bytes, gunzipped as read where it is gzip (told by its magic bytes).

    Damaged gzip (cut short, a bad CRC, garbage inside) raises BankFormatError.
    """
    with path.open("rb") as raw:
        if raw.peek(2)[:2] != _GZIP_MAGIC:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            yield _Gunzipped(unzipped, path.name)  # type: ignore[misc]


@contextmanager
def open_bank_bytes(path: Path, check: ChunkCheck | None = None) -> Iterator[BankBytes]:
    """The file as UTF-8 bytes: decompressed, byte order mark dropped, transcoded.

    ``check`` sees every chunk before the parser does, and may drop bytes from it (the
    JSON parsers' guard, which drops the tail of an overlong string).
    """
    with open_decompressed(path) as stream:
        yield BankBytes(stream, _decoder_for(stream, path.name), check)


def _decoder_for(stream: BinaryIO, name: str) -> _Decoder:
    head = _peek(stream, 4)
    if head.startswith(codecs.BOM_UTF8):
        stream.read(len(codecs.BOM_UTF8))
        return _Utf8OrLegacy(name)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            stream.read(len(bom))
            return _Transcoded(name, encoding)
    unmarked = _unmarked_wide_encoding(head)
    if unmarked is not None:
        return _Transcoded(name, unmarked)
    return _Utf8OrLegacy(name)


def _unmarked_wide_encoding(head: bytes) -> str | None:
    """UTF-16/32 without a byte order mark, told by where the NULs of ASCII text fall."""
    if len(head) < 4:
        return None
    nuls = "".join("0" if byte == 0 else "x" for byte in head[:4])
    return {"000x": "utf-32-be", "x000": "utf-32-le", "0x0x": "utf-16-be", "x0x0": "utf-16-le"}.get(
        nuls
    )
