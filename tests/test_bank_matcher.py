"""BankMatcher.lookup: matching one picture's signals against the banks, with no case."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pytest

import clearsight
from clearsight.banks.lookup import BankHit, BankTarget
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore
from clearsight.index.cache import PdqArrays, PdqIndexCache
from clearsight.match.bank_matcher import BankMatcher, Match, QuerySignals
from clearsight.signals.pdq import DIHEDRAL_TRANSFORMS
from clearsight.signals.signal_type import Md5Signal, Sha256Signal
from clearsight.signals.variants import VariantHash

RNG = np.random.default_rng(16)


def random_pdq() -> str:
    return RNG.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def flipped(value: str, bits: int) -> str:
    """``value`` with ``bits`` distinct bits flipped."""
    number = int(value, 16)
    for bit in RNG.choice(256, bits, replace=False):
        number ^= 1 << int(bit)
    return f"{number:064x}"


KNOWN_PDQ = random_pdq()
OTHER_PDQ = random_pdq()
CROP_PDQ = flipped(KNOWN_PDQ, 120)  # an own entry's crop: far from any picture's hash
KNOWN_MD5 = Md5Signal.hash_bytes(b"a benign known file")
KNOWN_SHA256 = Sha256Signal.hash_bytes(b"another benign known file")


class CountingBanks:
    """The bank store, counting how often a bank's codes are read."""

    def __init__(self, store: BankStore) -> None:
        self.store = store
        self.code_reads = 0

    def match_targets(self, names: Sequence[str] | None = None) -> list[BankTarget]:
        return self.store.match_targets(names)

    def exact_hits(
        self, kind: str, values: Iterable[str], targets: Sequence[BankTarget]
    ) -> dict[str, list[BankHit]]:
        return self.store.exact_hits(kind, values, targets)

    def pdq_arrays(self, bank_id: int) -> PdqArrays:
        self.code_reads += 1
        return self.store.pdq_arrays(bank_id)

    def entry_metadata(self, entry_ids: Iterable[int]) -> dict[int, EntryMetadata]:
        return self.store.entry_metadata(entry_ids)

    def entry_features(self, entry_ids: Iterable[int]) -> dict[int, str]:
        return self.store.entry_features(entry_ids)

    def video_signals(self, bank_id: int) -> list[tuple[int, str]]:
        return self.store.video_signals(bank_id)


def add(store: BankStore, bank: str, *entries: ImportedEntry, threshold: int = 31) -> None:
    store.import_entries(
        bank,
        entries,
        BankSettings(pdq_threshold=threshold),
        stop_on_error=True,
        file_name="test",
    )


