"""Known videos found after edits: vPDQ banks imported as lists, and banks of originals.

The edits are those re-uploads go through (clearsight.robustness.video_edits). A bank of
originals (``bank add``) must find every one; a list holding only vPDQ at one frame a
second every one but the letterbox (the issue's target; the trimmed frame hashes find
that too where they can). Unrelated videos must match nothing.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from clearsight import Case
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore
from clearsight.banks.video_originals import video_entry_of
from clearsight.media.video import VideoReader
from clearsight.robustness.video_edits import (
    VIDEO_EDITS,
    pan_frames,
    pattern_frames,
    photo_pan_frames,
    write_video,
)
from clearsight.signals.frame_pdq import frame_pdq
from clearsight.signals.vpdq import VpdqFeature, parse_signal_string, to_signal_string

from .conftest import postgres_url, run_cli

FPS = 24
SIZE = (320, 180)


def vpdq_string(path: Path, every_seconds: float = 1.0) -> str:
    with VideoReader(str(path)) as reader:
        return to_signal_string(
            VpdqFeature(*frame_pdq(frame.rgb), frame.timestamp)
            for frame in reader.frames(every_seconds)
        )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The original (two shots, 12 s), its edits, and three unrelated videos (drifting
    patterns: another generator than the original's landscapes)."""
    root = tmp_path_factory.mktemp("videos")
    originals, copies = root / "originals", root / "copies"
    originals.mkdir()
    copies.mkdir()
    frames = pan_frames(21, *SIZE, 12 * FPS, shots=2)
    original = write_video(originals / "known.mp4", frames, fps=FPS)
    for edit in VIDEO_EDITS:
        edit.apply(frames, FPS, copies / f"{edit.name}{edit.suffix}")
    for seed in (31, 32, 33):
        write_video(copies / f"unrelated-{seed}.mp4", pattern_frames(seed, *SIZE, 5 * FPS), fps=FPS)
    return root, original, copies


def import_both_banks(original: Path) -> None:
    """The original as a hash-only vPDQ list (``list``) and as an own bank (``own``)."""
    store = BankStore.open()
    try:
        listed = ImportedEntry(
            ((BankSignal.VPDQ, vpdq_string(original)),), EntryMetadata(external_id="listed")
        )
        store.import_entries("list", [listed], BankSettings(), stop_on_error=True, file_name="")
        own = video_entry_of(original, "known.mp4", EntryMetadata(category="test-category-1"))
        assert isinstance(own, ImportedEntry)
        store.import_entries("own", [own], BankSettings(), stop_on_error=True, file_name="")
    finally:
        store.close()


def matched(case: Case) -> dict[str, list[tuple[str, str, str]]]:
    found: dict[str, list[tuple[str, str, str]]] = {}
    for row in case.items():
        found[Path(row.path).stem] = [
            (m.bank, m.signal, m.transform) for m in row.matches if m.signal == "vpdq"
        ]
    return found


