"""clearsight: offline triage of image evidence.

The core is this typed library; the ``clearsight`` command is a thin shell over it.
:class:`Case` is the one object every shell builds: open one from a case folder or a
database URL and call one method per stage (scan, match, triage, origin, export).
It is imported on first use, so ``import clearsight`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clearsight.errors import ClearsightError, DependencyError, UserError

if TYPE_CHECKING:
    from clearsight.case import Case, IngestReport

__version__ = "0.1.0"

__all__ = [
    "Case",
    "ClearsightError",
    "DependencyError",
    "IngestReport",
    "UserError",
    "__version__",
]

_LAZY = {"Case", "IngestReport"}


def __getattr__(name: str) -> Any:
    # The case pulls in the store, SQLAlchemy and numpy: only when someone asks for it.
    if name in _LAZY:
        from clearsight import case

        return getattr(case, name)
    raise AttributeError(f"module 'clearsight' has no attribute {name!r}")
