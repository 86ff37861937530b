"""The review server in a real browser: Debian's Chromium driven by Playwright.

A real ``clearsight serve`` process on loopback serves a case scanned from generated
landscapes. The reviewer signs in (the login page names the case), walks the queue with
the keyboard, reveals a picture by holding the button while the exposure meter counts,
decides with a number key, takes the decision back with ``u`` and decides again, and
runs into the day's exposure budget; the auditor then finds those acts in the audit
log; and a reviewer is turned away from an administrator's page. Screenshots go to
``test-artifacts/`` (not committed) so that CI keeps what the browser showed.

The browser is Debian's Chromium, never a download (see ``browser_support``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from clearsight.robustness.landscapes import render_landscape
from clearsight.store.sql import SqlCaseStore

from .browser_support import ARTIFACTS
from .conftest import run_cli
from .server_support import serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "benign browser passphrase"
# Seconds of unblurred viewing a reviewer has in these tests: one short hold uses it up.
BUDGET_S = 2


@dataclass(frozen=True)
class Served:
    base: str
    case: Path


def _add_user(case: Path, name: str, role: str) -> None:
    added = run_cli(
        "user", "add", "--case", case, name, "--role", role, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("browser")
    evidence = root / "evidence"
    evidence.mkdir()
    for seed in range(4):
        landscape = Image.fromarray(render_landscape((61, seed), 480, 320))
        landscape.save(evidence / f"landscape-{seed}.png")
    case = root / "case"
    scanned = run_cli("scan", evidence, "--case", case, "--json")
    assert scanned.returncode == 0, scanned.stderr
    for name, role in (
        ("rita.reviewer", "reviewer"),
        ("aud.auditor", "auditor"),
        ("ada.admin", "admin"),
    ):
        _add_user(case, name, role)
    store = SqlCaseStore.open_folder(case, "test")
    store.review_settings().set("daily_exposure_budget_s", BUDGET_S, actor="test")
    store.close()
    with serving(case, root / "server.log") as base:
        yield Served(base, case)


@pytest.fixture
def page(browser: Browser, served: Served, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(base_url=served.base)
    opened = context.new_page()
    outside: list[str] = []
    opened.on(
        "request",
        lambda sent: outside.append(sent.url) if not sent.url.startswith(served.base) else None,
    )
    try:
        yield opened
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=True)
        context.close()
    assert outside == [], f"the page reached beyond the server: {outside}"


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Page, name: str) -> None:
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def meter_text(page: Page) -> str:
    text: str = page.locator("#exposure-seconds").inner_text()
    return text


def seconds_of(shown: str) -> int:
    """The meter's figure in seconds ("3 s", "1 min 05 s")."""
    parts = shown.split()
    if len(parts) == 2:
        return int(parts[0])
    return 60 * int(parts[0]) + int(parts[2])


