"""The scan on a real Ray cluster: the same case as a local scan, whatever fails.

One two-node cluster (a head and a worker node, one CPU each, on 127.0.0.1) serves
the whole module: Ray takes many seconds to start on a small machine. The test that
loses the worker node runs last, since the cluster has one node from then on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from pebble import ProcessExpired
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from clearsight.case import Case
from clearsight.scan import ScanOptions, ray_batch, ray_executor
from clearsight.scan.ray_executor import RayExecutor
from clearsight.scan.work import FailureKind, UnitFailure

from .conftest import CLEARSIGHT, photo_like, run_cli
from .private_schema import private_postgres
from .ray_cluster import CLUSTER_ENV, RayCluster, driver_env, start_cluster

FILES = 36  # pictures, plus a note and a broken JPEG


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    started = start_cluster()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for index in range(FILES):
        folder = root / f"folder-{index % 3}"
        folder.mkdir(exist_ok=True)
        photo_like(index, (640, 480)).save(folder / f"picture-{index}.jpg", quality=88)
    (root / "note.txt").write_text("a note\n", encoding="utf-8")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))
    return root


@pytest.fixture(scope="module")
def local_items(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The case a local (pebble) scan of the corpus leaves: the reference."""
    case = tmp_path_factory.mktemp("local") / "case"
    result = run_cli("scan", corpus, "--case", case, "--workers", "2")
    assert result.returncode == 0, result.stderr
    return items_of(case)


def items_of(location: str | Path) -> dict[str, object]:
    """Every recorded file of the case at ``location`` by path, all that exports show of
    it but its source's root, checking that none is recorded twice."""
    with Case.open(location) as case:
        rows = [dataclasses.asdict(row) for row in case.items()]
    paths = [row["path"] for row in rows]
    assert len(paths) == len(set(paths)), "a file was recorded twice"
    return {row.pop("path"): {k: v for k, v in row.items() if k != "source"} for row in rows}


def ray_scan(*arguments: str | Path) -> dict[str, Any]:
    result = run_cli("scan", *arguments, "--json", env=CLUSTER_ENV)
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_a_scan_on_ray_equals_a_local_scan_item_for_item(
    cluster: RayCluster, corpus: Path, local_items: dict[str, object], tmp_path: Path
) -> None:
    # The driver sees placeholders; the workers read the real files through the map,
    # so a record can only match the local scan's if every file was read at TO.
    view = tmp_path / "view"
    for real in corpus.rglob("*"):
        placeholder = view / real.relative_to(corpus)
        if real.is_dir():
            placeholder.mkdir(parents=True, exist_ok=True)
        else:
            placeholder.parent.mkdir(parents=True, exist_ok=True)
            placeholder.write_bytes(b"placeholder")
    case = tmp_path / "case"
    summary = ray_scan(
        view, "--case", case, "--ray", cluster.address, "--path-map", f"{view}={corpus}"
    )

    assert summary["files_seen"] == FILES + 2
    assert items_of(case) == local_items
    nodes = summary["nodes"]
    assert isinstance(nodes, list)
    assert sum(node["files"] for node in nodes) == FILES + 2


def test_a_file_that_kills_its_worker_process_is_its_own_error_row(
    cluster: RayCluster, tmp_path: Path
) -> None:
    # Decoding and hashing 12 MP of noise from a PNG (no DCT shortcut) takes a good
    # half second: SIGALRM ends the process running it long before, and, as in a local
    # scan, the file is digested again and keeps the failure as its error row.
    source = tmp_path / "source"
    source.mkdir()
    Image.effect_noise((4000, 3000), 64).save(source / "large.png", compress_level=1)
    photo_like(2, (64, 48)).save(source / "small.png")
    case = tmp_path / "case"
    summary = ray_scan(source, "--case", case, "--ray", cluster.address, "--file-timeout", "0.1")

    assert summary["files_seen"] == 2
    large = items_of(case)["large.png"]
    assert isinstance(large, dict)
    assert large["error"] is not None and "per-file limit of 0.1 s" in large["error"]
    assert large["md5"] is not None and large["pdq"] is None


