"""An exchange's pages fetched and prepared ahead of the commits, in a process of its own.

python-threatexchange's clients fetch and parse each page in Python (NCMEC's: an
ElementTree parse and a dataclass an entry, about 30 µs an entry), and turning the
records into the bank's rows is more Python; the commits are SQLite's. In one process
the GIL lets a thread overlap little of the two, and the fetch of a national list took
almost three times its import from a file. So, as an import parses a large file in a
process of its own (:mod:`clearsight.banks.parse_ahead`), a fetch runs the library in a
child: it fetches, translates and prepares the pages and decides the commits
(:func:`clearsight.exchanges.batches.produce`); the fetching process only commits.

Resuming is untouched: a batch's checkpoint travels with the batch and is written by
the fetching process in the batch's own transaction. The child writes nothing; if the
fetching process dies, the child's next write finds the pipe closed and it ends, and
what it had fetched beyond the last commit is fetched again by the next run.

The child is a plain ``python -c`` (not multiprocessing's spawn, which would run the
caller's main module again). It reads its :class:`FetchJob` (the secret included:
never on a command line or in the environment) pickled from stdin and writes each
message to a pipe after its length: a commit's rows in ``marshal``'s format, which
reads in half of pickle's time in the fetching process, everything else pickled.
Where no second Python can be started (a frozen program), the pages are produced in
this process, in turn with the commits.
"""

from __future__ import annotations

import gc
import marshal
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

import clearsight
from clearsight.banks.parse_ahead import can_parse_in_process
from clearsight.banks.prepared import PreparedBatch
from clearsight.exchanges.batches import Commit, FetchJob, Started, produce

_LENGTH = struct.Struct(">Q")
_COMMIT = "commit"  # a pickled head (checkpoint, updates, withdrawals, others), then rows
_DONE = "done"
_FAILED = "failed"
_CHILD = (
    "import sys; sys.path.append(sys.argv.pop(1)); "
    "from clearsight.exchanges.fetch_ahead import serve; serve()"
)


@contextmanager
def fetched_ahead(
    job: FetchJob, *, own_process: bool | None = None
) -> Iterator[Iterator[Started | Commit]]:
    """What :func:`produce` gives for ``job``, from a child process where one can start."""
    if own_process is None:
        own_process = can_parse_in_process()
    if not own_process:
        messages = produce(job)
        try:
            yield messages
        finally:
            messages.close()
        return
    package_root = str(Path(clearsight.__file__).resolve().parent.parent)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, package_root],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,  # Ctrl-C is the fetching process's to handle
    )
    assert child.stdin is not None and child.stdout is not None
    stream = child.stdout
    try:
        child.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        child.stdin.close()
        yield _received(stream, child)
    finally:
        stream.close()  # a child still sending gets a broken pipe and ends
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:  # waiting on a server: it has nothing to keep
            child.kill()
            child.wait()


def _received(stream: IO[bytes], child: subprocess.Popen[bytes]) -> Iterator[Started | Commit]:
    while True:
        message = pickle.loads(_frame(stream, child))
        if isinstance(message, Started):
            yield message
        elif message[0] == _COMMIT:
            _, checkpoint, updates, unseen, others = message
            entry_rows, signal_runs, removals = marshal.loads(_frame(stream, child))
            batch = PreparedBatch(entry_rows, signal_runs, removals, others)
            yield Commit(batch, checkpoint, updates, unseen)
        elif message[0] == _FAILED:
            raise message[1]
        else:
            return


def _frame(stream: IO[bytes], child: subprocess.Popen[bytes]) -> bytes:
    head = stream.read(_LENGTH.size)
    body = stream.read(_LENGTH.unpack(head)[0]) if len(head) == _LENGTH.size else b""
    if not body:
        raise RuntimeError(f"the exchange's fetching process ended (exit status {child.wait()})")
    return body


def serve() -> None:
    """In the child: read the job from stdin, send its messages to what was stdout."""
    # The protocol keeps the real stdout; a library's stray print goes to stderr.
    sending = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # The pages' records are many small objects and no cycles: the collector's passes
    # over them would cost a tenth of the work. Each page's garbage goes by refcount.
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)
    job = pickle.loads(sys.stdin.buffer.read())
    send_into(sending, job)


def send_into(sending: BinaryIO, job: FetchJob) -> None:
    """Send ``job``'s messages, then ``(done,)`` or ``(failed, the exception)``."""

    def send(*frames: bytes) -> None:
        for frame in frames:
            sending.write(_LENGTH.pack(len(frame)))
            sending.write(frame)
        sending.flush()

    try:
        try:
            for message in produce(job):
                send(*_encoded(message))
            ending = pickle.dumps((_DONE,))
        except BrokenPipeError:
            return  # the fetching process stopped reading: it failed or was stopped
        except Exception as error:  # handed to the fetching process, which raises it
            ending = _failure(error)
        send(ending)
    except BrokenPipeError:
        return


def _encoded(message: Started | Commit) -> tuple[bytes, ...]:
    if isinstance(message, Started):
        return (pickle.dumps(message),)
    batch = message.batch
    head = (_COMMIT, message.checkpoint, message.updates, message.withdraw_unseen, batch.others)
    try:
        rows = marshal.dumps(batch[:3])
    except ValueError:  # pragma: no cover - rows are strings, numbers and None
        raise RuntimeError("a batch of an exchange held a value that cannot be sent") from None
    return pickle.dumps(head, protocol=pickle.HIGHEST_PROTOCOL), rows


def _failure(error: Exception) -> bytes:
    """``(failed, error)`` pickled, or a RuntimeError with its text if it will not pickle."""
    try:
        message = pickle.dumps((_FAILED, error))
        pickle.loads(message)
        return message
    except Exception:  # noqa: BLE001 - any exception may fail to pickle in its own way
        return pickle.dumps((_FAILED, RuntimeError(f"{type(error).__name__}: {error}")))
