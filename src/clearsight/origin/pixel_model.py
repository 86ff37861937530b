"""A plug-in for a pixel detector the user supplies: a model that scores the pixels alone.

clearsight ships no such model and downloads none. Pixel detectors score 50-90% on
pictures from generators they were not trained on and fall apart after re-encoding,
so what one says is only ever *weak* evidence, listed beside the provenance it cannot
replace. Any model behind the :class:`PixelModel` Protocol will do; the
:class:`OnnxPixelModel` adapter runs an ONNX file with onnxruntime (the ``[onnx]``
extra), configured with ``--pixel-model PATH`` or ``CLEARSIGHT_PIXEL_MODEL``.

The ONNX contract: one input of shape ``[1, 3, H, W]`` (or ``[N, 3, H, W]``), float32
RGB scaled to 0-1, then normalised by ``mean``/``std`` per channel if given; H and W
are read from the model, or ``size`` where the model leaves them open. One output
whose first value is the probability that the picture is AI-generated (``output=
"probability"``), a logit (``"logit"``), or two class scores ``[real, ai]`` turned into
a probability by softmax (``"two-class"``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from clearsight.errors import DependencyError, UserError
from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength

MODEL_ENV = "CLEARSIGHT_PIXEL_MODEL"
KIND = "pixel-model"
Output = Literal["probability", "logit", "two-class"]
RGB = npt.NDArray[np.uint8]


class PixelModel(Protocol):
    """Scores a picture's pixels: the probability, 0-1, that it is AI-generated."""

    @property
    def description(self) -> str:
        """What the model is, for reasons: a file name, a version. Never a path."""
        ...

    def probability_ai(self, rgb: RGB) -> float: ...


@dataclass(frozen=True)
class Thresholds:
    """Where a score becomes a (weak) finding; between them it says nothing."""

    ai_at_least: float = 0.9
    camera_at_most: float = 0.1


class PixelDetector:
    """The Detector around a :class:`PixelModel`: weak evidence at the extremes."""

    def __init__(self, model: PixelModel, thresholds: Thresholds | None = None) -> None:
        self._model = model
        self._thresholds = thresholds or Thresholds()

    @property
    def name(self) -> str:
        return KIND

    def examine(self, file: OriginInput) -> list[Evidence]:
        rgb = _decoded(file.data)
        if rgb is None:
            return []
        probability = self._model.probability_ai(rgb)
        if not 0.0 <= probability <= 1.0:
            return []
        detail = f"pixel model {self._model.description}: P(ai) = {probability:.3f}"
        if probability >= self._thresholds.ai_at_least:
            return [Evidence(KIND, PointsTo.AI, Strength.WEAK, detail)]
        if probability <= self._thresholds.camera_at_most:
            return [Evidence(KIND, PointsTo.CAMERA, Strength.WEAK, detail)]
        return []


class OnnxPixelModel:
    """An ONNX file run with onnxruntime on the CPU (see the module's contract)."""

    def __init__(
        self,
        path: Path,
        *,
        size: int = 224,
        output: Output = "probability",
        mean: tuple[float, float, float] | None = None,
        std: tuple[float, float, float] | None = None,
    ) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise DependencyError(
                "a pixel model is configured but onnxruntime is not installed: "
                "pip install 'clearsight[onnx]'"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # scan workers already use every core
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - any load failure is the user's file
            raise UserError(f"cannot load pixel model {path}: {type(exc).__name__}") from None
        model_input = self._session.get_inputs()[0]
        self._input = model_input.name
        self._height, self._width = (
            _side(model_input.shape, 2, size),
            _side(model_input.shape, 3, size),
        )
        self._output = output
        self._mean = np.array(mean or (0.0, 0.0, 0.0), np.float32).reshape(1, 3, 1, 1)
        self._std = np.array(std or (1.0, 1.0, 1.0), np.float32).reshape(1, 3, 1, 1)
        self._description = path.name

    @property
    def description(self) -> str:
        return self._description

    def probability_ai(self, rgb: RGB) -> float:
        resized = Image.fromarray(rgb).resize(
            (self._width, self._height), Image.Resampling.BILINEAR
        )
        batch = np.asarray(resized, np.float32).transpose(2, 0, 1)[np.newaxis] / 255.0
        batch = (batch - self._mean) / self._std
        scores = np.asarray(self._session.run(None, {self._input: batch})[0], np.float64).ravel()
        return _probability(scores, self._output)


def load_pixel_model(path: Path) -> OnnxPixelModel:
    """The ONNX model at ``path``; a clear error if it is missing or will not load."""
    if not path.is_file():
        raise UserError(f"pixel model not found: {path}")
    return OnnxPixelModel(path)


def _probability(scores: npt.NDArray[np.float64], output: Output) -> float:
    if output == "two-class" and scores.size >= 2:
        shifted = np.exp(scores[:2] - scores[:2].max())
        return float(shifted[1] / shifted.sum())
    if output == "logit" and scores.size:
        return 1.0 / (1.0 + math.exp(-float(np.clip(scores[0], -60, 60))))
    return float(scores[0]) if scores.size else math.nan


def _side(shape: list[Any], axis: int, fallback: int) -> int:
    value = shape[axis] if len(shape) > axis else None
    return value if isinstance(value, int) and value > 0 else fallback


def _decoded(data: bytes) -> RGB | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (512, 512))  # models look at a few hundred pixels at most
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception:  # noqa: BLE001 - what cannot be decoded is no evidence
        return None
