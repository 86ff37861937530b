"""Matching a scanned case against banks: exact digests, PDQ, dihedral variants, notes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.match.pdq_index import BruteForcePdqIndex
from clearsight.signals.pdq import PdqSignal

from .conftest import photo_like, run_cli


def items_by_path(case: Path) -> dict[str, dict[str, object]]:
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
    (first,) = matched["picture-0.jpg"]  # type: ignore[misc]
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
    }
    (by_pdq,) = matched["picture-2.jpg"]  # type: ignore[misc]
    assert (by_pdq["signal"], by_pdq["distance"], by_pdq["series"]) == ("pdq", 0, "test-series-b")

    # Matching again gives the same result, not twice as many rows.
    assert json.loads(run_cli("match", "--case", case, "--json").stdout)["matches"] == 3
    assert sum(len(r["matches"]) for r in items_by_path(case).values()) == 3  # type: ignore[arg-type]


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
        (hit,) = row["matches"]  # type: ignore[misc]
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
    assert "below 50" in row["notes"][0]  # type: ignore[index]


codes = st.binary(min_size=32, max_size=32).map(bytes.hex)


@settings(max_examples=50, deadline=None)
@given(st.lists(codes, min_size=1, max_size=40), codes, st.integers(0, 256))
def test_index_agrees_with_the_reference_distance(bank: list[str], query: str, radius: int) -> None:
    index = BruteForcePdqIndex(bank)
    found = {(hit.position, hit.distance) for hit in index.search(query, radius)}
    expected = {
        (position, PdqSignal.distance(query, code))
        for position, code in enumerate(bank)
        if PdqSignal.distance(query, code) <= radius
    }
    assert found == expected
