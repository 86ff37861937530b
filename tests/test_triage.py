"""Triage: what is stacked, what forms a series, and the order of the queue."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearsight.index.mih import MultiIndexPdqIndex
from clearsight.index.pdq_index import BruteForcePdqIndex
from clearsight.media.sniff import MediaKind
from clearsight.robustness.landscapes import render_landscape
from clearsight.series.groups import Groups
from clearsight.series.stacks import Stack, StackInput, near_duplicate_pairs, stacks_of
from clearsight.signals.digests import digest_bytes
from clearsight.signals.pdq import PdqHash, PdqSignal
from clearsight.store.interface import (
    MatchView,
    OriginSummary,
    ScannedFile,
    SceneLinkRecord,
    TriageItem,
    UnitKind,
    Verdict,
)
from clearsight.store.sql import SqlCaseStore, engine_of
from clearsight.triage.priority import load_config
from clearsight.triage.run import run_triage, triage

from .conftest import photo_like, run_cli

CONFIG = load_config()
RNG = np.random.default_rng(5)


def code(bits: np.ndarray) -> str:
    return np.packbits(bits).tobytes().hex()


def random_code() -> np.ndarray:
    return RNG.integers(0, 2, 256).astype(np.uint8)


def flipped(bits: np.ndarray, count: int) -> np.ndarray:
    out = bits.copy()
    out[RNG.choice(256, count, replace=False)] ^= 1
    return out


def item(
    item_id: int,
    bits: np.ndarray | None,
    *,
    matches: Sequence[MatchView] = (),
    verdict: str | None = None,
    pixels: int = 100,
    kind: str = "image",
    sha256: str | None = None,
    unreadable: str | None = None,
) -> TriageItem:
    origin = (
        OriginSummary(Verdict(verdict), 0.5, (f"moderate x: test: {verdict}",)) if verdict else None
    )
    return TriageItem(
        item_id=item_id,
        path=f"file-{item_id}.jpg",
        kind=kind,
        sha256=sha256 or f"{item_id:064x}",
        pdq=code(bits) if bits is not None else None,
        dihedral=(),
        pixels=pixels,
        size=pixels,
        matches=tuple(matches),
        origin=origin,
        unreadable=unreadable,
    )


def match(
    *, identified: bool | None = None, allow: bool = False, series: str | None = None
) -> MatchView:
    return MatchView(
        bank="bank-1",
        entry_id=7,
        external_id="E-7",
        signal="pdq",
        distance=3,
        transform="original",
        allow=allow,
        category="test-category-1",
        series=series,
        victim_identified=identified,
    )


def test_groups_join_transitively_and_list_groups_of_two_or_more() -> None:
    groups = Groups()
    groups.join_all([(1, 2), (3, 4), (2, 3), (8, 9)])
    assert groups.groups(range(1, 11)) == [[1, 2, 3, 4], [8, 9]]


def test_near_duplicates_stack_within_the_distance_and_not_beyond() -> None:
    base, other = random_code(), random_code()
    items = [
        StackInput(1, "a", code(base), (), 100, 10),
        StackInput(2, "b", code(flipped(base, 20)), (), 400, 10),  # near: stacks
        StackInput(3, "c", code(flipped(base, 50)), (), 100, 10),  # too far
        StackInput(4, "d", code(other), (), 100, 10),
        StackInput(5, "d", None, (), 0, 10),  # no hash, but the same bytes as 4
    ]
    assert near_duplicate_pairs(items, 31) == [(1, 2), (4, 5)]
    stacks = stacks_of(items, 31)
    assert stacks == [Stack((1, 2), 2), Stack((4, 5), 4)]  # the larger picture represents


def test_a_rotated_copy_stacks_through_its_dihedral_hashes() -> None:
    picture = np.asarray(photo_like(3, (320, 240)).convert("L"))
    original = PdqSignal.hash_from_luma(picture)
    turned = PdqSignal.hash_from_luma(np.ascontiguousarray(np.rot90(picture)))
    assert PdqSignal.distance(original.hex, turned.hex) > 31
    items = [
        StackInput(1, "a", original.hex, original.dihedral, 1, 1),
        StackInput(2, "b", turned.hex, turned.dihedral, 1, 1),
    ]
    assert near_duplicate_pairs(items, 31) == [(1, 2)]


def test_stacking_many_items_uses_the_index_and_finds_every_planted_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bases = [random_code() for _ in range(12_500)]
    items = [StackInput(n, None, code(b), (), 1, 1) for n, b in enumerate(bases)]
    planted = [(n, 20_000 + n) for n in range(0, 12_500, 500)]
    items += [StackInput(b, None, code(flipped(bases[a], 25)), (), 1, 1) for a, b in planted]

    # Record which index answered and how many 256-bit distances it computed.
    answered: list[tuple[str, int]] = []
    for cls in (MultiIndexPdqIndex, BruteForcePdqIndex):
        original = cls.search_many

        def spy(self, queries, radius, *args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            hits = _original(self, queries, radius, *args, **kwargs)
            answered.append((type(self).__name__, hits.compared))
            return hits

        monkeypatch.setattr(cls, "search_many", spy)

    assert sorted(near_duplicate_pairs(items, 31)) == planted
    ((index, compared),) = answered
    assert index == "MultiIndexPdqIndex"
    all_pairs = len(items) ** 2  # what brute force computes: every query with every code
    assert 0 < compared < all_pairs / 20, (compared, all_pairs)  # measured: 1/37
    monkeypatch.undo()
    # Brute force computes every pair, and the index found what brute force finds.
    codes = PdqSignal.pack([item.pdq for item in items if item.pdq is not None])
    queries = codes[:2000]
    by_brute_force = BruteForcePdqIndex(codes).search_many(queries, 31)
    by_index = MultiIndexPdqIndex.build(codes, 31).search_many(queries, 31)
    assert by_brute_force.compared == len(items) * 2000
    assert by_index.compared < by_brute_force.compared / 20
    assert np.array_equal(by_index.positions, by_brute_force.positions)
    assert np.array_equal(by_index.queries, by_brute_force.queries)


def test_the_queue_puts_new_camera_originals_first_and_allow_hits_last() -> None:
    results = triage(
        [
            item(1, random_code(), verdict="camera-original-likely"),
            item(2, random_code()),
            item(3, random_code(), matches=[match(identified=True)]),
            item(4, random_code(), verdict="ai-generated"),
            item(5, random_code(), matches=[match(allow=True)]),
            item(6, random_code(), matches=[match()]),
            item(7, None, kind="other"),
        ],
        CONFIG,
    )
    scores = {item_id: priority.score for item_id, priority in results.priorities.items()}
    assert sorted(scores, key=lambda i: -scores[i]) == [1, 2, 6, 3, 4, 5]
    assert 7 not in scores  # a note or an archive is recorded, not queued
    first = results.priorities[1].reasons
    assert first[:2] == ("base score (50)", "unmatched: in no bank (+20)")
    assert first[2].startswith("camera original likely: test: camera-original-likely")
    assert results.priorities[4].reasons[-1].startswith("FLAGGED AI-generated")
    assert "(victim identified) (-30)" in results.priorities[3].reasons[1]


def linker(pairs: Sequence[tuple[int, int]]):  # type: ignore[no-untyped-def]
    def link(items: Sequence[TriageItem], stacks: Sequence[Stack]) -> list[SceneLinkRecord]:
        return [SceneLinkRecord(a, b, 120, 0.8, 0.9, "test link") for a, b in pairs]

    return link


def test_series_join_stacks_and_links_and_inherit_what_members_know() -> None:
    a, b, c = random_code(), random_code(), random_code()
    items = [
        item(1, a, verdict="camera-original-likely"),
        item(2, flipped(a, 10), verdict="camera-original-likely"),  # stacked with 1
        item(3, b, verdict="camera-original-likely"),  # linked to 2
        item(4, c, matches=[match(identified=True, series="bank-series-9")]),
        item(5, flipped(c, 8)),  # stacked with 4: the series takes the bank's name
        item(6, random_code(), verdict="camera-original-likely"),  # alone
    ]
    result = triage(items, CONFIG, linker([(2, 3)]))
    assert [s.members for s in result.series] == [(1, 2, 3), (4, 5)]
    new, known = result.series
    assert (new.label, new.name, new.victim_identified) == ("S-1", None, None)
    assert (known.label, known.name, known.victim_identified) == ("S-2", "bank-series-9", True)
    # Several new camera originals raise their series; an identified series is lowered.
    assert "in series S-1 with 3 new camera-original items (+10)" in result.priorities[3].reasons
    assert result.priorities[3].score > result.priorities[6].score
    assert "in series S-2 (victim identified) (-20)" in result.priorities[5].reasons
    assert [len(stack.members) for stack in result.stacks] == [2, 2]
    assert new.priority.reasons[0] == "series S-1 of 3 items"


def test_weights_come_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "triage.toml"
    config.write_text("[priority]\nunmatched = 40\n[stacks]\ndistance = 10\n")
    loaded = load_config(config)
    assert (loaded.weights.unmatched, loaded.stack_distance) == (40.0, 10)
    assert loaded.weights.allow == CONFIG.weights.allow
    config.write_text("[priority]\nunmached = 40\n")
    with pytest.raises(Exception, match="unknown key"):
        load_config(config)


def test_triage_is_recorded_and_replaced_on_each_run(tmp_path: Path) -> None:
    store = SqlCaseStore.open_folder(tmp_path / "case", "test")
    source = store.open_source("/evidence")
    scan = store.start_scan(["/evidence"])
    base = random_code()
    files = [
        ScannedFile(
            path=f"p{n}.jpg",
            media_type="image/jpeg",
            kind=MediaKind.IMAGE,
            width=10,
            height=10,
            digests=digest_bytes(bytes([n])),
            pdq=PdqHash(code(flipped(base, n * 3)), 90),
        )
        for n in range(3)
    ]
    store.record_files(scan, [(source, f) for f in files])
    for _ in range(2):
        report = run_triage(store, CONFIG)
        assert (report.items, report.stacks, report.stacked_items) == (3, 1, 3)
    rows = list(store.iter_items())
    assert len({row.stack for row in rows}) == 1 and rows[0].stack is not None
    assert all(row.priority is not None and row.priority.score == 70 for row in rows)
    (entry,) = store.queue()
    assert (entry.kind, entry.size, entry.score) == ("stack", 3, 70)
    assert entry.kind is UnitKind.STACK  # an enum, not the string it is stored as
    store.close()


def test_scan_triages_and_queue_prints_the_order(shared_data: Path, tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    shutil.copy(shared_data / "camera" / "Nikon_D200_0_14902.JPG", evidence / "camera.jpg")
    shutil.copy(shared_data / "generated" / "dalle2-00000274.png", evidence / "generated.png")
    landscape = Image.fromarray(render_landscape((9, 1), 480, 320))
    landscape.save(evidence / "scene.png")
    small = landscape.resize((240, 160), Image.Resampling.LANCZOS)
    small.save(evidence / "scene-small.jpg", quality=85)
    (evidence / "notes.txt").write_text("survey notes\n")
    case = tmp_path / "case"
    scanned = run_cli("scan", evidence, "--case", case, "--json")
    assert scanned.returncode == 0, scanned.stderr
    assert json.loads(scanned.stdout)["triage"]["stacks"] == 1
    done = run_cli("queue", "--case", case, "--json")
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    order = [Path(e["representative"]).name for e in entries]
    assert order == ["camera.jpg", "scene.png", "generated.png"]
    assert entries[1]["kind"] == "stack" and entries[1]["size"] == 2
    assert any("FLAGGED AI-generated" in r for r in entries[2]["reasons"])
    text = run_cli("queue", "--case", case, "--top", "1")
    assert "camera.jpg" in text.stdout and "scene.png" not in text.stdout
    rows = {
        json.loads(line)["path"]: json.loads(line)
        for line in run_cli("items", "--case", case).stdout.splitlines()
    }
    assert rows["scene.png"]["stack"] == rows["scene-small.jpg"]["stack"] is not None
    assert rows["notes.txt"]["priority"] is None
    assert rows["camera.jpg"]["priority"]["score"] == 85


@pytest.mark.parametrize("command", [["triage"], ["queue"]])
def test_triage_commands_have_help_and_need_a_case(command: list[str], tmp_path: Path) -> None:
    assert "Usage:" in run_cli(*command, "--help").stdout
    missing = run_cli(*command, "--case", tmp_path / "nowhere")
    assert missing.returncode == 2 and "not a clearsight case" in missing.stderr


def test_scene_mates_are_linked_into_a_series_and_unrelated_pictures_are_not(
    tmp_path: Path,
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    base = Image.fromarray(render_landscape((31, 1), 640, 427))
    other = Image.fromarray(render_landscape((31, 2), 640, 427))
    base.save(evidence / "base.png")
    patched = base.copy()
    patched.paste(other.crop((100, 100, 330, 300)), (60, 40))  # a region replaced
    patched.save(evidence / "patched.jpg", quality=90)
    width, height = base.size
    box = (round(width * 0.075), round(height * 0.075), round(width * 0.925), round(height * 0.925))
    base.crop(box).save(evidence / "cropped.jpg", quality=90)
    # PDQ cannot follow these two; the feature words retrieve them.
    base.crop((0, 0, round(width * 0.7), height)).save(evidence / "off-centre.jpg", quality=90)
    turned = base.rotate(4, resample=Image.Resampling.BICUBIC)
    turned.crop((30, 30, width - 30, height - 30)).save(evidence / "turned.jpg", quality=90)
    other.save(evidence / "unrelated.png")
    Image.fromarray(render_landscape((31, 3), 640, 427)).save(evidence / "unrelated-2.png")
    case = tmp_path / "case"
    scanned = run_cli("scan", evidence, "--case", case, "--json")
    assert scanned.returncode == 0, scanned.stderr
    summary = json.loads(scanned.stdout)["triage"]
    # Each of the five shows the scene of every other: ten links. unrelated.png lent
    # patched.jpg a patch: linked too, its small share of agreeing content in the reason.
    assert (summary["stacks"], summary["links"], summary["series"]) == (0, 11, 1)
    rows = {
        json.loads(line)["path"]: json.loads(line)
        for line in run_cli("items", "--case", case).stdout.splitlines()
    }
    series = {path: row["series"] for path, row in rows.items()}
    members = ["base.png", "patched.jpg", "cropped.jpg", "off-centre.jpg", "turned.jpg"]
    assert len({series[path] for path in members}) == 1 and series["base.png"] is not None
    assert series["unrelated.png"] == series["base.png"] and series["unrelated-2.png"] is None
    assert "in series S-1 with 5 other items" in rows["patched.jpg"]["priority"]["reasons"]
    first = json.loads(run_cli("queue", "--case", case, "--json").stdout.splitlines()[0])
    assert (first["kind"], first["label"], first["size"]) == ("series", "S-1", 6)
    store = SqlCaseStore.open_folder(case, "test")
    with engine_of(store).connect() as connection:
        reasons = [row[0] for row in connection.exec_driver_sql("SELECT reason FROM scene_links")]
        donor = connection.exec_driver_sql(
            "SELECT reason FROM scene_links JOIN items a ON a.id = item_a "
            "JOIN items b ON b.id = item_b "
            "WHERE 'unrelated.png' IN (a.path, b.path)"
        ).all()
    store.close()
    assert all(reason.startswith("shares ") and "matching features" in reason for reason in reasons)
    # The donor's frame lies on the composite, but only the patch agrees: it says so.
    [(donor_reason,)] = donor
    spanned = int(donor_reason.split("spanning ")[1].split("%")[0])
    assert spanned < 30


def test_items_scanned_before_keypoints_were_kept_are_linked_from_their_files(
    tmp_path: Path,
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    base = Image.fromarray(render_landscape((32, 1), 640, 427))
    base.save(evidence / "base.png")
    width, height = base.size
    base.crop((0, 0, round(width * 0.7), height)).save(evidence / "off-centre.jpg", quality=90)
    Image.fromarray(render_landscape((32, 2), 640, 427)).save(evidence / "unrelated.png")
    case = tmp_path / "case"
    assert run_cli("scan", evidence, "--case", case).returncode == 0
    store = SqlCaseStore.open_folder(case, "test")
    with engine_of(store).begin() as connection:
        connection.exec_driver_sql("DELETE FROM item_features")
    store.close()
    again = run_cli("triage", "--case", case, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["links"] == 1
    # A file changed since the scan is not read: its links are gone, nothing else fails.
    (evidence / "off-centre.jpg").write_bytes(b"changed")
    changed = run_cli("triage", "--case", case, "--json")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["links"] == 0
