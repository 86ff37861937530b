"""What the decoding libraries say, kept off the terminal and handed to the log.

libtiff, libjpeg, OpenCV and FFmpeg write their warnings straight to file descriptor 2
("TIFFFetchNormalTag: ... tag is not read from file"), and Pillow and PyAV raise Python
warnings or log records. On a damaged drive that is hundreds of raw lines in the middle
of a progress bar, each saying less than the error row the file gets anyway. While
:func:`library_output_to` is active, descriptor 2 points at an unlinked temporary
file, Python's own ``sys.stderr`` (click's messages, the progress bar) keeps the
terminal, and Python warnings and the libraries' log records are written to that file
too; on leaving, what was caught (at most :data:`MAX_KEPT_BYTES`) is handed to a sink,
the command's log.

The scan's worker processes start with descriptor 2 closed to ``/dev/null`` already
(:mod:`clearsight.scan.pebble_executor`); this covers the command's own process, where
matching, triage and origin read files again.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TextIO

MAX_KEPT_BYTES = 256 * 1024  # of library output handed to the log per command
# Loggers of the decoding libraries whose records would otherwise reach the terminal
# through logging's last-resort handler.
LIBRARY_LOGGERS = ("PIL", "libav", "av")

Sink = Callable[[str], object]


@contextmanager
def library_output_to(sink: Sink) -> Iterator[None]:
    """Route what libraries write to stderr, their warnings and log records, to
    ``sink`` (called once, on leaving, with the text; not called when there was none)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr to take over: nothing to keep off
        yield
        return
    caught = tempfile.TemporaryFile()
    terminal = sys.stderr
    own = io.TextIOWrapper(
        os.fdopen(os.dup(saved), "wb", buffering=0),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
        write_through=True,  # a progress bar's "\r" shows at once, as on a terminal
    )
    own_stream: TextIO = own
    record_stream = io.TextIOWrapper(
        os.fdopen(os.dup(caught.fileno()), "ab", buffering=0), encoding="utf-8", errors="replace"
    )
    handler = logging.StreamHandler(record_stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    kept = [(logger, logger.propagate) for logger in loggers]
    os.dup2(caught.fileno(), 2)
    sys.stderr = own_stream
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _to_stream(record_stream)
            yield
    finally:
        for logger, propagate in kept:
            logger.removeHandler(handler)
            logger.propagate = propagate
        record_stream.close()
        sys.stderr.flush()
        sys.stderr = terminal
        os.dup2(saved, 2)
        os.close(saved)
        own.close()
        text = _read_back(caught)
        if text:
            sink(text)


def _to_stream(stream: TextIO) -> Callable[..., None]:
    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        stream.write(warnings.formatwarning(message, category, filename, lineno, line))

    return show


def _read_back(caught: IO[bytes]) -> str:
    """What was caught, at most MAX_KEPT_BYTES of it, then the file is gone."""
    with caught:
        size = caught.seek(0, os.SEEK_END)
        caught.seek(0)
        data = caught.read(MAX_KEPT_BYTES)
    text = data.decode("utf-8", "backslashreplace")
    if size > MAX_KEPT_BYTES:
        text += f"\n[... {size - MAX_KEPT_BYTES} more bytes of library output not kept ...]\n"
    return text