def entry(external_id: str, *signals: tuple[BankSignal, str], **kwargs: object) -> ImportedEntry:
    return ImportedEntry(
        signals,
        EntryMetadata(external_id=external_id, category="test-category-1"),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterable[BankStore]:
    opened = BankStore.open(f"sqlite:///{tmp_path / 'banks.sqlite'}")
    add(
        opened,
        "list-a",
        entry("A-md5", (BankSignal.MD5, KNOWN_MD5)),
        entry("A-pdq", (BankSignal.PDQ, KNOWN_PDQ)),
        entry(
            "A-own",
            (BankSignal.PDQ, OTHER_PDQ),
            pdq_variants=(("crop-0.88", CROP_PDQ),),
        ),
    )
    add(opened, "list-b", entry("B-sha", (BankSignal.SHA256, KNOWN_SHA256)), threshold=10)
    yield opened
    opened.close()


def by_entry(matches: list[Match]) -> dict[str, Match]:
    found = {match.metadata.external_id or "": match for match in matches}
    assert len(found) == len(matches)  # one match per entry
    return found


def test_exact_digests_are_found_in_every_bank_after_normalising(
    store: BankStore, tmp_path: Path
) -> None:
    matcher = BankMatcher(store, PdqIndexCache(tmp_path / "indexes"))
    found = matcher.lookup(
        QuerySignals(digests={"md5": f" {KNOWN_MD5.upper()} ", "sha256": KNOWN_SHA256})
    )
    assert set(by_entry(found)) == {"A-md5", "B-sha"}
    md5 = by_entry(found)["A-md5"]
    assert (md5.bank, md5.signal, md5.distance, md5.transform) == ("list-a", "md5", 0, "original")
    assert md5.metadata.category == "test-category-1" and md5.allow is False
    assert md5.view().external_id == "A-md5"
    assert matcher.lookup(QuerySignals(digests={"md5": Md5Signal.hash_bytes(b"unknown")})) == []


def test_pdq_matches_within_each_banks_threshold(store: BankStore, tmp_path: Path) -> None:
    matcher = BankMatcher(store, PdqIndexCache(tmp_path / "indexes"))
    near = matcher.lookup(QuerySignals(pdq=flipped(KNOWN_PDQ, 9), pdq_quality=90))
    (match,) = near
    assert (match.metadata.external_id, match.signal, match.distance) == ("A-pdq", "pdq", 9)
    assert match.transform == "original" and match.variant is None
    assert matcher.lookup(QuerySignals(pdq=flipped(KNOWN_PDQ, 40), pdq_quality=90)) == []
    # A hash too weak to trust is not searched at all.
    assert matcher.lookup(QuerySignals(pdq=KNOWN_PDQ, pdq_quality=20)) == []


def test_a_turned_picture_matches_through_its_dihedral_hashes(
    store: BankStore, tmp_path: Path
) -> None:
    matcher = BankMatcher(store, PdqIndexCache(tmp_path / "indexes"))
    # As the scan gives them: the picture's own hash, then its seven rotations and flips,
    # the bank holding the picture as it was before the turn.
    dihedral = tuple(random_pdq() for _ in DIHEDRAL_TRANSFORMS)
    turned = dihedral[:2] + (flipped(KNOWN_PDQ, 3),) + dihedral[3:]
    (match,) = matcher.lookup(QuerySignals(pdq=random_pdq(), pdq_quality=80, dihedral=turned))
    assert (match.metadata.external_id, match.distance) == ("A-pdq", 3)
    assert match.transform == DIHEDRAL_TRANSFORMS[2]


def test_query_views_and_bank_views_match_and_are_named(store: BankStore, tmp_path: Path) -> None:
    matcher = BankMatcher(store, PdqIndexCache(tmp_path / "indexes"))
    view = VariantHash("trimmed", flipped(KNOWN_PDQ, 4), 70)
    found = by_entry(
        matcher.lookup(QuerySignals(pdq=random_pdq(), pdq_quality=80, variants=(view,)))
    )
    assert found["A-pdq"].variant == "query:trimmed" and found["A-pdq"].distance == 4
    # The own entry's crop is far from its picture: only the crop's own hash meets it.
    assert "A-own" not in by_entry(matcher.lookup(QuerySignals(pdq=KNOWN_PDQ, pdq_quality=80)))
    crop = QuerySignals(pdq=flipped(CROP_PDQ, 5), pdq_quality=80)
    own = by_entry(matcher.lookup(crop))["A-own"]
    assert (own.variant, own.distance, own.transform) == ("bank:crop-0.88", 5, "original")


def test_malformed_signals_are_refused_with_a_reason(store: BankStore, tmp_path: Path) -> None:
    matcher = BankMatcher(store, PdqIndexCache(tmp_path / "indexes"))
    with pytest.raises(ValueError, match="not a md5 value"):
        matcher.lookup(QuerySignals(digests={"md5": KNOWN_MD5[:-1]}))
    with pytest.raises(ValueError, match="not a digest clearsight matches"):
        matcher.lookup(QuerySignals(digests={"crc32": "0" * 8}))
    with pytest.raises(ValueError, match="not a pdq value"):
        matcher.lookup(QuerySignals(pdq="xyz", pdq_quality=90))


def test_a_matcher_is_built_once_and_follows_bank_changes(store: BankStore, tmp_path: Path) -> None:
    banks = CountingBanks(store)
    cache = PdqIndexCache(tmp_path / "indexes")
    matcher = BankMatcher(banks, cache)
    assert [target.name for target in matcher.targets] == ["list-a", "list-b"]
    query = QuerySignals(pdq=KNOWN_PDQ, pdq_quality=90)
    for _ in range(5):
        assert [m.metadata.external_id for m in matcher.lookup(query)] == ["A-pdq"]
    assert banks.code_reads == 2  # each bank's codes read once, not once per lookup

    # New content: the kept index is dropped on refresh, and the next lookup sees it.
    added = flipped(KNOWN_PDQ, 2)
    add(store, "list-a", entry("A-new", (BankSignal.PDQ, added)))
    matcher.refresh()
    assert {m.metadata.external_id for m in matcher.lookup(query)} == {"A-pdq", "A-new"}
    assert banks.code_reads == 3  # list-a's again, list-b's kept
    matcher.refresh()  # nothing changed: the index stays
    matcher.lookup(query)
    assert banks.code_reads == 3

    store.remove("list-a")
    matcher.refresh()
    assert [target.name for target in matcher.targets] == ["list-b"]
    assert matcher.lookup(query) == []
    assert banks.code_reads == 3


def test_a_large_bank_is_searched_through_its_index_like_brute_force(
    store: BankStore, tmp_path: Path
) -> None:
    filler = [random_pdq() for _ in range(3000)]
    add(store, "big", *(entry(f"F-{n}", (BankSignal.PDQ, value)) for n, value in enumerate(filler)))
    queries = [
        QuerySignals(pdq=flipped(filler[n], n % 30), pdq_quality=90) for n in range(0, 3000, 97)
    ]
    indexed = BankMatcher(
        store, PdqIndexCache(tmp_path / "indexes", brute_force_below=100), ["big"]
    )
    brute = BankMatcher(store, PdqIndexCache(tmp_path / "none", brute_force_below=10**9), ["big"])
    for query in queries:
        assert indexed.lookup(query) == brute.lookup(query)
        assert len(indexed.lookup(query)) >= 1
    assert any((tmp_path / "indexes").glob("pdq-*.npz"))
    assert not (tmp_path / "none").exists()


def test_case_free_matching_and_the_index_stay_clear_of_sql_and_of_each_other() -> None:
    """The read types and the matcher need no SQLAlchemy; the index needs no bank,
    matcher or series (they import it, not the other way round)."""
    package = Path(clearsight.__file__).parent

    def imports(path: Path) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        return found

    for module in ("banks/lookup.py", "match/bank_matcher.py", "match/engine.py"):
        assert not any(name.startswith("sqlalchemy") for name in imports(package / module))
    for path in (package / "index").glob("*.py"):
        own = {name for name in imports(path) if name.startswith("clearsight")}
        assert all(
            name.startswith(("clearsight.index", "clearsight.signals"))
            or name in ("clearsight.home", "clearsight.cores")
            for name in own
        ), (path.name, own)
