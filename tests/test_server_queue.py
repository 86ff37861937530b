"""The review queue as the server shows it: units in priority order, filters, paging."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clearsight import Case, __version__
from clearsight.media.sniff import MediaKind
from clearsight.review.accounts import Role
from clearsight.review.queue import (
    DecisionState,
    QueueFilter,
    QueuePosition,
    SeriesScope,
    UnitKind,
)
from clearsight.server.app import create_app
from clearsight.server.config import ServerConfig
from clearsight.store.interface import (
    Priority,
    ScannedFile,
    SeriesRecord,
    StackRecord,
    TriageResult,
)
from clearsight.store.sql import SqlCaseStore

from .conftest import empty_postgres, run_cli
from .server_support import (
    ACCOUNTS,
    DATABASES,
    HASHER,
    PASSWORD,
    SECOND_REVIEWER,
    Browser,
    Clock,
    ReviewCase,
    sign_in,
)

RANK = {"series": 0, "stack": 1, "item": 2}


def units(browser: Browser, query: str = "") -> list[dict[str, Any]]:
    answer = browser.get("/api/queue" + query)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["units"]
    return found


def names(found: list[dict[str, Any]]) -> list[str]:
    return [Path(unit["location"]).name for unit in found]


def test_the_queue_shows_series_and_stacks_as_units_in_priority_order(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER)
    found = units(browser)
    kinds = [(unit["kind"], unit["size"]) for unit in found]
    # Eight items: a series of two and a stack of two are one unit each.
    assert sorted(kinds) == sorted(
        [("series", 2), ("stack", 2), ("item", 1), ("item", 1), ("item", 1), ("item", 1)]
    )
    keys = [(-unit["score"], RANK[unit["kind"]], -unit["id"]) for unit in found]
    assert keys == sorted(keys)
    stack = next(unit for unit in found if unit["kind"] == "stack")
    assert stack["representative"] == case.items["stack-big.png"]  # the larger picture
    assert stack["link"] == f"/items/{case.items['stack-big.png']}"
    series = next(unit for unit in found if unit["kind"] == "series")
    assert series["label"] == "S-1" and series["link"] == "/series/1"
    # A flagged AI-generated picture comes after the camera-like and matched ones.
    assert names(found)[-1] == "prompted.png"
    page = browser.get("/queue").text
    rows = re.findall(r'<tr class="unit" data-href="([^"]+)"', page)
    assert rows == [unit["link"] for unit in found]
    assert page.count('src="/items/') == len(found)  # one blurred thumbnail per unit


@pytest.mark.parametrize("size", [1, 2, 4])
def test_pages_walk_the_whole_queue_forward_and_back(case: ReviewCase, size: int) -> None:
    browser = case.sign_in(Role.REVIEWER)
    everything = units(browser)
    walked: list[dict[str, Any]] = []
    answer = browser.get(f"/api/queue?limit={size}").json()
    assert answer["before"] is None
    while True:
        walked.extend(answer["units"])
        if answer["after"] is None:
            break
        answer = browser.get(f"/api/queue?limit={size}&after={answer['after']}").json()
    assert walked == everything
    last: list[dict[str, Any]] = answer["units"]
    back: list[dict[str, Any]] = []
    while answer["before"] is not None:
        answer = browser.get(f"/api/queue?limit={size}&before={answer['before']}").json()
        back = answer["units"] + back
    assert back + last == everything


def test_filters_by_bank_origin_series_and_assignment(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER)
    assert names(units(browser, "?bank=matched")) == ["matched.png"]
    assert "matched.png" not in names(units(browser, "?bank=unmatched"))
    assert names(units(browser, "?origin=ai-generated")) == ["prompted.png"]
    assert [u["kind"] for u in units(browser, "?series=in-series")] == ["series"]
    outside = units(browser, "?series=no-series")
    assert "series" not in {u["kind"] for u in outside} and len(outside) == 5
    inside = units(browser, "?series=1")
    assert sorted(names(inside)) == ["series-a.png", "series-b.png"]
    assert all(u["link"].endswith("?series=1") for u in inside)
    assert units(browser, "?assigned=me") == []
    supervisor = case.sign_in(Role.SUPERVISOR)
    given = supervisor.api(
        "POST",
        "/api/assignments",
        {"reviewer": browser.name, "item_id": case.items["stack-small.jpg"]},
    )
    assert given.json() == {"newly_assigned": 2}  # with its stack
    assert [u["kind"] for u in units(browser, "?assigned=me")] == ["stack"]
    for bad in ("?bank=maybe", "?series=some", "?state=later", "?origin=x", "?after=1_2"):
        assert browser.get("/api/queue" + bad).status_code in (400, 422), bad


def test_decided_and_undecided_follow_the_decisions(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER)
    everything = units(browser)
    assert units(browser, "?state=decided") == []
    assert len(units(browser, "?state=undecided")) == len(everything)
    lone = case.items["lone-a.png"]
    decided = browser.api(
        "POST",
        f"/api/items/{lone}/decisions",
        {"category": "0", "origin": "camera", "victim_identified": "unknown"},
    )
    assert decided.status_code == 201, decided.text
    assert names(units(browser, "?state=decided")) == ["lone-a.png"]
    assert "lone-a.png" not in names(units(browser, "?state=undecided"))
    # One member of the series decided: the series is still undecided as a unit.
    browser.api(
        "POST",
        f"/api/items/{case.items['series-a.png']}/decisions",
        {"category": "4", "origin": "camera", "victim_identified": "unknown"},
    )
    assert "series" in {u["kind"] for u in units(browser, "?state=undecided")}
    assert names(units(browser, "?series=1&state=undecided")) == ["series-b.png"]
    html = browser.get("/queue?state=decided").text
    assert "selected>decided</option>" in html


def test_item_pages_walk_the_same_queue_with_j_and_k_links(case: ReviewCase) -> None:
    browser = case.sign_in(Role.REVIEWER)
    order = units(browser, "?series=no-series")
    query = "?series=no-series"
    for index, unit in enumerate(order):
        page = browser.get(f"/items/{unit['representative']}{query}").text
        next_link = re.search(r'href="([^"]+)" id="next-unit"', page)
        previous_link = re.search(r'href="([^"]+)" id="previous-unit"', page)
        if index + 1 < len(order):
            assert next_link and next_link.group(1).startswith(
                f"/items/{order[index + 1]['representative']}?"
            )
        else:
            assert next_link is None
        if index:
            assert previous_link and f"/items/{order[index - 1]['representative']}" in (
                previous_link.group(1)
            )
        else:
            assert previous_link is None


def test_the_series_page_lists_its_units_with_blurred_thumbnails(case: ReviewCase) -> None:
    browser = case.sign_in(Role.AUDITOR)
    page = browser.get("/series/1")
    assert page.status_code == 200
    for name in ("series-a.png", "series-b.png"):
        item = case.items[name]
        assert f'src="/items/{item}/thumbnail"' in page.text
    assert "Assign the whole series" not in page.text  # auditors only read
    assert browser.get("/series/99").status_code == 404
    supervisor = case.sign_in(Role.SUPERVISOR)
    page = supervisor.get("/series/1")
    assert "Assign the whole series" in page.text
    given = supervisor.form("/series/1/assignment", {"reviewer": SECOND_REVIEWER})
    assert given.status_code == 303
    shown = supervisor.get(f"/items/{case.items['series-b.png']}").text
    assert f"Assigned to {SECOND_REVIEWER}" in shown


# The queue at scale: many units with tied scores, checked against a plain sort.


def synthetic_case(store: SqlCaseStore, count: int, seed: int) -> TriageResult:
    """``count`` items with few distinct scores (many ties), stacks and series among
    them, recorded as triage would."""
    rng = random.Random(seed)
    source = store.open_source("/synthetic")
    scan = store.start_scan(["/synthetic"])
    files = [
        ScannedFile(path=f"f{n:05d}.jpg", media_type="image/jpeg", kind=MediaKind.IMAGE)
        for n in range(count)
    ]
    store.record_files(scan, [(source, f) for f in files])
    ids = list(range(1, count + 1))
    rng.shuffle(ids)
    scores = [90.0, 70.0, 70.0, 55.5, 40.0, 15.0]
    priorities = {i: Priority(rng.choice(scores), ("synthetic",)) for i in ids}
    stacks, series = [], []
    cursor = 0
    for _ in range(count // 20):
        members = tuple(sorted(ids[cursor : cursor + 3]))
        cursor += 3
        stacks.append(StackRecord(members, members[0], Priority(rng.choice(scores), ("s",))))
    for n in range(count // 40):
        members = tuple(sorted(ids[cursor : cursor + 4]))
        cursor += 4
        # A series that takes in one of the stacks too.
        if n % 3 == 0 and stacks:
            members = tuple(sorted({*members, *stacks[n].members}))
        series.append(
            SeriesRecord(f"S-{n + 1}", None, None, members, Priority(rng.choice(scores), ("r",)))
        )
    result = TriageResult(tuple(stacks), tuple(series), (), priorities)
    store.record_triage(result)
    return result


@pytest.fixture(params=DATABASES)
def big_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlCaseStore]:
    if request.param == "sqlite":
        store = SqlCaseStore.open_folder(tmp_path / "case", __version__)
    else:
        store = SqlCaseStore.open_url(empty_postgres(), "test-case", __version__)
    yield store
    store.close()


def test_keyset_pages_over_many_tied_units_match_a_plain_sort(big_store: SqlCaseStore) -> None:
    synthetic_case(big_store, 1200, seed=3)
    # The units the store's own queue reports, in the server's order.
    reference = sorted(
        ((entry.kind, entry.id, entry.score) for entry in big_store.queue()),
        key=lambda unit: (-unit[2], RANK[unit[0]], -unit[1]),
    )
    queue = big_store.review_queue()
    walked: list[tuple[str, int, float]] = []
    page = queue.page(QueueFilter(), limit=37)
    while True:
        walked.extend((unit.kind.value, unit.id, unit.score) for unit in page.units)
        if page.after is None:
            break
        page = queue.page(QueueFilter(), after=page.after, limit=37)
    assert walked == reference
    # Backwards from the end gives the same units.
    back: list[tuple[str, int, float]] = []
    position: QueuePosition | None = QueuePosition(-1.0, UnitKind.ITEM, 0)
    while position is not None:
        page = queue.page(QueueFilter(), before=position, limit=50)
        back = [(u.kind.value, u.id, u.score) for u in page.units] + back
        position = page.before
    assert back == reference
    # A series opens as its stacks and lone items.
    inside = queue.page(QueueFilter(series_id=1), limit=200).units
    assert {unit.kind for unit in inside} <= {UnitKind.STACK, UnitKind.ITEM}
    assert sum(unit.size for unit in inside) == queue.unit(UnitKind.SERIES, 1).size  # type: ignore[union-attr]
    only_series = queue.page(QueueFilter(series_scope=SeriesScope.IN_SERIES), limit=200).units
    assert [u.kind for u in only_series] == [UnitKind.SERIES] * len(only_series)
    undecided = queue.page(QueueFilter(state=DecisionState.UNDECIDED), limit=5).units
    assert [(u.kind.value, u.id, u.score) for u in undecided] == reference[:5]


def test_the_cli_and_the_web_list_a_tied_queue_in_the_same_order(tmp_path: Path) -> None:
    """``clearsight queue`` and the server's queue are one queue: on a case where many
    units share a score, both give the same units in the same order, and that order is
    the documented one (score, then series, stack, item, then the higher id first)."""
    store = SqlCaseStore.open_folder(tmp_path / "case", __version__)
    try:
        synthetic_case(store, 300, seed=5)
        store.accounts(HASHER).add(ACCOUNTS[Role.REVIEWER], Role.REVIEWER, PASSWORD, actor="t")
        app = create_app(Case(store), ServerConfig(clock=Clock(), password_hasher=HASHER))
        browser = sign_in(app, ACCOUNTS[Role.REVIEWER], PASSWORD)
        web: list[tuple[str, int]] = []
        answer = browser.get("/api/queue?limit=23").json()
        while True:
            web.extend((unit["kind"], unit["id"]) for unit in answer["units"])
            if answer["after"] is None:
                break
            answer = browser.get(f"/api/queue?limit=23&after={answer['after']}").json()
        browser.close()
    finally:
        store.close()
    done = run_cli("queue", "--case", tmp_path / "case", "--json")
    assert done.returncode == 0, done.stderr
    listed = [json.loads(line) for line in done.stdout.splitlines()]
    cli = [(entry["kind"], entry["id"]) for entry in listed]
    assert cli == web
    scores = [entry["score"] for entry in listed]
    assert len(scores) - len(set(scores)) > 100  # the case is mostly ties
    keys = [(-entry["score"], RANK[entry["kind"]], -entry["id"]) for entry in listed]
    assert keys == sorted(keys)
