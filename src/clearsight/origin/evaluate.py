"""How well the origin verdicts do on a labelled folder: ``ai/`` and ``real/``.

Each file is examined twice: as given, and re-encoded as a JPEG at quality 90 with 4:2:0
chroma and no metadata, the way most platforms pass pictures on. The second pass shows
what the verdicts rest on: provenance that survives re-encoding (little does), or a
format shortcut that a detector should not be credited with.

An ``inconclusive`` verdict is an abstention, not an error: accuracy is reported both
over every file and over the files a verdict was given for. The AUC uses the score
(0 camera .. 1 AI), with ties counted as half.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from clearsight.media.sniff import SNIFF_BYTES, sniff_media_type
from clearsight.origin.verdict import Verdict

CLASSES = ("ai", "real")
RIGHT = {
    "ai": {Verdict.AI_GENERATED.value, Verdict.AI_EDITED.value},
    "real": {Verdict.CAMERA_ORIGINAL_LIKELY.value},
}
ABSTAINED = Verdict.INCONCLUSIVE.value
REENCODE_QUALITY = 90

Judge = Callable[[bytes, str], tuple[str, float]]  # bytes, media type -> verdict, score


@dataclass(frozen=True)
class ClassScore:
    label: str
    files: int
    right: int
    wrong: int
    abstained: int

    @property
    def accuracy(self) -> float:
        return self.right / self.files if self.files else 0.0

    @property
    def accuracy_when_decided(self) -> float | None:
        decided = self.right + self.wrong
        return self.right / decided if decided else None


@dataclass(frozen=True)
class PassScore:
    """One pass over the folder: per class, abstention over all, AUC where defined."""

    name: str
    classes: tuple[ClassScore, ...]
    abstention_rate: float
    auc: float | None
    unreadable: tuple[str, ...]


def labelled_files(folder: Path) -> dict[str, list[Path]]:
    """The files under ``folder/ai`` and ``folder/real``, recursively, sorted."""
    found: dict[str, list[Path]] = {}
    for label in CLASSES:
        root = folder / label
        found[label] = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    return found


def evaluate(files: dict[str, list[Path]], judge: Judge) -> tuple[PassScore, PassScore]:
    """The pass on the files as given and the pass on their re-encoded copies."""
    given = _score_pass("as given", files, judge, _as_given)
    reencoded = _score_pass("re-encoded JPEG q90 4:2:0, metadata stripped", files, judge, reencode)
    return given, reencoded


def reencode(data: bytes) -> bytes | None:
    """``data`` decoded and saved again as a bare JPEG, in memory only; None if it is not
    a picture Pillow can decode."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            rgb = image.convert("RGB")
    except Exception:  # noqa: BLE001 - an undecodable file is reported, not raised
        return None
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=REENCODE_QUALITY, subsampling=2)  # 2 = 4:2:0
    return buffer.getvalue()


def auc(ai_scores: Sequence[float], real_scores: Sequence[float]) -> float | None:
    """The chance that an AI file scores above a real one (Mann-Whitney), ties half."""
    if not ai_scores or not real_scores:
        return None
    wins = 0.0
    for high in ai_scores:
        for low in real_scores:
            wins += 1.0 if high > low else 0.5 if high == low else 0.0
    return wins / (len(ai_scores) * len(real_scores))


def _as_given(data: bytes) -> bytes | None:
    return data


def _score_pass(
    name: str,
    files: dict[str, list[Path]],
    judge: Judge,
    prepare: Callable[[bytes], bytes | None],
) -> PassScore:
    classes: list[ClassScore] = []
    scores: dict[str, list[float]] = {label: [] for label in CLASSES}
    unreadable: list[str] = []
    for label in CLASSES:
        verdicts: list[str] = []
        for path in files.get(label, []):
            data = prepare(path.read_bytes())
            if data is None:
                unreadable.append(str(path))
                continue
            verdict, score = judge(data, sniff_media_type(data[:SNIFF_BYTES]))
            verdicts.append(verdict)
            scores[label].append(score)
        classes.append(_class_score(label, verdicts))
    total = sum(c.files for c in classes)
    abstained = sum(c.abstained for c in classes)
    return PassScore(
        name,
        tuple(classes),
        abstained / total if total else 0.0,
        auc(scores["ai"], scores["real"]),
        tuple(unreadable),
    )


def _class_score(label: str, verdicts: Iterable[str]) -> ClassScore:
    listed = list(verdicts)
    right = sum(1 for v in listed if v in RIGHT[label])
    abstained = sum(1 for v in listed if v == ABSTAINED)
    return ClassScore(label, len(listed), right, len(listed) - right - abstained, abstained)