def test_edited_copies_match_and_unrelated_videos_do_not(
    corpus: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, original, copies = corpus
    store = BankStore.open()
    try:
        listed = ImportedEntry(
            ((BankSignal.VPDQ, vpdq_string(original)),), EntryMetadata(external_id="listed")
        )
        store.import_entries("list", [listed], BankSettings(), stop_on_error=True, file_name="")
        own = video_entry_of(original, "known.mp4", EntryMetadata(category="test-category-1"))
        assert isinstance(own, ImportedEntry)
        dense = dict(own.signals)[BankSignal.VPDQ]
        assert len(parse_signal_string(dense)) == 4 * 12  # four frames a second
        store.import_entries("own", [own], BankSettings(), stop_on_error=True, file_name="")
    finally:
        store.close()
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([copies])
        report = case.match()
        assert {run.bank for run in report.runs} == {"list", "own"}
        found = matched(case)
    for edit in VIDEO_EDITS:
        banks = {bank for bank, _, _ in found[edit.name]}
        assert "own" in banks, (edit.name, found[edit.name])
        if edit.name != "letterboxed":
            assert "list" in banks, (edit.name, found[edit.name])
    assert ("own", "vpdq", "flip-horizontal") in found["flipped"]
    assert any(form == "trim-bars" for _, _, form in found["letterboxed"])
    for seed in (31, 32, 33):
        assert found[f"unrelated-{seed}"] == []


def test_footage_of_other_sources_matches_no_known_video(
    corpus: tuple[Path, Path, Path], tmp_path: Path, shared_data: Path
) -> None:
    """Zooms over camera photos (street and indoor scenes) and drifting patterns, held
    against the landscape original in both kinds of bank: nothing matches, by vPDQ or
    by any frame's picture hash."""
    _, original, _ = corpus
    import_both_banks(original)
    source = tmp_path / "other"
    source.mkdir()
    photos = sorted((shared_data / "camera").glob("*.JPG"))[::4]
    for photo in photos:
        frames = photo_pan_frames(photo, *SIZE, 6 * FPS)
        write_video(source / f"photo-{photo.stem}.mp4", frames, fps=FPS)
    for seed in (61, 62):
        frames = pattern_frames(seed, *SIZE, 6 * FPS)
        write_video(source / f"pattern-{seed}.webm", frames, fps=FPS, codec="libvpx-vp9")
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source])
        case.match()
        rows = list(case.items())
    assert len(rows) == len(photos) + 2 and all(row.error is None for row in rows)
    assert {row.path: row.matches for row in rows if row.matches} == {}


def test_a_match_says_how_much_of_each_video_matched_and_where(
    corpus: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, original, copies = corpus
    store = BankStore.open()
    try:
        entry = ImportedEntry(
            ((BankSignal.VPDQ, vpdq_string(original)),), EntryMetadata(external_id="e1")
        )
        store.import_entries("list", [entry], BankSettings(), stop_on_error=True, file_name="")
    finally:
        store.close()
    source = tmp_path / "source"
    source.mkdir()
    clip = copies / "clip-from-middle.mp4"
    (source / clip.name).write_bytes(clip.read_bytes())
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source])
        case.match()
        (row,) = list(case.items())
    (match,) = row.matches
    assert (match.bank, match.external_id, match.signal) == ("list", "e1", "vpdq")
    assert match.variant is not None and "of the video's frames" in match.variant
    assert match.coverage is not None and match.coverage >= 0.8
    assert match.distance == round(100 - 100 * match.coverage)
    assert "0:00-0:0" in match.variant  # the clip's frames, from its start


def test_a_vpdq_column_imports_and_exports_the_same_string(
    corpus: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, original, _ = corpus
    signal = vpdq_string(original)
    bank_file = tmp_path / "videos.csv"
    with bank_file.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["md5", "vpdq", "external_id"])
        writer.writerow(["0" * 32, signal, "video-1"])
    imported = run_cli("bank", "import", "videos", bank_file, "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["added"] == 1
    exported = run_cli("bank", "export", "videos", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    (row,) = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert row["vpdq"] == signal and row["external_id"] == "video-1"
    bad = tmp_path / "bad.csv"
    bad.write_text('vpdq,external_id\n"[""abc,1,2""]",x\n', encoding="utf-8")
    refused = run_cli("bank", "import", "bad", bad)
    assert refused.returncode == 2
    assert "bad.csv" in refused.stderr and "line 2" in refused.stderr
    assert "not a PDQ hash in a vpdq frame" in refused.stderr


@pytest.mark.postgres
def test_long_vpdq_signals_import_into_a_postgresql_bank_store(
    corpus: tuple[Path, Path, Path],
) -> None:
    from .conftest import fresh_schema

    url = fresh_schema("video_banks")
    _, original, _ = corpus
    frames = parse_signal_string(vpdq_string(original, 0.05))  # 160 frames: ~12 kB
    long = to_signal_string(frames * 4)
    assert len(long) > 40_000
    store = BankStore.open(url)
    try:
        entry = ImportedEntry(((BankSignal.VPDQ, long),), EntryMetadata(external_id="long"))
        report = store.import_entries(
            "pg", [entry], BankSettings(), stop_on_error=True, file_name=""
        )
        assert report.added == 1
        (back,) = list(store.iter_entries("pg"))
        assert dict(back.signals)[BankSignal.VPDQ] == long
    finally:
        store.close()
    assert postgres_url()
