"""A bank import's events, parsed ahead of the writing and handed over in batches.

Parsing a national list is Python work of 10 to 20 µs an entry, about as much as
writing it, and a thread cannot overlap the two (the GIL). So a large bank file is
parsed in a process of its own, on the other core: it reads the file, turns each
entry into the plain tuple the write path takes (:func:`prepared.prepare`: its
identity digest, metadata columns and signals, all made there; the VICS
reader makes them straight from the common Media) and sends them a batch at a time,
in the very rows the inserts take (:class:`~clearsight.banks.prepared.PreparedBatch`),
through a pipe (its stdout): a batch of plain rows in ``marshal``'s format, which both
writes and reads them in about half of pickle's time (the reading is the importing
process's, the one that bounds the import), anything else pickled. The pipe holds
64 KiB, so memory stays bounded and the parser is never more than a batch ahead.

A small file, or a stream of events that is no file (``bank add``), is parsed in a
thread as before: starting a process costs about half a second. Either way the
batches are the same, and a parser's error (a broken file) is raised here, at the
batch where it stopped, with the parser's own message.
"""

from __future__ import annotations

import gc
import marshal
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import clearsight
from clearsight.banks.formats.reader import BankFile, BankFormat, parse_bank_file
from clearsight.banks.prepared import BatchBuilder, PreparedBatch, PreparedEntry, prepare
from clearsight.banks.records import BankSignal, ImportedEntry, ImportEvent

# Files at least this large are parsed in a process of their own (about 30,000 VICS
# Media or 100,000 CSV lines: there the process's start is a few percent of the import).
OWN_PROCESS_BYTES = 8 * 1024 * 1024

_DONE = "done"
_FAILED = "failed"
_LENGTH = struct.Struct(">Q")
# A message's first byte: how the rest is encoded.
_MARSHALLED = b"m"  # a batch's (entry rows, signal rows, removals), nothing else
_PICKLED = b"p"
# The child's program. This package's folder goes last on its path: found there only
# if the child's Python would not find it anyway, and never ahead of the stdlib.
_CHILD = (
    "import sys; sys.path.append(sys.argv.pop(1)); "
    "from clearsight.banks.parse_ahead import serve; serve()"
)


@contextmanager
def prepared_batches(events: Iterable[ImportEvent], size: int) -> Iterator[Iterator[PreparedBatch]]:
    """Batches of ``size`` prepared events of ``events``, parsed ahead of the caller."""
    if isinstance(events, BankFile) and not events.started:
        if _large(events.path) and can_parse_in_process():
            with _in_process(events.path, events.fmt, events.signal, size) as batches:
                yield batches
            return
        parsed = parse_bank_file(events.path, events.fmt, events.signal, prepared=True)
        with _in_thread(_prepared(parsed, size)) as batches:
            yield batches
    else:
        with _in_thread(_prepared(events, size)) as batches:
            yield batches


def _large(path: Path) -> bool:
    try:
        return path.stat().st_size >= OWN_PROCESS_BYTES
    except OSError:  # the parser will say what is wrong with it
        return False


def _prepared(events: Iterable[ImportEvent | PreparedEntry], size: int) -> Iterator[PreparedBatch]:
    """Batches of ``size`` events; entries prepared, unless a reader already did."""
    batch = BatchBuilder()
    held = 0  # len(batch), counted here: a call less for each of millions of entries
    for item in events:
        if isinstance(item, tuple):
            batch.add(item)
        elif isinstance(item, ImportedEntry):
            batch.add(prepare(item))
        else:
            batch.add_other(item)
        held += 1
        if held >= size:
            yield batch.take()
            held = 0
    if held:
        yield batch.take()


