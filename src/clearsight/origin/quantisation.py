"""JPEG quantisation tables: did a camera's firmware or a libjpeg-family encoder write them?

Every JPEG carries the tables its encoder divided the DCT coefficients by. libjpeg (and
libjpeg-turbo, which Pillow, GIMP, ImageMagick, browsers and most web tools use) makes
them one way only: the two example tables of the JPEG standard (ITU-T T.81, Annex K.1)
scaled by a quality from 1 to 100. Camera firmware mostly tunes its own tables, and
Nikon's change from picture to picture. So tables that equal the scaled standard ones
say "written by a libjpeg-family encoder", an editor or a re-save more often than a
camera (though some phones use them too); tables that match no quality point weakly to
a camera, or to an encoder with tables of its own (Photoshop, mozjpeg), which this
module does not try to name. Measured on the shared files: 15 of the 16 Nikon
originals match no quality (the 16th, a D200 at its finest, writes libjpeg's
near-flat quality 99 tables, reported as too fine to tell); a Nintendo 3DS photo
(a camera) carries libjpeg's quality 80 tables; Photoshop files match no quality.

Pillow keeps each table in natural (row-major) order, as libjpeg's tables are written
here, whatever order the file stored them in.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from clearsight.media.jpeg_segments import crowded_jpeg
from clearsight.origin.evidence import Evidence, OriginInput, PointsTo, Strength

# ITU-T T.81 Annex K.1, Table K.1 (luminance) and K.2 (chrominance), natural order;
# libjpeg's std_luminance_quant_tbl and std_chrominance_quant_tbl.
ANNEX_K_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
ANNEX_K_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip
QUALITIES = range(1, 101)
_BASELINE_MAX = 255  # 8-bit tables, what libjpeg's force_baseline (Pillow's choice) keeps
_EXTENDED_MAX = 32767
NEAR_FLAT_MAX = 2


def ijg_scale(quality: int) -> int:
    """libjpeg's ``jpeg_quality_scaling``: the percentage the base tables are scaled by."""
    quality = min(max(quality, 1), 100)
    return 5000 // quality if quality < 50 else 200 - 2 * quality


