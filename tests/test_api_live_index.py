"""The live index: edits caught up as a delta and tombstones answer as an index rebuilt
from the bank would; an import makes it load again; cached indexes are memory-mapped."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from clearsight.banks.records import BankSignal, ImportedEntry
from clearsight.banks.service_edits import BankEdits
from clearsight.banks.store import BankSettings, BankStore
from clearsight.index.cache import PdqIndexCache
from clearsight.index.pdq_index import BruteForcePdqIndex
from clearsight.match.live_index import LiveIndex
from clearsight.signals.pdq import PdqSignal

RADIUS = 31


def random_hashes(rng: np.random.Generator, count: int) -> list[str]:
    return PdqSignal.unpack(rng.integers(0, 2**63, size=(count, 4), dtype=np.uint64))


def near(rng: np.random.Generator, value: str, bits: int) -> str:
    code = PdqSignal.pack([value])[0].copy()
    for bit in rng.choice(256, size=bits, replace=False):
        code[bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
    return PdqSignal.unpack(code.reshape(1, 4))[0]


def import_bank(store: BankStore, name: str, hashes: list[str]) -> None:
    entries = [ImportedEntry(((BankSignal.PDQ, value),)) for value in hashes]
    store.import_entries(name, entries, BankSettings(), stop_on_error=True, file_name="t")


def expected(store: BankStore, bank: str, queries: list[str]) -> set[tuple[int, int, int]]:
    """(query, entry, distance) by brute force over the bank as it is now."""
    arrays = store.pdq_arrays(_bank_id(store, bank))
    hits = BruteForcePdqIndex(arrays.codes).search_many(PdqSignal.pack(queries), RADIUS)
    best: dict[tuple[int, int], int] = {}
    for query, position, distance in zip(hits.queries, hits.positions, hits.distances, strict=True):
        key = (int(query), int(arrays.entry_ids[position]))
        best[key] = min(best.get(key, 999), int(distance))
    return {(query, entry, distance) for (query, entry), distance in best.items()}


def _bank_id(store: BankStore, name: str) -> int:
    return next(t.id for t in store.match_targets([name]))


def found(index: LiveIndex, queries: list[str]) -> set[tuple[int, int, int]]:
    return {
        (hit.query, hit.entry_id, hit.distance) for hit in index.search_pdq(PdqSignal.pack(queries))
    }


def test_edits_caught_up_answer_as_a_rebuilt_index(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    try:
        base = random_hashes(rng, 300)
        import_bank(store, "LIVE", base)
        cache = PdqIndexCache(tmp_path / "indexes", brute_force_below=100).mapped()
        index = LiveIndex(BankEdits(store.engine), store, cache)
        index.refresh()
        snapshot = index.snapshot
        assert snapshot is not None and snapshot.banks["LIVE"].base is not None
        first_base = snapshot.banks["LIVE"].base
        assert first_base.origin == "cache"  # built, saved, and served from the saved file
        edits = BankEdits(store.engine)
        added: list[str] = []
        for step in range(40):
            if rng.random() < 0.6:
                value = near(rng, base[int(rng.integers(len(base)))], int(rng.integers(0, 20)))
                edits.add_content("LIVE", [(BankSignal.PDQ, value)])
                added.append(value)
            else:
                entry = int(rng.integers(1, 300 + step + 1))
                edits.remove_content("LIVE", entry)
            if step % 7 == 0:
                index.refresh()
        index.refresh()
        live = index.snapshot.banks["LIVE"]  # type: ignore[union-attr]
        assert live.base is first_base  # caught up, not rebuilt
        assert live.delta_codes.shape[0] > 0 and live.tombstones.shape[0] > 0
        queries = [near(rng, value, 8) for value in base[:60] + added]
        assert found(index, queries) == expected(store, "LIVE", queries)
    finally:
        store.close()


def test_an_import_makes_the_bank_load_again(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    try:
        first = random_hashes(rng, 150)
        import_bank(store, "FED", first)
        index = LiveIndex(
            BankEdits(store.engine), store, PdqIndexCache(tmp_path / "indexes", 100).mapped()
        )
        index.refresh()
        more = random_hashes(rng, 20)
        import_bank(store, "FED", first + more)
        index.refresh()
        live = index.snapshot.banks["FED"]  # type: ignore[union-attr]
        assert live.delta_codes.shape[0] == 0 and live.size == 170
        assert found(index, more) == expected(store, "FED", more)
    finally:
        store.close()


def test_a_cached_index_is_mapped_not_copied(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    store = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    try:
        import_bank(store, "MAPPED", random_hashes(rng, 200))
        cache = PdqIndexCache(tmp_path / "indexes", 100)
        LiveIndex(BankEdits(store.engine), store, cache).refresh()  # builds and saves
        index = LiveIndex(BankEdits(store.engine), store, cache.mapped())
        index.refresh()
        live = index.snapshot.banks["MAPPED"]  # type: ignore[union-attr]
        assert live.base is not None and live.base.origin == "cache"
        arrays_path, _ = cache.paths(store.summary("MAPPED").uid)
        maps = Path(f"/proc/{os.getpid()}/maps").read_text()
        assert str(arrays_path) in maps
        codes = live.base.index.codes  # type: ignore[union-attr]
        assert not codes.flags.writeable  # read-only pages of the file
    finally:
        store.close()


def test_status_words_follow_the_index(tmp_path: Path) -> None:
    from clearsight.api.config import ApiConfig
    from clearsight.api.service import MatchingService
    from clearsight.case import CaseBanks

    url = f"sqlite:///{tmp_path / 'banks.sqlite'}"
    service = MatchingService(CaseBanks(url), ApiConfig(banks_url=url, stale_after=5))
    try:
        assert service.status() == "INDEX-NOT-LOADED"
        service.refresh_now()
        assert service.status() == "I-AM-ALIVE"
        assert service.index.refreshed_at is not None
        service.index.refreshed_at -= 6  # the refresh thread stopped six seconds ago
        assert service.status() == "INDEX-STALE"
    finally:
        service.banks.close()


@pytest.mark.postgres
def test_edits_and_their_change_log_on_postgresql() -> None:
    from .conftest import empty_postgres

    store = BankStore.open(empty_postgres())
    try:
        edits = BankEdits(store.engine)
        edits.create_bank("PG_BANK")
        value = random_hashes(np.random.default_rng(10), 1)[0]
        first = edits.add_content("PG_BANK", [(BankSignal.PDQ, value)])
        second = edits.add_content("PG_BANK", [(BankSignal.MD5, "0" * 32)])
        assert edits.remove_content("PG_BANK", first) == 1
        bank_id = _bank_id(store, "PG_BANK")
        changes = [(c.revision, c.entry_id, c.removed) for c in edits.changes_after(bank_id, 1)]
        assert changes == [(2, first, False), (3, second, False), (4, first, True)]
        index = LiveIndex(edits, store, PdqIndexCache(Path("/nonexistent"), 100))
        index.refresh()
        assert index.search_pdq(PdqSignal.pack([value])) == []
        [record] = edits.contents([second])
        assert record.bank == "PG_BANK" and record.signals == {"md5": "0" * 32}
    finally:
        store.close()
