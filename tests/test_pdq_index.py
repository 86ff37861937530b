"""The Hamming-space PDQ index: exact against brute force, cached safely, used by matching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.banks.lookup import BankTarget
from clearsight.index.cache import PdqArrays, PdqIndexCache
from clearsight.index.mih import MihLayout, MultiIndexPdqIndex
from clearsight.index.pdq_index import BruteForcePdqIndex, PdqHits
from clearsight.signals.pdq import PdqSignal

Codes = npt.NDArray[np.uint64]


def flip_bits(code: Codes, bits: list[int]) -> Codes:
    flipped = code.copy()
    for bit in bits:
        flipped[bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return flipped


def planted_bank(seed: int, size: int, queries: int, max_distance: int) -> tuple[Codes, Codes]:
    """Random codes, and queries each a random code with up to ``max_distance`` bits flipped."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2**64, size=(size, 4), dtype=np.uint64)
    near = [
        flip_bits(
            codes[rng.integers(size)],
            list(rng.choice(256, int(rng.integers(max_distance + 1)), replace=False)),
        )
        for _ in range(queries)
    ]
    return codes, np.array(near, dtype=np.uint64).reshape(-1, 4)


def same_hits(left: PdqHits, right: PdqHits) -> bool:
    return (
        np.array_equal(left.queries, right.queries)
        and np.array_equal(left.positions, right.positions)
        and np.array_equal(left.distances, right.distances)
    )


hex_codes = st.binary(min_size=32, max_size=32).map(bytes.hex)


@settings(max_examples=50, deadline=None)
@given(st.lists(hex_codes, min_size=1, max_size=40), hex_codes, st.integers(0, 256))
def test_brute_force_agrees_with_the_reference_distance(
    bank: list[str], query: str, radius: int
) -> None:
    hits = BruteForcePdqIndex(PdqSignal.pack(bank)).search_many(PdqSignal.pack([query]), radius)
    found = set(zip(hits.positions.tolist(), hits.distances.tolist(), strict=True))
    expected = {
        (position, PdqSignal.distance(query, code))
        for position, code in enumerate(bank)
        if PdqSignal.distance(query, code) <= radius
    }
    assert found == expected


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 400),
    chunks=st.integers(11, 32),
    radius=st.integers(0, 70),
)
def test_multi_index_hash_agrees_with_brute_force(
    seed: int, size: int, chunks: int, radius: int
) -> None:
    codes, queries = planted_bank(seed, size, queries=12, max_distance=radius + 4)
    # Repeated codes must each be found: banks hold duplicates.
    codes = np.concatenate([codes, codes[:3]])
    index = MultiIndexPdqIndex.build(codes, radius, layout=MihLayout.split(chunks), threads=2)
    expected = BruteForcePdqIndex(codes).search_many(queries, radius)
    assert same_hits(index.search_many(queries, radius, threads=1), expected)
    assert same_hits(index.search_many(queries, radius, threads=2), expected)


def test_every_planted_neighbour_within_31_bits_is_found_in_a_large_index() -> None:
    codes, _ = planted_bank(7, 300_000, queries=0, max_distance=0)
    rng = np.random.default_rng(8)
    targets = rng.integers(0, codes.shape[0], size=320)
    distances = np.arange(320) % 41
    queries = np.array(
        [
            flip_bits(codes[target], list(rng.choice(256, int(d), replace=False)))
            for target, d in zip(targets, distances, strict=True)
        ]
    )
    index = MultiIndexPdqIndex.build(codes, 31)
    assert len(index.layout.chunk_bits) >= 11  # a real multi-index layout, not a toy one
    hits = index.search_many(queries, 31)
    found = set(zip(hits.queries.tolist(), hits.positions.tolist(), strict=True))
    for number, (target, distance) in enumerate(zip(targets, distances, strict=True)):
        assert ((number, int(target)) in found) == (distance <= 31), (number, distance)
    assert same_hits(hits, BruteForcePdqIndex(codes).search_many(queries, 31))


def test_layouts_are_exact_and_fit_their_memory_budget() -> None:
    big = MihLayout.choose(10_000_000, 31)
    assert big is not None and sum(big.chunk_bits) == 256
    assert big.flips(31) == 31 // len(big.chunk_bits) <= 3
    assert big.table_bytes() + 10_000_000 * (4 * len(big.chunk_bits) + 32) < 2 * 10**9
    small = MihLayout.choose(1000, 31)
    assert small is not None and small.table_bytes() <= 1 << 20
    assert MihLayout.choose(1000, 200) is None  # nothing beats brute force that far out