def test_a_scan_on_ray_into_a_pg_case(
    cluster: RayCluster, corpus: Path, local_items: dict[str, object]
) -> None:
    url = private_postgres("ray_scan")
    summary = ray_scan(corpus, "--database", url, "--ray", cluster.address)
    again = ray_scan(corpus, "--database", url, "--ray", cluster.address)

    assert summary["items"] == FILES + 1 and summary["errors"] == 1
    assert again["already_done"] == FILES + 2 and again["items"] == 0
    assert items_of(url) == local_items


class SecondDriver:
    """A scan observer that, once its own driver has a file to record, starts a second
    driver (``clearsight scan --database URL --ray ADDRESS``, another process) on another
    source of the same case, and waits until that one has committed rows: from then on
    both drivers write to the case, whatever the machine's speed."""

    def __init__(self, url: str, source: Path, address: str) -> None:
        self._url, self._source, self._address = url, source, address
        self.process: subprocess.Popen[str] | None = None
        self.rows_when_started_writing = 0

    def discovered(self, total: int, already_done: int) -> None:
        pass

    def advanced(self, count: int) -> None:
        if self.process is not None:
            return
        command = [str(CLEARSIGHT), "scan", str(self._source), "--database", self._url]
        self.process = subprocess.Popen(
            [*command, "--ray", self._address, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=driver_env(),
        )
        deadline = time.monotonic() + 180
        while (rows := rows_of_source(self._url, self._source)) == 0:
            assert self.process.poll() is None, self.process.communicate()[1]
            assert time.monotonic() < deadline, "the second driver recorded nothing"
            time.sleep(0.1)
        self.rows_when_started_writing = rows


def rows_of_source(url: str, source: Path) -> int:
    """Items the case at ``url`` holds under the source whose root is ``source``."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            count = connection.execute(
                text(
                    "SELECT count(*) FROM items JOIN sources ON items.source_id = sources.id "
                    "WHERE sources.root = :root"
                ),
                {"root": str(source)},
            ).scalar_one()
    except ProgrammingError:
        return 0  # the tables are not made yet
    finally:
        engine.dispose()
    return int(count)


def test_two_drivers_scan_two_sources_into_one_pg_case_at_once(
    cluster: RayCluster,
    corpus: Path,
    local_items: dict[str, object],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in CLUSTER_ENV.items():
        monkeypatch.setenv(name, value)
    # The same files under the same relative paths in both sources: each path is
    # unique within its source only, and both drivers insert the same content at once.
    sources = [tmp_path / "first", tmp_path / "second"]
    for source in sources:
        shutil.copytree(corpus / "folder-0", source)
    expected = {
        path.removeprefix("folder-0/"): {k: v for k, v in item.items() if k != "stack"}
        for path, item in local_items.items()
        if path.startswith("folder-0/") and isinstance(item, dict)
    }
    url = private_postgres("ray_two_drivers")
    second = SecondDriver(url, sources[1], cluster.address)
    executor = RayExecutor(cluster.address)
    try:
        with Case.open(url) as case:
            first = case.ingest([sources[0]], ScanOptions(), second, executor=executor).scan
        assert second.process is not None
        out, err = second.process.communicate(timeout=240)
    finally:
        if second.process is not None and second.process.poll() is None:
            second.process.kill()
            second.process.wait()
    assert second.process.returncode == 0, err
    summary = json.loads(out)

    # The second driver was writing while the first still had all but one file to record.
    assert second.rows_when_started_writing > 0
    assert first.completed and first.tally.items + first.tally.errors == len(expected)
    assert summary["items"] + summary["errors"] == len(expected)
    with Case.open(url) as case:
        rows = [dataclasses.asdict(row) for row in case.items()]
    keys = [(row["source"], row["path"]) for row in rows]
    assert len(keys) == len(set(keys)), "a file was recorded twice"
    # Each file is recorded in each source as the local scan records it, and its two
    # copies, one from each driver, make one stack of duplicates.
    stacks: dict[str, set[object]] = {}
    for source in sources:
        recorded: dict[str, object] = {}
        for row in rows:
            if row["source"] == str(source):
                path = row.pop("path")
                stacks.setdefault(path, set()).add(row.pop("stack"))
                recorded[path] = {k: v for k, v in row.items() if k != "source"}
        assert recorded == expected
    assert all(len(ids) == 1 and None not in ids for ids in stacks.values()), stacks


def recorded_count(case: Path) -> int:
    database = case / "case.sqlite"
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            return int(connection.execute("SELECT count(*) FROM items").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_a_killed_driver_resumes_with_the_same_command(
    cluster: RayCluster, corpus: Path, local_items: dict[str, object], tmp_path: Path
) -> None:
    case = tmp_path / "case"
    command = [str(CLEARSIGHT), "scan", str(corpus), "--case", str(case), "--ray", cluster.address]
    driver = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=driver_env(),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while driver.poll() is None and recorded_count(case) < 4:
            assert time.monotonic() < deadline, "the scan on Ray recorded nothing"
            time.sleep(0.05)
        assert driver.poll() is None, "the scan finished before it could be killed"
        os.killpg(driver.pid, signal.SIGKILL)  # the driver alone: the cluster lives on
    finally:
        driver.wait()
    killed_at = recorded_count(case)
    assert 0 < killed_at < FILES + 2

    summary = ray_scan(corpus, "--case", case, "--ray", cluster.address)
    assert summary["already_done"] == killed_at
    assert summary["items"] + summary["errors"] == FILES + 2 - killed_at
    assert items_of(case) == local_items


class NodeKiller:
    """A scan observer that loses the worker node once both nodes have returned work
    and a third of the files are recorded, mid-scan, from the driver's own loop."""

    def __init__(self, cluster: RayCluster, executor: RayExecutor) -> None:
        self._cluster, self._executor = cluster, executor
        self.recorded = self._total = 0
        self.killed_at: int | None = None

    def discovered(self, total: int, already_done: int) -> None:
        self._total = total

    def advanced(self, count: int) -> None:
        self.recorded += count
        nodes = self._executor.node_files
        if self.killed_at is None and len(nodes) >= 2 and self.recorded >= self._total // 3:
            self._cluster.workers[0].kill()
            self.killed_at = self.recorded


def test_a_lost_node_leaves_every_file_recorded_once(
    cluster: RayCluster,
    corpus: Path,
    local_items: dict[str, object],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in CLUSTER_ENV.items():
        monkeypatch.setenv(name, value)
    executor = RayExecutor(cluster.address, files_per_task=4)
    killer = NodeKiller(cluster, executor)
    case_dir = tmp_path / "case"
    with Case.open_folder(case_dir, create=True) as case:
        report = case.ingest([corpus], ScanOptions(), killer, executor=executor).scan

    assert killer.killed_at is not None and killer.killed_at < FILES, "no node was lost mid-scan"
    assert report.completed and report.tally.items + report.tally.errors == FILES + 2
    # Ray retried the lost node's tasks elsewhere: no file fell back to its digests.
    assert items_of(case_dir) == local_items
    shutil.rmtree(case_dir)


def expired(exit_code: int) -> ProcessExpired:
    """How pebble reports a process that ended with ``exit_code``."""
    return ProcessExpired("ended", code=exit_code)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("ending", "kind"),
    [
        (expired(-signal.SIGALRM), FailureKind.TIMED_OUT),
        (expired(-signal.SIGSEGV), FailureKind.DIED),
        (OSError("pipe"), FailureKind.LOST),
    ],
)
def test_a_files_process_ending_reaches_the_driver_as_the_local_scan_names_it(
    ending: BaseException, kind: FailureKind
) -> None:
    # The Ray worker names the failure without importing the scan's modules; the
    # driver must read it back as the same FailureKind the local pool would give.
    future: Future[bytes] = Future()
    future.set_exception(ending)
    failure = ray_executor._decoded(ray_batch._result(future))
    assert isinstance(failure, UnitFailure) and failure.kind is kind


def test_the_command_starts_without_importing_ray() -> None:
    # Ray takes seconds to import: only a scan given --ray may pay for it.
    check = "import sys, clearsight.cli; assert 'ray' not in sys.modules, 'ray imported'"
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
