"""Matching a scanned case against banks: exact digests, PDQ, dihedral variants, notes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from clearsight.banks.store import BankStore
from clearsight.index.cache import PdqIndexCache
from clearsight.match.bank_matcher import BankMatcher
from clearsight.match.engine import match_case
from clearsight.store.sql import SqlCaseStore

from .conftest import photo_like, run_cli


def items_by_path(case: Path) -> dict[str, dict[str, Any]]:
    result = run_cli("items", "--case", case)
    assert result.returncode == 0, result.stderr
    return {row["path"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_scan_then_bank_of_some_items_matches_exactly_those(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for index in range(6):
        photo_like(100 + index, (400, 300)).save(source / f"picture-{index}.jpg", quality=90)
    case = tmp_path / "case"
    assert run_cli("scan", source, "--case", case).returncode == 0
    rows = items_by_path(case)

    # A bank made of two items' md5s and a third item's PDQ hash, with neutral metadata.
    bank = tmp_path / "bank.csv"
    bank.write_text(
        "md5,pdq,external_id,category,series,victim_identified\n"
        f"{rows['picture-0.jpg']['md5']},,E-0,test-category-1,test-series-a,yes\n"
        f"{rows['picture-1.jpg']['md5']},,E-1,test-category-2,,no\n"
        f",{rows['picture-2.jpg']['pdq']},E-2,test-category-1,test-series-b,\n",
        encoding="utf-8",
    )
    assert run_cli("bank", "import", "ngo-list", bank).returncode == 0
    result = run_cli("match", "--case", case, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["matched_items"] == 3

    rows = items_by_path(case)
    matched = {path: row["matches"] for path, row in rows.items() if row["matches"]}
    assert set(matched) == {"picture-0.jpg", "picture-1.jpg", "picture-2.jpg"}
    (first,) = matched["picture-0.jpg"]
    assert first == {
        "bank": "ngo-list",
        "entry_id": first["entry_id"],
        "external_id": "E-0",
        "signal": "md5",
        "distance": 0,
        "transform": "original",
        "allow": False,
        "category": "test-category-1",
        "series": "test-series-a",
        "victim_identified": True,
        "variant": None,
        "inliers": None,
        "coverage": None,
    }
    (by_pdq,) = matched["picture-2.jpg"]
    assert (by_pdq["signal"], by_pdq["distance"], by_pdq["series"]) == ("pdq", 0, "test-series-b")

    # Matching again gives the same result, not twice as many rows.
    assert json.loads(run_cli("match", "--case", case, "--json").stdout)["matches"] == 3
    assert sum(len(r["matches"]) for r in items_by_path(case).values()) == 3


def test_a_later_scan_matches_on_its_own(tmp_path: Path) -> None:
    image = tmp_path / "known.png"
    photo_like(7).save(image)
    first = tmp_path / "first"
    assert run_cli("scan", image, "--case", first).returncode == 0
    pdq = items_by_path(first)["known.png"]["pdq"]
    bank = tmp_path / "bank.txt"
    bank.write_text(f"{pdq}\n", encoding="utf-8")
    assert run_cli("bank", "import", "pdq-list", bank, "--signal", "pdq").returncode == 0

    second = run_cli("scan", image, "--case", tmp_path / "second", "--json")
    assert json.loads(second.stdout)["matching"]["matched_items"] == 1


def test_rotated_and_flipped_copies_match_with_their_transform(
    shared_data: Path, tmp_path: Path
) -> None:
    dih = shared_data / "pdq-reference" / "reg-test-input" / "dih"
    original = tmp_path / "original"
    original.mkdir()
    shutil.copy(dih / "bridge-1-original.jpg", original)
    assert run_cli("scan", original, "--case", tmp_path / "reference").returncode == 0
    pdq = items_by_path(tmp_path / "reference")["bridge-1-original.jpg"]["pdq"]
    bank = tmp_path / "bank.txt"
    bank.write_text(f"{pdq}\n", encoding="utf-8")
    assert run_cli("bank", "import", "bridge", bank, "--signal", "pdq").returncode == 0

    case = tmp_path / "case"
    assert run_cli("scan", dih, "--case", case).returncode == 0
    rows = items_by_path(case)
    assert len(rows) == 8
    for path, row in rows.items():
        assert row["matches"], f"{path} did not match"
        (hit,) = row["matches"]
        assert hit["distance"] <= 31
        if path == "bridge-1-original.jpg":
            assert hit["transform"] == "original"
        else:
            assert hit["transform"] != "original", path


def test_weak_pdq_hashes_get_a_note_not_a_match(tmp_path: Path) -> None:
    from PIL import Image

    flat = tmp_path / "flat.png"
    Image.new("RGB", (300, 200), (120, 130, 140)).save(flat)
    case = tmp_path / "case"
    assert run_cli("scan", flat, "--case", case).returncode == 0
    row = items_by_path(case)["flat.png"]
    assert isinstance(row["pdq_quality"], int) and row["pdq_quality"] < 50
    bank = tmp_path / "bank.txt"
    bank.write_text(f"{row['pdq']}\n", encoding="utf-8")
    assert run_cli("bank", "import", "weak", bank, "--signal", "pdq").returncode == 0
    assert run_cli("match", "--case", case).returncode == 0
    row = items_by_path(case)["flat.png"]
    assert row["matches"] == []
    assert "below 50" in row["notes"][0]


def match_json(case: Path) -> dict[str, Any]:
    result = run_cli("match", "--case", case, "--json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def scanned_pictures(
    folder: Path, stem: str, seeds: range
) -> tuple[Path, dict[str, dict[str, object]]]:
    """A folder of photo-like PNGs ``<stem>-<n>.png`` scanned into a new case beside it."""
    folder.mkdir()
    for number, seed in enumerate(seeds):
        photo_like(seed, (320, 240)).save(folder / f"{stem}-{number}.png")
    case = folder.with_name(folder.name + "-case")
    assert run_cli("scan", folder, "--case", case).returncode == 0
    return case, items_by_path(case)


def test_matching_again_is_incremental_and_stays_right(tmp_path: Path) -> None:
    first = tmp_path / "first"
    case, rows = scanned_pictures(first, "view", range(300, 303))
    bank = tmp_path / "bank.csv"
    bank.write_text(
        f"pdq,md5,external_id\n{rows['view-0.png']['pdq']},,A\n,{rows['view-1.png']['md5']},B\n",
        encoding="utf-8",
    )
    assert run_cli("bank", "import", "list-a", bank).returncode == 0

    report = match_json(case)
    (run,) = report["runs"]
    assert (run["mode"], run["items_checked"], run["matches_found"]) == ("all items", 3, 2)
    assert report["matched_items"] == 2

    # Nothing changed: nothing is checked, and the case keeps its matches.
    report = match_json(case)
    assert report["runs"][0]["mode"] == "up to date"
    assert report["runs"][0]["items_checked"] == 0
    assert (report["matched_items"], report["matches"]) == (2, 2)

    # A later scan into the same case checks only its new item.
    second = tmp_path / "second"
    second.mkdir()
    (second / "copy-of-view-0.png").write_bytes((first / "view-0.png").read_bytes())
    scanned = json.loads(run_cli("scan", second, "--case", case, "--json").stdout)
    (run,) = scanned["matching"]["runs"]
    assert (run["mode"], run["items_checked"], run["matches_found"]) == ("new items", 1, 1)
    assert scanned["matching"]["matched_items"] == 3

    # The bank gains an entry: every item is checked against it again.
    with bank.open("a", encoding="utf-8") as more:
        more.write(f",{rows['view-2.png']['md5']},C\n")
    assert run_cli("bank", "import", "list-a", bank).returncode == 0
    report = match_json(case)
    assert (report["runs"][0]["mode"], report["runs"][0]["items_checked"]) == ("all items", 4)
    assert (report["matched_items"], report["matches"]) == (4, 4)

    # A new threshold is a new bank as far as old matches go.
    assert run_cli("bank", "set", "list-a", "--pdq-threshold", "0").returncode == 0
    assert match_json(case)["runs"][0]["mode"] == "all items"
    matched = {path for path, row in items_by_path(case).items() if row["matches"]}
    assert matched == {"view-0.png", "view-1.png", "view-2.png", "copy-of-view-0.png"}


def test_a_large_bank_matches_through_the_cached_index_like_brute_force(tmp_path: Path) -> None:
    """The engine on a bank big enough for the multi-index hash gives brute force's answer."""
    case_dir, rows = scanned_pictures(tmp_path / "source", "scene", range(400, 404))
    rng = np.random.default_rng(11)
    filler = rng.integers(0, 256, size=(3000, 32), dtype=np.uint8)
    lines = ["pdq,external_id"] + [f"{row.tobytes().hex()},F-{n}" for n, row in enumerate(filler)]
    lines.append(f"{rows['scene-1.png']['pdq']},KNOWN")
    bank = tmp_path / "big.csv"
    bank.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run_cli("bank", "import", "big", bank).returncode == 0

    def matches_with(cache: PdqIndexCache) -> set[tuple[str, str | None, int, str]]:
        case = SqlCaseStore.open_folder(case_dir, "test")
        banks = BankStore.open()
        try:
            match_case(case, BankMatcher(banks, cache))
            return {
                (row.path, m.external_id, m.distance, m.transform)
                for row in case.iter_items()
                for m in row.matches
            }
        finally:
            banks.close()
            case.close()

    indexed = PdqIndexCache(tmp_path / "indexes", brute_force_below=100)
    by_index = matches_with(indexed)
    assert any(external == "KNOWN" for _, external, _, _ in by_index)
    assert any((tmp_path / "indexes").glob("pdq-*.npz"))
    assert run_cli("bank", "set", "big", "--pdq-threshold", "30").returncode == 0  # re-match
    assert run_cli("bank", "set", "big", "--pdq-threshold", "31").returncode == 0
    by_brute_force = matches_with(PdqIndexCache(tmp_path / "none", brute_force_below=10**9))
    assert by_index == by_brute_force
