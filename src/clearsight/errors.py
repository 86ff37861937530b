"""The one exception hierarchy of clearsight.

Each class maps to an exit status so that every shell reports failures the same way:
a user mistake exits 2, a failing dependency exits 3. A bad media file is never an
exception that escapes a scan; it becomes a per-item error row instead.
"""


class ClearsightError(Exception):
    """Base class of every error clearsight raises on purpose."""

    exit_code = 1


class UserError(ClearsightError):
    """The user asked for something impossible: a missing path, a bad option value."""

    exit_code = 2


class DependencyError(ClearsightError):
    """Something clearsight relies on failed: the database, a library, the disk."""

    exit_code = 3


class CaseStoreError(DependencyError):
    """The case store could not be opened, migrated or written."""


class StoreBusyError(DependencyError):
    """Another command held a store's lock for longer than clearsight waits."""


class StoreUnavailableError(DependencyError):
    """A store could not be used: its disk is full, it is not writable, or its server
    went away."""
