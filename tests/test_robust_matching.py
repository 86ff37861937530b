"""End to end: edited copies of known pictures are still found, and say why.

Originals are generated landscapes. One bank holds only their PDQ hashes (as a list from
elsewhere would); another is made from the pictures themselves with ``bank add``. Each
family of the edit suite is applied to one original, the copies are scanned among
unrelated pictures, and the matches are read back through ``clearsight items``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from clearsight.robustness.edits import OTHERS_NEEDED, EditContext, edit_named
from clearsight.robustness.landscapes import render_landscape

from .conftest import run_cli

ORIGINALS = 5
# One edit per family; the hash-only column says whether a bank of hashes alone must
# find it (a crop, a small turn or a repainted region changes the picture itself).
COPIES = {
    "copy-crop.jpg": ("crop-10", 0, False),
    "copy-pad.jpg": ("pad-20-blurred", 1, True),
    "copy-flip.jpg": ("flip-horizontal", 2, True),
    "copy-turn.jpg": ("rotate+5-cropped", 3, False),
    "copy-corners.jpg": ("rotate-3-corners", 4, False),
    "copy-grey.jpg": ("greyscale", 0, True),
    "copy-caption.jpg": ("caption", 1, True),
    "copy-logo.jpg": ("logo", 2, True),
    "copy-screenshot.jpg": ("screenshot", 3, True),
    "copy-collage.jpg": ("collage-3x3", 4, True),
    "copy-repaint.jpg": ("repaint", 0, False),
}


def landscape(seed: int) -> Image.Image:
    return Image.fromarray(render_landscape((53, seed), 720, 480))


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("robust")
    home = root / "home"
    originals = root / "originals"
    originals.mkdir()
    pictures = [landscape(seed) for seed in range(ORIGINALS)]
    for number, picture in enumerate(pictures):
        picture.save(originals / f"original-{number}.jpg", quality=92)
    others = [landscape(100 + seed) for seed in range(OTHERS_NEEDED)]
    case_source = root / "seized"
    case_source.mkdir()
    for name, (edit, original, _) in COPIES.items():
        context = EditContext(np.random.default_rng(len(name)), others)
        edit_named(edit).apply(pictures[original], context).save(case_source / name, quality=90)
    for seed in range(3):
        landscape(200 + seed).save(case_source / f"unrelated-{seed}.jpg", quality=90)

    env = {"CLEARSIGHT_HOME": str(home)}
    # The hash-only list: the originals' PDQ hashes, as a scan of them reports.
    listed = root / "listed"
    assert run_cli("scan", originals, "--case", listed, env=env).returncode == 0
    hashes = [row["pdq"] for row in _items(listed, env).values()]
    hash_list = root / "hashes.txt"
    hash_list.write_text("\n".join(hashes) + "\n", encoding="utf-8")
    imported = run_cli("bank", "import", "hash-list", hash_list, "--signal", "pdq", env=env)
    assert imported.returncode == 0, imported.stderr
    added = run_cli("bank", "add", "own", originals, "--series", "test-series", env=env)
    assert added.returncode == 0, added.stderr

    case = root / "case"
    scan = run_cli("scan", case_source, "--case", case, "--json", env=env)
    assert scan.returncode == 0, scan.stderr
    return {"items": _items(case, env), "scan": json.loads(scan.stdout.splitlines()[-1])}


def _items(case: Path, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    result = run_cli("items", "--case", case, env=env)
    assert result.returncode == 0, result.stderr
    return {row["path"]: row for row in map(json.loads, result.stdout.splitlines())}


def _matches(row: dict[str, Any], bank: str) -> list[dict[str, Any]]:
    return [match for match in row["matches"] if match["bank"] == bank]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(COPIES))
def test_an_own_bank_finds_every_edited_copy(scanned: dict[str, Any], name: str) -> None:
    edit, original, _ = COPIES[name]
    found = _matches(scanned["items"][name], "own")
    assert [match["external_id"] for match in found] == [f"original-{original}.jpg"], (edit, found)
    (match,) = found
    assert match["series"] == "test-series"
    if match["distance"] > 31:  # beyond the threshold: only local features may confirm it
        assert match["inliers"] is not None and match["inliers"] >= 20
        # ... and says how much of the picture the agreeing features cover.
        assert match["coverage"] is not None and 0.1 < match["coverage"] <= 1


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n, (_, _, hash_only) in COPIES.items() if hash_only))
def test_a_hash_only_bank_finds_copies_in_frames_and_under_overlays(
    scanned: dict[str, Any], name: str
) -> None:
    found = _matches(scanned["items"][name], "hash-list")
    assert len(found) == 1, (COPIES[name], found)
    (match,) = found
    assert match["distance"] <= 31 and match["inliers"] is None


@pytest.mark.slow
def test_matches_name_the_variant_that_met(scanned: dict[str, Any]) -> None:
    items = scanned["items"]
    (framed,) = _matches(items["copy-pad.jpg"], "hash-list")
    assert framed["variant"] == "query:trim-border"
    (tile,) = _matches(items["copy-collage.jpg"], "hash-list")
    assert tile["variant"].startswith("query:grid-3x3-")
    (shot,) = _matches(items["copy-screenshot.jpg"], "hash-list")
    assert shot["variant"].startswith("query:")
    (flipped,) = _matches(items["copy-flip.jpg"], "hash-list")
    assert (flipped["transform"], flipped["variant"]) == ("flip-horizontal", None)
    (turned,) = _matches(items["copy-turn.jpg"], "own")
    assert turned["variant"] is not None and "bank:" in turned["variant"]


@pytest.mark.slow
def test_unrelated_pictures_match_nothing(scanned: dict[str, Any]) -> None:
    for name, row in scanned["items"].items():
        if name.startswith("unrelated-"):
            assert row["matches"] == [], (name, row["matches"])
