"""The matching service: HMA 2.x's HTTP API over clearsight's banks, with API keys.

``clearsight api`` serves it (see :mod:`clearsight.cli.api_command`). Platforms call it
on every upload; clients written for Meta's Hasher-Matcher-Actioner work unchanged but
for the ``Authorization`` header. The service is a shell: the banks, their live index
and the keys are the library's (:class:`clearsight.case.CaseBanks`).
"""

from clearsight.api.app import create_app
from clearsight.api.config import ApiConfig

__all__ = ["ApiConfig", "create_app"]
