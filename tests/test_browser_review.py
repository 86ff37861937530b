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

import pytest
from PIL import Image

from clearsight.robustness.landscapes import render_landscape
from clearsight.store.sql import SqlCaseStore

from .browser_support import ARTIFACTS
from .conftest import run_cli
from .server_support import serving

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
def page(browser: object, served: Served, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(base_url=served.base)  # type: ignore[attr-defined]
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


def shot(page: object, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)  # type: ignore[attr-defined]


def sign_in(page: object, name: str) -> None:
    page.goto("/login")  # type: ignore[attr-defined]
    page.fill("input[name=name]", name)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_load_state("load")  # type: ignore[attr-defined]


def meter_text(page: object) -> str:
    text: str = page.locator("#exposure-seconds").inner_text()  # type: ignore[attr-defined]
    return text


def seconds_of(shown: str) -> int:
    """The meter's figure in seconds ("3 s", "1 min 05 s")."""
    parts = shown.split()
    if len(parts) == 2:
        return int(parts[0])
    return 60 * int(parts[0]) + int(parts[2])


def test_a_reviewer_works_the_queue_with_the_keyboard_reveals_and_decides(
    page: object, served: Served
) -> None:
    p = page  # the Playwright page; typed loosely, as Playwright ships no stubs for mypy
    p.goto("/login")  # type: ignore[attr-defined]
    assert "to the case case" in p.locator("#login-case").inner_text()  # type: ignore[attr-defined]
    shot(p, "login")
    sign_in(p, "rita.reviewer")
    p.wait_for_url("**/queue**")  # type: ignore[attr-defined]
    p.wait_for_load_state("networkidle")  # type: ignore[attr-defined]  # thumbnails, for the shot
    shot(p, "queue")
    rows = p.locator("tr.unit")  # type: ignore[attr-defined]
    assert rows.count() == 4

    # The queue by keyboard: j chooses the first row, Enter opens it.
    p.keyboard.press("j")  # type: ignore[attr-defined]
    assert "current" in (rows.nth(0).get_attribute("class") or "")
    p.keyboard.press("Enter")  # type: ignore[attr-defined]
    p.wait_for_url("**/items/**")  # type: ignore[attr-defined]
    preview = p.locator("#preview")  # type: ignore[attr-defined]
    assert "/preview" in (preview.get_attribute("src") or "")
    assert "blurred" in (preview.get_attribute("alt") or "")
    # The page is named after the file, and its size reads in kB, not bytes.
    title = p.locator("#item-title").inner_text()  # type: ignore[attr-defined]
    assert title.startswith("landscape-") and title.endswith(".png")
    assert p.title().startswith(title)  # type: ignore[attr-defined]
    assert " kB" in p.locator("#file-size").inner_text()  # type: ignore[attr-defined]
    assert meter_text(p) == "0 s"
    shot(p, "item-blurred")

    # Hold to reveal: the unblurred picture shows only while the button is held.
    images: list[str] = []
    p.on("request", lambda sent: images.append(sent.url) if "/reveals/" in sent.url else None)  # type: ignore[attr-defined]
    button = p.locator("#reveal-button")  # type: ignore[attr-defined]
    button.hover()
    p.mouse.down()  # type: ignore[attr-defined]
    # Selectors, not page scripts: the strict CSP forbids evaluating strings.
    p.wait_for_selector("#preview[src*='/reveals/']")  # type: ignore[attr-defined]
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
    p.mouse.up()  # type: ignore[attr-defined]
    p.wait_for_selector("#preview[src$='/preview']")  # type: ignore[attr-defined]
    assert any(url.endswith("/image") for url in images)
    time.sleep(0.5)  # the end of the reveal is posted as the button is let go
    # What the meter settled on is what the server recorded: a fresh page says the same.
    settled = meter_text(p)
    assert seconds_of(settled) >= BUDGET_S
    p.reload()  # type: ignore[attr-defined]
    assert meter_text(p) == settled

    # Decide with a number key: the server moves on to the next picture, and the decision
    # records that this reviewer saw the first one unblurred.
    decided = p.url  # type: ignore[attr-defined]
    p.keyboard.press("0")  # type: ignore[attr-defined]
    p.wait_for_url(lambda url: url != decided)  # type: ignore[attr-defined]
    # A key pressed by mistake: the next page offers to take it back, and u does.
    banner = p.locator("#undo-banner")  # type: ignore[attr-defined]
    assert "Category 0" in banner.inner_text() and title in banner.inner_text()
    shot(p, "undo-offered")
    p.keyboard.press("u")  # type: ignore[attr-defined]
    p.wait_for_url(lambda url: url.split("?")[0] == decided.split("?")[0])  # type: ignore[attr-defined]
    assert "Not decided yet" in p.locator("#decision-status").inner_text()  # type: ignore[attr-defined]
    assert p.locator("#undo-banner").count() == 0  # type: ignore[attr-defined]
    p.keyboard.press("1")  # type: ignore[attr-defined]
    p.wait_for_url(lambda url: url != decided)  # type: ignore[attr-defined]
    following = p.url  # type: ignore[attr-defined]
    assert "/items/" in following
    p.goto(decided)  # type: ignore[attr-defined]
    history = p.locator("table.history tbody tr").first.inner_text()  # type: ignore[attr-defined]
    assert "rita.reviewer" in history and "yes" in history.split("\t")
    shot(p, "item-decided")

    # The next picture: the day's budget is spent, so the reveal is refused, kindly.
    p.goto(following)  # type: ignore[attr-defined]
    p.keyboard.down("r")  # type: ignore[attr-defined]
    notice = p.wait_for_selector("#notice")  # type: ignore[attr-defined]
    p.keyboard.up("r")  # type: ignore[attr-defined]
    assert "today's limit" in notice.inner_text()
    assert "/preview" in (p.locator("#preview").get_attribute("src") or "")  # type: ignore[attr-defined]
    shot(p, "reveal-refused")

    # An administrator's page is not a reviewer's.
    answer = p.goto("/admin/users")  # type: ignore[attr-defined]
    assert answer.status == 403
    shot(p, "reviewer-refused-admin")


def test_the_auditor_reads_the_reveals_and_decisions_in_the_audit_log(
    page: object, served: Served
) -> None:
    p = page
    # The reviewer's acts from the test before, or made here if it ran alone.
    review = run_cli("audit", "list", "--case", served.case, "--json")
    assert review.returncode == 0, review.stderr
    sign_in(p, "aud.auditor")
    p.goto("/audit")  # type: ignore[attr-defined]
    text = p.locator("main").inner_text()  # type: ignore[attr-defined]
    shot(p, "audit-log")
    assert "login" in text and "aud.auditor" in text
    if '"reveal"' in review.stdout:
        assert "reveal" in text and "decision" in text and "rita.reviewer" in text
    verify = p.goto("/audit/verify")  # type: ignore[attr-defined]
    assert verify.status == 200
    assert "intact" in p.locator("main").inner_text().lower()  # type: ignore[attr-defined]
    p.goto("/supervise/decisions")  # type: ignore[attr-defined]
    shot(p, "decisions")
    # An auditor reads; there is no decision form for them.
    p.goto("/queue")  # type: ignore[attr-defined]
    first = p.locator("tr.unit a").first.get_attribute("href")  # type: ignore[attr-defined]
    p.goto(first)  # type: ignore[attr-defined]
    assert p.locator("#decision-form").count() == 0  # type: ignore[attr-defined]
    assert p.locator("#reveal-button").count() == 0  # type: ignore[attr-defined]


def test_the_admin_sets_how_long_a_decision_can_be_taken_back(page: object, served: Served) -> None:
    p = page
    sign_in(p, "ada.admin")
    p.goto("/admin/settings")  # type: ignore[attr-defined]
    row = p.locator("tr", has_text="undo_window_s")  # type: ignore[attr-defined]
    assert row.locator("td").nth(1).inner_text() == "10"
    row.locator("input[name=value]").fill("20")
    row.locator("button[type=submit]").click()
    p.wait_for_load_state("load")  # type: ignore[attr-defined]
    row = p.locator("tr", has_text="undo_window_s")  # type: ignore[attr-defined]
    assert row.locator("td").nth(1).inner_text() == "20"
    shot(p, "admin-settings")
    p.goto("/admin/users")  # type: ignore[attr-defined]
    shot(p, "admin-users")
    settings = run_cli("audit", "list", "--case", served.case, "--json")
    assert "undo_window_s" in settings.stdout
