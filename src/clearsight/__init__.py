"""clearsight: offline triage of image evidence.

The core is this typed library; the ``clearsight`` command is a thin shell over it.
"""

from clearsight.errors import ClearsightError, DependencyError, UserError

__version__ = "0.1.0"

__all__ = ["ClearsightError", "DependencyError", "UserError", "__version__"]
