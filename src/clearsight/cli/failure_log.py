"""The log file where a failed command leaves its details: ``clearsight.log``.

The terminal gets one line; the traceback goes here, in the case folder when the
command named one (``<case>/clearsight.log``), else under ``CLEARSIGHT_HOME``, and if
neither can be written (a full disk), nowhere. The file is created 0600 and only
appended to, within bounds: an entry is cut to :data:`MAX_ENTRY_BYTES`, and a log that
would grow past :data:`MAX_LOG_BYTES` is rotated first (``clearsight.log.1`` up to
``.3``, the oldest dropped), so a command failing in a loop cannot fill the disk.

What is logged is the time, the version, the command's name (never its arguments:
they may hold a database URL's password) and the traceback. A traceback shows code
and exception messages, never local values, so media bytes and generator prompts do
not reach it; what a message may carry is scrubbed before it is written: passwords in
URLs and connection strings, tokens in query strings, and the statement parameters
and DETAIL lines of database errors (which may quote a row, password hash and all).
"""

from __future__ import annotations

import os
import re
import traceback
from datetime import UTC, datetime
from pathlib import Path

from clearsight import __version__

LOG_NAME = "clearsight.log"
MAX_LOG_BYTES = 4 * 1024 * 1024
BACKUPS = 3  # clearsight.log.1 (the newest) to .3: at most 16 MiB in all
MAX_ENTRY_BYTES = 256 * 1024

_case_folder: Path | None = None

_SCRUBS = (
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s]*@", re.IGNORECASE), r"\1***@"),
    # password=... in connection strings, and tokens or keys in query strings
    (
        re.compile(
            r"\b(password|passwd|pwd|token|access_token|api_key|apikey|secret|key)=[^\s&;'\"]+",
            re.IGNORECASE,
        ),
        r"\1=***",
    ),
    # SQLAlchemy's quoted parameters and PostgreSQL's DETAIL line may quote values.
    (re.compile(r"^\[parameters: .*$", re.MULTILINE), "[parameters: not logged]"),
    (re.compile(r"^(\s*)DETAIL: .*$", re.MULTILINE), r"\1DETAIL: not logged"),
)


def note_case_folder(case_dir: Path | None) -> None:
    """Say which case folder this command works on (None: none yet)."""
    global _case_folder
    _case_folder = case_dir


def log_failure(error: BaseException, command: str, home: Path) -> Path | None:
    """Append ``error``'s details to the log; where it went, or None if nowhere."""
    return _append(_entry(error, command), home)


def log_library_output(text: str, command: str, home: Path) -> Path | None:
    """Append what decoding libraries wrote while ``command`` ran (their warnings on a
    damaged file, see :mod:`clearsight.scan.library_output`) to the same log, under the
    same bounds; where it went, or None if nowhere."""
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = f"{when} clearsight {__version__} `{command}`: library output:\n{scrub(text)}\n"
    return _append(_bounded(entry.encode("utf-8", "backslashreplace")), home)


def _append(entry: bytes, home: Path) -> Path | None:
    for folder in _folders(home):
        path = folder / LOG_NAME
        _rotate_if_full(path, len(entry))
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            os.write(descriptor, entry)
        except OSError:
            continue
        finally:
            os.close(descriptor)
        return path
    return None


def _rotate_if_full(path: Path, incoming: int) -> None:
    """Move the log to ``.1`` (and each backup one further) if ``incoming`` bytes would
    take it past the limit. Two commands rotating at once may lose a backup between
    them, never fail: a rename that finds its file gone is passed over."""
    try:
        if path.stat().st_size + incoming <= MAX_LOG_BYTES:
            return
    except OSError:
        return  # no log yet
    for number in range(BACKUPS - 1, 0, -1):
        _rename(Path(f"{path}.{number}"), Path(f"{path}.{number + 1}"))
    _rename(path, Path(f"{path}.1"))


def _rename(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError:
        pass


def scrub(text: str) -> str:
    """``text`` without passwords, tokens, statement parameters or DETAIL lines."""
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    return text


def _folders(home: Path) -> list[Path]:
    folders = [_case_folder] if _case_folder is not None and _case_folder.is_dir() else []
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        return folders
    return [*folders, home]


def _entry(error: BaseException, command: str) -> bytes:
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    details = "".join(traceback.format_exception(error))
    text = f"{when} clearsight {__version__} `{command}` failed:\n{scrub(details)}\n"
    return _bounded(text.encode("utf-8", "backslashreplace"))


def _bounded(entry: bytes) -> bytes:
    if len(entry) <= MAX_ENTRY_BYTES:
        return entry
    # A huge message (a whole file's worth in an exception): its start and its end,
    # where the exception's type and message are, and a line saying what was left out.
    half = MAX_ENTRY_BYTES // 2 - 64
    left_out = f"\n[... {len(entry) - 2 * half} bytes not logged ...]\n".encode()
    return entry[:half] + left_out + entry[-half:]
