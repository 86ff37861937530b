"""The pixel-detector plug-in, with a toy ONNX model built here: its "probability" is
the picture's mean brightness. It classifies nothing; it only proves the plumbing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from clearsight.errors import UserError
from clearsight.origin.evidence import OriginInput, PointsTo, Strength
from clearsight.origin.pixel_model import (
    OnnxPixelModel,
    PixelDetector,
    load_pixel_model,
)

from .conftest import run_cli


def brightness_model(folder: Path, *, two_class: bool = False) -> Path:
    """An ONNX graph: mean of the [1, 3, 32, 32] input, as one value or as [1 - m, m]
    class scores."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])
    nodes = [helper.make_node("ReduceMean", ["image"], ["mean"], keepdims=0)]
    if two_class:
        one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
        nodes += [
            helper.make_node("Sub", ["one", "mean"], ["other"]),
            helper.make_node("Unsqueeze", ["other", "axis"], ["real"]),
            helper.make_node("Unsqueeze", ["mean", "axis"], ["ai"]),
            helper.make_node("Concat", ["real", "ai"], ["scores"], axis=0),
        ]
        axis = helper.make_tensor("axis", TensorProto.INT64, [1], [0])
        initialisers, output, shape = [one, axis], "scores", [2]
    else:
        initialisers, output, shape = [], "mean", []
    graph = helper.make_graph(
        nodes,
        "brightness",
        [image],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, shape)],
        initialisers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = folder / ("two-class.onnx" if two_class else "brightness.onnx")
    onnx.save(model, str(path))
    return path


def grey_png(level: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (level, level, level)).save(buffer, "PNG")
    return buffer.getvalue()


def test_extreme_scores_are_weak_evidence_and_the_middle_says_nothing(tmp_path: Path) -> None:
    detector = PixelDetector(OnnxPixelModel(brightness_model(tmp_path), size=32))
    (bright,) = detector.examine(OriginInput(grey_png(250), "image/png"))
    assert (bright.kind, bright.points_to, bright.strength) == (
        "pixel-model",
        PointsTo.AI,
        Strength.WEAK,
    )
    assert bright.detail == "pixel model brightness.onnx: P(ai) = 0.980"
    (dark,) = detector.examine(OriginInput(grey_png(10), "image/png"))
    assert dark.points_to is PointsTo.CAMERA
    assert detector.examine(OriginInput(grey_png(128), "image/png")) == []
    assert detector.examine(OriginInput(b"not a picture", "image/png")) == []


def test_two_class_scores_become_a_probability(tmp_path: Path) -> None:
    model = OnnxPixelModel(brightness_model(tmp_path, two_class=True), output="two-class")
    rgb = np.full((40, 40, 3), 255, dtype=np.uint8)
    # softmax([0, 1]) = e / (1 + e)
    assert model.probability_ai(rgb) == pytest.approx(np.e / (1 + np.e), abs=1e-5)


def test_a_missing_or_broken_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="pixel model not found"):
        load_pixel_model(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00 not onnx")
    with pytest.raises(UserError, match="cannot load pixel model"):
        load_pixel_model(broken)


def test_origin_and_scan_use_a_configured_model_and_say_when_none_is(tmp_path: Path) -> None:
    model = brightness_model(tmp_path)
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "bright.png").write_bytes(grey_png(250))

    without = run_cli("origin", pictures / "bright.png")
    assert "pixel detector: none configured" in without.stdout
    assert "P(ai)" not in without.stdout

    found = run_cli("origin", pictures / "bright.png", "--pixel-model", model, "--json")
    assert found.returncode == 0, found.stderr
    values = json.loads(found.stdout)
    # Weak pixel evidence alone never makes a verdict.
    assert values["verdict"] == "inconclusive"
    assert values["reasons"] == ["weak ai: pixel-model: pixel model brightness.onnx: P(ai) = 0.980"]

    case = tmp_path / "case"
    scanned = run_cli("scan", pictures, "--case", case, env={"CLEARSIGHT_PIXEL_MODEL": str(model)})
    assert scanned.returncode == 0, scanned.stderr
    (row,) = map(json.loads, run_cli("items", "--case", case).stdout.splitlines())
    assert row["origin"]["reasons"] == values["reasons"]

    missing = run_cli("scan", pictures, "--case", case, "--pixel-model", tmp_path / "x.onnx")
    assert missing.returncode == 2
    assert "pixel model not found" in missing.stderr
