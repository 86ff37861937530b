"""Where a report is written: UTF-8 bytes to a binary stream, hashed on the way.

The SHA-256 the audit log records is of the bytes that left, computed as they left, so
the log names exactly the file the person received without reading it again. Text is
gathered into blocks before it is encoded, hashed and written, which keeps the cost of
the many small writes a streaming export makes low. A file name that is not valid
Unicode (a lone surrogate from an undecodable name) is written as a backslash escape
rather than failing the export.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO, TextIO

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

_BLOCK = 1 << 16


class DigestingOutput:
    """A text sink (``write(str)``) over a binary stream, counting and hashing bytes."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._digest = hashlib.sha256()
        self._parts: list[str] = []
        self._pending = 0
        self.bytes_written = 0

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._pending += len(text)
        if self._pending >= _BLOCK:
            self._drain()
        return len(text)

    def write_bytes(self, data: bytes) -> int:
        """For writers that produce bytes themselves (the XML writer)."""
        self._drain()
        self._emit(data)
        return len(data)

    def flush(self) -> None:
        self._drain()
        self._raw.flush()

    @property
    def sha256(self) -> str:
        """The digest of what was written so far (call ``flush`` first)."""
        return self._digest.hexdigest()

    def _drain(self) -> None:
        if self._parts:
            data = "".join(self._parts).encode("utf-8", "backslashreplace")
            self._parts.clear()
            self._pending = 0
            self._emit(data)

    def _emit(self, data: bytes) -> None:
        self._digest.update(data)
        self._raw.write(data)
        self.bytes_written += len(data)


class BinaryView:
    """The byte side of a :class:`DigestingOutput`, for libraries that write bytes."""

    def __init__(self, output: DigestingOutput) -> None:
        self._output = output

    def write(self, data: bytes) -> int:
        return self._output.write_bytes(data)

    def flush(self) -> None:
        self._output.flush()


@contextmanager
def text_stream(output: DigestingOutput) -> Iterator[TextIO]:
    """A real text file object over ``output``, for writers that ask for ``TextIO``."""
    stream = io.TextIOWrapper(
        io.BufferedWriter(_RawSink(output)),
        encoding="utf-8",
        errors="backslashreplace",
        newline="\n",
    )
    try:
        yield stream
    finally:
        stream.flush()
        stream.detach()


class _RawSink(io.RawIOBase):
    def __init__(self, output: DigestingOutput) -> None:
        self._output = output

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        return self._output.write_bytes(bytes(data))
