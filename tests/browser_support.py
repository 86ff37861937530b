"""Debian's Chromium for the browser tests, driven by Playwright; never a download.

``CLEARSIGHT_CHROMIUM`` or ``chromium`` on the PATH (Debian's ``chromium`` package).
Without a browser, or without Playwright, the browser tests are skipped, unless
``CLEARSIGHT_REQUIRE_BROWSER=1`` (as in CI), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .conftest import REPO

if TYPE_CHECKING:
    # At run time Playwright is imported inside the fixture, so that without it the
    # browser tests skip rather than fail to collect.
    from playwright.sync_api import Browser

ARTIFACTS = REPO / "test-artifacts"


def _unavailable(reason: str) -> None:
    if os.environ.get("CLEARSIGHT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CLEARSIGHT_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    found = os.environ.get("CLEARSIGHT_CHROMIUM") or shutil.which("chromium")
    if found and Path(found).exists():
        return found
    _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
        raise
    executable = chromium_path()
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()