def ijg_table(quality: int, chroma: bool, *, baseline: bool = True) -> tuple[int, ...]:
    """The table libjpeg's ``jpeg_set_quality(quality)`` writes, in natural order.

    As ``jpeg_add_quant_table``: each value is ``(base * scale + 50) // 100``, at least
    1, and at most 255 for a baseline file (32767 otherwise).
    """
    base = ANNEX_K_CHROMINANCE if chroma else ANNEX_K_LUMINANCE
    scale = ijg_scale(quality)
    ceiling = _BASELINE_MAX if baseline else _EXTENDED_MAX
    return tuple(min(max((value * scale + 50) // 100, 1), ceiling) for value in base)


def _all_qualities(chroma: bool, baseline: bool) -> npt.NDArray[np.int64]:
    return np.array([ijg_table(q, chroma, baseline=baseline) for q in QUALITIES], np.int64)


# (quality, 64) arrays, both clamping rules: a whole file is compared in microseconds.
_LIBJPEG = {
    (chroma, baseline): _all_qualities(chroma, baseline)
    for chroma in (False, True)
    for baseline in (True, False)
}


@dataclass(frozen=True)
class IjgMatch:
    """How a file's tables compare with libjpeg's at every quality.

    ``luma_quality`` and ``chroma_quality`` are set when the tables equal libjpeg's
    exactly (libjpeg allows the two to differ). Otherwise ``closest_quality`` is the
    quality whose tables are nearest, ``differing`` of the ``compared`` values differ
    from them, by up to ``largest_difference``. ``largest_value`` is the largest value
    in the file's own tables.
    """

    luma_quality: int | None
    chroma_quality: int | None
    closest_quality: int
    differing: int
    compared: int
    largest_difference: int
    largest_value: int

    @property
    def exact(self) -> bool:
        return self.differing == 0

    @property
    def near_flat(self) -> bool:
        """Every value 1 or 2 (libjpeg's quality 99 and 100): tables this fine carry
        almost no trace of who wrote them. The Nikon D200's finest setting writes
        exactly libjpeg's quality 99 tables."""
        return self.largest_value <= NEAR_FLAT_MAX

    def describe(self) -> str:
        if not self.exact:
            return (
                "quantisation tables match no standard libjpeg quality (closest "
                f"q{self.closest_quality}: {self.differing} of {self.compared} values "
                f"differ, by up to {self.largest_difference})"
            )
        if self.chroma_quality in (None, self.luma_quality):
            quality = f"quality {self.luma_quality}"
        else:
            quality = f"luminance quality {self.luma_quality}, chrominance {self.chroma_quality}"
        if self.near_flat:
            return f"nearly flat quantisation tables, equal to libjpeg's at {quality}"
        return f"standard libjpeg quantisation tables at {quality}"


def match_ijg(tables: Mapping[int, Sequence[int]]) -> IjgMatch | None:
    """Compare a file's tables (Pillow's ``quantization``: id -> 64 values, natural
    order) with libjpeg's. Table 0 is luminance, the others chrominance, as libjpeg and
    cameras assign them. None when there is no well-formed table to compare."""
    luma = _as_table(tables.get(0))
    chroma = [t for key in sorted(tables) if key != 0 if (t := _as_table(tables[key])) is not None]
    if luma is None:
        return None
    luma_error = _errors(luma, chroma=False)
    chroma_error = sum((_errors(t, chroma=True) for t in chroma), np.zeros_like(luma_error))
    luma_exact = _exact_quality(luma_error)
    # Several low qualities give the same chrominance tables (all 255): the luminance
    # quality, where it fits, is the one libjpeg was most likely given.
    chroma_exact = _exact_quality(chroma_error, luma_exact) if chroma else None
    largest = max(int(table.max()) for table in (luma, *chroma))
    if luma_exact is not None and (chroma_exact is not None or not chroma):
        compared = 64 * (1 + len(chroma))
        return IjgMatch(luma_exact, chroma_exact, luma_exact, 0, compared, 0, largest)
    closest = int(np.argmin(luma_error.min(axis=0) + chroma_error.min(axis=0)))
    return _closest(luma, chroma, closest, largest)


def _as_table(values: Sequence[int] | None) -> npt.NDArray[np.int64] | None:
    if values is None or len(values) != 64:
        return None
    return np.asarray(values, dtype=np.int64)


def _errors(table: npt.NDArray[np.int64], chroma: bool) -> npt.NDArray[np.int64]:
    """Sum of absolute differences from libjpeg's tables: (clamping rule, quality)."""
    return np.stack(
        [np.abs(_LIBJPEG[chroma, baseline] - table).sum(axis=1) for baseline in (True, False)]
    )


def _exact_quality(error: npt.NDArray[np.int64], preferred: int | None = None) -> int | None:
    """``preferred`` if its tables are equal, else the highest quality whose tables
    are, under either clamping rule."""
    exact = np.flatnonzero((error == 0).any(axis=0)) + 1
    if preferred is not None and preferred in exact:
        return preferred
    return int(exact[-1]) if exact.size else None


def _closest(
    luma: npt.NDArray[np.int64], chroma: list[npt.NDArray[np.int64]], index: int, largest: int
) -> IjgMatch:
    # 8-bit tables are compared with baseline libjpeg's, 16-bit ones with its unclamped.
    baseline = largest <= _BASELINE_MAX
    pairs = [(luma, _LIBJPEG[False, baseline][index])]
    pairs += [(table, _LIBJPEG[True, baseline][index]) for table in chroma]
    differences = np.concatenate([np.abs(found - standard) for found, standard in pairs])
    return IjgMatch(
        None,
        None,
        index + 1,
        int(np.count_nonzero(differences)),
        int(differences.size),
        int(differences.max()),
        largest,
    )


def read_quantisation(data: bytes) -> dict[int, list[int]] | None:
    """A JPEG's tables as Pillow reads them from the headers (no pixel is decoded)."""
    if crowded_jpeg(data):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                tables = getattr(im, "quantization", None)
                return dict(tables) if im.format in ("JPEG", "MPO") and tables else None
    except Exception:  # noqa: BLE001 - hostile input: any parser failure is "no tables"
        return None


class QuantisationDetector:
    """Evidence from a JPEG's quantisation tables: libjpeg's (a re-save, an editor, a
    libjpeg-based app) points nowhere; tables of no libjpeg quality point weakly to a
    camera."""

    @property
    def name(self) -> str:
        return "jpeg-quantisation"

    def examine(self, file: OriginInput) -> list[Evidence]:
        tables = read_quantisation(file.data)
        found = match_ijg(tables) if tables else None
        if found is None:
            return []
        if found.near_flat:
            detail = f"{found.describe()}: too fine to tell a camera from an encoder"
            return [Evidence(self.name, None, Strength.WEAK, detail)]
        if found.exact:
            detail = f"{found.describe()}: a libjpeg-family encoder, e.g. an editor or a re-save"
            return [Evidence(self.name, None, Strength.WEAK, detail)]
        detail = f"{found.describe()}: camera firmware or an encoder with tables of its own"
        return [Evidence(self.name, PointsTo.CAMERA, Strength.WEAK, detail)]
