"""How ``pytest -n auto --dist loadfile`` (the Makefile's run) shares the tests out.

pytest-xdist's ``loadfile`` keeps each test file on one worker, so its module-scoped
fixtures (a browser, a served case) are made once. Here the PostgreSQL tests of every
file are further kept together, on one worker, one at a time. Their schemas are apart
already (``conftest.fresh_schema``), but the server's advisory locks are not: every
store takes one schema lock on opening, so a test that holds a store's tables locked
(``test_locks``) would make another worker's command wait and print a notice that
its assertions don't expect.

The scheduler sees only node ids, not markers: a PostgreSQL test is one whose id says
``postgres`` (``[postgresql]`` parameters, ``test_postgres_...`` names), as all but
one short, in-process test of the ``postgres`` marker do.
"""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadFileScheduling

POSTGRES_GROUP = "postgres"


class PostgresTogether(LoadFileScheduling):  # type: ignore[misc]  # xdist is untyped
    """``loadfile``, with the PostgreSQL tests of all files as one more file."""

    def _split_scope(self, nodeid: str) -> str:
        if "postgres" in nodeid.lower():
            return POSTGRES_GROUP
        return str(super()._split_scope(nodeid))


# optionalhook: xdist may be installed but switched off (-p no:xdist).
@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> PostgresTogether | None:
    if config.getvalue("dist") != "loadfile":
        return None
    return PostgresTogether(config, log)
