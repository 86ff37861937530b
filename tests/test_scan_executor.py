"""The scan's executor seam: any executor leaves the same case, and the scan's own rules
(timeout, then digest only) hold whatever executor runs the units."""

from __future__ import annotations

import hashlib
import os
import random
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from clearsight.media.sniff import MediaKind
from clearsight.scan import (
    FailureKind,
    PebbleExecutor,
    ScanExecutor,
    ScanOptions,
    SerialExecutor,
    UnitFailure,
    UnitOutcome,
    WorkUnit,
    run_scan,
    settle,
)
from clearsight.scan.fingerprint import FingerprintOptions, fingerprint_file
from clearsight.store.interface import ErrorStage, ItemError, ScannedFile
from clearsight.store.sql import SqlCaseStore

from .conftest import photo_like


class ShuffledExecutor:
    """Runs units in this process, several at a time and in a shuffled order, as a
    cluster would hand them back: nothing of the pebble pool, only the Protocol."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._pending: list[WorkUnit] = []
        self.submitted: list[str] = []
        self.finished: list[str] = []

    @property
    def capacity(self) -> int:
        return 5

    def submit(self, unit: WorkUnit) -> None:
        self._pending.append(unit)
        self.submitted.append(unit.rel_path)

    def collect(self, wait_seconds: float) -> list[UnitOutcome]:
        self._rng.shuffle(self._pending)
        done, self._pending = self._pending[:2], self._pending[2:]
        self.finished.extend(unit.rel_path for unit in done)
        return [
            UnitOutcome(unit, fingerprint_file(unit.abs_path, unit.rel_path, unit.options))
            for unit in done
        ]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pending = []


class FailingExecutor:
    """Runs units in-process, except that each unit whose file is named in ``fail``
    (and, unless ``retries_too``, that is a first attempt) ends with that failure."""

    def __init__(self, fail: dict[str, UnitFailure], *, retries_too: bool = False) -> None:
        self._fail = fail
        self._retries_too = retries_too
        self._pending: deque[WorkUnit] = deque()
        self.submitted: list[WorkUnit] = []

    @property
    def capacity(self) -> int:
        return 2

    def submit(self, unit: WorkUnit) -> None:
        self._pending.append(unit)
        self.submitted.append(unit)

    def collect(self, wait_seconds: float) -> list[UnitOutcome]:
        if not self._pending:
            return []
        unit = self._pending.popleft()
        failure = self._fail.get(unit.rel_path)
        if failure is not None and (unit.first_failure is None or self._retries_too):
            return [UnitOutcome(unit, failure)]
        return [UnitOutcome(unit, fingerprint_file(unit.abs_path, unit.rel_path, unit.options))]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pending.clear()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pictures in two formats and two folders, a text file, a broken JPEG, a picture
    and a link that the walk records unread."""
    root = tmp_path_factory.mktemp("source")
    (root / "inner").mkdir()
    for index in range(9):
        folder = root / "inner" if index % 3 == 0 else root
        image = photo_like(index, (400, 300))
        if index % 2:
            image.save(folder / f"picture-{index}.png")
        else:
            image.save(folder / f"picture-{index}.jpg", quality=90)
    (root / "note.txt").write_text("a note\n", encoding="utf-8")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(300))
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "file.txt"
    elsewhere.write_text("outside the source\n", encoding="utf-8")
    os.symlink(elsewhere, root / "outside")
    return root


def case_contents(case: Path) -> dict[str, object]:
    """Everything a scan recorded, keyed by path (item ids depend on completion order)."""
    store = SqlCaseStore.open_folder(case, "test")
    try:
        rows = {row.path: row for row in store.iter_items()}
        triage = {item.path: replace(item, item_id=0) for item in store.triage_items()}
        ids = {item.item_id: item.path for item in store.triage_items()}
        features = {ids[key]: value for key, value in store.stored_features(list(ids)).items()}
    finally:
        store.close()
    return {"rows": rows, "triage": triage, "features": features}


def test_executor_is_the_protocol() -> None:
    executors: list[ScanExecutor] = [
        PebbleExecutor(1),
        SerialExecutor(),
        ShuffledExecutor(0),
        FailingExecutor({}),
    ]
    assert all(executor.capacity >= 1 for executor in executors)


