"""``clearsight api --workers 2`` as a platform runs it: the workers map one cached copy
of the index, and an addition is matchable on every worker within seconds while
lookups go on."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import numpy as np

from clearsight.banks.records import BankSignal, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore
from clearsight.index.cache import BRUTE_FORCE_BELOW
from clearsight.signals.pdq import PdqSignal

from .api_support import api_service, banks_url


def fill_bank(home: Path, count: int) -> list[str]:
    rng = np.random.default_rng(5)
    hashes = PdqSignal.unpack(rng.integers(0, 2**63, size=(count, 4), dtype=np.uint64))
    store = BankStore.open(banks_url(home))
    try:
        store.import_entries(
            "BIG",
            (ImportedEntry(((BankSignal.PDQ, value),)) for value in hashes),
            BankSettings(),
            stop_on_error=True,
            file_name="generated",
        )
    finally:
        store.close()
    return hashes


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def mapped_index(pid: int, home: Path) -> tuple[int, int]:
    """(Rss, Pss) in KiB of the cached index files mapped by process ``pid``."""
    rss = pss = 0
    inside = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if "-" in line.split(" ", 1)[0] and len(line.split()) >= 5:
            inside = str(home / "indexes") in line
        elif inside and line.startswith("Rss:"):
            rss += int(line.split()[1])
        elif inside and line.startswith("Pss:"):
            pss += int(line.split()[1])
    return rss, pss


def private_and_anonymous(pid: int) -> tuple[int, int]:
    """(Private_Dirty, Anonymous) in KiB of process ``pid``."""
    rollup = dict(
        (line.split(":")[0], int(line.split()[1]))
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    )
    return rollup["Private_Dirty"], rollup["Anonymous"]


def test_two_workers_share_the_index_and_see_an_addition(tmp_path: Path) -> None:
    hashes = fill_bank(tmp_path, BRUTE_FORCE_BELOW + 10_000)
    with api_service(tmp_path, "--workers", "2") as service:
        workers = children(service.process.pid)  # and uvicorn's helper processes, if any
        assert len(workers) >= 2, workers
        headers = {"Authorization": f"Bearer {service.tokens['all']}"}
        with httpx.Client(base_url=service.base, headers=headers, timeout=30) as client:
            for value in hashes[:200]:  # enough requests that both workers serve some
                found = client.get("/m/raw_lookup", params={"signal": value, "signal_type": "pdq"})
                assert found.status_code == 200 and len(found.json()["matches"]) >= 1
            mapped = [mapped_index(pid, tmp_path) for pid in workers]
            serving = [(rss, pss) for rss, pss in mapped if rss]
            assert len(serving) >= 2, mapped  # each worker maps the cached index file...
            assert all(pss < rss for rss, pss in serving)  # ...and shares its pages
            # Forked from the command's process after it loaded the code and the
            # kernels: most of each worker's memory is still shared with it (a worker
            # spawned afresh keeps nearly all of its memory to itself).
            for pid in workers:
                own, anonymous = private_and_anonymous(pid)
                assert own < 0.5 * anonymous, (pid, own, anonymous)

            new = PdqSignal.unpack(np.full((1, 4), 0x0123456789ABCDEF, dtype=np.uint64))[0]
            seen_at: list[float] = []
            stop = threading.Event()

            def look() -> None:
                with httpx.Client(base_url=service.base, headers=headers, timeout=30) as other:
                    while not stop.is_set():
                        answer = other.get(
                            "/m/raw_lookup", params={"signal": new, "signal_type": "pdq"}
                        )
                        if answer.json()["matches"] and not seen_at:
                            seen_at.append(time.monotonic())

            lookers = [threading.Thread(target=look) for _ in range(3)]
            for thread in lookers:
                thread.start()
            try:
                added_at = time.monotonic()
                assert client.post("/c/bank/BIG/signal", json={"pdq": new}).status_code == 200
                deadline = added_at + 5
                while not seen_at and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                stop.set()
                for thread in lookers:
                    thread.join(timeout=30)
            assert seen_at, "the addition was not matchable within 5 s"
            # Every worker has it now: several lookups in a row all find it.
            for _ in range(20):
                again = client.get("/m/raw_lookup", params={"signal": new, "signal_type": "pdq"})
                assert len(again.json()["matches"]) == 1
