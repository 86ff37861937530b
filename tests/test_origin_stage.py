"""The origin stage end to end: scan stores verdicts, ``origin`` explains files and
examines a case again, ``origin evaluate`` scores a labelled folder; prompts stay out."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength
from clearsight.origin.examine import examine
from clearsight.origin.stage import EXAMINER, record_of
from clearsight.origin.verdict import Verdict
from clearsight.origin.watermark import SD_V2

from .conftest import photo_like, run_cli
from .watermark_encoder import embed

PROMPT = "a lighthouse at dusk over a calm sea"
A1111 = (
    f"{PROMPT}\nNegative prompt: fog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, "
    "Size: 320x240, Model hash: 0123abcd, Model: test-model"
)
EXPECTED = {
    "camera.jpg": "camera-original-likely",
    "dalle.png": "ai-generated",
    "comfy-img2img.png": "ai-edited",
    "a1111.png": "ai-generated",
    "plain.png": "inconclusive",
    "marked.png": "ai-generated",
}


@pytest.fixture
def evidence(shared_data: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    shutil.copy(shared_data / "camera" / "Nikon_D200_0_14902.JPG", folder / "camera.jpg")
    shutil.copy(shared_data / "generated" / "dalle2-00000274.png", folder / "dalle.png")
    comfy = shared_data / "metadata-fixtures" / "ComfyUI" / "img2img_cropped.png"
    shutil.copy(comfy, folder / "comfy-img2img.png")
    info = PngInfo()
    info.add_text("parameters", A1111)
    photo_like(5).save(folder / "a1111.png", pnginfo=info)
    photo_like(6).save(folder / "plain.png")
    scene = np.asarray(photo_like(8, (512, 384)))
    Image.fromarray(embed(scene, SD_V2.bits)).save(folder / "marked.png")
    return folder


def items_of(case: Path) -> dict[str, dict[str, object]]:
    done = run_cli("items", "--case", case)
    assert done.returncode == 0, done.stderr
    return {row["path"]: row for row in map(json.loads, done.stdout.splitlines())}


def stored_prompts(case: Path) -> list[str | None]:
    with sqlite3.connect(case / "case.sqlite") as connection:
        return [row[0] for row in connection.execute("SELECT prompts FROM origins")]


def verdicts(case: Path) -> dict[str, object]:
    return {
        path: row["origin"]["verdict"] if isinstance(row["origin"], dict) else None
        for path, row in items_of(case).items()
    }


def test_scan_records_a_verdict_with_reasons_for_every_image(
    evidence: Path, tmp_path: Path
) -> None:
    case = tmp_path / "case"
    done = run_cli("scan", evidence, "--case", case, "--json")
    assert done.returncode == 0, done.stderr
    rows = items_of(case)
    assert verdicts(case) == EXPECTED
    a1111 = rows["a1111.png"]["origin"]
    assert isinstance(a1111, dict)
    assert a1111["score"] > 0.9
    assert any("AUTOMATIC1111" in reason and "seed 1234" in reason for reason in a1111["reasons"])
    # The prompt is in no output and, unless asked for, not in the case either.
    assert PROMPT not in json.dumps(rows)
    marked = rows["marked.png"]["origin"]
    assert isinstance(marked, dict) and "SDV2" in marked["reasons"][0]
    assert stored_prompts(case) == [None] * 6
    assert PROMPT.encode() not in (case / "case.sqlite").read_bytes()


def test_prompts_are_stored_only_when_asked_for(evidence: Path, tmp_path: Path) -> None:
    case = tmp_path / "case"
    done = run_cli("scan", evidence, "--case", case, "--keep-prompts")
    assert done.returncode == 0, done.stderr
    kept = [json.loads(value) for value in stored_prompts(case) if value is not None]
    assert [PROMPT] in kept
    assert PROMPT not in json.dumps(items_of(case))


def test_origin_examines_a_case_again_and_only_what_is_not_done(
    evidence: Path, tmp_path: Path
) -> None:
    case = tmp_path / "case"
    assert run_cli("scan", evidence, "--case", case, "--no-origin").returncode == 0
    assert set(verdicts(case).values()) == {None}

    first = run_cli("origin", "--case", case, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["examined"] == 6
    assert verdicts(case) == EXPECTED

    again = json.loads(run_cli("origin", "--case", case, "--json").stdout)
    assert again["examined"] == 0
    everything = json.loads(run_cli("origin", "--case", case, "--all", "--json").stdout)
    assert everything["examined"] == 6
    assert everything["verdicts"]["ai-generated"] == 3


def test_a_file_changed_since_the_scan_is_skipped_with_the_reason(
    evidence: Path, tmp_path: Path
) -> None:
    case = tmp_path / "case"
    assert run_cli("scan", evidence, "--case", case, "--no-origin").returncode == 0
    photo_like(7).save(evidence / "plain.png")
    (evidence / "dalle.png").unlink()
    done = run_cli("origin", "--case", case)
    assert done.returncode == 0, done.stderr
    assert "Examined 4 images" in done.stdout
    assert "plain.png: changed since it was scanned" in done.stdout
    assert "dalle.png: cannot read" in done.stdout
    assert verdicts(case)["plain.png"] is None


def test_origin_explains_single_files(evidence: Path) -> None:
    text = run_cli("origin", evidence / "a1111.png", evidence / "camera.jpg")
    assert text.returncode == 0, text.stderr
    assert "a1111.png: ai-generated" in text.stdout
    assert "camera.jpg: camera-original-likely" in text.stdout
    assert "NIKON D200" in text.stdout
    assert PROMPT not in text.stdout
    as_json = run_cli("origin", evidence / "comfy-img2img.png", "--json")
    found = json.loads(as_json.stdout)
    assert found["verdict"] == "ai-edited"
    assert found["evidence"][0]["points_to"] == "ai-edit"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Usage: clearsight origin"),
        (("examine",), "give either FILES or --case DIR"),
        (("--all", "x.png"), "only with --case"),
        (("missing.png",), "missing.png"),
    ],
)
def test_origin_usage_errors_name_the_problem(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    done = run_cli("origin", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_evaluate_scores_both_passes(evidence: Path, shared_data: Path, tmp_path: Path) -> None:
    labelled = tmp_path / "labelled"
    (labelled / "ai").mkdir(parents=True)
    (labelled / "real").mkdir()
    for name in ("dalle.png", "comfy-img2img.png", "a1111.png"):
        shutil.copy(evidence / name, labelled / "ai" / name)
    for name in ("Nikon_D200_0_14902.JPG", "Nikon_D70_1_20585.JPG"):
        shutil.copy(shared_data / "camera" / name, labelled / "real" / name)
    done = run_cli("origin", "evaluate", labelled, "--json")
    assert done.returncode == 0, done.stderr
    given, reencoded = json.loads(done.stdout)["passes"]
    ai, real = given["classes"]
    assert (ai["files"], ai["right"], ai["accuracy"]) == (3, 3, 1.0)
    # Both camera originals are judged so: the D70's thumbnail, which shows only the
    # top-left 96% x 95% of its picture, is compared as the camera framed it.
    assert (real["right"], real["wrong"], real["abstained"]) == (2, 0, 0)
    assert given["auc"] == 1.0
    # Re-encoded without metadata, no provenance is left to find: all abstain.
    assert reencoded["abstention_rate"] == 1.0
    assert reencoded["auc"] == 0.5
    text = run_cli("origin", "evaluate", labelled)
    assert "abstention rate" in text.stdout and "re-encoded" in text.stdout


@pytest.mark.parametrize("command", [["origin"], ["origin", "examine"], ["origin", "evaluate"]])
def test_origin_help_is_useful(command: list[str]) -> None:
    done = run_cli(*command, "--help")
    assert done.returncode == 0
    assert "Usage:" in done.stdout and len(done.stdout) > 300


class Broken:
    name = "broken"

    def examine(self, file: OriginInput) -> list[Evidence]:
        raise ValueError(file.data[:20])  # a message that would quote the file's bytes


class Declares:
    name = "declares"

    def examine(self, file: OriginInput) -> list[Evidence]:
        return [Evidence("test", PointsTo.AI, Strength.STRONG, "declared", prompt=PROMPT)]


def test_a_failing_detector_costs_only_its_own_evidence() -> None:
    found = examine(OriginInput(b"secret bytes", "image/png"), [Broken(), Declares()])
    assert found.verdict.verdict is Verdict.AI_GENERATED
    assert found.failed == ("broken: ValueError",)
    assert found.verdict.reasons[-1] == "detector failed on this file: broken: ValueError"
    assert "secret" not in repr(found.verdict)
    kept, dropped = record_of(found, keep_prompts=True), record_of(found, keep_prompts=False)
    assert kept.prompts == (PROMPT,) and dropped.prompts == ()
    assert kept.examiner == EXAMINER
    assert PROMPT not in repr(dropped)
