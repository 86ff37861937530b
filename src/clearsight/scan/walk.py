"""Find every file under a source, without ever leaving it.

Folders are listed in name order so scans are repeatable. Links are never followed
out of the source: a link to a file inside the source is read through, anything else
(a link to a folder, outside the source, or to nothing) is reported as a skipped entry
with its reason. Pipes, sockets and devices are never opened (a pipe would hang the
scan); they are reported as skipped too, so every entry is accounted for.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileEntry:
    """A regular file to fingerprint (possibly reached through an in-source link)."""

    abs_path: str
    rel_path: str


@dataclass(frozen=True)
class SkippedEntry:
    """An entry that is recorded but not read, with the reason."""

    rel_path: str
    media_type: str
    reason: str


Entry = FileEntry | SkippedEntry


def source_root(path: Path) -> str:
    """The canonical name of the source a path denotes: its absolute, resolved form."""
    return str(path.resolve())


def walk_source(path: Path, exclude: frozenset[str] = frozenset()) -> Iterator[Entry]:
    """Yield every entry of the source at ``path`` (a folder, or a single file).

    Folders whose resolved path is in ``exclude`` (the case folder itself, when it lies
    inside the source) are passed over without a record.
    """
    root = Path(source_root(path))
    if not root.is_dir():
        yield FileEntry(str(root), root.name)
        return
    pending = [(str(root), "")]
    while pending:
        folder, rel_folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                children = sorted(listing, key=lambda child: child.name)
        except OSError as exc:
            yield SkippedEntry(
                rel_folder or ".", "inode/directory", f"cannot list folder: {exc.strerror}"
            )
            continue
        subfolders: list[tuple[str, str]] = []
        for child in children:
            rel = f"{rel_folder}/{child.name}" if rel_folder else child.name
            if child.is_symlink():
                yield _through_link(root, child.path, rel)
            elif child.is_dir(follow_symlinks=False):
                if child.path not in exclude:
                    subfolders.append((child.path, rel))
            elif child.is_file(follow_symlinks=False):
                yield FileEntry(child.path, rel)
            else:
                yield SkippedEntry(rel, _special_type(child.path), "not a regular file; not read")
        # Depth-first, in name order: push in reverse so the first name is popped first.
        pending.extend(reversed(subfolders))


def _through_link(root: Path, link: str, rel: str) -> Entry:
    target = Path(os.path.realpath(link))
    if not target.is_relative_to(root):
        return SkippedEntry(rel, "inode/symlink", "link points outside the source; not followed")
    if target.is_file():
        return FileEntry(link, rel)
    if target.is_dir():
        return SkippedEntry(rel, "inode/symlink", "link to a folder of the source; not followed")
    return SkippedEntry(rel, "inode/symlink", "link to nothing readable; not followed")


def _special_type(path: str) -> str:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "inode/x-unknown"
    if stat.S_ISFIFO(mode):
        return "inode/fifo"
    if stat.S_ISSOCK(mode):
        return "inode/socket"
    if stat.S_ISCHR(mode):
        return "inode/chardevice"
    if stat.S_ISBLK(mode):
        return "inode/blockdevice"
    return "inode/x-unknown"
