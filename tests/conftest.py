"""Shared fixtures: the shared test data folder, generated images, and the case stores."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, make_url, text

from clearsight import __version__
from clearsight.store.sql import SqlCaseStore

# Shared fixtures: the review server's (a scanned benign case, accounts of every role)
# and the browser tests' (Debian's Chromium); and, where pytest-xdist is installed, how
# its workers share the tests out.
pytest_plugins = ["tests.server_support", "tests.browser_support"]
if importlib.util.find_spec("xdist") is not None:
    pytest_plugins.append("tests.xdist_support")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CLEARSIGHT = Path(sys.executable).with_name("clearsight")


@pytest.fixture(autouse=True)
def clearsight_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own CLEARSIGHT_HOME, so no test touches the user's banks."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CLEARSIGHT_HOME", str(home))
    monkeypatch.delenv("CLEARSIGHT_BANKS", raising=False)
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skipped when absent, unless CI requires it."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CLEARSIGHT_REQUIRE_SHARED") == "1":
            pytest.fail(f"CLEARSIGHT_REQUIRE_SHARED=1 but {SHARED_DATA} is missing")
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


def photo_like(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A benign generated picture with enough structure for a high-quality PDQ hash."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((6, 8, 3)) * 255
    image = Image.fromarray(coarse.astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    grain = rng.normal(0, 6, (size[1], size[0], 3))
    return Image.fromarray(np.clip(np.asarray(image) + grain, 0, 255).astype(np.uint8))


def run_cli(
    *args: str | Path,
    timeout: float = 240,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``clearsight`` command the way a user would (``env`` adds to
    the environment; ``input``, if given, is its standard input)."""
    return subprocess.run(
        [str(CLEARSIGHT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **env} if env else None,
        input=input,
    )


def postgres_url() -> str:
    url = os.environ.get("CLEARSIGHT_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CLEARSIGHT_REQUIRE_POSTGRES") == "1":
            pytest.fail("CLEARSIGHT_REQUIRE_POSTGRES=1 but CLEARSIGHT_TEST_POSTGRES_URL is unset")
        pytest.skip("no PostgreSQL server: set CLEARSIGHT_TEST_POSTGRES_URL to run these")
    return url


# This test process's mark on the PostgreSQL schemas it makes. Each process of a run
# (each pytest-xdist worker) and each run of other people on the same server keeps its
# tables in schemas of its own, so that none empties another's tables mid-test.
SCHEMA_MARK = f"p{os.getpid()}"
_schemas_made: set[str] = set()


def fresh_schema(name: str) -> str:
    """The test server's URL with this process's schema ``name`` (made empty) alone on
    its search path; the schema is dropped when the test session ends."""
    url = make_url(postgres_url())
    schema = f"{name}_{SCHEMA_MARK}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    _schemas_made.add(schema)
    private = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return private.render_as_string(hide_password=False)


def empty_postgres() -> str:
    """The test server's URL on an empty schema of this process, so each test starts clean."""
    return fresh_schema("test")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the schemas this process made (a run that is killed leaves them behind)."""
    if not _schemas_made:
        return
    engine = create_engine(postgres_url())
    with engine.begin() as connection:
        for schema in sorted(_schemas_made):
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    _schemas_made.clear()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def case_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlCaseStore]:
    """A fresh case store on each real database engine."""
    if request.param == "sqlite":
        store = SqlCaseStore.open_folder(tmp_path / "case", __version__)
    else:
        store = SqlCaseStore.open_url(empty_postgres(), "test-case", __version__)
    yield store
    store.close()


@pytest.fixture
def report_case(case_store: SqlCaseStore) -> SqlCaseStore:
    """The report tests' fixed benign case (``test_report_case.build_case``) in a fresh
    store on each database."""
    from .test_report_case import build_case

    build_case(case_store)
    return case_store