def test_a_reviewer_works_the_queue_with_the_keyboard_reveals_and_decides(
    page: Page, served: Served
) -> None:
    p = page
    p.goto("/login")
    assert "to the case case" in p.locator("#login-case").inner_text()
    shot(p, "login")
    sign_in(p, "rita.reviewer")
    p.wait_for_url("**/queue**")
    p.wait_for_load_state("networkidle")  # thumbnails, for the shot
    shot(p, "queue")
    rows = p.locator("tr.unit")
    assert rows.count() == 4

    # The queue by keyboard: j chooses the first row, Enter opens it.
    p.keyboard.press("j")
    assert "current" in (rows.nth(0).get_attribute("class") or "")
    p.keyboard.press("Enter")
    p.wait_for_url("**/items/**")
    preview = p.locator("#preview")
    assert "/preview" in (preview.get_attribute("src") or "")
    assert "blurred" in (preview.get_attribute("alt") or "")
    # The page is named after the file, and its size reads in kB, not bytes.
    title = p.locator("#item-title").inner_text()
    assert title.startswith("landscape-") and title.endswith(".png")
    assert p.title().startswith(title)
    assert " kB" in p.locator("#file-size").inner_text()
    assert meter_text(p) == "0 s"
    shot(p, "item-blurred")

    # Hold to reveal: the unblurred picture shows only while the button is held.
    images: list[str] = []
    p.on("request", lambda sent: images.append(sent.url) if "/reveals/" in sent.url else None)
    button = p.locator("#reveal-button")
    button.hover()
    p.mouse.down()
    # Selectors, not page scripts: the strict CSP forbids evaluating strings.
    p.wait_for_selector("#preview[src*='/reveals/']")
    # The viewport only: a full-page shot resizes the page, and the pointer leaving the
    # button as it moves would end the hold.
    # The meter moves while the picture is shown, not only on the next page.
    deadline = time.monotonic() + BUDGET_S + 0.5
    counted = []
    while time.monotonic() < deadline:
        counted.append(seconds_of(meter_text(p)))
        time.sleep(0.2)
    assert counted[-1] >= BUDGET_S and counted == sorted(counted), counted
    shot(p, "item-revealed", full_page=False)
    p.mouse.up()
    p.wait_for_selector("#preview[src$='/preview']")
    assert any(url.endswith("/image") for url in images)
    time.sleep(0.5)  # the end of the reveal is posted as the button is let go
    # What the meter settled on is what the server recorded: a fresh page says the same.
    settled = meter_text(p)
    assert seconds_of(settled) >= BUDGET_S
    p.reload()
    assert meter_text(p) == settled

    # Decide with a number key: the server moves on to the next picture, and the decision
    # records that this reviewer saw the first one unblurred.
    decided = p.url
    p.keyboard.press("0")
    p.wait_for_url(lambda url: url != decided)
    # A key pressed by mistake: the next page offers to take it back, and u does.
    banner = p.locator("#undo-banner")
    assert "Category 0" in banner.inner_text() and title in banner.inner_text()
    shot(p, "undo-offered")
    p.keyboard.press("u")
    p.wait_for_url(lambda url: url.split("?")[0] == decided.split("?")[0])
    assert "Not decided yet" in p.locator("#decision-status").inner_text()
    assert p.locator("#undo-banner").count() == 0
    p.keyboard.press("1")
    p.wait_for_url(lambda url: url != decided)
    following = p.url
    assert "/items/" in following
    p.goto(decided)
    history = p.locator("table.history tbody tr").first.inner_text()
    assert "rita.reviewer" in history and "yes" in history.split("\t")
    shot(p, "item-decided")

    # The next picture: the day's budget is spent, so the reveal is refused, kindly.
    p.goto(following)
    p.keyboard.down("r")
    notice = p.wait_for_selector("#notice")
    p.keyboard.up("r")
    assert notice is not None and "today's limit" in notice.inner_text()
    assert "/preview" in (p.locator("#preview").get_attribute("src") or "")
    shot(p, "reveal-refused")

    # An administrator's page is not a reviewer's.
    answer = p.goto("/admin/users")
    assert answer is not None and answer.status == 403
    shot(p, "reviewer-refused-admin")


def test_the_auditor_reads_the_reveals_and_decisions_in_the_audit_log(
    page: Page, served: Served
) -> None:
    p = page
    # The reviewer's acts from the test before, or made here if it ran alone.
    review = run_cli("audit", "list", "--case", served.case, "--json")
    assert review.returncode == 0, review.stderr
    sign_in(p, "aud.auditor")
    p.goto("/audit")
    text = p.locator("main").inner_text()
    shot(p, "audit-log")
    assert "login" in text and "aud.auditor" in text
    if '"reveal"' in review.stdout:
        assert "reveal" in text and "decision" in text and "rita.reviewer" in text
    verify = p.goto("/audit/verify")
    assert verify is not None and verify.status == 200
    assert "intact" in p.locator("main").inner_text().lower()
    p.goto("/supervise/decisions")
    shot(p, "decisions")
    # An auditor reads; there is no decision form for them.
    p.goto("/queue")
    first = p.locator("tr.unit a").first.get_attribute("href")
    assert first is not None
    p.goto(first)
    assert p.locator("#decision-form").count() == 0
    assert p.locator("#reveal-button").count() == 0


def test_the_admin_sets_how_long_a_decision_can_be_taken_back(page: Page, served: Served) -> None:
    p = page
    sign_in(p, "ada.admin")
    p.goto("/admin/settings")
    row = p.locator("tr", has_text="undo_window_s")
    assert row.locator("td").nth(1).inner_text() == "10"
    row.locator("input[name=value]").fill("20")
    row.locator("button[type=submit]").click()
    p.wait_for_load_state("load")
    row = p.locator("tr", has_text="undo_window_s")
    assert row.locator("td").nth(1).inner_text() == "20"
    shot(p, "admin-settings")
    p.goto("/admin/users")
    shot(p, "admin-users")
    settings = run_cli("audit", "list", "--case", served.case, "--json")
    assert "undo_window_s" in settings.stdout
