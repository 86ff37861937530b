"""PDQ hashes of many views of one picture, with numpy, equal to pdqhash's.

Why not pdqhash here: a scan hashes the picture and up to a dozen views of it (scene
views, query views), and pdqhash takes only three-channel uint8 arrays, so each call
first widens a grey view to three float planes and runs four box-filter passes over
every pixel: about 2 ms a call on a 512-pixel picture, most of a file's hashing time.
pdqhash stays the reference (``PdqSignal.hash_from_luma`` and the conformance tests use
it); this module computes the same steps as Meta's reference C++, so that the hashes
agree bit for bit but for float rounding at a tie, which the tests measure.

The reference blurs with two passes of a box filter along each axis (window
``ceil(side / 128)``, averaging what falls inside the picture at the edges) and keeps
64 samples per axis. All of that is linear and separable: along a side, each sample
kept is a weighted sum of a few neighbouring pixels (a tent ``2 * window - 1`` wide),
so a view's 64x64 downsample is two gathers and weighted sums. The 16x16 DCT, the
quality metric (sum of quantised gradients of the 64x64 downsample), the median
threshold (Torben's lower median) and the eight dihedral forms (sign changes and
transposes of the DCT) follow the reference.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

Luma = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]

_SIDE = 64  # the reference's downsample
_DCT_SIDE = 16
_MIN_HASHABLE = 5  # the reference clears the hash of anything smaller on a side
# The reference hashes grey through its RGB-to-luma weights, which sum to a hair under
# one in float32; scaling by their float32 sum keeps the rounding the same.
_LUMA_SCALE = np.float32(
    np.float32(0.299) * np.float32(1) + np.float32(0.587) * np.float32(1) + np.float32(0.114)
)


@cache
def _downsample_taps(length: int) -> tuple[npt.NDArray[np.intp], Floats]:
    """Two box-filter passes then decimation along one axis of ``length`` samples, as
    the reference's ``jaroszFilterFloat`` and ``decimateFloat`` compute them: for each
    of the 64 samples kept, the indices of the inputs it weighs and their weights
    (64 x taps each; a tap past the end weighs nothing)."""
    window = (length + 2 * _SIDE - 1) // (2 * _SIDE)
    half = (window + 2) // 2
    # Output o averages inputs o - (window - half) .. o + half - 1 that lie inside.
    box = np.zeros((length, length), dtype=np.float64)
    for out in range(length):
        low, high = max(0, out - (window - half)), min(length, out + half)
        box[out, low:high] = 1.0 / (high - low)
    picks = [int(((i + 0.5) * length) / _SIDE) for i in range(_SIDE)]
    dense = (box @ box)[picks]
    first = np.argmax(dense > 0, axis=1)
    taps = 2 * window - 1
    wanted = first[:, None] + np.arange(taps)[None, :]
    indices = np.minimum(wanted, length - 1)
    weights = np.where(wanted < length, np.take_along_axis(dense, indices, axis=1), 0.0)
    return indices, np.asarray(weights, dtype=np.float32)


@cache
def _dct_matrix() -> Floats:
    rows = np.arange(1, _DCT_SIDE + 1, dtype=np.float64)[:, None]
    cols = np.arange(_SIDE, dtype=np.float64)[None, :]
    matrix = np.sqrt(2.0 / _SIDE) * np.cos((np.pi / 2.0 / _SIDE) * rows * (2 * cols + 1))
    return np.asarray(matrix, dtype=np.float32)


def _downsample(view: Luma) -> Floats:
    """The 64x64 blurred samples of ``view``: rows first, then columns.

    Gathered taps, not a matrix product: a product of this size hands work to
    OpenBLAS's threads, which on a busy machine took 50 ms instead of 0.5."""
    rows, cols = view.shape
    grey = np.asarray(view, dtype=np.float32) * _LUMA_SCALE
    row_taps, row_weights = _downsample_taps(rows)
    col_taps, col_weights = _downsample_taps(cols)
    across = np.einsum("stw,st->sw", grey[row_taps], row_weights)
    reduced = np.einsum("sct,ct->sc", across[:, col_taps], col_weights)
    return np.asarray(reduced, dtype=np.float32)


def _quality(buffer: Floats) -> int:
    down = ((buffer[:-1, :] - buffer[1:, :]) * np.float32(100)) / np.float32(255)
    across = ((buffer[:, :-1] - buffer[:, 1:]) * np.float32(100)) / np.float32(255)
    # C's int conversion truncates toward zero.
    total = int(np.abs(np.trunc(down)).sum() + np.abs(np.trunc(across)).sum())
    return min(100, total // 90)


# Each dihedral form of the picture is its DCT with signs changed and perhaps
# transposed (the reference's dct16OriginalTo*); in pdqhash's order after the original.
_ODD_ROW = (np.arange(_DCT_SIDE)[:, None] % 2 == 1) & np.ones((1, _DCT_SIDE), dtype=bool)
_ODD_COL = _ODD_ROW.T
_ODD_SUM = _ODD_ROW ^ _ODD_COL


def _dihedral(dct: Floats) -> list[Floats]:
    plus, minus = dct, -dct
    return [
        dct,
        np.where(_ODD_COL, plus, minus).T,  # rotate 90
        np.where(_ODD_SUM, minus, plus),  # rotate 180
        np.where(_ODD_ROW, plus, minus).T,  # rotate 270
        np.where(_ODD_ROW, plus, minus),  # flip x
        np.where(_ODD_COL, plus, minus),  # flip y
        dct.T,  # flip along the main diagonal
        np.where(_ODD_SUM, minus, plus).T,  # flip along the other diagonal
    ]


def _hex_of(dct: Floats) -> str:
    values = dct.ravel()
    median = np.partition(values, 127)[127]  # Torben's median of 256: the lower one
    bits = (values > median).reshape(_DCT_SIDE, _DCT_SIDE)
    # The reference's bit i*16+j is bit j of 16-bit word i, and the hex string starts
    # with the last word.
    return np.packbits(bits[::-1, ::-1]).tobytes().hex()


def pdq_of(view: Luma, *, dihedral: bool = True) -> tuple[str, int, tuple[str, ...]]:
    """The PDQ hash of a 2-D uint8 ``view`` as hex, its quality and, with ``dihedral``,
    the seven hashes of its rotations and flips in pdqhash's order."""
    if view.ndim != 2:
        raise ValueError("expected a 2-D luma array")
    if min(view.shape) < _MIN_HASHABLE:
        zero = "0" * 64
        return zero, 0, (zero,) * 7 if dihedral else ()
    buffer = _downsample(view)
    quality = _quality(buffer)
    dct = np.asarray(_dct_matrix() @ buffer @ _dct_matrix().T, dtype=np.float32)
    if not dihedral:
        return _hex_of(dct), quality, ()
    original, *others = (_hex_of(form) for form in _dihedral(dct))
    return original, quality, tuple(others)