def bank(uid: str = "u-1", revision: int = 1, threshold: int = 31) -> BankTarget:
    return BankTarget(
        id=1, name="b", allow=False, pdq_threshold=threshold, uid=uid, revision=revision
    )


class Fetches:
    """A bank store stand-in that counts how often the codes were read."""

    def __init__(self, codes: Codes) -> None:
        self.codes = codes
        self.count = 0

    def __call__(self) -> PdqArrays:
        self.count += 1
        size = self.codes.shape[0]
        # Every third code is a view of its entry's picture, as in an own bank.
        variants = (np.arange(size) % 3 == 2).astype(np.int16)
        return PdqArrays(
            self.codes, np.arange(100, 100 + size, dtype=np.int64), variants, ("", "crop-0.88")
        )


def test_the_cache_is_reused_until_the_bank_changes(tmp_path: Path) -> None:
    codes, queries = planted_bank(3, 5000, queries=40, max_distance=31)
    fetch = Fetches(codes)
    cache = PdqIndexCache(tmp_path / "indexes", brute_force_below=100)

    built = cache.index_for(bank(), fetch)
    assert built.origin == "built" and fetch.count == 1
    arrays, manifest = cache.paths("u-1")
    assert arrays.is_file() and json.loads(manifest.read_text())["bank_revision"] == 1

    again = cache.index_for(bank(), fetch)
    assert again.origin == "cache" and fetch.count == 1
    assert same_hits(again.index.search_many(queries, 31), built.index.search_many(queries, 31))
    assert np.array_equal(again.entry_ids, built.entry_ids)
    assert np.array_equal(again.variants, built.variants)
    assert again.variant_names == ("", "crop-0.88")

    assert cache.index_for(bank(revision=2), fetch).origin == "built" and fetch.count == 2
    assert cache.index_for(bank(uid="u-2", revision=2), fetch).origin == "built"


@pytest.mark.parametrize("damage", ["arrays", "manifest", "checksum", "missing"])
def test_a_damaged_cache_is_rebuilt_never_trusted(tmp_path: Path, damage: str) -> None:
    codes, queries = planted_bank(4, 3000, queries=30, max_distance=31)
    fetch = Fetches(codes)
    cache = PdqIndexCache(tmp_path, brute_force_below=100)
    expected = cache.index_for(bank(), fetch).index.search_many(queries, 31)
    arrays, manifest = cache.paths("u-1")
    if damage == "arrays":
        raw = bytearray(arrays.read_bytes())
        raw[len(raw) // 2] ^= 0xFF  # inside the stored arrays: only the checksum can tell
        arrays.write_bytes(bytes(raw))
    elif damage == "manifest":
        manifest.write_text("{not json", encoding="utf-8")
    elif damage == "checksum":
        data = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({**data, "sha256": "0" * 64}), encoding="utf-8")
    else:
        arrays.unlink()
    rebuilt = cache.index_for(bank(), fetch)
    assert rebuilt.origin == "built" and fetch.count == 2
    assert same_hits(rebuilt.index.search_many(queries, 31), expected)


def test_small_banks_are_searched_by_brute_force_without_files(tmp_path: Path) -> None:
    codes, _ = planted_bank(5, 50, queries=0, max_distance=0)
    cache = PdqIndexCache(tmp_path / "indexes")
    assert cache.index_for(bank(), Fetches(codes)).origin == "brute-force"
    assert not (tmp_path / "indexes").exists()


def test_removing_a_bank_deletes_its_cached_index(tmp_path: Path) -> None:
    from .conftest import run_cli

    listing = tmp_path / "list.txt"
    listing.write_text("d41d8cd98f00b204e9800998ecf8427e\n", encoding="utf-8")
    assert run_cli("bank", "import", "gone", listing).returncode == 0
    uid = json.loads(run_cli("bank", "show", "gone", "--json").stdout)["uid"]
    cache = PdqIndexCache.default()
    arrays, manifest = cache.paths(uid)
    arrays.parent.mkdir(parents=True)
    arrays.write_bytes(b"index")
    manifest.write_text("{}", encoding="utf-8")
    assert run_cli("bank", "remove", "gone").returncode == 0
    assert not arrays.exists() and not manifest.exists()
