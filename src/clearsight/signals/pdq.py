"""PDQ, the perceptual hash that platform and NGO hash lists exchange.

The DCT and median step are pdqhash's (bindings to Meta's reference C++). The image is
handed over as 8-bit luma already fitted into the 512-pixel working box, which is what
the reference Python port hashes after its ``thumbnail((512, 512))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pdqhash

from clearsight.signals.pdq_numpy import pdq_of
from clearsight.signals.signal_type import SignalType

# The reference implementations work on images fitted into a 512x512 box.
PDQ_WORKING_BOX = 512
# Distances at or below this are a match in the field's convention.
PDQ_MATCH_THRESHOLD = 31
# Below this quality the hash carries too little structure to be trusted.
PDQ_MIN_QUALITY = 50
# Below this side the numpy hash may differ from pdqhash's (see hash_from_luma_numpy).
_NUMPY_MIN_SIDE = 64
# How far below the usable quality numpy's must be for pdqhash's to be below it too.
# The two are computed alike and agreed on all 2,117 views checked; a quality moves by
# one for every 90 of its truncated steps, far more than float rounding can flip.
_QUALITY_MARGIN = 5
PDQ_BYTES = 32
PDQ_WORDS = 4
"""A packed PDQ hash is four 64-bit words, big-endian: word 0 holds hex digits 0-15."""

PdqCodes = npt.NDArray[np.uint64]
"""PDQ hashes as an (n, 4) array of big-endian 64-bit words: what indexes search."""


# The order pdqhash.compute_dihedral returns the variants in, after the original.
DIHEDRAL_TRANSFORMS = (
    "rotate-90",
    "rotate-180",
    "rotate-270",
    "flip-vertical",
    "flip-horizontal",
    "rotate-90-flip-vertical",
    "rotate-90-flip-horizontal",
)


@dataclass(frozen=True)
class PdqHash:
    """A PDQ hash as 64 lowercase hex digits, with the 0-100 quality it was made at.

    ``dihedral`` holds the hashes of the image rotated and flipped, in the order of
    :data:`DIHEDRAL_TRANSFORMS`, so a flipped or rotated copy can be matched without
    decoding the file again.
    """

    hex: str
    quality: int
    dihedral: tuple[str, ...] = ()


class PdqSignal(SignalType):
    """The PDQ signal type: validation, hashing from luma, the reference distance, and
    packing between hex and what indexes search (32 bytes, or four uint64 words)."""

    name = "pdq"
    hex_length = 2 * PDQ_BYTES
    exact = False

    @staticmethod
    def hash_from_luma(luma: npt.NDArray[np.uint8]) -> PdqHash:
        """Hash a 2-D uint8 luma array.

        pdqhash only accepts three channels and mixes them with the luma weights
        (which sum to one), so grey broadcast to three channels hashes as itself.
        """
        if luma.ndim != 2:
            raise ValueError("expected a 2-D luma array")
        # pdqhash reads the buffer as if it were C-ordered: a transposed or sliced view
        # would hash as other pixels.
        luma = np.ascontiguousarray(luma)
        rgb = np.broadcast_to(luma[:, :, None], (*luma.shape, 3))
        # One DCT gives all eight: the variants are sign changes and transposes of it.
        vectors, quality = pdqhash.compute_dihedral(rgb)
        original, *variants = (_hex_of(bits) for bits in vectors)
        return PdqHash(original, int(quality), tuple(variants))

    @staticmethod
    def hash_from_luma_numpy(luma: npt.NDArray[np.uint8], *, dihedral: bool = True) -> PdqHash:
        """What :meth:`hash_from_luma` gives, sooner: the scan's way to hash a picture
        and its views (see :mod:`clearsight.signals.pdq_numpy`).

        Where float rounding decides bits (a side under 64 pixels, repeated into the
        64x64 downsample, or a picture too plain to hash well, whose DCT is near
        zero) pdqhash itself hashes it, so the stored hash is the reference's.
        """
        if min(luma.shape) >= _NUMPY_MIN_SIDE:
            value, quality, variants = pdq_of(luma, dihedral=dihedral)
            if quality >= PDQ_MIN_QUALITY:
                return PdqHash(value, quality, variants)
        reference = PdqSignal.hash_from_luma(luma)
        return reference if dihedral else PdqHash(reference.hex, reference.quality)

    @staticmethod
    def usable_hash_numpy(luma: npt.NDArray[np.uint8]) -> PdqHash | None:
        """:meth:`hash_from_luma_numpy` without dihedral forms, or None where its
        quality is below :data:`PDQ_MIN_QUALITY`: a view's hash, which is kept only
        when usable.

        A picture plainly too plain to hash well (numpy's quality under the threshold
        by more than rounding can move it: pdqhash's equals numpy's on every view
        tested) is not hashed again by pdqhash only to be dropped: that took 5-20 ms
        for a plain strip cut from a photo, many times the hash of a usable view.
        """
        if min(luma.shape) >= _NUMPY_MIN_SIDE:
            value, quality, _ = pdq_of(luma, dihedral=False)
            if quality >= PDQ_MIN_QUALITY:
                return PdqHash(value, quality)
            if quality < PDQ_MIN_QUALITY - _QUALITY_MARGIN:
                return None
        reference = PdqSignal.hash_from_luma(luma)
        if reference.quality < PDQ_MIN_QUALITY:
            return None
        return PdqHash(reference.hex, reference.quality)

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """Hamming distance between two hex PDQ hashes (the brute-force reference)."""
        return (int(a, 16) ^ int(b, 16)).bit_count()

    @staticmethod
    def to_bytes(value: str) -> bytes:
        """A canonical hex hash as its 32 bytes."""
        raw = bytes.fromhex(value)
        if len(raw) != PDQ_BYTES:
            raise ValueError(f"a PDQ hash is {PDQ_BYTES} bytes, not {len(raw)}")
        return raw

    @staticmethod
    def from_bytes(raw: bytes) -> str:
        """32 bytes as the canonical hex hash."""
        if len(raw) != PDQ_BYTES:
            raise ValueError(f"a PDQ hash is {PDQ_BYTES} bytes, not {len(raw)}")
        return raw.hex()

    @staticmethod
    def pack(values: Sequence[str]) -> PdqCodes:
        """Hex hashes as an (n, 4) array of their big-endian 64-bit words.

        One ``bytes.fromhex`` for all of them: no Python work per hash, which matters
        when a bank of ten million codes is read.
        """
        text = "".join(values)
        if len(text) != 2 * PDQ_BYTES * len(values):
            raise ValueError("a PDQ hash is not 64 hex digits")
        raw = np.frombuffer(bytes.fromhex(text), dtype=">u8")
        return raw.astype(np.uint64).reshape(len(values), PDQ_WORDS)

    @staticmethod
    def unpack(codes: PdqCodes) -> list[str]:
        """Packed codes back to their hex hashes, in order."""
        raw = np.ascontiguousarray(codes, dtype=np.uint64).reshape(-1, PDQ_WORDS)
        data = raw.astype(">u8").tobytes()
        return [data[start : start + PDQ_BYTES].hex() for start in range(0, len(data), PDQ_BYTES)]


def _hex_of(bits: npt.NDArray[np.integer]) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()
