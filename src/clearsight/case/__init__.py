"""The one core object: :class:`Case`, opened from a folder or a database URL.

The shells (the CLI, the demo, the review server) build a ``Case`` and call it; they
wire no stages together themselves. See :mod:`clearsight.case.core`.
"""

from clearsight.case.banks import CaseBanks
from clearsight.case.config import CASE_CONFIG
from clearsight.case.core import Case, IngestReport
from clearsight.case.opening import NotADatabaseUrl

__all__ = ["CASE_CONFIG", "Case", "CaseBanks", "IngestReport", "NotADatabaseUrl"]