@pytest.mark.parametrize("make", [SerialExecutor, lambda: ShuffledExecutor(7)])
def test_another_executor_leaves_the_same_case_as_the_pebble_pool(
    make: Callable[[], ScanExecutor], source: Path, tmp_path: Path
) -> None:
    options = ScanOptions(workers=2)
    pooled = SqlCaseStore.open_folder(tmp_path / "pooled", "test")
    by_pool = run_scan(pooled, [source], options)
    pooled.close()
    other = SqlCaseStore.open_folder(tmp_path / "other", "test")
    executor = make()
    by_other = run_scan(other, [source], options, executor=executor)
    other.close()

    assert by_pool.tally == by_other.tally
    assert by_pool.tally.files_seen == 12 and by_pool.tally.errors == 2  # broken, outside
    pooled_contents = case_contents(tmp_path / "pooled")
    assert pooled_contents == case_contents(tmp_path / "other")
    rows = pooled_contents["rows"]
    assert isinstance(rows, dict) and len(rows) == 12
    assert sum(row.pdq is not None for row in rows.values()) == 9  # every picture hashed
    features = pooled_contents["features"]
    assert isinstance(features, dict) and len(features) == 9
    if isinstance(executor, ShuffledExecutor):  # units really came back in another order
        assert sorted(executor.finished) == sorted(executor.submitted)
        assert executor.finished != executor.submitted


def test_a_unit_that_times_out_is_digested_again_without_a_limit(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    photo_like(1, (400, 300)).save(source / "slow.png")
    photo_like(2, (400, 300)).save(source / "quick.png")
    executor = FailingExecutor({"slow.png": UnitFailure(FailureKind.TIMED_OUT)})
    store = SqlCaseStore.open_folder(tmp_path / "case", "test")
    report = run_scan(store, [source], ScanOptions(file_timeout=7.5), executor=executor)
    rows = {row.path: row for row in store.iter_items()}
    store.close()

    first, retry = [unit for unit in executor.submitted if unit.rel_path == "slow.png"]
    assert (first.options.decode, first.timeout, first.first_failure) == (True, 7.5, None)
    # The retry reads and digests only, and no limit meant for decoders can cut it short.
    assert (retry.options.decode, retry.options.origin) == (False, False)
    assert retry.timeout is None and retry.options.decode_seconds is None
    assert retry.first_failure == "gave up after the per-file limit of 7.5 s"
    [quick] = [unit for unit in executor.submitted if unit.rel_path == "quick.png"]
    assert quick.timeout == 7.5

    assert report.completed
    assert (report.tally.items, report.tally.errors) == (1, 1)
    slow = rows["slow.png"]
    data = (source / "slow.png").read_bytes()
    assert slow.sha256 == hashlib.sha256(data).hexdigest() and slow.size == len(data)
    assert slow.pdq is None and slow.media_type == "image/png"
    assert slow.error is not None and "per-file limit of 7.5 s" in slow.error
    assert rows["quick.png"].error is None and rows["quick.png"].pdq is not None


def test_a_retry_that_fails_too_leaves_the_first_failure_and_no_digests(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "doomed.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(300))
    died = UnitFailure(FailureKind.DIED, "exit code -11")
    executor = FailingExecutor({"doomed.jpg": died}, retries_too=True)
    store = SqlCaseStore.open_folder(tmp_path / "case", "test")
    report = run_scan(store, [source], ScanOptions(), executor=executor)
    [row] = store.iter_items()
    store.close()

    assert len(executor.submitted) == 2  # one retry, never a loop
    assert report.completed and report.tally.errors == 1
    assert row.error is not None and "the decoding process died (exit code -11)" in row.error
    assert row.sha256 is None and row.pdq is None


def test_settle_keeps_a_record_and_adds_the_first_failure_to_a_retrys() -> None:
    options = FingerprintOptions()
    unit = WorkUnit(3, "/nowhere/a.png", "a.png", options, timeout=2.0)
    record = ScannedFile(path="a.png", media_type="image/png", kind=MediaKind.IMAGE)
    assert settle(UnitOutcome(unit, record)) is record

    lost = settle(UnitOutcome(unit, UnitFailure(FailureKind.LOST, "BrokenProcessPool")))
    assert isinstance(lost, WorkUnit)
    assert lost.first_failure == "the worker failed (BrokenProcessPool)"
    assert (lost.source_id, lost.abs_path, lost.timeout) == (3, "/nowhere/a.png", None)

    retried = settle(UnitOutcome(lost, record))
    assert isinstance(retried, ScannedFile)
    assert retried.errors == (
        ItemError(ErrorStage.WORKER, "the worker failed (BrokenProcessPool)"),
    )