@contextmanager
def _in_thread(batches: Iterator[PreparedBatch]) -> Iterator[Iterator[PreparedBatch]]:
    """The next batch parsed in a thread while this one is written (SQLite's C code
    releases the GIL, so some of it overlaps)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bank-parse") as parser:

        def ahead() -> Iterator[PreparedBatch]:
            pending = parser.submit(next, batches, None)
            while (batch := pending.result()) is not None:
                pending = parser.submit(next, batches, None)
                yield batch

        try:
            yield ahead()
        finally:
            parser.shutdown(wait=True, cancel_futures=True)
            batches.close()  # type: ignore[attr-defined]


@contextmanager
def _in_process(
    path: Path, fmt: BankFormat, kind: BankSignal | None, size: int
) -> Iterator[Iterator[PreparedBatch]]:
    """The batches as a parsing process sends them: each pickled, after its length.

    A plain ``python -c`` child rather than multiprocessing's spawn, which would run the
    importing program's main module again in the child (and fail where it has no
    ``if __name__ == "__main__"`` guard). The child finds this package where it is.
    """
    package_root = str(Path(clearsight.__file__).resolve().parent.parent)
    parser = subprocess.Popen(
        [sys.executable, "-c", _CHILD, package_root],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,  # Ctrl-C is the importing process's to handle
    )
    assert parser.stdin is not None and parser.stdout is not None
    stream = parser.stdout

    def received() -> Iterator[PreparedBatch]:
        while True:
            head = stream.read(_LENGTH.size)
            body = stream.read(_LENGTH.unpack(head)[0]) if len(head) == _LENGTH.size else b""
            if not body:
                raise RuntimeError(
                    f"the process parsing {path.name} ended without a word "
                    f"(exit status {parser.wait()})"
                )
            message = _decoded(body)
            if isinstance(message, PreparedBatch):
                yield message
            elif message[0] == _FAILED:
                raise message[1]
            else:
                return

    try:
        parser.stdin.write(pickle.dumps((path, fmt, kind, size)))
        parser.stdin.close()
        yield received()
    finally:
        stream.close()  # a parser still sending gets a broken pipe and ends
        try:
            parser.wait(timeout=5)
        except subprocess.TimeoutExpired:
            parser.kill()
            parser.wait()


def can_parse_in_process() -> bool:
    """Whether this Python can start another of itself (not so in a frozen program)."""
    return bool(sys.executable) and not getattr(sys, "frozen", False)


def serve() -> None:
    """In the parsing process: read what to parse from stdin, send the batches to stdout."""
    # No cycles are made here, and the collector's passes over every batch's tuples
    # would cost a tenth of the parsing.
    gc.disable()
    path, fmt, kind, size = pickle.loads(sys.stdin.buffer.read())
    parse_into(sys.stdout.buffer, path, fmt, kind, size)


def parse_into(
    sending: BinaryIO, path: Path, fmt: BankFormat, kind: BankSignal | None, size: int
) -> None:
    """Send ``path``'s prepared events a batch at a time, then ``(done,)`` or
    ``(failed, the exception)``, each message encoded (see :func:`_encoded`) after
    its length."""

    def send(message: bytes) -> None:
        sending.write(_LENGTH.pack(len(message)))
        sending.write(message)
        sending.flush()

    try:
        try:
            for batch in _prepared(parse_bank_file(path, fmt, kind, prepared=True), size):
                send(_encoded(batch))
            ending = _PICKLED + pickle.dumps((_DONE,))
        except BrokenPipeError:
            return  # the import stopped reading: it failed or was stopped
        except Exception as error:  # handed to the importing process, which raises it
            ending = _failure(error, path)
        send(ending)
    except BrokenPipeError:
        return


def _encoded(batch: PreparedBatch) -> bytes:
    """A batch as a message: marshalled where it is plain rows only (every batch of a
    clean list), else pickled (rejected lines and the like are objects)."""
    if not batch.others:
        try:
            return _MARSHALLED + marshal.dumps(batch[:3])
        except ValueError:  # a value marshal does not take: pickle does
            pass
    return _PICKLED + pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)


def _decoded(body: bytes) -> Any:
    """What :func:`_encoded` (or the parser's ending) made ``body`` of. Only ever
    bytes from the parsing process this one started, never from the file itself."""
    rest = memoryview(body)[1:]
    if body[:1] == _MARSHALLED:
        entry_rows, signal_runs, removals = marshal.loads(rest)
        return PreparedBatch(entry_rows, signal_runs, removals, [])
    return pickle.loads(rest)


def _failure(error: Exception, path: Path) -> bytes:
    """``(failed, error)`` pickled, or a RuntimeError with its text if it will not pickle."""
    try:
        message = pickle.dumps((_FAILED, error))
        pickle.loads(message)
        return _PICKLED + message
    except Exception:  # noqa: BLE001 - any exception may fail to pickle in its own way
        text = f"parsing {path.name}: {type(error).__name__}: {error}"
        return _PICKLED + pickle.dumps((_FAILED, RuntimeError(text)))
