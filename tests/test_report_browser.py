"""The HTML case report in a real browser: Debian's Chromium, driven by Playwright, opens
the file as an analyst would (``file://``), takes a screenshot and prints it to PDF.

This checks what reading the markup cannot: that the browser asks for nothing but the
document itself, that the page's Content Security Policy blocks nothing the page uses
(Chromium reports each violation as a console error), that pictures appear only as
blurred ``data:`` thumbnails and only when asked for, and that the page renders and
prints. The PNG and PDF go to ``test-artifacts/`` (not committed) for CI to keep.

The browser is never downloaded: ``CLEARSIGHT_CHROMIUM`` or ``/usr/bin/chromium``
(Debian's ``chromium`` package). Without one the tests are skipped, unless CI sets
``CLEARSIGHT_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from clearsight import __version__
from clearsight.report import LOCAL_USER, ExportRequest, ReportFormat, write_report
from clearsight.store.sql import SqlCaseStore

from .browser_support import ARTIFACTS
from .conftest import run_cli
from .test_report_case import MARKUP_NAME, NOW, build_case
from .test_report_html import _picture_case

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PICTURES = 3
_PDF_PAGE = re.compile(rb"/Type\s*/Page\b")  # a page object, not the /Pages tree
_NOT_A_FILE = re.compile(r"^(?!file:)")


@dataclass(frozen=True)
class Rendered:
    """What the browser did with one HTML file."""

    requests: list[str]  # every URL it asked for, the document's own included
    console: list[str]  # "type: text" of every console message
    errors: list[str]  # uncaught page errors
    images: list[str]  # the src of each <img>
    loaded: list[int]  # each <img>'s natural width: 0 where it was not drawn
    title: str
    text: str
    png: bytes
    pdf: bytes


def render(browser: Browser, document: Path, name: str) -> Rendered:
    """Open ``document`` in a fresh context, then save its PNG and PDF as ``name``."""
    context = browser.new_context()
    # Whatever a broken report asked for is still heard below, but never leaves here.
    context.route(_NOT_A_FILE, lambda route: route.abort())
    page = context.new_page()
    requests: list[str] = []
    console: list[str] = []
    errors: list[str] = []
    page.on("request", lambda sent: requests.append(sent.url))
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(document.as_uri(), wait_until="load")
        pictures = page.locator("img")
        images = [str(pictures.nth(n).get_attribute("src")) for n in range(pictures.count())]
        loaded = [
            int(pictures.nth(n).evaluate("picture => picture.naturalWidth"))
            for n in range(pictures.count())
        ]
        ARTIFACTS.mkdir(exist_ok=True)
        png = page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        pdf = page.pdf(path=str(ARTIFACTS / f"{name}.pdf"), format="A4", print_background=True)
        return Rendered(
            requests,
            console,
            errors,
            images,
            loaded,
            page.title(),
            page.inner_text("body"),
            png,
            pdf,
        )
    finally:
        context.close()


def assert_printed(rendered: Rendered) -> None:
    assert rendered.pdf.startswith(b"%PDF-")
    assert len(_PDF_PAGE.findall(rendered.pdf)) >= 1
    shot = Image.open(io.BytesIO(rendered.png))
    assert shot.format == "PNG"
    assert shot.width >= 600 and shot.height >= 600
    colours = shot.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 16  # text, tables and charts, not a blank


def assert_self_contained(rendered: Rendered, document: Path) -> None:
    assert rendered.requests == [document.as_uri()]  # the file itself, and nothing else
    assert [m for m in rendered.console if "Content Security Policy" in m] == []
    assert rendered.console == [] and rendered.errors == []


def test_the_case_report_renders_and_prints_with_nothing_loaded(
    browser: Browser, tmp_path: Path
) -> None:
    store = SqlCaseStore.open_folder(tmp_path / "case", __version__)
    try:
        build_case(store)
        document = tmp_path / "report.html"
        with document.open("wb") as out:
            write_report(
                store,
                ExportRequest(ReportFormat.HTML),
                out,
                actor="test",
                permission=LOCAL_USER,
                now=NOW,
            )
    finally:
        store.close()
    rendered = render(browser, document, "report-case")
    assert_self_contained(rendered, document)
    assert rendered.images == []
    assert rendered.title == "clearsight case report: test-case"
    assert "Case report: test-case" in rendered.text
    assert MARKUP_NAME in rendered.text  # a hostile file name is shown, not parsed
    assert_printed(rendered)


@pytest.mark.parametrize("thumbnails", ["none", "blurred"])
def test_thumbnails_are_data_uris_and_only_when_asked_for(
    browser: Browser, tmp_path: Path, thumbnails: str
) -> None:
    case = tmp_path / "case"
    store = SqlCaseStore.open_folder(case, __version__)
    try:
        _picture_case(store, tmp_path / "evidence", PICTURES)
    finally:
        store.close()
    document = tmp_path / f"report-{thumbnails}.html"
    made = run_cli(
        "report", "--case", case, "--format", "html", "--thumbnails", thumbnails,
        "--out", document,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    rendered = render(browser, document, f"report-thumbnails-{thumbnails}")
    # data: pictures are drawn from the document's own bytes: no request for any of them.
    assert_self_contained(rendered, document)
    if thumbnails == "none":
        assert rendered.images == []
        assert "this report holds no pictures" in rendered.text
    else:
        assert len(rendered.images) == PICTURES
        assert all(src.startswith("data:image/jpeg;base64,") for src in rendered.images)
        assert all(width > 0 for width in rendered.loaded)  # drawn, not blocked
        assert "blurred greyscale thumbnails" in rendered.text
    assert_printed(rendered)


def test_a_policy_violation_or_a_request_would_be_seen(browser: Browser, tmp_path: Path) -> None:
    """The listeners the tests above rely on hear what they listen for: a page under the
    report's own policy that uses an inline style and an outside picture."""
    store = SqlCaseStore.open_folder(tmp_path / "case", __version__)
    try:
        build_case(store)
        buffer = io.BytesIO()
        request = ExportRequest(ReportFormat.HTML)
        write_report(store, request, buffer, actor="test", permission=LOCAL_USER, now=NOW)
    finally:
        store.close()
    (policy,) = re.findall(
        r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', buffer.getvalue().decode()
    )
    document = tmp_path / "hostile.html"
    document.write_text(
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        f'content="{policy}"><title>hostile</title></head><body>'
        '<p style="color: red">inline style</p>'
        '<img src="https://example.invalid/picture.png" alt="outside picture">'
        "</body></html>",
        encoding="utf-8",
    )
    rendered = render(browser, document, "report-policy-control")
    violations = [m for m in rendered.console if "Content Security Policy" in m]
    assert any("inline style" in m for m in violations), rendered.console
    assert any("example.invalid" in m for m in violations), rendered.console
    # Even a request that the policy then blocks is heard.
    assert rendered.requests == [document.as_uri(), "https://example.invalid/picture.png"]
    assert rendered.loaded == [0]
